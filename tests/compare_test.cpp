// hooksim compare: the policy list, the receiver's recovery, the metrics of each policy on a scenario whose
// numbers are worked out by hand, determinism, the JSON and HTML, and the command line.
#include "sim/compare.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/scenario_run.h"
#include "cli_test_util.h"
#include "protocol/policy_json.h"
#include "sim/compare_render.h"

namespace hooksim::sim {
namespace {

using nlohmann::json;
using namespace hooksim::testutil;
using namespace std::chrono_literals;

// Receiver "a" answers 503 in [10m, 1h), every answer after 1s; "b" always answers 200 at once. An event
// every 10m from 0 to 50m (6 events), to both.
constexpr char kScenario[] = R"({
  "seed": 7, "duration": "3h",
  "subscriptions": [
    {"id": "a", "receiver": {"latency": "1s", "windows": [{"from": "10m", "until": "1h", "status": 503}]}},
    {"id": "b"}],
  "events": [{"every": "10m", "until": "1h", "type": "tracking"}]})";

// No immediate retry, one retry 20m after each failure, an event dropped after its 2nd attempt.
constexpr char kShortPolicy[] =
    R"({"immediate_retries": 0, "delays": ["20m"], "repeat": "20m", "max_attempts": 2})";
// frotcom, but the subscription is deactivated at its 2nd consecutive failure.
constexpr char kStrictPolicy[] = R"({"disable_after": {"failures": 2}})";

Scenario scenario() {
  auto sc = parse_scenario(json::parse(kScenario));
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  return *sc;
}

NamedPolicy named(const std::string& name, const char* policy_json) {
  auto p = parse_policy(json::parse(policy_json), "");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return {name, *p};
}

Result<Comparison> compare(const std::vector<NamedPolicy>& policies) {
  return compare_policies(scenario(), "s.json", policies, [](const Scenario& sc, const RunOptions& options) {
    return cli::simulate_scenario(sc, options);
  });
}

// The metrics of subscription `sub` under the policy of run `run`, as JSON (readable when a test fails).
json metrics(const Comparison& c, size_t run, size_t sub) {
  return json::parse(c.runs[run].metrics[sub].to_json().dump());
}

std::vector<NamedPolicy> three_policies() {
  return {named("frotcom", R"("frotcom")"), named("short", kShortPolicy), named("strict", kStrictPolicy)};
}

// --- the policy list
// -----------------------------------------------------------------------------------------

TEST(ComparePolicyList, ReadsPresetsAndFilesInOrder) {
  TempDir dir;
  write_file(dir.file("short.json"), kShortPolicy);
  auto list = read_policy_list({"frotcom", dir.file("short.json")});
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "frotcom");
  EXPECT_EQ((*list)[0].policy, RetryPolicy::frotcom());
  EXPECT_EQ((*list)[1].name, dir.file("short.json"));
  EXPECT_EQ((*list)[1].policy.max_attempts, 2u);
  EXPECT_EQ((*list)[1].policy.immediate_retries, 0u);
}

TEST(ComparePolicyList, AnItemThatIsNoPresetIsAFile) {
  TempDir dir;
  write_file(dir.file("fast"), kShortPolicy);
  std::error_code ec;
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto list = read_policy_list({"fast", "frotcom"});
  std::filesystem::current_path(cwd, ec);
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ((*list)[0].policy.max_attempts, 2u);
  EXPECT_EQ((*list)[1].policy, RetryPolicy::frotcom());
}

TEST(ComparePolicyList, ABareFileNameEndingInJsonIsAFile) {
  auto list = read_policy_list({"nosuch.json"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(), "--policies: nosuch.json: cannot open the file");
}

TEST(ComparePolicyList, RefusesUnknownPresetsMissingFilesBadPoliciesAndRepeats) {
  TempDir dir;
  write_file(dir.file("bad.json"), R"({"max_attempts": 0})");
  write_file(dir.file("broken.json"), "{");
  struct Case {
    std::vector<std::string> items;
    std::string message_has;
  };
  const Case cases[] = {
      {{"frotcom", "nosuch"}, "--policies: unknown policy preset 'nosuch'"},
      {{"nosuch"}, ", and no policy file of that name"},
      {{dir.file("missing.json")}, "--policies: " + dir.file("missing.json") + ": cannot open the file"},
      {{dir.file("broken.json")}, "--policies: " + dir.file("broken.json") + ": not valid JSON"},
      {{dir.file("bad.json")},
       "--policies: " + dir.file("bad.json") + ": max_attempts: must be a whole number"},
      {{"frotcom", "frotcom"}, "--policies: 'frotcom' is given twice"},
      {{"frotcom", ""}, "--policies: an empty item"},
      {{}, "--policies: name at least one policy"},
  };
  for (const Case& c : cases) {
    auto list = read_policy_list(c.items);
    ASSERT_FALSE(list.ok()) << c.message_has;
    EXPECT_EQ(list.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(list.status().message().find(c.message_has), std::string::npos) << list.status().message();
  }
}

// --- the receiver's recovery
// ---------------------------------------------------------------------------------

protocol::ReceiverBehaviour receiver(const char* text) {
  auto b = protocol::parse_receiver_behaviour(json::parse(text), "receiver",
                                              protocol::ReceiverContext::kSimulated);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return *b;
}

TEST(CompareRecovery, IsTheEndOfTheLastFailingWindow) {
  auto r = receiver(R"({"windows": [{"from": "1h", "until": "2h", "status": 503},
                                    {"from": "3h", "until": "4h", "timeout": true},
                                    {"from": "5h", "until": "6h", "status": 204}]})");
  EXPECT_EQ(receiver_recovery(r, 10s, 24h), Duration(4h));
  EXPECT_EQ(receiver_recovery(receiver(R"({"windows": [{"from": "1h", "until": "2h", "error": "connect"}]})"),
                              10s, 24h),
            Duration(2h));
}

TEST(CompareRecovery, ASlowWindowFailsOnlyWhenItsLatencyReachesTheAttemptTimeout) {
  auto r = receiver(R"({"windows": [{"from": "1h", "until": "2h", "status": 200, "latency": "30s"}]})");
  EXPECT_EQ(receiver_recovery(r, 10s, 24h), Duration(2h));
  EXPECT_EQ(receiver_recovery(r, 30s, 24h), Duration(2h));
  EXPECT_EQ(receiver_recovery(r, 31s, 24h), std::nullopt);
}

TEST(CompareRecovery, NoneWhenItNeverFailsNeverRecoversOrRecoversAfterTheRun) {
  EXPECT_EQ(receiver_recovery(receiver("{}"), 10s, 24h), std::nullopt);
  EXPECT_EQ(receiver_recovery(receiver(R"({"fail_rate": 0.5})"), 10s, 24h), std::nullopt);
  EXPECT_EQ(receiver_recovery(receiver(R"({"status": 503})"), 10s, 24h), std::nullopt);
  EXPECT_EQ(receiver_recovery(
                receiver(R"({"status": 503, "windows": [{"from": "1h", "until": "2h", "status": 200}]})"),
                10s, 24h),
            std::nullopt);
  auto r = receiver(R"({"windows": [{"from": "1h", "until": "2h", "status": 503}]})");
  EXPECT_EQ(receiver_recovery(r, 10s, 2h), std::nullopt);
  EXPECT_EQ(receiver_recovery(r, 10s, 2h + 1ms), Duration(2h));
}

TEST(CompareRecovery, AWindowShadowedByAnEarlierOneDoesNotCount) {
  // The first window containing a time decides: the 503 window is inside a 200 one, so never seen.
  auto r = receiver(R"({"windows": [{"from": "1h", "until": "5h", "status": 200},
                                    {"from": "2h", "until": "3h", "status": 503},
                                    {"from": "4h", "until": "6h", "status": 503}]})");
  EXPECT_EQ(receiver_recovery(r, 10s, 24h), Duration(6h));
  auto hidden = receiver(R"({"windows": [{"from": "1h", "until": "5h", "status": 200},
                                         {"from": "2h", "until": "3h", "status": 503}]})");
  EXPECT_EQ(receiver_recovery(hidden, 10s, 24h), std::nullopt);
}

// --- the metrics -------------------------------------------------------------------------------------------

TEST(CompareMetrics, EachPolicyOnTheScenarioGivesTheNumbersWorkedOutByHand) {
  auto c = compare(three_policies());
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->runs.size(), 3u);
  EXPECT_EQ(c->subscriptions, (std::vector<std::string>{"a", "b"}));

  // frotcom: event 2 (10m) fails at 10m and 3 immediate retries (each ends 1s later), then at 15m04s and
  // 30m05s; the retry 35m after that, at 1h05m06s, is delivered, then events 3..6 queued behind it (1s
  // each): the backlog (5 at 50m) is empty at 1h05m11s, 5m11s after the recovery at 1h.
  EXPECT_EQ(metrics(*c, 0, 0), json::parse(R"({"attempts": 12, "failed_attempts": 6, "delivered": 6,
      "exhausted": 0, "discarded": 0, "deactivated_at_ms": null, "recovery_ms": 3600000, "drain_ms": 311000,
      "max_backlog": 5, "duplicates": 0})"));

  // short: event 2 fails at 10m and 30m01s (exhausted); event 3 goes at once, 30m02s, and at 50m03s
  // (exhausted); event 4 at 50m04s fails, at 1h10m05s is delivered, then 5 and 6: empty at 1h10m08s. The
  // backlog peaks at 4 (events 3..6) between 50m and 50m04s.
  EXPECT_EQ(metrics(*c, 1, 0), json::parse(R"({"attempts": 9, "failed_attempts": 5, "delivered": 4,
      "exhausted": 2, "discarded": 0, "deactivated_at_ms": null, "recovery_ms": 3600000, "drain_ms": 608000,
      "max_backlog": 4, "duplicates": 0})"));

  // strict: the 2nd failure (the first immediate retry, 10m01s to 10m02s) deactivates; event 2 is
  // discarded, events 3..6 are dropped; inactive after the recovery, so it never drains.
  EXPECT_EQ(metrics(*c, 2, 0), json::parse(R"({"attempts": 3, "failed_attempts": 2, "delivered": 1,
      "exhausted": 0, "discarded": 1, "deactivated_at_ms": 602000, "recovery_ms": 3600000, "drain_ms": null,
      "max_backlog": 1, "duplicates": 0})"));

  // "b" never fails: the same under every policy, and no recovery to drain from.
  for (const PolicyRun& run : c->runs) {
    const CompareMetrics& b = run.metrics[1];
    EXPECT_EQ(b.attempts, 6u) << run.name;
    EXPECT_EQ(b.delivered, 6u) << run.name;
    EXPECT_EQ(b.recovery_ms, std::nullopt) << run.name;
    EXPECT_EQ(b.drain_ms, std::nullopt) << run.name;
  }
}

TEST(CompareMetrics, UnorderedPoliciesAndAPresetGiveTheNumbersWorkedOutByHand) {
  auto c = compare({named("unordered", R"({"ordering": "unordered", "concurrency": 2, "immediate_retries": 0,
                       "delays": ["20m"], "repeat": "20m"})"),
                    named("github", R"("github")")});
  ASSERT_TRUE(c.ok()) << c.status().message();
  // unordered: each failing event retried 20m after its own failure ends, the others not waiting: event 2
  // at 10m, 30m01s, 50m02s, 1h10m03s (delivered); 3 at 20m, 40m01s, 1h00m02s; 4 at 30m, 50m01s, 1h10m02s;
  // 5 at 40m, 1h00m01s; 6 at 50m, 1h10m01s. The last answer ends at 1h10m04s, 10m04s after the recovery;
  // 5 events wait at 50m.
  EXPECT_EQ(metrics(*c, 0, 0), json::parse(R"({"attempts": 15, "failed_attempts": 9, "delivered": 6,
      "exhausted": 0, "discarded": 0, "deactivated_at_ms": null, "recovery_ms": 3600000, "drain_ms": 604000,
      "max_backlog": 5, "duplicates": 0})"));
  // github (no automatic retry, docs/policies.md#github): each event failing in the outage is exhausted at
  // its one attempt; nothing waits at the recovery.
  EXPECT_EQ(metrics(*c, 1, 0), json::parse(R"({"attempts": 6, "failed_attempts": 5, "delivered": 1,
      "exhausted": 5, "discarded": 0, "deactivated_at_ms": null, "recovery_ms": 3600000, "drain_ms": 0,
      "max_backlog": 1, "duplicates": 0})"));
}

TEST(CompareMetrics, ABacklogAlreadyEmptyAtTheRecoveryDrainsInNoTime) {
  // The receiver fails in [10m, 20m) but no event comes then: nothing is queued when it recovers.
  auto sc = parse_scenario(json::parse(R"({"duration": "1h",
      "subscriptions": [{"id": "a", "receiver": {"windows": [{"from": "10m", "until": "20m", "status": 503}]}}],
      "events": [{"at": "5m", "type": "t"}, {"at": "30m", "type": "t"}]})"));
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  auto c =
      compare_policies(*sc, "s.json", {named("frotcom", R"("frotcom")")},
                       [](const Scenario& s, const RunOptions& o) { return cli::simulate_scenario(s, o); });
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->runs[0].metrics[0].recovery_ms, 1'200'000);
  EXPECT_EQ(c->runs[0].metrics[0].drain_ms, 0);
}

// A stand-in for the simulator that reports, through the run's observers, one event delivered twice and a
// second one never delivered: duplicates are counted from the attempt records, and a backlog that never
// empties after the recovery never drains.
TEST(CompareMetrics, CountsAnEventDeliveredTwiceAsADuplicate) {
  auto fake = [](const Scenario& sc, const RunOptions& options) -> Result<Summary> {
    Event e1, e2;
    e1.id = "e1";
    e2.id = "e2";
    std::pair<std::string_view, uint64_t> q1[] = {{"a", 1}}, q2[] = {{"a", 2}};
    PublishRecord p1, p2;
    p1.event = &e1;
    p1.at = sc.start;
    p1.queued = q1;
    p2.event = &e2;
    p2.at = sc.start + 3ms;
    p2.queued = q2;
    AttemptRecord delivered;
    delivered.sub = "a";
    delivered.event_id = "e1";
    delivered.seq = 1;
    delivered.attempt = 1;
    delivered.started = sc.start + 1ms;
    for (DeliveryObserver* o : options.observers) {
      o->on_published(p1);
      o->on_attempt(delivered);
      delivered.attempt = 2;
      delivered.started = sc.start + 2ms;
      o->on_attempt(delivered);
      o->on_published(p2);
    }
    return Summary{};
  };
  auto c = compare_policies(scenario(), "s.json", {named("frotcom", R"("frotcom")")}, fake);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const CompareMetrics& m = c->runs[0].metrics[0];
  EXPECT_EQ(m.duplicates, 1u);
  EXPECT_EQ(m.max_backlog, 1);
  EXPECT_EQ(m.recovery_ms, 3'600'000);
  EXPECT_EQ(m.drain_ms, std::nullopt);
}

TEST(CompareMetrics, TheRunsErrorEndsTheComparison) {
  auto sc = parse_scenario(json::parse(R"({"duration": "1h",
      "subscriptions": [{"id": "a", "url": "http://127.0.0.1:1/"}]})"));
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  auto c =
      compare_policies(*sc, "s.json", {named("frotcom", R"("frotcom")")},
                       [](const Scenario& s, const RunOptions& o) { return cli::simulate_scenario(s, o); });
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("subscriptions[0].url"), std::string::npos) << c.status().message();
}

// --- output ------------------------------------------------------------------------------------------------

TEST(CompareOutput, TheSameComparisonTwiceGivesTheSameBytes) {
  auto first = compare(three_policies());
  auto second = compare(three_policies());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->to_json().dump(2), second->to_json().dump(2));
  EXPECT_EQ(render_compare_html(*first, "t"), render_compare_html(*second, "t"));
  EXPECT_EQ(render_compare_text(*first), render_compare_text(*second));
}

TEST(CompareOutput, JsonHasThePoliciesAndPerSubscriptionPerPolicyTheMetricsInMilliseconds) {
  auto c = compare(three_policies());
  ASSERT_TRUE(c.ok());
  json j = json::parse(c->to_json().dump());
  EXPECT_EQ(j["scenario"], "s.json");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["duration_ms"], 10'800'000);
  ASSERT_EQ(j["policies"].size(), 3u);
  EXPECT_EQ(j["policies"][1]["name"], "short");
  EXPECT_EQ(j["policies"][1]["policy"]["max_attempts"], 2);
  EXPECT_EQ(j["policies"][0]["policy"]["immediate_retries"], 3);
  ASSERT_EQ(j["subscriptions"].size(), 2u);
  EXPECT_EQ(j["subscriptions"][0]["id"], "a");
  const json& a = j["subscriptions"][0]["policies"];
  EXPECT_EQ(a["frotcom"],
            json::parse(R"({"attempts": 12, "failed_attempts": 6, "delivered": 6, "exhausted": 0,
      "discarded": 0, "deactivated_at_ms": null, "recovery_ms": 3600000, "drain_ms": 311000, "max_backlog": 5,
      "duplicates": 0})"));
  EXPECT_EQ(a["strict"]["deactivated_at_ms"], 602'000);
  EXPECT_TRUE(a["strict"]["drain_ms"].is_null());
  EXPECT_EQ(a["short"]["exhausted"], 2);
  // Keys in the order given, in the output as written.
  std::string text = c->to_json().dump();
  EXPECT_LT(text.find("\"frotcom\":{"), text.find("\"short\":{"));
  EXPECT_LT(text.find("\"short\":{"), text.find("\"strict\":{"));
}

TEST(CompareOutput, TextHasARowPerMetricAndAColumnPerPolicy) {
  auto c = compare(three_policies());
  ASSERT_TRUE(c.ok());
  std::string text = render_compare_text(*c);
  EXPECT_NE(text.find("scenario s.json (seed 7, 3h); policies: frotcom, short, strict\n"), std::string::npos);
  EXPECT_NE(text.find("\na                              frotcom            short           strict\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nattempts                            12                9                3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ndeactivated at                       —                —  0d 00:10:02.000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nrecovery to drained              5m11s            10m8s                —\n"),
            std::string::npos)
      << text;
}

TEST(CompareOutput, TextColumnsLineUpUnderASubscriptionIdLongerThanTheLabels) {
  Comparison c;
  c.subscriptions = {"a-very-long-subscription-id"};
  c.runs.push_back(PolicyRun{"p", RetryPolicy::frotcom(), {CompareMetrics{}}, {}});
  std::string text = render_compare_text(c);
  EXPECT_NE(text.find("\na-very-long-subscription-id  p\nattempts                     0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\ndeactivated at               —\n"), std::string::npos) << text;
}

TEST(CompareOutput, HtmlIsSelfContainedWithATableAndTheBacklogOfEveryPolicyPerSubscription) {
  auto c = compare(three_policies());
  ASSERT_TRUE(c.ok());
  std::string html = render_compare_html(*c, "cmp <&>");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>cmp &lt;&amp;&gt;</title>"), std::string::npos);
  for (const char* banned : {"<script", "http://", "https://", "<link", "<img"}) {
    if (std::string_view(banned) == "http://") {
      // the only URL is the SVG namespace
      size_t n = 0;
      for (size_t at = html.find(banned); at != std::string::npos; at = html.find(banned, at + 1))
        n += html.compare(at, 26, "http://www.w3.org/2000/svg") == 0 ? 0 : 1;
      EXPECT_EQ(n, 0u);
      continue;
    }
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  }
  for (const char* sub : {"a", "b"}) {
    EXPECT_NE(html.find(fmt::format(R"(<table class="compare" data-sub="{}">)", sub)), std::string::npos);
    EXPECT_NE(html.find(fmt::format(R"(<svg id="backlog-{}")", sub)), std::string::npos);
  }
  EXPECT_NE(html.find(R"(<path class="backlog" data-sub="frotcom" data-max="5")"), std::string::npos);
  EXPECT_NE(html.find(R"(<path class="backlog" data-sub="short" data-max="4")"), std::string::npos);
  EXPECT_NE(html.find(R"(<path class="backlog" data-sub="strict" data-max="1")"), std::string::npos);
  EXPECT_NE(html.find(R"(<line class="marker deactivated" data-sub="strict" data-t-ms="602000")"),
            std::string::npos);
  EXPECT_NE(html.find("<td>recovery to drained</td><td>5m11s</td><td>10m8s</td><td>—</td>"),
            std::string::npos);
}

// --- the command line
// ----------------------------------------------------------------------------------------

TEST(CompareCli, PrintsTheTablesAndWritesJsonAndHtmlTheSameEachTime) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  write_file(dir.file("short.json"), kShortPolicy);
  std::string first_json, first_html;
  for (int round = 0; round < 2; ++round) {
    std::string json_path = dir.file(fmt::format("out{}.json", round));
    std::string html_path = dir.file(fmt::format("out{}.html", round));
    RunResult r = run_hooksim(
        fmt::format("compare {} --policies frotcom,{} --json {} --html {}", shell_quote(dir.file("s.json")),
                    shell_quote(dir.file("short.json")), shell_quote(json_path), shell_quote(html_path)),
        dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_NE(r.out.find("\nattempts                            12                                    9\n"),
              std::string::npos)
        << r.out;
    json j = json::parse(read_file(json_path));
    EXPECT_EQ(j["subscriptions"][0]["policies"][dir.file("short.json")]["drain_ms"], 608'000);
    if (round == 0) {
      first_json = read_file(json_path);
      first_html = read_file(html_path);
    } else {
      EXPECT_EQ(read_file(json_path), first_json);
      EXPECT_EQ(read_file(html_path), first_html);
    }
  }
}

TEST(CompareCli, JsonToStdoutSendsTheTablesToStderr) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  RunResult r = run_hooksim(
      fmt::format("compare {} --policies frotcom --json -", shell_quote(dir.file("s.json"))), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);  // stdout is one JSON document
  EXPECT_EQ(j["policies"][0]["name"], "frotcom");
  EXPECT_NE(r.err.find("\nattempts "), std::string::npos) << r.err;
}

TEST(CompareCli, BadUsageExitsTwoWithOneLineNamingTheProblem) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  write_file(dir.file("bad-scenario.json"), R"({"duration": "1x", "subscriptions": [{"id": "a"}]})");
  const std::string s = shell_quote(dir.file("s.json"));
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"compare " + s + " --policies frotcom,nosuch",
       "hooksim compare: --policies: unknown policy preset 'nosuch'"},
      {"compare " + s + " --policies frotcom,frotcom",
       "hooksim compare: --policies: 'frotcom' is given twice"},
      {"compare " + s + " --policies " + shell_quote(dir.file("missing.json")),
       "hooksim compare: --policies: " + dir.file("missing.json") + ": cannot open the file"},
      {"compare " + shell_quote(dir.file("bad-scenario.json")) + " --policies frotcom",
       "hooksim compare: duration: invalid duration '1x'"},
      {"compare " + s, "hooksim compare: --policies is required"},
  };
  for (const Case& c : cases) {
    auto [rc, out] = run_hooksim_merged(c.args);
    EXPECT_EQ(rc, 2) << c.args << "\n" << out;
    EXPECT_EQ(out.rfind(c.message, 0), 0u) << c.args << "\n" << out;
  }
  // Nothing is written when the comparison cannot run.
  RunResult r = run_hooksim(fmt::format("compare {} --policies nosuch --json {} --html {}", s,
                                        shell_quote(dir.file("o.json")), shell_quote(dir.file("o.html"))),
                            dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.html")));
}

TEST(CompareCli, HelpNamesEveryFlag) {
  auto [rc, out] = run_hooksim_merged("compare --help");
  EXPECT_EQ(rc, 0);
  for (const char* flag : {"--policies", "--json", "--html"})
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace hooksim::sim
