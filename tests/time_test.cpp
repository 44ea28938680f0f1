#include "engine/time.h"

#include <gtest/gtest.h>

namespace hooksim {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesEveryUnitAndCombinations) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("2h30m"), 2h + 30min);
  EXPECT_EQ(*parse_duration("1d12h"), 36h);
  EXPECT_EQ(*parse_duration("0s"), 0ms);
  EXPECT_EQ(*parse_duration("0"), 0ms);  // the one amount without a unit
  EXPECT_EQ(*parse_duration("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
}

TEST(Duration, RejectsMalformedText) {
  for (const char* bad : {"", "5", "00", "0m0", "m", "5x", "-5m", "+5m", "5m2h", "5m5m", "1.5h", " 5m", "5m ",
                          "99999999999999999999d"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find("invalid duration"), std::string::npos);
  }
}

TEST(Duration, FormatRoundTrips) {
  for (Duration d :
       std::initializer_list<Duration>{0ms, 250ms, 30s, 5min, 2h + 30min, 36h, Duration(123456789)}) {
    EXPECT_EQ(*parse_duration(format_duration(d)), d) << format_duration(d);
  }
  EXPECT_EQ(format_duration(2h + 30min), "2h30m");
  EXPECT_EQ(format_duration(36h), "1d12h");
}

TEST(UtcTime, ParsesAndFormats) {
  auto t = parse_utc("2026-01-01T00:05:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_utc(*t), "2026-01-01T00:05:00.000Z");
  EXPECT_EQ(to_unix_ms(*parse_utc("1970-01-01T00:00:01.5Z")), 1500);
  EXPECT_FALSE(parse_utc("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(parse_utc("2026-01-01 00:00:00Z").ok());
  EXPECT_FALSE(parse_utc("2026-01-01T00:00:00").ok());
}

TEST(UtcTime, FormatsEveryFieldWithLeadingZerosAndRoundTrips) {
  EXPECT_EQ(format_utc(*parse_utc("2024-02-29T23:59:59.999Z")), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_utc(*parse_utc("0999-09-09T09:09:09.009Z")), "0999-09-09T09:09:09.009Z");
  EXPECT_EQ(format_utc(TimePoint(Duration(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(TimePoint(Duration(-1))), "1969-12-31T23:59:59.999Z");
  // Every millisecond offset in a spread of instants over four centuries survives format + parse.
  for (int64_t ms = -5'000'000'000'000; ms < 8'000'000'000'000; ms += 987'654'321'987) {
    TimePoint t{Duration(ms)};
    auto back = parse_utc(format_utc(t));
    ASSERT_TRUE(back.ok()) << format_utc(t);
    EXPECT_EQ(*back, t) << format_utc(t);
  }
}

TEST(UtcTime, AppendingWritesWhatFormatUtcReturnsWhateverDayWasWrittenLast) {
  std::string out = "x";
  std::string want = "x";
  // Forward within a day, across midnight, back to an earlier day, before the epoch and past year 9999.
  for (int64_t ms : {1'767'225'600'000LL, 1'767'225'600'001LL, 1'767'311'999'999LL, 1'767'312'000'000LL,
                     1'767'225'600'500LL, -1LL, 0LL, 253'402'300'800'000LL, 1'767'225'600'000LL}) {
    append_utc(out, TimePoint(Duration(ms)));
    want += format_utc(TimePoint(Duration(ms)));
  }
  EXPECT_EQ(out, want);
  EXPECT_EQ(want.substr(1, 48), "2026-01-01T00:00:00.000Z2026-01-01T00:00:00.001Z");
  EXPECT_NE(want.find("2026-01-01T23:59:59.999Z2026-01-02T00:00:00.000Z2026-01-01T00:00:00.500Z"
                      "1969-12-31T23:59:59.999Z1970-01-01T00:00:00.000Z10000-01-01T00:00:00.000Z"),
            std::string::npos);
}

TEST(ElapsedTime, ShowsDaysThenTheTimeOfDay) {
  Duration d = 2 * 24h + 3h + 15min + 7s + 250ms;
  EXPECT_EQ(format_elapsed(d), "2d 03:15:07.250");
  EXPECT_EQ(format_elapsed_minutes(d), "2d 03:15");
  EXPECT_EQ(format_elapsed(0ms), "0d 00:00:00.000");
  EXPECT_EQ(format_elapsed_minutes(59s), "0d 00:00");
  EXPECT_EQ(format_elapsed(Duration(12 * 86'400'000LL - 1)), "11d 23:59:59.999");
}

}  // namespace
}  // namespace hooksim
