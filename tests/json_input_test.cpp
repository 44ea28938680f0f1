// protocol/json_input.h: the one wording of an unknown field, with a "did you mean" suggestion, for every
// reader of user JSON (scenarios, subscriptions, policies, receiver scripts, expectations, fleets).
#include "protocol/json_input.h"

#include <gtest/gtest.h>

#include "protocol/policy_json.h"
#include "protocol/receiver_behaviour.h"
#include "sim/scenario.h"

namespace hooksim::json_input {
namespace {

TEST(JsonInput, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("accounts", "accounts"), 0u);
  EXPECT_EQ(edit_distance("acount", "accounts"), 2u);  // two insertions
  EXPECT_EQ(edit_distance("statsu", "status"), 2u);    // a transposition is two substitutions
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
}

TEST(JsonInput, DidYouMeanSuggestsTheClosestNameWithinTwoEdits) {
  const std::vector<std::string> known = {"types", "accounts", "vehicles"};
  EXPECT_EQ(did_you_mean("acount", known), " (did you mean \"accounts\"?)");
  EXPECT_EQ(did_you_mean("vehicle", known), " (did you mean \"vehicles\"?)");
  EXPECT_EQ(did_you_mean("type", known), " (did you mean \"types\"?)");
  EXPECT_EQ(did_you_mean("colour", known), "");  // nothing within 2
  EXPECT_EQ(did_you_mean("acc", known), "");     // 5 edits
  // A name no longer than its distance is not "corrected" into an unrelated one.
  EXPECT_EQ(did_you_mean("id", std::vector<std::string>{"at"}), "");
  EXPECT_EQ(did_you_mean("x", std::vector<std::string>{"at"}), "");
  // The closest wins; ties go to the first.
  // (a transposition is two edits).
  EXPECT_EQ(did_you_mean("from", std::vector<std::string>{"form", "from_"}), " (did you mean \"from_\"?)");
  EXPECT_EQ(did_you_mean("untl", std::vector<std::string>{"until", "unto"}), " (did you mean \"until\"?)");
}

std::string scenario_error(const std::string& text) {
  auto sc = sim::parse_scenario(nlohmann::json::parse(text));
  return sc.ok() ? "" : sc.status().message();
}

TEST(JsonInput, EveryReaderAppendsTheSuggestionToTheUnknownFieldError) {
  // The example of issue 15: a subscription filter.
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a", "filters": {}}]})"),
            "subscriptions[0].filters: unknown field (did you mean \"filter\"?)");
  EXPECT_EQ(
      scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a", "filter": {"acount": ["x"]}}]})"),
      "subscriptions[0].filter.acount: unknown field (did you mean \"accounts\"?)");
  // The scenario's top level, a receiver window, an event, a fleet, an expectation.
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a"}], "evnts": []})"),
            "evnts: unknown field (did you mean \"events\"?)");
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a", "receiver":
               {"windows": [{"from": "0s", "until": "1m", "status": 503, "latncy": "1s"}]}}]})"),
            "subscriptions[0].receiver.windows[0].latncy: unknown field (did you mean \"latency\"?)");
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a"}],
               "events": [{"every": "1m", "type": "t", "unitl": "2m"}]})"),
            "events[0].unitl: unknown field (did you mean \"until\"?)");
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a"}],
               "events": [{"fleet": {"accounts": 1, "vehicles": 1, "tracking_evry": "1m"}}]})"),
            "events[0].fleet.tracking_evry: unknown field (did you mean \"tracking_every\"?)");
  EXPECT_EQ(
      scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a"}], "expect": {"delivred": 1}})"),
      "expect.delivred: unknown field (did you mean \"delivered\"?)");
  // Nothing close: the wording is unchanged.
  EXPECT_EQ(scenario_error(R"({"duration": "1h", "subscriptions": [{"id": "a"}], "colour": 1})"),
            "colour: unknown field");
}

TEST(JsonInput, PoliciesAndReceiverScriptsSuggestToo) {
  auto policy = parse_policy(nlohmann::json::parse(R"({"give_up_afer": "1d"})"), "policy");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(),
            "policy.give_up_afer: unknown field (did you mean \"give_up_after\"?)");
  auto script = protocol::parse_receiver_behaviour(nlohmann::json::parse(R"({"fail_rat": 0.1})"), "",
                                                   protocol::ReceiverContext::kServed);
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.status().message(), "fail_rat: unknown field (did you mean \"fail_rate\"?)");
}

}  // namespace
}  // namespace hooksim::json_input
