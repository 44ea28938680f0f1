// The progress line: its format, how rarely it reads the wall clock and redraws, and that it stays off when
// stderr is not a terminal.
#include "sim/progress.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cli_test_util.h"

namespace hooksim::sim {
namespace {

using namespace std::chrono_literals;
using namespace hooksim::testutil;

TEST(Progress, FormatsVirtualTimeReachedEventsAndAttempts) {
  EXPECT_EQ(format_progress(Duration(3 * 86'400'000LL + 12 * 3'600'000LL), Duration(7 * 86'400'000LL), 1234,
                            5678, 10),
            "[#####.....]  50%  3d 12:00 of 7d  events 1234  attempts 5678");
  EXPECT_EQ(format_progress(Duration(0), Duration(3'600'000), 0, 0, 4),
            "[....]   0%  0d 00:00 of 1h  events 0  attempts 0");
  // Beyond the end (an attempt that ends after the duration) it stays at 100 %.
  EXPECT_EQ(format_progress(Duration(7'200'000), Duration(3'600'000), 1, 2, 4),
            "[####] 100%  0d 01:00 of 1h  events 1  attempts 2");
}

TEST(Progress, ReplayFormatsRecordedTimeReachedAndAttemptsSentOutOfAll) {
  EXPECT_EQ(format_replay_progress(Duration(3 * 86'400'000LL + 12 * 3'600'000LL), Duration(7 * 86'400'000LL),
                                   120, 300, 10),
            "[#####.....]  50%  3d 12:00 of 7d  sent 120 of 300");
  // A meter told to count attempts out of a total draws that line.
  std::chrono::steady_clock::time_point now{};
  std::ostringstream out;
  TimePoint start = from_unix_ms(0);
  ProgressMeter meter(
      out, start, Duration(4'000), [&] { return now += 300ms; }, 250ms, /*check_every=*/1);
  meter.count_sent_of(3);
  AttemptRecord a;
  a.started = start + Duration(2'000);
  meter.on_attempt(a);
  EXPECT_EQ(out.str(), "\r[############............]  50%  0d 00:00 of 4s  sent 1 of 3\x1b[K");
}

TEST(Progress, ReadsTheWallClockEveryNStepsAndRedrawsAtMostOncePerInterval) {
  std::chrono::steady_clock::time_point now{};
  int clock_reads = 0;
  auto wall = [&] {
    ++clock_reads;
    return now;
  };
  std::ostringstream out;
  TimePoint start = from_unix_ms(1'000'000);
  ProgressMeter meter(out, start, Duration(86'400'000), wall, 250ms, /*check_every=*/4);
  EXPECT_EQ(clock_reads, 1);
  Event e;
  e.id = "e";
  auto publish = [&](int64_t t_ms) { meter.on_published({&e, "", start + Duration(t_ms), {}}); };

  for (int i = 0; i < 3; ++i) publish(1000);
  EXPECT_EQ(clock_reads, 1) << "no clock read before check_every steps";
  publish(1000);
  EXPECT_EQ(clock_reads, 2);
  EXPECT_EQ(meter.draws(), 0u) << "the interval has not passed";
  EXPECT_EQ(out.str(), "");

  now += 300ms;
  for (int i = 0; i < 4; ++i) publish(43'200'000);
  EXPECT_EQ(meter.draws(), 1u);
  EXPECT_EQ(out.str(), "\r[############............]  50%  0d 12:00 of 1d  events 8  attempts 0\x1b[K");

  for (int i = 0; i < 4; ++i) publish(50'000'000);
  EXPECT_EQ(meter.draws(), 1u) << "at most one redraw per interval";
  now += 1s;
  AttemptRecord a;
  a.started = start + Duration(60'000'000);
  for (int i = 0; i < 4; ++i) meter.on_attempt(a);
  EXPECT_EQ(meter.draws(), 2u);
  EXPECT_EQ(clock_reads, 5);
  EXPECT_NE(out.str().find("events 12  attempts 4"), std::string::npos) << out.str();

  meter.finish();
  EXPECT_TRUE(out.str().ends_with("\r\x1b[K"));
  std::string before = out.str();
  meter.finish();
  EXPECT_EQ(out.str(), before) << "finish is idempotent";
}

TEST(Progress, NothingIsWrittenWhenStderrIsNotATerminal) {
  EXPECT_FALSE(progress_wanted(-1));
  TempDir dir;
  RunResult r = run_hooksim("simulate " + shell_quote(HOOKSIM_SOURCE_DIR "/scenarios/demo.json"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "expect: 16 of 16 met\n") << "no progress line; only the expectations' verdict";
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
}

}  // namespace
}  // namespace hooksim::sim
