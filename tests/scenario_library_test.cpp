// Runs every scenario of the library (scenarios/*.json, found by globbing: a new file is covered without
// touching this test) and checks its summary against the expectations written in the file and its attempt
// log against the hash recorded for it (a scenario added later is checked once its hash is recorded); plus
// the `expect` format itself and `hooksim simulate`'s check of it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/scenario_run.h"
#include "sim/expect.h"
#include "sim/scenario.h"

namespace hooksim::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kLibrary = fs::path(HOOKSIM_SOURCE_DIR) / "scenarios";

std::vector<std::string> library_files() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kLibrary))
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - 5);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

// The SHA-256 recorded for a library scenario's attempt log (tests/fixtures/scenario_log_sha256.txt, lines
// "<file> <hex>"); nullopt for a scenario not recorded there.
std::optional<std::string> recorded_log_sha256(const std::string& file) {
  std::ifstream in(fs::path(HOOKSIM_SOURCE_DIR) / "tests" / "fixtures" / "scenario_log_sha256.txt");
  std::string name, hex;
  while (in >> name >> hex)
    if (name == file) return hex;
  return std::nullopt;
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

class LibraryScenario : public testing::TestWithParam<std::string> {};

TEST_P(LibraryScenario, RunsAndMeetsTheExpectationsWrittenInIt) {
  auto sc = load_scenario((kLibrary / GetParam()).string());
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_FALSE(sc->description.empty()) << "every library scenario says what it shows";
  ASSERT_TRUE(sc->expect) << "every library scenario states its expectations";
  EXPECT_FALSE(sc->expect->counts.empty() && sc->expect->subscriptions.empty());
  std::ostringstream log;
  RunOptions options;
  options.log = &log;
  auto summary = cli::simulate_scenario(*sc, options);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  for (const std::string& miss : check_expectations(*sc->expect, *summary)) ADD_FAILURE() << miss;
  EXPECT_EQ(summary->order_violations, 0u);
  // The documented contract is untouched: the attempt log (without the `run` header the command line
  // adds) is byte-identical to the one recorded in tests/fixtures/scenario_log_sha256.txt.
  auto recorded = recorded_log_sha256(GetParam());
  if (recorded) EXPECT_EQ(sha256_hex(log.str()), *recorded) << GetParam() << ": the attempt log changed";
}

INSTANTIATE_TEST_SUITE_P(Scenarios, LibraryScenario, testing::ValuesIn(library_files()), test_name);

TEST(ScenarioLibrary, HasAtLeastTenScenariosBesidesTheDemo) {
  auto files = library_files();
  EXPECT_GE(files.size(), 11u);
  EXPECT_NE(std::find(files.begin(), files.end(), "demo.json"), files.end());
}

// ---------------------------------------------------------------------------------------------------------
// The expect format.

std::string expect_error(const json& expect) {
  json j = json::parse(R"({"duration": "1h", "subscriptions": [{"id": "a"}, {"id": "b"}]})");
  j["expect"] = expect;
  auto sc = parse_scenario(j);
  return sc.ok() ? "ok" : sc.status().message();
}

TEST(ScenarioExpect, BadExpectationsAreNamedByTheirJsonPath) {
  EXPECT_EQ(expect_error(json::parse(R"({"delivered": 3, "attempts": {"min": 1, "max": 9},
                                         "deactivated": ["a"], "subscriptions": {"b": {"state": "retrying"}}})")),
            "ok");
  EXPECT_EQ(expect_error(json::parse(R"({"deliverd": 3})")),
            "expect.deliverd: unknown field (did you mean \"delivered\"?)");
  EXPECT_EQ(expect_error(json::parse(R"({"delivered": -1})")),
            "expect.delivered: must be a whole number >= 0, or {\"min\": N, \"max\": M}");
  EXPECT_EQ(expect_error(json::parse(R"({"attempts": "3"})")),
            "expect.attempts: must be a whole number >= 0, or {\"min\": N, \"max\": M}");
  EXPECT_EQ(expect_error(json::parse(R"({"attempts": {"min": 5, "max": 4}})")),
            "expect.attempts.max: must not be less than min");
  EXPECT_EQ(expect_error(json::parse(R"({"attempts": {}})")), "expect.attempts: needs min, max or both");
  EXPECT_EQ(expect_error(json::parse(R"({"deactivated": ["a", "zz"]})")),
            "expect.deactivated[1]: no subscription 'zz' in this scenario");
  EXPECT_EQ(expect_error(json::parse(R"({"subscriptions": {"c": {}}})")),
            "expect.subscriptions.c: no subscription 'c' in this scenario");
  EXPECT_EQ(expect_error(json::parse(R"({"subscriptions": {"a": {"state": "sleeping"}}})")),
            "expect.subscriptions.a.state: unknown state 'sleeping' (one of active, retrying, deactivated)");
  EXPECT_EQ(expect_error(json::parse(R"({"subscriptions": {"a": {"events_published": 1}}})")),
            "expect.subscriptions.a.events_published: unknown field");
  EXPECT_EQ(expect_error(json::parse(R"([1])")), "expect: must be a JSON object");
}

TEST(ScenarioDescription, IsAStringOrLinesAndNothingElse) {
  json j =
      json::parse(R"({"duration": "1h", "subscriptions": [{"id": "a"}], "description": ["one", "two"]})");
  auto sc = parse_scenario(j);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  EXPECT_EQ(sc->description, "one\ntwo");
  j["description"] = "just one";
  EXPECT_EQ(parse_scenario(j)->description, "just one");
  j["description"] = 5;
  EXPECT_EQ(parse_scenario(j).status().message(), "description: must be a string");
  j["description"] = json::parse(R"(["ok", 5])");
  EXPECT_EQ(parse_scenario(j).status().message(), "description[1]: must be a string");
}

TEST(ScenarioExpect, ChecksExactValuesRangesListsAndSubscriptions) {
  Summary s;
  s.delivered = 10;
  s.attempts = 14;
  s.deactivated = {"a"};
  s.subscriptions.push_back({.id = "a", .state = "deactivated", .delivered = 10, .attempts = 14});
  auto parsed = parse_expectations(json::parse(R"({"delivered": 10, "attempts": {"min": 12, "max": 14},
      "deactivated": ["a"], "subscriptions": {"a": {"state": "deactivated", "attempts": {"min": 14}}}})"),
                                   "expect", {"a"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(check_expectations(*parsed, s).empty());

  parsed = parse_expectations(json::parse(R"({"delivered": 11, "attempts": {"max": 13}, "deactivated": [],
      "subscriptions": {"a": {"state": "active", "attempts": {"min": 15}}}})"),
                              "expect", {"a"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(check_expectations(*parsed, s),
            (std::vector<std::string>{"expect.attempts: expected at most 13, got 14",
                                      "expect.delivered: expected 11, got 10",
                                      "expect.deactivated: expected [], got [\"a\"]",
                                      "expect.subscriptions.a.state: expected active, got deactivated",
                                      "expect.subscriptions.a.attempts: expected at least 15, got 14"}));
}

// ---------------------------------------------------------------------------------------------------------
// hooksim simulate checks `expect`: exit 0 when met, 1 with one line per miss on stderr otherwise.

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RunResult simulate(const fs::path& scenario, const fs::path& dir) {
  std::string cmd = std::string("'") + HOOKSIM_BINARY + "' simulate '" + scenario.string() + "' >'" +
                    (dir / "out").string() + "' 2>'" + (dir / "err").string() + "' </dev/null";
  int rc = std::system(cmd.c_str());
  return {(rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1, slurp(dir / "out"), slurp(dir / "err")};
}

TEST(SimulateCli, ExitsOneWithADiffWhenTheScenarioExpectationsAreNotMet) {
  std::string tmpl = (fs::temp_directory_path() / "hooksim_library_test.XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  fs::path dir = tmpl;

  RunResult met = simulate(kLibrary / "demo.json", dir);
  EXPECT_EQ(met.exit_code, 0) << met.err;
  // Met: one line says so (6 totals, deactivated, and 5 + 4 for the two subscriptions), nothing else.
  EXPECT_EQ(met.err, "expect: 16 of 16 met\n");

  json demo = json::parse(slurp(kLibrary / "demo.json"));
  demo["expect"]["delivered"] = 26;
  demo["expect"]["subscriptions"]["acme-tracking"]["failed_attempts"] = {{"max", 7}};
  std::ofstream(dir / "wrong.json") << demo.dump();
  RunResult missed = simulate(dir / "wrong.json", dir);
  EXPECT_EQ(missed.exit_code, 1);
  EXPECT_EQ(json::parse(missed.out)["delivered"], 25);  // the summary is still printed
  EXPECT_EQ(missed.err,
            "hooksim simulate: 2 expectation(s) of " + (dir / "wrong.json").string() +
                " not met:\n"
                "  expect.delivered: expected 26, got 25\n"
                "  expect.subscriptions.acme-tracking.failed_attempts: expected at most 7, got 8\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hooksim::sim
