#include "engine/retry_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/policy_json.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;

TimePoint at(Duration d) {
  return TimePoint(d);
}

TEST(RetryPolicy, FrotcomPresetIsTheDocumentedSchedule) {
  RetryPolicy p = RetryPolicy::frotcom();
  EXPECT_EQ(p.immediate_retries, 3u);
  EXPECT_EQ(p.immediate_delay, 0ms);
  std::vector<Duration> expected = {5min, 15min, 35min, 1h, 2h + 30min, 5h, 10h + 30min, 21h, days(2)};
  EXPECT_EQ(p.delays, expected);
  EXPECT_EQ(p.repeat, days(1));
  EXPECT_EQ(p.give_up_after, days(7));
  EXPECT_EQ(p.probe, ProbeMode::kHead);
  EXPECT_EQ(p.attempt_timeout, 10s);
}

TEST(RetryPolicy, DelayAfterEachFailureOfAStreak) {
  RetryPolicy p = RetryPolicy::frotcom();
  std::vector<Duration> got;
  for (uint32_t n = 1; n <= 15; ++n) got.push_back(p.delay_after_failure(n));
  std::vector<Duration> expected = {0ms, 0ms,         0ms, 5min,    15min,   35min,   1h,     2h + 30min,
                                    5h,  10h + 30min, 21h, days(2), days(1), days(1), days(1)};
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(p.is_immediate_retry(3));
  EXPECT_FALSE(p.is_immediate_retry(4));
}

TEST(RetryPolicy, NoAttemptAtOrAfterTheDeactivationTime) {
  RetryPolicy p = RetryPolicy::frotcom();
  TimePoint t0 = at(0ms);
  // Failure 15 ends at 160h55m; the next would be at 184h55m, after the 168h deadline.
  EXPECT_FALSE(p.next_after_failure(15, t0, at(160h + 55min)).has_value());
  // Failure 14 ends at 136h55m; next at 160h55m, before the deadline.
  EXPECT_EQ(p.next_after_failure(14, t0, at(136h + 55min)), at(160h + 55min));
  // An attempt that would land exactly on the deadline is not made.
  EXPECT_FALSE(p.next_after_failure(14, t0, at(144h)).has_value());
  EXPECT_EQ(p.deactivation_time(at(10s)), at(10s + days(7)));
}

TEST(RetryPolicy, ParsesPresetAndPartialObject) {
  auto preset = parse_policy("frotcom", "policy");
  ASSERT_TRUE(preset.ok());
  EXPECT_EQ(*preset, RetryPolicy::frotcom());

  auto custom = parse_policy(
      nlohmann::json::parse(R"({"immediate_retries":1,"delays":["1m","2m"],"repeat":"1h","probe":"live"})"),
      "policy");
  ASSERT_TRUE(custom.ok()) << custom.status().message();
  EXPECT_EQ(custom->immediate_retries, 1u);
  EXPECT_EQ(custom->delays, (std::vector<Duration>{1min, 2min}));
  EXPECT_EQ(custom->repeat, 1h);
  EXPECT_EQ(custom->probe, ProbeMode::kLive);
  EXPECT_EQ(custom->give_up_after, days(7));  // absent fields keep the preset's values
}

TEST(RetryPolicy, RejectsBadFieldsNamingThem) {
  struct Case {
    const char* json;
    const char* message_prefix;
  };
  for (const Case& c : std::vector<Case>{
           {R"("aws")", "p: unknown policy preset 'aws'"},
           {R"(42)", "p: must be a preset name or an object"},
           {R"({"delays":["5m","soon"]})", "p.delays[1]: invalid duration 'soon'"},
           {R"({"delays":"5m"})", "p.delays: must be an array of durations"},
           {R"({"immediate_delay":5})", "p.immediate_delay: must be a duration string like \"5m\""},
           {R"({"repeat":"3651d"})", "p.repeat: must be at most 3650d"},
           {R"({"repeat":"0s"})", "p.repeat: must be greater than 0s"},
           {R"({"give_up_after":"0s"})", "p.give_up_after: must be greater than 0s"},
           {R"({"attempt_timeout":"0s"})", "p.attempt_timeout: must be greater than 0s"},
           {R"({"immediate_retries":-1})", "p.immediate_retries: must be a whole number"},
           {R"({"probe":"newest"})", "p.probe: must be \"head\" or \"live\""},
           {R"({"delay":["5m"]})", "p.delay: unknown field (did you mean \"delays\"?)"},
       }) {
    SCOPED_TRACE(c.json);
    auto p = parse_policy(nlohmann::json::parse(c.json), "p");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message().rfind(c.message_prefix, 0), 0u) << p.status().message();
  }
}

TEST(RetryPolicy, JsonFormRoundTrips) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.probe = ProbeMode::kLive;
  p.immediate_delay = 250ms;
  auto back = parse_policy(policy_to_json(p), "p");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
}

}  // namespace
}  // namespace hooksim
