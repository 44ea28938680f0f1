// The scaffolding commands (cli/scaffold_cmd.cpp, cli/schedule_cmd.cpp): `hooksim init` writes two
// scenarios that simulate and parse, and never overwrites; `hooksim schedule` prints the engine's schedule;
// `hooksim secret` prints a fresh, valid Standard Webhooks secret.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/retry_policy.h"
#include "protocol/signing.h"
#include "sim/scenario.h"
#include "tests/cli_test_util.h"

namespace hooksim {
namespace {

using nlohmann::json;
using testutil::lines_of;
using testutil::read_file;
using testutil::run_hooksim;
using testutil::shell_quote;
using testutil::TempDir;

TEST(InitCommand, WritesAScenarioThatSimulatesAsIsAndOneForRunThatParses) {
  TempDir dir;
  std::string where = dir.file("starter");
  auto r = run_hooksim("init " + shell_quote(where) + " --url https://hooks.example.test/frotcom", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string simulated = where + "/simulated-outage.json", real = where + "/my-receiver.json";

  // The first runs under simulate as is, and its expectations hold.
  auto sim = run_hooksim("simulate " + shell_quote(simulated), dir);
  EXPECT_EQ(sim.exit_code, 0) << sim.err;
  json summary = json::parse(sim.out);
  EXPECT_EQ(summary["deactivated"], json::array());
  EXPECT_GT(summary["failed_attempts"].get<int>(), 0);  // the outage happened
  auto sc = sim::load_scenario(simulated);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_TRUE(sc->fleet.has_value());
  EXPECT_NE(sc->description.find("hooksim simulate"), std::string::npos);
  for (const auto& s : sc->subscriptions) EXPECT_FALSE(s.real()) << s.config.id;

  // The second parses, points at the URL, and is signed with a fresh secret it names in its description.
  auto run = sim::load_scenario(real);
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->subscriptions.size(), 1u);
  const auto& endpoint = run->subscriptions[0].config.endpoint;
  EXPECT_EQ(endpoint.url, "https://hooks.example.test/frotcom");
  EXPECT_TRUE(protocol::make_signer(endpoint.secret).ok());
  EXPECT_NE(run->description.find("hooksim run"), std::string::npos);
  EXPECT_NE(run->description.find(endpoint.secret), std::string::npos);
}

TEST(InitCommand, DefaultsToTheCurrentDirectoryAndALocalhostUrl) {
  TempDir dir;
  std::string cmd =
      "cd " + shell_quote(dir.path()) + " && " + shell_quote(HOOKSIM_BINARY) + " init >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto run = sim::load_scenario(dir.file("my-receiver.json"));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->subscriptions[0].config.endpoint.url, "http://127.0.0.1:8000/webhooks");
}

TEST(InitCommand, RefusesToOverwriteAndWritesNothing) {
  TempDir dir;
  testutil::write_file(dir.file("my-receiver.json"), "mine");
  auto r = run_hooksim("init " + shell_quote(dir.path()), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "hooksim init: " + dir.file("my-receiver.json") +
                       " already exists (nothing written; move it away or choose another directory)\n");
  EXPECT_EQ(read_file(dir.file("my-receiver.json")), "mine");
  EXPECT_FALSE(std::filesystem::exists(dir.file("simulated-outage.json")));
  EXPECT_EQ(run_hooksim("init " + shell_quote(dir.file("x")) + " --url ftp://nope", dir).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x")));
}

TEST(ScheduleCommand, FrotcomIsSixteenAttemptsAndDeactivationAt168h) {
  TempDir dir;
  auto r = run_hooksim("schedule", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto l = lines_of(r.out);
  ASSERT_EQ(l.size(), 2u + 16u + 1u) << r.out;
  EXPECT_EQ(l[2], "      1  0s                    (the first attempt)");
  EXPECT_EQ(l[5], "      4  0s                    0s (immediate retry)");
  EXPECT_EQ(l[6], "      5  5m                    5m");
  EXPECT_EQ(l[17], "     16  6d16h55m (160h55m)    1d");
  EXPECT_EQ(l.back(), "deactivated at 7d (168h): 16 attempts, none at or after the deactivation");
  EXPECT_EQ(run_hooksim("schedule frotcom", dir).out, r.out);
}

TEST(ScheduleCommand, JsonFollowsTheEnginesPolicyForPresetsFilesAndInlinePolicies) {
  TempDir dir;
  auto r = run_hooksim("schedule --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["attempts"].size(), 16u);
  EXPECT_EQ(j["deactivation"]["at"], "7d");
  EXPECT_EQ(j["deactivation"]["at_s"], 604800.0);
  // Every time is the engine's: each attempt follows the previous by RetryPolicy's delay.
  RetryPolicy p = RetryPolicy::frotcom();
  double at = 0;
  for (size_t i = 1; i < j["attempts"].size(); ++i) {
    at += std::chrono::duration<double>(p.delay_after_failure(static_cast<uint32_t>(i))).count();
    EXPECT_EQ(j["attempts"][i]["at_s"].get<double>(), at) << i;
    EXPECT_EQ(j["attempts"][i]["kind"], i <= 3 ? "immediate" : "scheduled") << i;
  }
  EXPECT_EQ(j["attempts"][0]["kind"], "first");

  testutil::write_file(dir.file("policy.json"), R"({"immediate_retries": 0, "delays": ["1h"], "repeat": "2h",
                                                    "give_up_after": "6h"})");
  json f = json::parse(run_hooksim("schedule --json " + shell_quote(dir.file("policy.json")), dir).out);
  std::vector<std::string> times;
  for (const auto& a : f["attempts"]) times.push_back(a["at"]);
  EXPECT_EQ(times, (std::vector<std::string>{"0s", "1h", "3h", "5h"}));
  EXPECT_EQ(f["deactivation"]["at"], "6h");
  EXPECT_EQ(run_hooksim("schedule --json '{\"give_up_after\": \"1h\", \"delays\": [\"30m\"], "
                        "\"immediate_retries\": 0, \"repeat\": \"1h\"}'",
                        dir)
                .exit_code,
            0);

  auto bad = run_hooksim("schedule '{\"delay\": []}'", dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "hooksim schedule: policy.delay: unknown field (did you mean \"delays\"?)\n");
  EXPECT_EQ(run_hooksim("schedule " + shell_quote(dir.file("missing.json")), dir).exit_code, 2);
}

TEST(SecretCommand, PrintsAFreshValidStandardWebhooksSecret) {
  TempDir dir;
  auto a = run_hooksim("secret", dir), b = run_hooksim("secret", dir);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(a.out.back(), '\n');
  std::string secret = a.out.substr(0, a.out.size() - 1);
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << secret;
  auto key = protocol::base64_decode(secret.substr(6));
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_GE(key->size(), 24u);
  EXPECT_TRUE(protocol::make_signer(secret).ok());
  EXPECT_NE(a.out, b.out);
}

}  // namespace
}  // namespace hooksim
