// Inputs that once crashed a fuzz target (fuzz/corpus/<target>/regression-*): each is parsed the way the
// target parses it and must give a clean error. docs/hardening.md says how they are found and kept.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "service/requests.h"
#include "sim/scenario.h"
#include "storage/record_codec.h"

namespace hooksim {
namespace {

std::string corpus_file(const std::string& target, const std::string& name) {
  std::ifstream in(std::string(HOOKSIM_SOURCE_DIR) + "/fuzz/corpus/" + target + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << target << "/" << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// fuzz_api: a number too large for a double made nlohmann::json throw out_of_range (406), which escaped the
// body readers: the service answered 500 instead of 400 invalid_json. The first byte picks the route.
TEST(FuzzRegression, ApiBodyWithAnOverflowingNumberIsInvalidJson) {
  for (const char* name : {"regression-number-overflow", "regression-number-overflow-publish"}) {
    SCOPED_TRACE(name);
    std::string input = corpus_file("api", name);
    ASSERT_FALSE(input.empty());
    std::string body = input.substr(1);
    ASSERT_FALSE(service::nested_too_deep(body));
    SubscriptionConfig current;
    current.id = "acme";
    auto check = [](const service::BodyError* e) {
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(e->code, "invalid_json");
      EXPECT_NE(e->message.find("body: not valid JSON"), std::string::npos) << e->message;
      EXPECT_NE(e->message.find("number overflow"), std::string::npos) << e->message;
      // In words, with its place: "body: not valid JSON: line 1, column C: number overflow parsing '...'".
      EXPECT_EQ(e->message.rfind("body: not valid JSON: line 1, column ", 0), 0u) << e->message;
      EXPECT_EQ(e->message.find("json.exception"), std::string::npos) << e->message;
    };
    auto publish = service::parse_publish_body(body, TimePoint{}, [] { return std::string("evt_1"); });
    check(std::get_if<service::BodyError>(&publish));
    auto create = service::parse_subscription_body(body);
    check(std::get_if<service::BodyError>(&create));
    auto patch = service::parse_patch_body(body, current);
    check(std::get_if<service::BodyError>(&patch));
  }
}

// The same overflow in a scenario file: `hooksim simulate` must report bad JSON (exit 2), not abort.
TEST(FuzzRegression, ScenarioFileWithAnOverflowingNumberIsAnInputError) {
  auto s = sim::load_scenario(std::string(HOOKSIM_SOURCE_DIR) +
                              "/fuzz/corpus/scenario/regression-number-overflow.json");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.status().message().find("not valid JSON"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("number overflow"), std::string::npos) << s.status().message();
}

// fuzz_record: a stored attempt in the JSON of older stores whose at_ms is a number no integer holds
// (7.8e61). nlohmann's get<int64_t>() cast the double, which is undefined behaviour (UBSan: "outside the
// range of representable values"); the decoder must call it Corruption.
TEST(FuzzRegression, StoredAttemptWithAnAtMsNoIntegerHoldsIsCorruption) {
  std::string input = corpus_file("record", "regression-attempt-json-huge-at-ms");
  ASSERT_FALSE(input.empty());
  auto a = storage::decode_attempt(input);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kCorruption);
  EXPECT_NE(a.status().message().find("at_ms"), std::string::npos) << a.status().message();
}

}  // namespace
}  // namespace hooksim
