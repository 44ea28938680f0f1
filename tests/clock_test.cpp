#include "engine/clock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "net/asio_scheduler.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const TimePoint kT0 = TimePoint(std::chrono::days(20454));

TEST(VirtualScheduler, RunsTimersInTimeOrderAndTiesInSchedulingOrder) {
  VirtualScheduler s(kT0);
  std::vector<std::string> order;
  s.schedule_at(kT0 + 2s, [&] { order.push_back("b@2s"); });
  s.schedule_at(kT0 + 1s, [&] { order.push_back("a@1s"); });
  s.schedule_at(kT0 + 2s, [&] { order.push_back("c@2s"); });
  s.schedule_at(kT0 + 1s, [&] {
    order.push_back("d@1s");
    s.schedule_at(s.now(), [&] { order.push_back("e@1s (scheduled while running)"); });
  });
  s.run_until(kT0 + 10s);
  EXPECT_THAT(order, ElementsAre("a@1s", "d@1s", "e@1s (scheduled while running)", "b@2s", "c@2s"));
  EXPECT_EQ(s.now(), kT0 + 10s);
}

TEST(VirtualScheduler, CancelledTimersNeverRunAndCancelReportsWhetherItDidAnything) {
  VirtualScheduler s(kT0);
  int ran = 0;
  TimerId a = s.schedule_at(kT0 + 1s, [&] { ++ran; });
  TimerId b = s.schedule_at(kT0 + 2s, [&] { ++ran; });
  EXPECT_TRUE(s.cancel(a));
  EXPECT_FALSE(s.cancel(a));
  EXPECT_FALSE(s.cancel(0));
  EXPECT_EQ(s.pending(), 1u);
  s.run_until(kT0 + 5s);
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(s.cancel(b));  // already ran
}

TEST(VirtualScheduler, ClockStandsStillBetweenTimersAndPastTimesRunNow) {
  VirtualScheduler s(kT0);
  std::vector<TimePoint> seen;
  s.schedule_at(kT0 + 5min, [&] { seen.push_back(s.now()); });
  s.run_until(kT0 + 1h);
  s.schedule_at(kT0, [&] { seen.push_back(s.now()); });  // in the past: runs at the current time
  EXPECT_EQ(s.next_due(), kT0 + 1h);
  s.run_until(kT0 + 2h);
  EXPECT_THAT(seen, ElementsAre(kT0 + 5min, kT0 + 1h));
}

TEST(AsioScheduler, SkipsIdleGapsWhenNothingIsInFlight) {
  boost::asio::io_context io;
  net::AsioSchedulerOptions o;
  o.start = kT0;
  o.skip_idle = true;
  o.busy = [] { return false; };
  net::AsioScheduler s(io, o);
  std::vector<Duration> seen;
  s.schedule_at(kT0 + std::chrono::days(3), [&] { seen.push_back(s.now() - kT0); });
  s.schedule_at(kT0 + 5min, [&] { seen.push_back(s.now() - kT0); });
  s.run_until(kT0 + std::chrono::days(7));
  // Both ran, in order, at their times (the clock jumped; real time that passed since is small next to
  // the gaps, so the difference to the due time is far below a minute).
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[0], 5min);
  EXPECT_LT(seen[0], 6min);
  EXPECT_GE(seen[1], std::chrono::days(3));
  EXPECT_LT(seen[1], std::chrono::days(3) + 1min);
  EXPECT_GE(s.now(), kT0 + std::chrono::days(7));
}

TEST(AsioScheduler, WhileBusyTheClockFollowsRealTimeAndIoHandlersRun) {
  boost::asio::io_context io;
  bool busy = true;
  net::AsioSchedulerOptions o;
  o.start = kT0;
  o.skip_idle = true;
  o.speed = 1000;  // 1 ms of real time is 1 s on this clock
  o.busy = [&] { return busy; };
  net::AsioScheduler s(io, o);
  bool io_ran = false;
  boost::asio::post(io, [&] { io_ran = true; });
  TimePoint fired{};
  s.schedule_at(kT0 + 2s, [&] {
    fired = s.now();
    busy = false;  // the "request" finished: the rest of the hour is skipped
  });
  s.run_until(kT0 + 1h);
  EXPECT_TRUE(io_ran);
  EXPECT_GE(fired, kT0 + 2s);
  EXPECT_GE(s.now(), kT0 + 1h);
}

}  // namespace
}  // namespace hooksim
