// AsioScheduler: a Scheduler for real I/O on a Boost.Asio io_context, with a clock that can run faster
// than real time and jump over idle gaps.
//
// Its clock is `start` plus the real time elapsed since, times `speed`; in skip-idle mode, whenever nothing
// is in flight (the `busy` predicate is false) and the next timer lies in the future, the clock jumps
// straight to it. That is how `hooksim run` replays a week of retries against a real receiver in seconds:
// requests take real time, waiting takes none.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/clock.h"

namespace hooksim::net {

// One accelerated, idle-skipping clock for several AsioSchedulers, each on its own thread (the shards of
// `hooksim run --threads N`): they all read the same time, and it jumps over an idle gap only once every one
// of them is idle (nothing in flight, no timer due), to the earliest of their next timers. A member that is
// busy holds everyone's clock to real time times the speed, as a single scheduler's request in flight does.
// Thread-safe.
class SharedClock {
 public:
  // Members are numbered 0 .. members - 1, one per scheduler.
  SharedClock(TimePoint start, double speed, size_t members);

  TimePoint now() const;
  std::chrono::steady_clock::duration to_real(Duration d) const;
  // The first call starts the clock (it stands at `start` until then); later calls do nothing.
  void start();
  // How to wake member `m` from its wait (run from another thread when the clock jumps).
  void set_waker(size_t m, std::function<void()> wake);
  // Member `m` has work: no jump happens until it is idle again. Called by the member at each turn, and by
  // anyone who hands it work from another thread, before handing it over.
  void busy(size_t m);
  // Member `m` is idle until its next timer, `next`. When every member is idle and the earliest `next` of
  // all lies ahead, the clock jumps there, the other members are woken, and it returns true: the caller
  // looks at its timers again. Otherwise it returns whether `next` is due; if not, the caller waits for it
  // in real time, or to be woken by a jump.
  bool idle(size_t m, TimePoint next);

 private:
  TimePoint now_locked() const;

  struct Member {
    bool idle = false;
    TimePoint next;
    std::function<void()> wake;
  };
  mutable std::mutex mu_;
  const double speed_;
  TimePoint anchor_clock_;
  std::chrono::steady_clock::time_point anchor_real_;
  bool started_ = false;
  std::vector<Member> members_;
};

struct AsioSchedulerOptions {
  // The clock is the system's wall clock (a service); start, speed and skip_idle are then ignored.
  bool wall_clock = false;
  TimePoint start;             // the clock's time until run_until() is first called; it runs from then on
  double speed = 1.0;          // clock seconds per real second while waiting on real I/O; > 0
  bool skip_idle = false;      // jump over gaps when !busy()
  std::function<bool()> busy;  // whether real work is in flight (required when skip_idle)
  // The clock is `shared` (start and speed are then its own): this scheduler is its member `member`, and
  // with skip_idle it jumps only when every member is idle. The scheduler sets the member's waker.
  SharedClock* shared = nullptr;
  size_t member = 0;
  // A timer for a time already past keeps that time, so it runs before the timers due after it, instead of
  // being taken as now(). The shards of `run --threads` each run behind the clock by their own real time;
  // with their timers in time order they play the scenario's events and actions in the same order.
  bool keep_past_times = false;
};

class AsioScheduler final : public Scheduler {
 public:
  AsioScheduler(boost::asio::io_context& io, AsioSchedulerOptions options);

  TimePoint now() const override;
  // A time in the past is taken as now(), so overdue timers run in scheduling order, as on the virtual clock
  // (unless options.keep_past_times).
  TimerId schedule_at(TimePoint at, std::function<void()> fn) override;
  bool cancel(TimerId id) override { return timers_.cancel(id); }

  // Runs timers and the io_context's handlers until the clock reaches `until`; when skip_idle is set and
  // nothing is in flight or pending before `until`, the clock jumps to `until` and it returns at once.
  // Call from the thread that runs the io_context (not from inside a handler).
  void run_until(TimePoint until);

  // Runs `fn` once in every turn of run_until()'s loop: after the handlers that were ready and the timers
  // that were due, before it waits for more (Engine::flush() for group commit). Replaces any earlier one.
  void on_turn_end(std::function<void()> fn) { turn_end_ = std::move(fn); }

  // Makes run_until() return at its next step (from a handler or timer on the io_context's thread).
  void stop();

  // Real time that corresponds to a span of this clock's time (d / speed).
  std::chrono::steady_clock::duration to_real(Duration d) const;

 private:
  void jump_to(TimePoint t);
  void poll_ready();

  boost::asio::io_context& io_;
  AsioSchedulerOptions options_;
  TimePoint anchor_clock_;
  std::chrono::steady_clock::time_point anchor_real_;
  bool started_ = false;
  bool stopped_ = false;
  TimerQueue timers_;
  std::function<void()> turn_end_;
  // Wakes run_until() for the next timer. It stays armed across loop iterations and is re-armed only when
  // it would fire too late: re-arming it around every I/O completion cost two timerfd_settime calls each
  // (together with curl's timer, net/curl_transport.h; the end-to-end section of bench/README.md measures
  // serve's delivery rate).
  // The wait's handler may outlive this object on the io_context, so it reaches `wake_` through a weak
  // pointer.
  struct Wake {
    bool armed = false;
    uint64_t generation = 0;  // of the wait in progress; a superseded wait's completion changes nothing
    std::chrono::steady_clock::time_point at;
  };
  std::shared_ptr<Wake> wake_ = std::make_shared<Wake>();
  boost::asio::steady_timer wakeup_;
};

}  // namespace hooksim::net
