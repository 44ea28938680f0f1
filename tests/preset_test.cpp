// The policy presets (protocol/presets.h, docs/policies.md "Presets"): each one's schedule and rules, as its
// sender documents them (the address is in each test's comment), read through every path a policy takes
// (parse_policy, a scenario, the API's subscription body, hooksim schedule), and played by the simulator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/scenario_run.h"
#include "engine/seeded.h"
#include "protocol/policy_json.h"
#include "protocol/presets.h"
#include "protocol/signing.h"
#include "service/requests.h"
#include "sim/scenario.h"
#include "tests/cli_test_util.h"
#include "tests/support/simulate_log.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using json = nlohmann::json;
using testutil::run_hooksim;
using testutil::TempDir;

RetryPolicy preset(const std::string& name) {
  auto p = parse_policy(json(name), "policy");
  EXPECT_TRUE(p.ok()) << name << ": " << p.status().message();
  return p.ok() ? *p : RetryPolicy::frotcom();
}

// The delays after an event's 1st, 2nd, ... failures, up to its last attempt (max_attempts - 1 delays).
std::vector<Duration> event_delays(const RetryPolicy& p) {
  std::vector<Duration> out;
  for (uint32_t n = 1; n < p.max_attempts; ++n) out.push_back(p.delay_after_failure(n));
  return out;
}

// The start of each attempt of one event that fails at once every time, from the first at 0, without jitter.
std::vector<Duration> starts(const std::vector<Duration>& delays) {
  std::vector<Duration> out{0ms};
  for (Duration d : delays) out.push_back(out.back() + d);
  return out;
}

constexpr auto kNever =
    days(3650);  // the longest give_up_after: "never" for the senders that disable nothing

TEST(Presets, NamesAreFrotcomFirstThenTheSenders) {
  EXPECT_THAT(protocol::policy_presets(),
              ElementsAre("frotcom", "svix", "stripe", "github", "shopify", "hook0", "outpost", "convoy"));
  for (const auto& name : protocol::policy_presets()) {
    auto text = protocol::preset_policy(name);
    ASSERT_TRUE(text.has_value()) << name;
    // A preset is exactly a policy a user could write: its text, parsed as an object, is the preset.
    auto object = parse_policy(json::parse(*text), "policy");
    ASSERT_TRUE(object.ok()) << name << ": " << object.status().message();
    EXPECT_EQ(*object, preset(name)) << name;
    // And its JSON form reads back to the same policy (the store's config records, the API's answers).
    auto back = parse_policy(json::parse(policy_to_json(*object).dump()), "policy");
    ASSERT_TRUE(back.ok()) << name;
    EXPECT_EQ(*back, *object) << name;
  }
  EXPECT_FALSE(protocol::preset_policy("Svix").has_value());
  EXPECT_FALSE(protocol::preset_policy("").has_value());
}

TEST(Presets, FrotcomIsUnchanged) {
  EXPECT_EQ(*protocol::preset_policy("frotcom"), "{}");
  EXPECT_EQ(preset("frotcom"), RetryPolicy::frotcom());
}

// https://docs.svix.com/retries: "Immediately, 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours,
// 10 hours", each period started after the failure of the preceding attempt; "an attempt that fails three
// times before eventually succeeding will be delivered roughly 35 minutes and 5 seconds following the first
// attempt"; a 2xx "within a reasonable time-frame (15s with Svix)"; "If all attempts to a specific endpoint
// fail for a period of 5 days, the endpoint will be disabled". github.com/svix/svix-webhooks
// 4fc0cfb8b426c87ef7e2b937e7d896a71d456a47, server/svix-server/src/worker.rs: JITTER_DELTA = 0.2,
// OVERLOAD_PENALTY_SECS = 60 (after a 429 or a timeout), Retry-After clamped to [delay, 2 × delay].
TEST(Presets, SvixIsEightAttemptsOverTwentySevenHoursAndDisablesAfterFiveDays) {
  RetryPolicy p = preset("svix");
  EXPECT_EQ(p.immediate_retries, 0u);
  EXPECT_EQ(p.max_attempts, 8u);
  EXPECT_THAT(event_delays(p), ElementsAre(5s, 5min, 30min, 2h, 5h, 10h, 10h));
  std::vector<Duration> at = starts(event_delays(p));
  EXPECT_EQ(at[3], 35min + 5s);
  EXPECT_EQ(at[7], 27h + 35min + 5s);
  EXPECT_EQ(p.attempt_timeout, 15s);
  EXPECT_EQ(p.disable_after_duration, days(5));
  EXPECT_EQ(p.disable_after_failures, 0u);
  EXPECT_TRUE(p.disable_on_status.empty());
  EXPECT_GT(p.give_up_after, p.disable_after_duration) << "only disable_after acts";
  EXPECT_EQ(p.jitter_fraction, 0.2);
  EXPECT_TRUE(p.honour_retry_after);
  EXPECT_EQ(p.retry_after_min, 1min);
  EXPECT_EQ(p.retry_after_max, 20h);
  EXPECT_EQ(p.rate_limit_deliveries, 0u);
  EXPECT_EQ(p.signature, "svix");
}

// https://docs.stripe.com/webhooks, "Automatic retries": "Stripe attempts to deliver events to your
// destination for up to three days with an exponential back off in live mode." The delays and the timeout
// are unpublished: approximation (docs/policies.md): doubling from 5m, the last retry at 3d; 30s.
TEST(Presets, StripeDoublesFromFiveMinutesForThreeDays) {
  RetryPolicy p = preset("stripe");
  EXPECT_EQ(p.immediate_retries, 0u);
  EXPECT_EQ(p.max_attempts, 11u);
  EXPECT_THAT(event_delays(p), ElementsAre(5min, 10min, 20min, 40min, 1h + 20min, 2h + 40min, 5h + 20min,
                                           10h + 40min, 21h + 20min, 29h + 25min));
  EXPECT_EQ(starts(event_delays(p)).back(), days(3));
  EXPECT_EQ(p.attempt_timeout, 30s);
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.disable_after_failures, 0u);
  EXPECT_EQ(p.disable_after_duration, 0s);
  EXPECT_EQ(p.jitter_fraction, 0);
  EXPECT_EQ(p.jitter_max, 0s);
  EXPECT_FALSE(p.honour_retry_after);
  EXPECT_EQ(p.signature, "stripe");
}

// https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries: "if your server is
// down or takes longer than 10 seconds to respond, GitHub will record the delivery as a failure. GitHub does
// not automatically redeliver failed deliveries."
TEST(Presets, GithubMakesOneAttemptOfTenSeconds) {
  RetryPolicy p = preset("github");
  EXPECT_EQ(p.max_attempts, 1u);
  EXPECT_TRUE(event_delays(p).empty());
  EXPECT_TRUE(p.exhausted(1));
  EXPECT_EQ(p.attempt_timeout, 10s);
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.disable_after_failures, 0u);
  EXPECT_EQ(p.signature, "github");
}

// https://shopify.dev/changelog/updates-to-webhook-retry-mechanism (effective 2024-09-10): "Webhooks will
// now be retried a total of 8 times over 4 hours using an exponential backoff schedule"; a delivery fails
// after 5 seconds; the subscription is removed when failures persist past the retries. The spacing is
// unpublished: approximation, doubling from 1m, the last retry at 4h.
TEST(Presets, ShopifyRetriesEightTimesOverFourHoursThenRemovesTheSubscription) {
  RetryPolicy p = preset("shopify");
  EXPECT_EQ(p.immediate_retries, 0u);
  EXPECT_EQ(p.max_attempts, 9u) << "the first attempt and 8 retries";
  EXPECT_THAT(event_delays(p), ElementsAre(1min, 2min, 4min, 8min, 16min, 32min, 1h + 4min, 1h + 53min));
  EXPECT_EQ(starts(event_delays(p)).back(), 4h);
  EXPECT_EQ(p.attempt_timeout, 5s);
  // Removed when an event's retries have all failed: failing for the 4 hours they span (not a count of
  // failures, which unordered events reach together long before).
  EXPECT_EQ(p.disable_after_failures, 0u);
  EXPECT_EQ(p.disable_after_duration, 4h);
  EXPECT_FALSE(p.disable_reason(503, 50, TimePoint{}, TimePoint{} + 4h - 1ms).has_value());
  EXPECT_TRUE(p.disable_reason(503, 1, TimePoint{}, TimePoint{} + 4h).has_value());
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.signature, "shopify");
}

// github.com/hook0/hook0 86a9d665080c89ba6f9c7b9de0cb50d72a406125, output-worker/src/main.rs
// (RetryPolicy::base_delay: 3s, 10s, 3m, 30m, 1h, 3h, 5h, then 10h; MAX_RETRIES 24, MAX_RETRY_WINDOW 8d;
// TIMEOUT 15s; jitter added, 10 % of the delay, at least 2s and at most 15m; Retry-After of a 429 up to 10h)
// and documentation/explanation/webhook-retry-logic.md. Jitter and Retry-After are approximations.
TEST(Presets, Hook0IsTwentyFourRetriesWithinEightDays) {
  RetryPolicy p = preset("hook0");
  EXPECT_EQ(p.immediate_retries, 0u);
  EXPECT_EQ(p.max_attempts, 25u) << "the first attempt and 24 retries";
  std::vector<Duration> expected = {3s, 10s, 3min, 30min, 1h, 3h, 5h};
  expected.resize(24, 10h);
  EXPECT_THAT(event_delays(p), ElementsAreArray(expected));
  Duration last = starts(event_delays(p)).back();
  EXPECT_EQ(last, days(7) + 11h + 33min + 13s);
  // The 24th retry fits in the 8-day window even with Hook0's largest jitter (15m on each 10h step).
  EXPECT_LT(last + 17 * 15min + 2s + 2s + 18s + 3min + 6min + 15min + 15min, days(8));
  EXPECT_EQ(p.attempt_timeout, 15s);
  EXPECT_EQ(p.jitter_min, 0s);
  EXPECT_EQ(p.jitter_max, 2s);
  EXPECT_TRUE(p.honour_retry_after);
  EXPECT_EQ(p.retry_after_delay(429, 1h), 1h);
  EXPECT_EQ(p.retry_after_delay(429, days(2)), 10h);
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.signature, "hook0");
}

// github.com/hookdeck/outpost f67ae011b287ff2588cb06699d808a69bba6ab4d: internal/backoff/backoff.go
// (ExponentialBackoff: Interval · Base^retries), internal/config/config.go (RetryIntervalSeconds 30,
// RetryMaxLimit 10, DeliveryTimeoutSeconds 5), internal/deliverymq/messagehandler.go (Duration(attempt - 1));
// docs/content/features/event-delivery.mdoc (MAX_RETRY_LIMIT 10, RETRY_INTERVAL_SECONDS 30, base 2).
TEST(Presets, OutpostDoublesFromThirtySecondsTenTimes) {
  RetryPolicy p = preset("outpost");
  EXPECT_EQ(p.max_attempts, 11u);
  std::vector<Duration> expected;
  for (int n = 0; n < 10; ++n) expected.push_back(30s * (1 << n));
  EXPECT_THAT(event_delays(p), ElementsAreArray(expected));
  EXPECT_EQ(expected.back(), 4h + 16min);
  EXPECT_EQ(p.attempt_timeout, 5s);
  EXPECT_EQ(p.disable_after_failures, 0u) << "ALERT_AUTO_DISABLE_DESTINATION is false by default";
  EXPECT_EQ(p.jitter_fraction, 0);
  EXPECT_EQ(p.jitter_max, 0s);
  EXPECT_FALSE(p.honour_retry_after);
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.signature, "standard-webhooks");
}

// github.com/frain-dev/convoy 2b60cc652e1d4babc1857280d5911817960e83e7: datastore/models.go
// (DefaultStrategyConfig: linear, Duration 100, RetryCount 10), retrystrategies/default.go (a constant
// interval, no jitter), worker/task/process_event_delivery.go (NumTrials counts every attempt; none after
// NumTrials >= RetryLimit), const.go (HTTP_TIMEOUT = 10).
TEST(Presets, ConvoyIsTenAttemptsOneHundredSecondsApart) {
  RetryPolicy p = preset("convoy");
  EXPECT_EQ(p.max_attempts, 10u);
  EXPECT_THAT(event_delays(p), ElementsAreArray(std::vector<Duration>(9, 100s)));
  EXPECT_EQ(p.attempt_timeout, 10s);
  EXPECT_EQ(p.jitter_fraction, 0);
  EXPECT_EQ(p.jitter_max, 0s);
  EXPECT_EQ(p.disable_after_failures, 0u);
  EXPECT_EQ(p.give_up_after, kNever);
  EXPECT_EQ(p.signature, "standard-webhooks");
}

TEST(Presets, AnUnknownNameIsRefusedNamingTheFieldAndListingThePresets) {
  const std::string known = "(known: frotcom, svix, stripe, github, shopify, hook0, outpost, convoy)";
  auto typo = parse_policy(json("strpe"), "subscriptions[0].policy");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(),
            "subscriptions[0].policy: unknown policy preset 'strpe' (did you mean \"stripe\"?) " + known);
  auto other = parse_policy(json("aws"), "policy");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(), "policy: unknown policy preset 'aws' " + known);

  auto sc = sim::parse_scenario(json::parse(R"({"duration": "1h", "policy": "svx",
                                               "subscriptions": [{"id": "acme"}]})"));
  ASSERT_FALSE(sc.ok());
  EXPECT_EQ(sc.status().message(), "policy: unknown policy preset 'svx' (did you mean \"svix\"?) " + known);
  auto body = service::parse_subscription_body(R"({"url": "https://example.com/h", "policy": "hookzero"})");
  auto* error = std::get_if<service::BodyError>(&body);
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->message.find("policy: unknown policy preset 'hookzero'"), std::string::npos)
      << error->message;
  EXPECT_NE(error->message.find(known), std::string::npos) << error->message;
}

TEST(Presets, EveryPresetIsAcceptedByTheApiAndByScenarios) {
  for (const auto& name : protocol::policy_presets()) {
    SCOPED_TRACE(name);
    auto body =
        service::parse_subscription_body(json({{"url", "https://example.com/h"},
                                               {"secret", protocol::random_secret(preset(name).signature)},
                                               {"policy", name}})
                                             .dump());
    auto* config = std::get_if<SubscriptionConfig>(&body);
    ASSERT_NE(config, nullptr) << std::get<service::BodyError>(body).message;
    EXPECT_EQ(config->policy, preset(name));

    json scenario = {{"duration", "1h"},
                     {"policy", name},
                     {"subscriptions", {{{"id", "default"}}, {{"id", "own"}, {"policy", name}}}}};
    auto sc = sim::parse_scenario(scenario);
    ASSERT_TRUE(sc.ok()) << sc.status().message();
    ASSERT_EQ(sc->subscriptions.size(), 2u);
    EXPECT_EQ(sc->policy, preset(name));
    for (const auto& s : sc->subscriptions) EXPECT_EQ(s.config.policy, preset(name));
  }
}

// ---- played by the simulator: one event, a receiver that always answers 503 at once

struct LoggedAttempt {
  int64_t t_ms = 0;
  uint32_t attempt = 0;
  bool exhausted = false;
};

struct PlayedLog {
  std::vector<LoggedAttempt> attempts;
  std::vector<int64_t> deactivated;  // t_ms of each deactivated record
};

using testutil::simulate_log;

PlayedLog play(const std::string& preset_name, const std::string& duration, uint64_t seed = 3) {
  std::istringstream in(simulate_log({{"duration", duration},
                                      {"seed", seed},
                                      {"policy", preset_name},
                                      {"subscriptions", {{{"id", "acme"}, {"receiver", {{"status", 503}}}}}},
                                      {"events", {{{"at", "0s"}, {"type", "tracking"}}}}}));
  PlayedLog out;
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["kind"] == "attempt")
      out.attempts.push_back(
          {j["t_ms"].get<int64_t>(), j["attempt"].get<uint32_t>(), j.value("exhausted", false)});
    if (j["kind"] == "deactivated") out.deactivated.push_back(j["t_ms"].get<int64_t>());
  }
  return out;
}

int64_t ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The attempt log of `name` shows one event's attempts `documented` apart (each moved by the preset's jitter,
// drawn as the engine draws it: seed, subscription, sequence number, failures before it), the last one
// exhausted.
void expect_played(const std::string& name, const std::vector<Duration>& documented,
                   const std::string& duration) {
  SCOPED_TRACE(name);
  const uint64_t seed = 3;
  RetryPolicy p = preset(name);
  PlayedLog log = play(name, duration, seed);
  ASSERT_EQ(log.attempts.size(), documented.size() + 1);
  std::vector<int64_t> expected{0};
  for (size_t n = 1; n <= documented.size(); ++n)
    expected.push_back(expected.back() +
                       ms(p.jittered(documented[n - 1], seeded_unit(seed, "acme", 1, n - 1))));
  std::vector<int64_t> got;
  for (const auto& a : log.attempts) got.push_back(a.t_ms);
  EXPECT_THAT(got, ElementsAreArray(expected));
  for (size_t i = 0; i < log.attempts.size(); ++i) {
    EXPECT_EQ(log.attempts[i].attempt, i + 1);
    EXPECT_EQ(log.attempts[i].exhausted, i + 1 == log.attempts.size()) << i;
  }
}

TEST(PresetScenario, SvixAttemptsAreTheDocumentedScheduleWithinTwentyPercent) {
  std::vector<Duration> documented = {5s, 5min, 30min, 2h, 5h, 10h, 10h};
  expect_played("svix", documented, "2d");
  PlayedLog log = play("svix", "2d");
  for (size_t n = 1; n < log.attempts.size(); ++n) {
    int64_t gap = log.attempts[n].t_ms - log.attempts[n - 1].t_ms;
    EXPECT_GE(gap, ms(documented[n - 1]) * 8 / 10) << n;
    EXPECT_LE(gap, ms(documented[n - 1]) * 12 / 10) << n;
  }
  EXPECT_TRUE(log.deactivated.empty()) << "one event exhausts in 27h35m, before the 5 days";
}

TEST(PresetScenario, StripeGithubOutpostAndConvoyAttemptsAreExactlyTheirSchedules) {
  expect_played(
      "stripe",
      {5min, 10min, 20min, 40min, 1h + 20min, 2h + 40min, 5h + 20min, 10h + 40min, 21h + 20min, 29h + 25min},
      "4d");
  expect_played("github", {}, "1d");
  std::vector<Duration> outpost;
  for (int n = 0; n < 10; ++n) outpost.push_back(30s * (1 << n));
  expect_played("outpost", outpost, "1d");
  expect_played("convoy", std::vector<Duration>(9, 100s), "1d");
}

TEST(PresetScenario, ShopifyIsRemovedAtItsNinthFailureAtFourHours) {
  expect_played("shopify", {1min, 2min, 4min, 8min, 16min, 32min, 1h + 4min, 1h + 53min}, "1d");
  PlayedLog log = play("shopify", "1d");
  EXPECT_THAT(log.deactivated, ElementsAre(ms(4h)));
}

TEST(PresetScenario, ShopifyWithAnEventEveryMinuteIsStillRemovedAtFourHours) {
  // Unordered: dozens of events fail together, but the removal waits for the first event's retries to
  // span their 4 hours.
  std::istringstream in(
      simulate_log({{"duration", "1d"},
                    {"policy", "shopify"},
                    {"subscriptions", {{{"id", "acme"}, {"receiver", {{"status", 503}}}}}},
                    {"events", {{{"every", "1m"}, {"until", "1d"}, {"type", "tracking"}}}}}));
  std::vector<int64_t> deactivated;
  size_t attempts = 0;
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    attempts += j["kind"] == "attempt";
    if (j["kind"] == "deactivated") deactivated.push_back(j["t_ms"]);
  }
  EXPECT_THAT(deactivated, ElementsAre(ms(4h)));
  EXPECT_GT(attempts, 240u) << "every event published before the removal was attempted";
}

TEST(PresetScenario, Hook0AddsUpToTwoSecondsToEachDelay) {
  std::vector<Duration> documented = {3s, 10s, 3min, 30min, 1h, 3h, 5h};
  documented.resize(24, 10h);
  expect_played("hook0", documented, "8d");
  PlayedLog log = play("hook0", "8d");
  for (size_t n = 1; n < log.attempts.size(); ++n) {
    int64_t gap = log.attempts[n].t_ms - log.attempts[n - 1].t_ms;
    EXPECT_GE(gap, ms(documented[n - 1])) << n;
    EXPECT_LT(gap, ms(documented[n - 1] + 2s)) << n;
  }
}

// A backlog under svix: each exhausted event hands over to the next at once, and the endpoint is disabled
// at the first failure 5 days or more into the streak (docs/policies.md, disable_after).
TEST(PresetScenario, SvixDisablesAtTheFirstFailureFiveDaysIntoTheStreak) {
  std::istringstream in(
      simulate_log({{"duration", "7d"},
                    {"policy", "svix"},
                    {"subscriptions", {{{"id", "acme"}, {"receiver", {{"status", 503}}}}}},
                    {"events", {{{"every", "1h"}, {"until", "7d"}, {"type", "tracking"}}}}}));
  std::vector<int64_t> attempts, deactivated;
  int exhausted = 0;
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["kind"] == "attempt") attempts.push_back(j["t_ms"]), exhausted += j.value("exhausted", false);
    if (j["kind"] == "deactivated") deactivated.push_back(j["t_ms"]);
  }
  ASSERT_GE(attempts.size(), 2u);
  // Unordered (the preset's ordering): each hourly event exhausts its 8 attempts ~27h35m (±20 %) after it
  // was published, on its own; failures go on, and the first at or after 5 days deactivates.
  EXPECT_GE(exhausted, 3);
  EXPECT_THAT(deactivated, ElementsAre(attempts.back()));
  EXPECT_GE(attempts.back(), ms(days(5)));
  EXPECT_LT(attempts[attempts.size() - 2], ms(days(5)));
}

// ---- hooksim schedule

TEST(ScheduleCommand, TakesEveryPresetByName) {
  TempDir dir;
  for (const auto& name : protocol::policy_presets()) {
    auto r = run_hooksim("schedule --json " + name, dir);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["policy"], policy_to_json(preset(name))) << name;
  }
}

TEST(ScheduleCommand, SvixListsEachEventUntilDisableAfterDeactivates) {
  TempDir dir;
  auto r = run_hooksim("schedule svix", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto l = testutil::lines_of(r.out);
  ASSERT_EQ(l.size(), 2u + 39u + 3u) << r.out;
  EXPECT_EQ(
      l[0],
      "A permanent outage under policy svix: every attempt fails at once; times from the first attempt.");
  EXPECT_EQ(l[2], "      1  0s                    (the first attempt)");
  EXPECT_EQ(l[3], "      2  5s                    5s");
  EXPECT_EQ(l[5], "      4  35m5s                 30m");
  EXPECT_EQ(l[9], "      8  1d3h35m5s (27h35m5s)  10h; event 1 exhausted (max_attempts)");
  EXPECT_EQ(l[10], "      9  1d3h35m5s (27h35m5s)  (event 2: the next event, at once)");
  EXPECT_EQ(l[11], "     10  1d3h35m10s (27h35m10s)  5s");
  EXPECT_EQ(l[40], "     39  5d7h55m25s (127h55m25s)  10h");
  EXPECT_EQ(l[41], "delays before jitter: the policy's jitter moves each retry");
  EXPECT_THAT(l[42], ::testing::StartsWith("ordering unordered: each event gets its attempts on its own"));
  EXPECT_EQ(l[43],
            "deactivated at 5d7h55m25s (127h55m25s) by disable_after: 39 attempts, the last one's failure "
            "deactivates");

  json j = json::parse(run_hooksim("schedule --json svix", dir).out);
  ASSERT_EQ(j["attempts"].size(), 39u);
  EXPECT_EQ(j["attempts"][7]["exhausted"], true);
  EXPECT_EQ(j["attempts"][8]["kind"], "next");
  EXPECT_EQ(j["attempts"][8]["event"], 2);
  EXPECT_EQ(j["deactivation"]["at"], "5d7h55m25s");
  EXPECT_EQ(j["deactivation"]["by"], "disable_after");
  EXPECT_FALSE(j.contains("repeats"));
}

TEST(ScheduleCommand, AnExhaustedEventWithoutADisableRuleEndsTheListing) {
  TempDir dir;
  auto r = run_hooksim("schedule stripe", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto l = testutil::lines_of(r.out);
  ASSERT_EQ(l.size(), 2u + 11u + 3u) << r.out;
  EXPECT_EQ(l[12], "     11  3d (72h)              1d5h25m; event 1 exhausted (max_attempts)");
  EXPECT_EQ(l[13],
            "each next event gets the same 11 attempts, from the failure before it, until the deactivation");
  EXPECT_THAT(l[14], ::testing::StartsWith("ordering unordered: "));
  EXPECT_EQ(l[15], "deactivated at 3650d (87600h): none at or after the deactivation");

  json g = json::parse(run_hooksim("schedule --json github", dir).out);
  ASSERT_EQ(g["attempts"].size(), 1u);
  EXPECT_EQ(g["attempts"][0]["exhausted"], true);
  EXPECT_EQ(g["repeats"], true);
  EXPECT_EQ(g["deactivation"]["at"], "3650d");
  EXPECT_FALSE(g["deactivation"].contains("by"));

  // frotcom's JSON has none of the fields that only a policy with max_attempts or disable_after needs.
  json f = json::parse(run_hooksim("schedule --json", dir).out);
  EXPECT_FALSE(f.contains("repeats"));
  EXPECT_FALSE(f["attempts"][0].contains("event"));
  EXPECT_FALSE(f["deactivation"].contains("by"));
}

// docs/scenario.schema.json lists the same presets, so an editor accepts exactly what hooksim does.
TEST(Presets, TheScenarioSchemaListsEveryPreset) {
  std::ifstream in(std::string(HOOKSIM_SOURCE_DIR) + "/docs/scenario.schema.json");
  json schema = json::parse(in);
  const json& names = schema["$defs"]["policy"]["oneOf"][0]["enum"];
  EXPECT_EQ(names.get<std::vector<std::string>>(), protocol::policy_presets());
}

// ... and every field a policy writes (every optional one set), so an editor accepts every policy hooksim
// writes (and can read).
TEST(Presets, TheScenarioSchemaHasEveryPolicyField) {
  std::ifstream in(std::string(HOOKSIM_SOURCE_DIR) + "/docs/scenario.schema.json");
  json schema = json::parse(in);
  const json& fields = schema["$defs"]["policy"]["oneOf"][1]["properties"];
  auto full = parse_policy(json::parse(R"({"max_attempts": 3, "disable_on_status": [410],
      "disable_after": {"failures": 2, "duration": "1h"}, "jitter": 0.1,
      "retry_after": {"honour": {"min": "1s", "max": "1h"}}, "rate_limit": {"deliveries": 1, "per": "1s"},
      "ordering": "unordered", "concurrency": 2})"),
                           "policy");
  ASSERT_TRUE(full.ok()) << full.status().message();
  const auto written = policy_to_json(*full);  // kept: items() of a temporary would dangle
  ASSERT_TRUE(written.contains("ordering"));
  for (const auto& [key, value] : written.items()) EXPECT_TRUE(fields.contains(key)) << key;
}

}  // namespace
}  // namespace hooksim
