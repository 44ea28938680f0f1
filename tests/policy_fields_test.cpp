// The policy fields beyond the schedule (docs/policies.md): each one on the virtual clock, asserting the
// exact attempt times and outcomes it must produce, and its JSON form.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/scenario_run.h"
#include "engine/rate_limit.h"
#include "engine/seeded.h"
#include "protocol/policy_json.h"
#include "protocol/receiver_behaviour.h"
#include "protocol/retry_after.h"
#include "sim/scenario.h"
#include "tests/engine_fixture.h"
#include "tests/support/simulate_log.h"

namespace hooksim {
namespace {

using namespace testing_engine;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using json = nlohmann::json;

// Svix's schedule (docs.svix.com/retries): "Immediately, 5 seconds, 5 minutes, 30 minutes, 2 hours,
// 5 hours, 10 hours, 10 hours", each period started after the failure of the preceding attempt: 8 attempts.
RetryPolicy svix_schedule() {
  RetryPolicy p = RetryPolicy::frotcom();
  p.immediate_retries = 0;
  p.delays = {5s, 5min, 30min, 2h, 5h, 10h, 10h};
  p.max_attempts = 8;
  return p;
}

// The start times of one event's 8 attempts under svix_schedule(), the first at `t0`, each failing at once.
std::vector<Duration> svix_attempts(Duration t0) {
  std::vector<Duration> out{t0};
  for (Duration d : std::initializer_list<Duration>{5s, 5min, 30min, 2h, 5h, 10h, 10h})
    out.push_back(out.back() + d);
  return out;
}

Result<RetryPolicy> parse(const char* text) {
  return parse_policy(json::parse(text), "policy");
}

// ---- max_attempts

TEST_F(EngineTest, MaxAttemptsDropsTheEventAsExhaustedAndSendsTheNextAtOnce) {
  add("acme", always(503), svix_schedule());
  publish("ev1");
  publish("ev2");
  run_until(days(3));

  // Svix's 8 attempts: the 4th at 35m5s ("roughly 35 minutes and 5 seconds following the first attempt"),
  // the 8th at 27h35m5s; then ev2 at once, with the schedule from its start.
  std::vector<Duration> expected = svix_attempts(0ms);
  EXPECT_EQ(expected[3], 35min + 5s);
  EXPECT_EQ(expected[7], 27h + 35min + 5s);
  std::vector<Duration> second = svix_attempts(expected[7]);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(expected));
  ASSERT_EQ(rec_.attempts.size(), 16u);
  for (size_t i = 0; i < 16; ++i) {
    const auto& a = rec_.attempts[i];
    EXPECT_EQ(a.event, i < 8 ? "ev1" : "ev2");
    EXPECT_EQ(a.attempt, i % 8 + 1);
    EXPECT_FALSE(a.delivered);
    EXPECT_EQ(a.exhausted, i % 8 == 7) << i;
  }
  // The exhausted attempt of ev1 plans ev2's first attempt at once; ev2's has nothing after it.
  EXPECT_EQ(rec_.attempts[7].next, expected[7]);
  EXPECT_EQ(rec_.attempts[15].next, std::nullopt);
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.exhausted, 2u);
  EXPECT_EQ(st.backlog(), 0u);
  EXPECT_EQ(st.failed_attempts, 16u);
  EXPECT_EQ(st.state, SubState::kRetrying) << "only a success ends the streak";
  EXPECT_EQ(*store_->count_queued(1), 0u);
  EXPECT_TRUE(rec_.lifecycle.empty());
}

TEST_F(EngineTest, AfterAnExhaustedEventTheNextPublishedIsSentAtOnceAndTheStreakStillDeactivates) {
  add("acme", always(503), svix_schedule());
  publish("ev1");
  run_until(days(3));
  ASSERT_EQ(state("acme").exhausted, 1u);
  publish("ev2");  // at 3d, with nothing queued and no retry waiting
  run_until(days(8));
  std::vector<Duration> expected = svix_attempts(0ms);
  std::vector<Duration> second = svix_attempts(days(3));
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(expected));
  // give_up_after (7d, frotcom's) still counts from the streak's start: exhausting events does not end it.
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, days(7));
  EXPECT_EQ(rec_.lifecycle[0].discarded, 0u);
  EXPECT_EQ(state("acme").exhausted, 2u);
}

TEST_F(EngineTest, MaxAttemptsAndTheScheduleOfTheNextEventSurviveARestart) {
  add("acme", always(503), svix_schedule());
  publish("ev1");
  publish("ev2");
  run_until(27h + 35min + 5s + 6h);  // ev1 exhausted; ev2 at its 5th attempt
  restart();
  EXPECT_EQ(state("acme").exhausted, 1u);
  run_until(days(3));
  std::vector<Duration> expected = svix_attempts(0ms);
  std::vector<Duration> second = svix_attempts(expected[7]);
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(expected));
  EXPECT_EQ(state("acme").exhausted, 2u);
}

TEST_F(EngineTest, ASuccessAfterAnExhaustedEventEndsTheStreak) {
  RetryPolicy p = svix_schedule();
  p.max_attempts = 2;  // 0 and 5s
  add("acme", outage(0ms, 1min), p);
  publish("ev1");
  publish("ev2");
  run_until(1h);
  // ev1: 0, 5s (exhausted); ev2: 5s, 10s (exhausted); nothing left.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0s, 5s, 5s, 10s));
  publish("ev3");  // at 1h, the receiver answers 200 again
  run_until(2h);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(3u));
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.state, SubState::kActive);
  EXPECT_EQ(st.exhausted, 2u);
  EXPECT_EQ(st.streak_failures, 0u);
  EXPECT_EQ(st.schedule_from, 0u);
}

TEST(PolicyJson, MaxAttemptsIsReadWrittenOnlyWhenSetAndRefusedOutOfRange) {
  auto p = parse(R"({"max_attempts": 8})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->max_attempts, 8u);
  EXPECT_EQ(policy_to_json(*p)["max_attempts"], 8);
  auto back = parse_policy(json::parse(policy_to_json(*p).dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("max_attempts"));
  for (const char* bad : {R"({"max_attempts": 0})", R"({"max_attempts": "8"})", R"({"max_attempts": 1.5})",
                          R"({"max_attempts": 1000001})"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("policy.max_attempts: must be a whole number from 1 to 1000000", 0),
              0u)
        << r.status().message();
  }
}

// ---- disable_on_status

TEST_F(EngineTest, DisableOnStatusDeactivatesAtTheFirst410AndDiscardsTheBacklog) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.disable_on_status = {410};
  protocol::ReceiverBehaviour gone = outage(0ms, 1h, 503);
  gone.status = 410;  // from 1h on: Gone
  add("acme", gone, p);
  publish("ev1");
  publish("ev2");
  publish("ev3");
  run_until(days(1));
  // frotcom's schedule until 1h: 0 (x4), 5m, 20m, 55m; the attempt at 1h55m answers 410.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 20min, 55min, 1h + 55min));
  EXPECT_EQ(rec_.attempts.back().status, 410);
  EXPECT_EQ(rec_.attempts.back().next, std::nullopt);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].kind, LifecycleRecord::Kind::kDeactivated);
  EXPECT_EQ(rec_.lifecycle[0].t, 1h + 55min);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 3u);
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.state, SubState::kDeactivated);
  EXPECT_EQ(st.discarded, 3u);
  EXPECT_EQ(st.deactivation_reason, "answered HTTP 410 (disable_on_status)");
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(EngineTest, WithoutDisableOnStatusA410IsRetriedLikeAnyFailure) {
  protocol::ReceiverBehaviour gone = always(410);
  add("acme", gone);
  publish("ev1");
  run_until(2h);
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 20min, 55min, 1h + 55min));
  EXPECT_TRUE(rec_.lifecycle.empty());
}

// ---- disable_after

TEST_F(EngineTest, DisableAfterEightConsecutiveFailuresDeactivatesAtTheEighth) {
  // Shopify removes a subscription after 8 consecutive failures (issue 16's table).
  RetryPolicy p = RetryPolicy::frotcom();
  p.disable_after_failures = 8;
  add("acme", always(503), p);
  publish("ev1");
  publish("ev2");
  run_until(days(1));
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 20min, 55min, 1h + 55min));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 1h + 55min);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 2u);
  EXPECT_EQ(state("acme").deactivation_reason,
            "8 consecutive failed attempts since 2026-01-01T00:00:00.000Z (disable_after)");
}

TEST_F(EngineTest, DisableAfterFailuresCountsAcrossExhaustedEventsAndASuccessResetsIt) {
  RetryPolicy p = svix_schedule();
  p.max_attempts = 3;  // 0, 5s, 5m5s
  p.disable_after_failures = 5;
  add("acme", outage(10min, days(1)), p);
  publish("ev1");  // delivered at 0: no streak
  run_until(10min);
  publish("ev2");
  publish("ev3");
  run_until(days(1));
  // ev2: 10m, 10m5s, 15m5s (exhausted); ev3: 15m5s, 15m10s: the 5th consecutive failure.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 10min, 10min + 5s, 15min + 5s, 15min + 5s, 15min + 10s));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 15min + 10s);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 1u);
  EXPECT_EQ(state("acme").exhausted, 1u);
}

TEST_F(EngineTest, DisableAfterFiveDaysIsCheckedAtTheFirstFailureAtOrAfterIt) {
  // Svix disables an endpoint whose attempts all failed for 5 days (docs.svix.com/retries), with its
  // 8-attempt schedule; give_up_after is set beyond it so that only disable_after acts.
  RetryPolicy p = svix_schedule();
  p.give_up_after = days(30);
  p.disable_after_duration = days(5);
  add("acme", always(503), p);
  for (int i = 1; i <= 10; ++i) publish("ev" + std::to_string(i));
  run_until(days(10));
  // Events go one after the other, 27h35m5s each; ev5 starts at 110h20m20s and its 7th attempt, at
  // 127h55m25s, is the first failure at or after 120h: deactivated then, not at 120h.
  std::vector<Duration> expected;
  Duration t0 = 0ms;
  for (int event = 0; event < 5; ++event) {
    std::vector<Duration> one = svix_attempts(t0);
    for (Duration t : one) {
      expected.push_back(t);
      if (t >= days(5)) break;
    }
    t0 = one.back();
  }
  EXPECT_EQ(expected.back(), 127h + 55min + 25s);
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(expected));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 127h + 55min + 25s);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 6u);
  EXPECT_EQ(state("acme").exhausted, 4u);
  EXPECT_EQ(state("acme").deactivation_reason,
            "failing for 5d7h55m25s since 2026-01-01T00:00:00.000Z (disable_after)");
}

TEST(PolicyJson, DisableFieldsAreReadWrittenOnlyWhenSetAndRefusedNamingTheField) {
  auto p = parse(R"({"disable_on_status": [410, 404], "disable_after": {"failures": 8, "duration": "5d"}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->disable_on_status, (std::vector<int>{410, 404}));
  EXPECT_EQ(p->disable_after_failures, 8u);
  EXPECT_EQ(p->disable_after_duration, days(5));
  auto j = policy_to_json(*p);
  EXPECT_EQ(j["disable_on_status"].dump(), "[410,404]");
  EXPECT_EQ(j["disable_after"].dump(), R"({"failures":8,"duration":"5d"})");
  auto back = parse_policy(json::parse(j.dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("disable_on_status"));
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("disable_after"));

  const std::pair<const char*, const char*> bad[] = {
      {R"({"disable_on_status": 410})", "policy.disable_on_status: must be an array of HTTP statuses"},
      {R"({"disable_on_status": [200]})", "policy.disable_on_status[0]: must be a status that fails"},
      {R"({"disable_on_status": [410, 410]})", "policy.disable_on_status[1]: 410 appears twice"},
      {R"({"disable_on_status": [99]})", "policy.disable_on_status[0]: must be an HTTP status code"},
      {R"({"disable_after": {}})", "policy.disable_after: needs failures, duration or both"},
      {R"({"disable_after": {"failures": 0}})", "policy.disable_after.failures: must be a whole number"},
      {R"({"disable_after": {"duration": "0s"}})", "policy.disable_after.duration: must be greater than 0s"},
      {R"({"disable_after": {"failure": 8}})", "policy.disable_after.failure: unknown field"},
  };
  for (const auto& [text, message] : bad) {
    auto r = parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().message().rfind(message, 0), 0u) << r.status().message();
  }
}

// ---- jitter

TEST(RetryPolicy, JitterFractionScalesTheDelayAndARangeAddsToIt) {
  RetryPolicy p = RetryPolicy::frotcom();
  EXPECT_EQ(p.jittered(5min, 0.99), 5min) << "no jitter in frotcom";
  p.jitter_fraction = 0.2;  // Svix's OSS server: ±20 %
  EXPECT_EQ(p.jittered(5min, 0.0), 4min);
  EXPECT_EQ(p.jittered(5min, 0.5), 5min);
  EXPECT_EQ(p.jittered(5min, 0.75), 5min + 30s);
  EXPECT_LT(p.jittered(5min, 0.9999999), 6min);
  EXPECT_EQ(p.jittered(0ms, 0.7), 0ms);
  RetryPolicy r = RetryPolicy::frotcom();
  r.jitter_max = 5s;  // Convoy: + 0 to 5 s
  EXPECT_EQ(r.jittered(10s, 0.0), 10s);
  EXPECT_EQ(r.jittered(10s, 0.5), 12s + 500ms);
  EXPECT_EQ(r.jittered(0ms, 0.2), 1s) << "the immediate retries get the range too";
  r.jitter_min = 2s;
  EXPECT_EQ(r.jittered(10s, 0.0), 12s);
  EXPECT_EQ(r.jittered(10s, 0.5), 13s + 500ms);
}

TEST(Seeded, DrawsDependOnEveryInputAndNothingElse) {
  double a = seeded_unit(7, "acme", 1, 5);
  EXPECT_EQ(a, seeded_unit(7, "acme", 1, 5));
  EXPECT_GE(a, 0.0);
  EXPECT_LT(a, 1.0);
  EXPECT_NE(a, seeded_unit(8, "acme", 1, 5));
  EXPECT_NE(a, seeded_unit(7, "acmf", 1, 5));
  EXPECT_NE(a, seeded_unit(7, "acme", 2, 5));
  EXPECT_NE(a, seeded_unit(7, "acme", 1, 6));
}

TEST_F(EngineTest, JitterFractionMovesEachRetryWithinItsBoundsFromTheSeed) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.immediate_retries = 0;
  p.jitter_fraction = 0.2;
  add("acme", always(503), p);
  publish("ev1");
  run_until(days(8));
  std::vector<Duration> times = rec_.times("acme");
  ASSERT_GE(times.size(), 10u);
  // The exact times: the delay after the n-th failure is frotcom's scaled by the draw of (seed 0, "acme",
  // seq 1, n - 1 failures before it).
  Duration t = 0ms;
  std::vector<Duration> expected{t};
  for (uint32_t n = 1; n < times.size(); ++n) {
    Duration d = p.delay_after_failure(n);
    Duration j = p.jittered(d, seeded_unit(0, "acme", 1, n - 1));
    EXPECT_GE(j, d * 8 / 10) << n;
    EXPECT_LT(j, d * 12 / 10) << n;
    t += j;
    expected.push_back(t);
  }
  EXPECT_THAT(times, ElementsAreArray(expected));
  size_t moved = 0;
  for (uint32_t n = 1; n < times.size(); ++n) moved += times[n] - times[n - 1] != p.delay_after_failure(n);
  EXPECT_GE(moved, times.size() - 2) << "nearly every delay is moved by its draw";
  // give_up_after is not jittered: the deactivation is at 7d exactly.
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, days(7));
}

std::string jitter_log(uint64_t seed, const char* jitter) {
  json scenario = json::parse(R"({
    "duration": "2d",
    "subscriptions": [{"id": "acme", "receiver": {"status": 503, "windows": [{"from": "30h", "until": "2d", "status": 200}]}}],
    "events": [{"every": "1h", "until": "3h", "type": "tracking"}]
  })");
  scenario["seed"] = seed;
  scenario["subscriptions"][0]["policy"] = {{"jitter", json::parse(jitter)}};
  return testutil::simulate_log(scenario);
}

std::vector<int64_t> attempt_times(const std::string& log) {
  std::vector<int64_t> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["kind"] == "attempt") out.push_back(j["t_ms"].get<int64_t>());
  }
  return out;
}

TEST(JitterScenario, SameSeedSameLogAnotherSeedOtherAttemptTimes) {
  for (const char* jitter : {"0.2", R"({"min": "0s", "max": "5s"})"}) {
    std::string a = jitter_log(7, jitter), b = jitter_log(7, jitter), c = jitter_log(8, jitter);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b) << jitter << ": the same seed must give a byte-identical log";
    std::vector<int64_t> ta = attempt_times(a), tc = attempt_times(c);
    EXPECT_GT(ta.size(), 10u);
    EXPECT_NE(ta, tc) << jitter << ": another seed must move the attempts";
    EXPECT_EQ(ta.front(), tc.front()) << "the first attempt is not a retry: never jittered";
  }
}

TEST(PolicyJson, JitterIsAFractionOrARangeWrittenOnlyWhenSet) {
  auto f = parse(R"({"jitter": 0.2})");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->jitter_fraction, 0.2);
  EXPECT_EQ(policy_to_json(*f)["jitter"].dump(), "0.2");
  auto r = parse(R"({"jitter": {"min": "0s", "max": "5s"}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->jitter_min, 0s);
  EXPECT_EQ(r->jitter_max, 5s);
  EXPECT_EQ(policy_to_json(*r)["jitter"].dump(), R"({"min":"0s","max":"5s"})");
  for (const auto& p : {*f, *r}) {
    auto back = parse_policy(json::parse(policy_to_json(p).dump()), "policy");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, p);
  }
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("jitter"));
  const std::pair<const char*, const char*> bad[] = {
      {R"({"jitter": 0})", "policy.jitter: must be a fraction greater than 0 and at most 1"},
      {R"({"jitter": 1.5})", "policy.jitter: must be a fraction greater than 0 and at most 1"},
      {R"({"jitter": "20%"})", "policy.jitter: must be a fraction (0.2 is ±20 %) or"},
      {R"({"jitter": {"max": "5s"}})", "policy.jitter.min: is required"},
      {R"({"jitter": {"min": "5s", "max": "1s"}})", "policy.jitter.max: must not be less than min"},
      {R"({"jitter": {"min": "0s", "max": "0s"}})", "policy.jitter.max: must be greater than 0s"},
  };
  for (const auto& [text, message] : bad) {
    auto p = parse(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().message().rfind(message, 0), 0u) << p.status().message();
  }
}

// ---- retry_after

RetryPolicy honouring(Duration min, Duration max) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.honour_retry_after = true;
  p.retry_after_min = min;
  p.retry_after_max = max;
  return p;
}

protocol::ReceiverBehaviour asks_to_wait(int status, Duration retry_after, Duration until) {
  protocol::ReceiverBehaviour m;  // answers 200 after `until`
  m.windows.push_back(
      {0ms, until, protocol::ReceiverAction::kAnswer, status, ErrorClass::kNone, std::nullopt, retry_after});
  return m;
}

TEST_F(EngineTest, HonouredRetryAfterReplacesEveryDelayOfA429) {
  add("acme", asks_to_wait(429, 20min, 1h), honouring(1s, 10h));
  publish("ev1");
  run_until(2h);
  // Every delay is the receiver's 20 minutes, the immediate retries' too; the attempt at 1h is answered 200.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 20min, 40min, 1h));
  EXPECT_EQ(rec_.attempts[0].next, 20min);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1u));
}

TEST_F(EngineTest, HonouredRetryAfterIsClampedToTheBoundsAndAppliesTo503) {
  add("long", asks_to_wait(503, 20h, 21h), honouring(1s, 10h));  // Hook0 caps at 10h
  add("short", asks_to_wait(503, 0s, 3s), honouring(1s, 10h));
  publish("ev1");
  run_until(days(2));
  EXPECT_THAT(rec_.times("long"), ElementsAre(0ms, 10h, 20h, 30h));
  EXPECT_THAT(rec_.delivered_seqs("long"), ElementsAre(1u));
  EXPECT_THAT(rec_.times("short"), ElementsAre(0ms, 1s, 2s, 3s));
}

TEST_F(EngineTest, APolicyChangeReplansAWaitingRetryFromTheFailureNotFromItsRetryAfter) {
  // The first failure at 0 asks for 2 hours; the policy's first delay then changes, and the waiting retry
  // is planned by the new schedule from that failure (docs/policies.md), not from the Retry-After.
  RetryPolicy p = honouring(1s, 10h);
  p.immediate_retries = 0;
  p.delays = {5min};
  add("acme", asks_to_wait(503, 2h, 3h), p);
  publish("ev1");
  run_until(1min);
  ASSERT_EQ(*state("acme").next_attempt, kStart + 2h);
  SubscriptionConfig c = engine_->find("acme")->config;
  c.policy.delays = {10min};
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  EXPECT_EQ(*state("acme").next_attempt, kStart + 10min);  // was 2h - 5min + 10min = 2h05m
}

TEST_F(EngineTest, RetryAfterIsIgnoredByDefaultAndForOtherStatuses) {
  add("ignored", asks_to_wait(429, 20min, 1h));
  add("other", asks_to_wait(500, 20min, 1h), honouring(1s, 10h));
  publish("ev1");
  run_until(2h);
  for (const char* sub : {"ignored", "other"})
    EXPECT_THAT(rec_.times(sub), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 20min, 55min, 1h + 55min)) << sub;
}

TEST(RetryAfter, SecondsOrAnHttpDateRelativeToNow) {
  const TimePoint now = TimePoint(days(16729)) + 7h + 27min;  // 2015-10-21T07:27:00Z
  EXPECT_EQ(protocol::parse_retry_after("120", now), 120s);
  EXPECT_EQ(protocol::parse_retry_after(" 0 ", now), 0s);
  EXPECT_EQ(protocol::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 60s);
  EXPECT_EQ(protocol::parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0s) << "a past date: at once";
  for (const char* bad :
       {"", "-1", "1.5", "12s", "soon", "Wed, 21 Oct 2015 07:28:00 UTC", "Wednesday, 21-Oct-15 07:28:00 GMT",
        "Wed, 21 Foo 2015 07:28:00 GMT", "99999999999"})
    EXPECT_EQ(protocol::parse_retry_after(bad, now), std::nullopt) << bad;
}

TEST(PolicyJson, RetryAfterIsIgnoreOrHonourWithBounds) {
  auto p = parse(R"({"retry_after": {"honour": {"min": "1s", "max": "10h"}}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->honour_retry_after);
  EXPECT_EQ(p->retry_after_min, 1s);
  EXPECT_EQ(p->retry_after_max, 10h);
  EXPECT_EQ(policy_to_json(*p)["retry_after"].dump(), R"({"honour":{"min":"1s","max":"10h"}})");
  auto back = parse_policy(json::parse(policy_to_json(*p).dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  auto ignore = parse(R"({"retry_after": "ignore"})");
  ASSERT_TRUE(ignore.ok());
  EXPECT_EQ(*ignore, RetryPolicy::frotcom());
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("retry_after"));
  auto defaults = parse(R"({"retry_after": {"honour": {}}})");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->retry_after_min, 1s);
  EXPECT_EQ(defaults->retry_after_max, 10h);
  const std::pair<const char*, const char*> bad[] = {
      {R"({"retry_after": "honour"})", "policy.retry_after: must be \"ignore\" or"},
      {R"({"retry_after": {}})", "policy.retry_after.honour: is required"},
      {R"({"retry_after": {"honour": {"min": "1h", "max": "1m"}}})",
       "policy.retry_after.honour.max: must not be less than min"},
      {R"({"retry_after": {"honour": {"mx": "1h"}}})", "policy.retry_after.honour.mx: unknown field"},
  };
  for (const auto& [text, message] : bad) {
    auto r = parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().message().rfind(message, 0), 0u) << r.status().message();
  }
}

TEST(ReceiverBehaviour, RetryAfterIsCarriedByAnswersThatAreNot2xx) {
  auto b = protocol::parse_receiver_behaviour(
      json::parse(R"({"retry_after": "30s", "windows": [{"from": "0s", "until": "1h", "status": 429,
                      "retry_after": "2m"}, {"from": "1h", "until": "2h", "status": 503}]})"),
      "receiver", protocol::ReceiverContext::kSimulated);
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::mt19937_64 rng(1);
  EXPECT_EQ(b->decide(10min, rng).retry_after, 2min);
  EXPECT_EQ(b->decide(90min, rng).retry_after, 30s) << "the receiver's, in a window without its own";
  EXPECT_EQ(b->decide(3h, rng).retry_after, std::nullopt) << "a 200 carries none";
  auto bad = protocol::parse_receiver_behaviour(json::parse(R"({"retry_after": "1500ms"})"), "receiver",
                                                protocol::ReceiverContext::kSimulated);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "receiver.retry_after: must be whole seconds, at most 3650d");
}

// ---- rate_limit

TEST(TokenBucket, StartsFullRefillsEvenlyAndSaysHowLongToWait) {
  TokenBucket b;
  const TimePoint t0 = kStart;
  EXPECT_EQ(b.take(t0, 2, 1s), 0ms);
  EXPECT_EQ(b.take(t0, 2, 1s), 0ms);
  EXPECT_EQ(b.take(t0, 2, 1s), 500ms);
  EXPECT_EQ(b.take(t0 + 499ms, 2, 1s), 1ms);
  EXPECT_EQ(b.take(t0 + 500ms, 2, 1s), 0ms);
  EXPECT_EQ(b.take(t0 + 10s, 2, 1s), 0ms) << "full again, never more than full";
  EXPECT_EQ(b.take(t0 + 10s, 2, 1s), 0ms);
  EXPECT_EQ(b.take(t0 + 10s, 2, 1s), 500ms);
  EXPECT_EQ(b.take(t0 + 10s, 3, 1s), 334ms) << "a third of a second, rounded up";
}

TEST(TokenBucket, AClockSteppedBackGainsNothingAndLosesNothing) {
  TokenBucket b;
  const TimePoint t0 = kStart + 1h;
  EXPECT_EQ(b.take(t0, 10, 1s), 0ms);  // 9 tokens left
  // serve's wall clock steps back an hour: the bucket keeps its 9 tokens (it used to go deeply negative
  // and wait about an hour).
  for (int i = 0; i < 9; ++i) EXPECT_EQ(b.take(t0 - 1h, 10, 1s), 0ms) << i;
  EXPECT_EQ(b.take(t0 - 1h, 10, 1s), 100ms);
  EXPECT_EQ(b.take(t0 - 1h + 100ms, 10, 1s), 0ms) << "refills from the new time on";
}

TEST_F(EngineTest, RateLimitDelaysSendsOnTheVirtualClockAndFailsNone) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.rate_limit_deliveries = 2;
  p.rate_limit_per = 1s;
  add("acme", always(200), p);
  for (int i = 1; i <= 6; ++i) publish("ev" + std::to_string(i));
  run_until(1min);
  // A burst of 2, then one every 500ms.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 500ms, 1s, 1500ms, 2s));
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u));
  EXPECT_EQ(state("acme").failed_attempts, 0u);
}

TEST_F(EngineTest, RateLimitAlsoSpacesRetries) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.rate_limit_deliveries = 1;
  p.rate_limit_per = 1min;
  add("acme", always(503), p);
  publish("ev1");
  run_until(30min);
  // frotcom's 3 immediate retries wait a minute each for a token; 5m and 15m later, the bucket is full.
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 1min, 2min, 3min, 8min, 23min));
}

TEST(PolicyJson, RateLimitNeedsDeliveriesAndPer) {
  auto p = parse(R"({"rate_limit": {"deliveries": 10, "per": "1s"}})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->rate_limit_deliveries, 10u);
  EXPECT_EQ(p->rate_limit_per, 1s);
  EXPECT_EQ(policy_to_json(*p)["rate_limit"].dump(), R"({"deliveries":10,"per":"1s"})");
  auto back = parse_policy(json::parse(policy_to_json(*p).dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("rate_limit"));
  const std::pair<const char*, const char*> bad[] = {
      {R"({"rate_limit": {"per": "1s"}})", "policy.rate_limit.deliveries: is required"},
      {R"({"rate_limit": {"deliveries": 0, "per": "1s"}})", "policy.rate_limit.deliveries: must be a whole"},
      {R"({"rate_limit": {"deliveries": 5, "per": "0s"}})", "policy.rate_limit.per: must be greater than 0s"},
      {R"({"rate_limit": 5})", "policy.rate_limit: must be a JSON object"},
  };
  for (const auto& [text, message] : bad) {
    auto r = parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().message().rfind(message, 0), 0u) << r.status().message();
  }
}

}  // namespace
}  // namespace hooksim
