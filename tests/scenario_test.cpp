#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli_test_util.h"

namespace hooksim::sim {
namespace {

using namespace std::chrono_literals;
using namespace hooksim::testutil;
using nlohmann::json;

// A scenario that uses every feature of the format; the bad-scenario cases below each break one field of it.
json full_scenario() {
  return json::parse(R"({
    "seed": 42,
    "start": "2026-03-02T08:00:00Z",
    "duration": "1d",
    "policy": {"immediate_retries": 1, "immediate_delay": "1s", "delays": ["1m", "10m"], "repeat": "1h",
               "give_up_after": "12h", "probe": "live", "attempt_timeout": "5s"},
    "subscriptions": [
      {
        "id": "acme-tracking",
        "filter": {"types": ["tracking"], "accounts": ["acme"], "vehicles": ["truck-07"]},
        "policy": {"immediate_retries": 0, "delays": ["30s"], "probe": "head"},
        "receiver": {
          "latency": "40ms",
          "status": 204,
          "windows": [
            {"from": "1h", "until": "2h", "status": 503},
            {"from": "3h", "until": "3h30m", "timeout": true, "latency": "2s"},
            {"from": "5h", "until": "6h", "error": "connect"}
          ],
          "fail_rate": 0.25,
          "fail_status": 500
        }
      },
      {"id": "acme-messages", "receiver": {"latency": "25ms"}}
    ],
    "events": [
      {"at": "2h10m", "id": "msg-1", "type": "message", "account": "acme", "vehicle": "truck-07",
       "data": {"text": "Arrived", "n": 1}},
      {"every": "15m", "from": "30m", "until": "6h", "type": "tracking", "account": "acme"}
    ],
    "actions": [
      {"at": "12h", "action": "restart"},
      {"at": "13h", "action": "reactivate", "sub": "acme-tracking"}
    ]
  })");
}

TEST(ScenarioParser, ParsesFullScenarioIntoExpectedValues) {
  auto sc = parse_scenario(full_scenario());
  ASSERT_TRUE(sc.ok()) << sc.status().message();

  EXPECT_EQ(sc->seed, 42u);
  EXPECT_EQ(sc->start, *parse_utc("2026-03-02T08:00:00Z"));
  EXPECT_EQ(sc->duration, 24h);

  // Scenario policy: the object's fields, frotcom values for the rest (none absent here).
  EXPECT_EQ(sc->policy.immediate_retries, 1u);
  EXPECT_EQ(sc->policy.immediate_delay, 1s);
  EXPECT_EQ(sc->policy.delays, (std::vector<Duration>{1min, 10min}));
  EXPECT_EQ(sc->policy.repeat, 1h);
  EXPECT_EQ(sc->policy.give_up_after, 12h);
  EXPECT_EQ(sc->policy.probe, ProbeMode::kLive);
  EXPECT_EQ(sc->policy.attempt_timeout, 5s);

  ASSERT_EQ(sc->subscriptions.size(), 2u);
  const ScenarioSubscription& a = sc->subscriptions[0];
  EXPECT_EQ(a.config.id, "acme-tracking");
  EXPECT_EQ(a.config.filter.types, std::vector<std::string>{"tracking"});
  EXPECT_EQ(a.config.filter.accounts, std::vector<std::string>{"acme"});
  EXPECT_EQ(a.config.filter.vehicles, std::vector<std::string>{"truck-07"});
  // A per-subscription policy overrides the scenario policy; its absent fields are frotcom's, not the
  // scenario's.
  RetryPolicy expected_a = RetryPolicy::frotcom();
  expected_a.immediate_retries = 0;
  expected_a.delays = {30s};
  expected_a.probe = ProbeMode::kHead;
  EXPECT_EQ(a.config.policy, expected_a);

  EXPECT_EQ(a.receiver.latency, 40ms);
  EXPECT_EQ(a.receiver.status, 204);
  EXPECT_DOUBLE_EQ(a.receiver.fail_rate, 0.25);
  EXPECT_EQ(a.receiver.fail_status, 500);
  ASSERT_EQ(a.receiver.windows.size(), 3u);
  const auto& w0 = a.receiver.windows[0];
  EXPECT_EQ(w0.from, 1h);
  EXPECT_EQ(w0.until, 2h);
  EXPECT_EQ(w0.action, protocol::ReceiverAction::kAnswer);
  EXPECT_EQ(w0.status, 503);
  EXPECT_EQ(w0.error, ErrorClass::kNone);
  EXPECT_FALSE(w0.latency.has_value());
  const auto& w1 = a.receiver.windows[1];
  EXPECT_EQ(w1.from, 3h);
  EXPECT_EQ(w1.until, 3h + 30min);
  EXPECT_EQ(w1.action, protocol::ReceiverAction::kTimeout);
  EXPECT_EQ(w1.error, ErrorClass::kNone);
  EXPECT_EQ(w1.latency, std::optional<Duration>(2s));
  const auto& w2 = a.receiver.windows[2];
  EXPECT_EQ(w2.from, 5h);
  EXPECT_EQ(w2.until, 6h);
  EXPECT_EQ(w2.action, protocol::ReceiverAction::kError);
  EXPECT_EQ(w2.error, ErrorClass::kConnect);

  // No policy: the scenario policy is inherited. No filter: everything matches. Receiver defaults.
  const ScenarioSubscription& b = sc->subscriptions[1];
  EXPECT_EQ(b.config.id, "acme-messages");
  EXPECT_EQ(b.config.policy, sc->policy);
  EXPECT_TRUE(b.config.filter.types.empty());
  EXPECT_TRUE(b.config.filter.accounts.empty());
  EXPECT_TRUE(b.config.filter.vehicles.empty());
  EXPECT_EQ(b.receiver.latency, 25ms);
  EXPECT_EQ(b.receiver.status, 200);
  EXPECT_TRUE(b.receiver.windows.empty());
  EXPECT_EQ(b.receiver.fail_rate, 0.0);
  EXPECT_EQ(b.receiver.fail_status, 503);

  ASSERT_EQ(sc->events.size(), 2u);
  const EventSpec& single = sc->events[0];
  EXPECT_FALSE(single.repeating);
  EXPECT_EQ(single.at, 2h + 10min);
  EXPECT_EQ(single.id, "msg-1");
  EXPECT_EQ(single.type, "message");
  EXPECT_EQ(single.account, "acme");
  EXPECT_EQ(single.vehicle, "truck-07");
  EXPECT_EQ(json::parse(single.data), json::parse(R"({"text": "Arrived", "n": 1})"));
  EXPECT_EQ(single.data, R"({"n":1,"text":"Arrived"})");
  const EventSpec& series = sc->events[1];
  EXPECT_TRUE(series.repeating);
  EXPECT_EQ(series.every, 15min);
  EXPECT_EQ(series.from, 30min);
  EXPECT_EQ(series.until, 6h);
  EXPECT_TRUE(series.id.empty());
  EXPECT_EQ(series.type, "tracking");
  EXPECT_EQ(series.account, "acme");
  EXPECT_EQ(series.vehicle, "");
  EXPECT_EQ(series.data, "{}");

  ASSERT_EQ(sc->actions.size(), 2u);
  EXPECT_EQ(sc->actions[0].kind, Action::Kind::kRestart);
  EXPECT_EQ(sc->actions[0].at, 12h);
  EXPECT_EQ(sc->actions[1].kind, Action::Kind::kReactivate);
  EXPECT_EQ(sc->actions[1].at, 13h);
  EXPECT_EQ(sc->actions[1].sub, "acme-tracking");
}

TEST(ScenarioParser, MinimalScenarioTakesDefaults) {
  auto sc = parse_scenario(json::parse(R"({"duration": "1h", "subscriptions": [{"id": "s"}]})"));
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->seed, 0u);
  EXPECT_EQ(sc->start, *parse_utc("2026-01-01T00:00:00Z"));
  EXPECT_EQ(sc->duration, 1h);
  EXPECT_EQ(sc->policy, RetryPolicy::frotcom());
  ASSERT_EQ(sc->subscriptions.size(), 1u);
  EXPECT_EQ(sc->subscriptions[0].config.policy, RetryPolicy::frotcom());
  EXPECT_EQ(sc->subscriptions[0].receiver.status, 200);
  EXPECT_TRUE(sc->events.empty());
  EXPECT_TRUE(sc->actions.empty());
}

TEST(ScenarioParser, RepeatingEventWithoutUntilRunsToTheScenarioDuration) {
  auto sc = parse_scenario(json::parse(
      R"({"duration": "2h", "subscriptions": [{"id": "s"}], "events": [{"every": "10m", "type": "t"}]})"));
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  ASSERT_EQ(sc->events.size(), 1u);
  EXPECT_TRUE(sc->events[0].repeating);
  EXPECT_EQ(sc->events[0].from, 0ms);
  EXPECT_EQ(sc->events[0].until, 2h);
}

TEST(ScenarioParser, PolicyPresetNameIsAccepted) {
  json j = full_scenario();
  j["policy"] = "frotcom";
  j["subscriptions"][0]["policy"] = "frotcom";
  auto sc = parse_scenario(j);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->policy, RetryPolicy::frotcom());
  EXPECT_EQ(sc->subscriptions[0].config.policy, RetryPolicy::frotcom());
  EXPECT_EQ(sc->subscriptions[1].config.policy, RetryPolicy::frotcom());
}

TEST(ScenarioParser, RejectsWindowWithoutOutcomeNamingTheField) {
  json j = full_scenario();
  j["subscriptions"][0]["receiver"]["windows"][0].erase("status");
  auto sc = parse_scenario(j);
  ASSERT_FALSE(sc.ok());
  EXPECT_TRUE(sc.status().message().starts_with("subscriptions[0].receiver.windows[0]: "))
      << sc.status().message();
  EXPECT_EQ(sc.status().code(), Status::Code::kInvalidArgument);
}

TEST(ScenarioParser, RejectsNonObjectRootWithANamedLocation) {
  for (const char* text : {"[]", "\"scenario\"", "42", "null"}) {
    SCOPED_TRACE(text);
    auto sc = parse_scenario(json::parse(text));
    ASSERT_FALSE(sc.ok());
    EXPECT_TRUE(sc.status().message().starts_with("scenario: must be an object")) << sc.status().message();
    EXPECT_NE(sc.status().message().find("must be an object"), std::string::npos) << sc.status().message();
  }
}

struct BadCase {
  std::string what;
  std::function<void(json&)> mutate;  // applied to full_scenario()
  std::string prefix;                 // the error message must start with it
};

json& sub0(json& j) {
  return j["subscriptions"][0];
}
json& win(json& j, size_t i) {
  return j["subscriptions"][0]["receiver"]["windows"][i];
}

TEST(ScenarioParser, RejectsEachMistakeWithAMessageStartingWithTheJsonPath) {
  const std::vector<BadCase> cases = {
      {"garbage window from", [](json& j) { win(j, 1)["from"] = "x"; },
       "subscriptions[0].receiver.windows[1].from: "},
      {"window until == from", [](json& j) { win(j, 0)["until"] = "1h"; },
       "subscriptions[0].receiver.windows[0].until: "},
      {"window until < from", [](json& j) { win(j, 2)["until"] = "4h"; },
       "subscriptions[0].receiver.windows[2].until: "},
      {"window with two outcomes", [](json& j) { win(j, 0)["error"] = "dns"; },
       "subscriptions[0].receiver.windows[0]: "},
      {"window status 700", [](json& j) { win(j, 0)["status"] = 700; },
       "subscriptions[0].receiver.windows[0].status: "},
      {"window status 99", [](json& j) { win(j, 0)["status"] = 99; },
       "subscriptions[0].receiver.windows[0].status: "},
      {"window unknown error", [](json& j) { win(j, 2)["error"] = "abandoned"; },
       "subscriptions[0].receiver.windows[2].error: "},
      {"window timeout not bool", [](json& j) { win(j, 1)["timeout"] = "yes"; },
       "subscriptions[0].receiver.windows[1].timeout: "},
      {"window unknown field", [](json& j) { win(j, 0)["code"] = 1; },
       "subscriptions[0].receiver.windows[0].code: unknown field"},
      {"window missing from", [](json& j) { win(j, 2).erase("from"); },
       "subscriptions[0].receiver.windows[2].from: "},
      {"fail_rate 1.5", [](json& j) { sub0(j)["receiver"]["fail_rate"] = 1.5; },
       "subscriptions[0].receiver.fail_rate: "},
      {"fail_rate negative", [](json& j) { sub0(j)["receiver"]["fail_rate"] = -0.1; },
       "subscriptions[0].receiver.fail_rate: "},
      {"receiver status string", [](json& j) { sub0(j)["receiver"]["status"] = "200"; },
       "subscriptions[0].receiver.status: "},
      {"receiver latency number", [](json& j) { j["subscriptions"][1]["receiver"]["latency"] = 25; },
       "subscriptions[1].receiver.latency: "},
      {"misspelt receiver",
       [](json& j) {
         sub0(j)["recever"] = sub0(j)["receiver"];
         sub0(j).erase("receiver");
       },
       "subscriptions[0].recever: unknown field (did you mean \"receiver\"?)"},
      {"duplicate subscription id", [](json& j) { j["subscriptions"][1]["id"] = "acme-tracking"; },
       "subscriptions[1].id: "},
      {"invalid subscription id", [](json& j) { j["subscriptions"][1]["id"] = "acme messages"; },
       "subscriptions[1].id: "},
      {"missing subscription id", [](json& j) { j["subscriptions"][1].erase("id"); },
       "subscriptions[1].id: "},
      {"filter types not array", [](json& j) { sub0(j)["filter"]["types"] = "tracking"; },
       "subscriptions[0].filter.types: "},
      {"filter empty string", [](json& j) { sub0(j)["filter"]["accounts"][0] = ""; },
       "subscriptions[0].filter.accounts[0]: "},
      {"filter unknown field", [](json& j) { sub0(j)["filter"]["kinds"] = json::array(); },
       "subscriptions[0].filter.kinds: unknown field"},
      {"subscription policy probe", [](json& j) { sub0(j)["policy"]["probe"] = "tail"; },
       "subscriptions[0].policy.probe: "},
      {"subscription policy preset", [](json& j) { j["subscriptions"][1]["policy"] = "aws"; },
       "subscriptions[1].policy: "},
      {"policy delays[1] garbage", [](json& j) { j["policy"]["delays"][1] = "soon"; }, "policy.delays[1]: "},
      {"policy repeat 0s", [](json& j) { j["policy"]["repeat"] = "0s"; }, "policy.repeat: "},
      {"policy unknown field", [](json& j) { j["policy"]["retries"] = 3; }, "policy.retries: unknown field"},
      {"policy immediate_retries negative", [](json& j) { j["policy"]["immediate_retries"] = -1; },
       "policy.immediate_retries: "},
      {"missing subscriptions", [](json& j) { j.erase("subscriptions"); }, "subscriptions: "},
      {"empty subscriptions", [](json& j) { j["subscriptions"] = json::array(); }, "subscriptions: "},
      {"subscription not an object", [](json& j) { j["subscriptions"][1] = "acme-messages"; },
       "subscriptions[1]: "},
      {"missing duration", [](json& j) { j.erase("duration"); }, "duration: "},
      {"negative duration", [](json& j) { j["duration"] = "-1h"; }, "duration: "},
      {"garbage duration", [](json& j) { j["duration"] = "one day"; }, "duration: "},
      {"zero duration", [](json& j) { j["duration"] = "0s"; }, "duration: "},
      {"numeric duration", [](json& j) { j["duration"] = 3600; }, "duration: "},
      {"negative seed", [](json& j) { j["seed"] = -1; }, "seed: "},
      {"fractional seed", [](json& j) { j["seed"] = 1.5; }, "seed: "},
      {"garbage start", [](json& j) { j["start"] = "yesterday"; }, "start: "},
      {"unknown top-level field", [](json& j) { j["sed"] = 1; },
       "sed: unknown field (did you mean \"seed\"?)"},
      {"event at after duration", [](json& j) { j["events"][0]["at"] = "2d"; }, "events[0].at: "},
      {"event at equal to duration", [](json& j) { j["events"][0]["at"] = "1d"; }, "events[0].at: "},
      {"event without type", [](json& j) { j["events"][0].erase("type"); }, "events[0].type: "},
      {"event with empty type", [](json& j) { j["events"][1]["type"] = ""; }, "events[1].type: "},
      {"event with both at and every", [](json& j) { j["events"][0]["every"] = "5m"; }, "events[0]: "},
      {"event with neither at nor every", [](json& j) { j["events"][1].erase("every"); }, "events[1]: "},
      {"event every 0s", [](json& j) { j["events"][1]["every"] = "0s"; }, "events[1].every: "},
      {"third event every negative",
       [](json& j) {
         j["events"].push_back({{"every", "-5m"}, {"type", "t"}});
       },
       "events[2].every: "},
      {"series until before from", [](json& j) { j["events"][1]["until"] = "20m"; }, "events[1].until: "},
      {"series from after duration default until",
       [](json& j) {
         j["events"][1].erase("until");
         j["events"][1]["from"] = "2d";
       },
       "events[1].from: "},
      {"series with an id", [](json& j) { j["events"][1]["id"] = "x"; }, "events[1].id: unknown field"},
      {"single event with from", [](json& j) { j["events"][0]["from"] = "1h"; },
       "events[0].from: unknown field"},
      {"duplicate event id",
       [](json& j) {
         j["events"].push_back({{"at", "1h"}, {"id", "msg-1"}, {"type", "t"}});
       },
       "events[2].id: "},
      {"reserved event id", [](json& j) { j["events"][0]["id"] = "evt_9"; }, "events[0].id: "},
      {"events not an array", [](json& j) { j["events"] = json::object(); }, "events: "},
      {"reactivate unknown sub", [](json& j) { j["actions"][1]["sub"] = "nobody"; }, "actions[1].sub: "},
      {"reactivate without sub",
       [](json& j) {
         j["actions"][0] = {{"at", "1h"}, {"action", "reactivate"}};
       },
       "actions[0].sub: "},
      {"unknown action", [](json& j) { j["actions"][0]["action"] = "explode"; }, "actions[0].action: "},
      {"action at after duration", [](json& j) { j["actions"][0]["at"] = "25h"; }, "actions[0].at: "},
      {"restart with sub", [](json& j) { j["actions"][0]["sub"] = "acme-tracking"; },
       "actions[0].sub: unknown field"},
  };
  ASSERT_TRUE(parse_scenario(full_scenario()).ok());
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    json j = full_scenario();
    c.mutate(j);
    auto sc = parse_scenario(j);
    ASSERT_FALSE(sc.ok()) << j.dump();
    EXPECT_EQ(sc.status().code(), Status::Code::kInvalidArgument);
    const std::string msg = sc.status().message();
    EXPECT_TRUE(msg.starts_with(c.prefix)) << "message: " << msg << "\nexpected prefix: " << c.prefix;
    size_t sep = msg.find(": ");
    EXPECT_TRUE(sep != std::string::npos && msg.size() > sep + 2)
        << "the message must say what is wrong: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "the message must be one line: " << msg;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Files and the hooksim binary.

const std::string kDemo = HOOKSIM_SOURCE_DIR "/scenarios/demo.json";

TEST(ScenarioLoader, LoadsTheDemoScenario) {
  auto sc = load_scenario(kDemo);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->seed, 7u);
  EXPECT_EQ(sc->duration, 48h);
  EXPECT_EQ(sc->subscriptions.size(), 2u);
  EXPECT_EQ(sc->events.size(), 2u);
}

TEST(ScenarioLoader, ReportsMissingFileAndInvalidJsonNamingThePath) {
  TempDir dir;
  auto missing = load_scenario(dir.file("nope.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().message().starts_with(dir.file("nope.json") + ": "))
      << missing.status().message();

  write_file(dir.file("broken.json"), "{\"duration\": \"1h\",");
  auto broken = load_scenario(dir.file("broken.json"));
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(broken.status().message().starts_with(dir.file("broken.json") + ": not valid JSON"))
      << broken.status().message();
}

TEST(SimulateCli, BadScenarioExitsTwoWithOneLineNamingTheFieldAndCreatesNoLog) {
  TempDir dir;
  json j = full_scenario();
  win(j, 1)["from"] = "x";
  write_file(dir.file("bad.json"), j.dump(2));
  std::string log = dir.file("log.jsonl");

  RunResult r =
      run_hooksim("simulate " + shell_quote(dir.file("bad.json")) + " --log " + shell_quote(log), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(lines_of(r.err, /*keep_empty=*/true).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("subscriptions[0].receiver.windows[1].from: "), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(log)) << "a rejected scenario must not create the log file";
}

TEST(SimulateCli, InvalidJsonExitsTwo) {
  TempDir dir;
  write_file(dir.file("broken.json"), "{\"seed\": 1, \"duration\": ");
  std::string log = dir.file("log.jsonl");
  RunResult r =
      run_hooksim("simulate " + shell_quote(dir.file("broken.json")) + " --log " + shell_quote(log), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(lines_of(r.err, /*keep_empty=*/true).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(log));
}

// A JSON syntax error says where, in words: the file, then "line L, column C: what".
TEST(SimulateCli, InvalidJsonNamesTheLineAndColumnNotTheParsersTag) {
  TempDir dir;
  write_file(dir.file("broken.json"),
             "{\n  \"seed\": 1,\n  \"duration\": \"1h\"\n  \"subscriptions\": []\n}\n");
  RunResult r = run_hooksim("simulate " + shell_quote(dir.file("broken.json")), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind(
                "hooksim simulate: " + dir.file("broken.json") + ": not valid JSON: line 4, column 17: ", 0),
            0u)
      << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(r.err, /*keep_empty=*/true).size(), 1u) << r.err;
}

TEST(SimulateCli, MissingScenarioFileExitsTwo) {
  TempDir dir;
  RunResult r = run_hooksim("simulate " + shell_quote(dir.file("does-not-exist.json")), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(lines_of(r.err, /*keep_empty=*/true).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("does-not-exist.json"), std::string::npos) << r.err;
}

TEST(SimulateCli, MissingScenarioArgumentExitsTwo) {
  TempDir dir;
  RunResult r = run_hooksim("simulate", dir);
  EXPECT_EQ(r.exit_code, 2);
}

// Every usage error names its command, as the other errors do; the exit status stays 2.
TEST(Cli, UsageErrorsArePrefixedWithTheirCommand) {
  TempDir dir;
  RunResult replay = run_hooksim("replay log.jsonl", dir);
  EXPECT_EQ(replay.exit_code, 2);
  EXPECT_EQ(replay.err.rfind("hooksim replay: --target is required\n", 0), 0u) << replay.err;
  RunResult simulate = run_hooksim("simulate", dir);
  EXPECT_EQ(simulate.err.rfind("hooksim simulate: scenario is required\n", 0), 0u) << simulate.err;
  RunResult flag = run_hooksim("report --no-such-flag x.jsonl", dir);
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_EQ(flag.err.rfind("hooksim report: ", 0), 0u) << flag.err;
  RunResult none = run_hooksim("", dir);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err.rfind("hooksim: ", 0), 0u) << none.err;
  RunResult both = run_hooksim("run --speed 2 --time-scale 3600 s.json", dir);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err.rfind("hooksim run: --speed excludes --time-scale\n", 0), 0u) << both.err;
}

TEST(SimulateCli, SameScenarioTwiceGivesIdenticalLogsAndAConsistentSummary) {
  TempDir dir;
  std::string log1 = dir.file("log1.jsonl"), log2 = dir.file("log2.jsonl");
  RunResult r1 = run_hooksim("simulate " + shell_quote(kDemo) + " --log " + shell_quote(log1), dir);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  RunResult r2 = run_hooksim("simulate " + shell_quote(kDemo) + " --log " + shell_quote(log2), dir);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;

  std::string a = read_file(log1), b = read_file(log2);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "the attempt log must be byte-identical across runs";
  EXPECT_EQ(a.back(), '\n');

  uint64_t delivered_lines = 0, attempt_lines = 0;
  std::vector<std::string> lines = lines_of(a, /*keep_empty=*/true);
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("log line " + std::to_string(i + 1) + ": " + lines[i]);
    json rec = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(rec.is_discarded());
    ASSERT_TRUE(rec.is_object());
    ASSERT_TRUE(rec.contains("kind"));
    EXPECT_TRUE(rec["kind"].is_string());
    if (rec.value("outcome", "") == "delivered") ++delivered_lines;
    if (rec["kind"] == "attempt") ++attempt_lines;
  }

  json summary = json::parse(r1.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(summary.is_discarded()) << r1.out;
  EXPECT_EQ(summary["order_violations"], 0);
  EXPECT_GT(summary["events_published"].get<uint64_t>(), 0u);
  EXPECT_EQ(summary["delivered"].get<uint64_t>(), delivered_lines);
  EXPECT_EQ(summary["attempts"].get<uint64_t>(), attempt_lines);
  // wall_ms may differ between runs; everything else in the summary must not.
  json s2 = json::parse(r2.out);
  summary.erase("wall_ms");
  s2.erase("wall_ms");
  EXPECT_EQ(summary, s2);
}

TEST(SimulateCli, LogToStdoutIsJsonLinesEndingWithTheSummary) {
  TempDir dir;
  std::string log = dir.file("log.jsonl");
  RunResult file_run = run_hooksim("simulate " + shell_quote(kDemo) + " --log " + shell_quote(log), dir);
  ASSERT_EQ(file_run.exit_code, 0) << file_run.err;
  RunResult r = run_hooksim("simulate " + shell_quote(kDemo) + " --log -", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<std::string> lines = lines_of(r.out, /*keep_empty=*/true);
  ASSERT_GE(lines.size(), 2u) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("stdout line " + std::to_string(i + 1) + ": " + lines[i]);
    json rec = json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(rec.is_discarded());
    ASSERT_TRUE(rec.is_object());
    if (i + 1 < lines.size()) {
      EXPECT_TRUE(rec.contains("kind"));
    }
  }
  json summary = json::parse(lines.back());
  EXPECT_TRUE(summary.contains("events_published"));
  EXPECT_FALSE(summary.contains("kind"));
  EXPECT_EQ(summary["order_violations"], 0);

  // The log lines on stdout are exactly the log the file run wrote.
  std::string log_part = r.out.substr(0, r.out.size() - lines.back().size() - 1);
  EXPECT_EQ(log_part, read_file(log));
}

TEST(SimulateCli, FullScenarioRunsWithRestartAndReactivateActions) {
  TempDir dir;
  write_file(dir.file("full.json"), full_scenario().dump(2));
  std::string log = dir.file("log.jsonl");
  RunResult r =
      run_hooksim("simulate " + shell_quote(dir.file("full.json")) + " --log " + shell_quote(log), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  int restarts = 0;
  for (const std::string& line : lines_of(read_file(log), /*keep_empty=*/true)) {
    json rec = json::parse(line);
    if (rec["kind"] == "restart") {
      ++restarts;
      EXPECT_EQ(rec["t_ms"], 12 * 3600 * 1000);
    }
  }
  EXPECT_EQ(restarts, 1);
  json summary = json::parse(r.out);
  EXPECT_EQ(summary["order_violations"], 0);
  // 1 single event + a series every 15m in [30m, 6h) (22 events).
  EXPECT_EQ(summary["events_published"], 23);
  EXPECT_TRUE(summary["subscriptions"].contains("acme-tracking"));
  EXPECT_TRUE(summary["subscriptions"].contains("acme-messages"));
}

}  // namespace
}  // namespace hooksim::sim
