// The engine's only source of time: a Scheduler that tells the time and runs timers.
//
// Delivery code never reads a system clock. It asks Scheduler::now() and arms timers with schedule_at().
// The same engine then runs under the system clock (service), an accelerated clock (real HTTP, idle gaps
// skipped) or the VirtualScheduler below, where a simulated week takes microseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "engine/time.h"

namespace hooksim {

using TimerId = uint64_t;

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // The current time of this scheduler's clock.
  virtual TimePoint now() const = 0;

  // Runs `fn` once, on the scheduler's thread, at `at` or later (never earlier; a time in the past means
  // "as soon as possible"). Timers due at the same instant run in the order they were scheduled.
  // Returns an id for cancel(). Never returns 0.
  virtual TimerId schedule_at(TimePoint at, std::function<void()> fn) = 0;

  // Cancels a pending timer so that it never runs. Returns false (and does nothing) when the timer already
  // ran or was cancelled. Cancelling id 0 is allowed and returns false.
  virtual bool cancel(TimerId id) = 0;
};

// Pending timers ordered by (time, scheduling order), with lazy cancellation. The building block of the
// schedulers; it never reads a clock.
class TimerQueue {
 public:
  // Adds a timer; returns its id (never 0).
  TimerId add(TimePoint at, std::function<void()> fn);
  // Cancels a pending timer; false when it already ran or was cancelled.
  bool cancel(TimerId id) { return callbacks_.erase(id) > 0; }
  // Time of the earliest pending timer, if any.
  std::optional<TimePoint> next_due();
  // Removes the earliest pending timer and returns its time and callback. REQUIRES: next_due().
  std::pair<TimePoint, std::function<void()>> pop();
  // Number of timers scheduled and not yet popped or cancelled.
  size_t size() const { return callbacks_.size(); }

 private:
  struct Entry {
    TimePoint at;
    TimerId id;  // ids grow monotonically, so (at, id) orders ties by scheduling order
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : id > o.id; }
  };
  TimerId next_id_ = 1;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::unordered_map<TimerId, std::function<void()>> callbacks_;
};

// A scheduler whose clock moves only when it runs timers: it jumps straight to the next due timer.
// Deterministic: ties run in scheduling order. Not thread-safe.
class VirtualScheduler final : public Scheduler {
 public:
  explicit VirtualScheduler(TimePoint start) : now_(start) {}

  TimePoint now() const override { return now_; }
  TimerId schedule_at(TimePoint at, std::function<void()> fn) override {
    return timers_.add(std::max(at, now_), std::move(fn));
  }
  bool cancel(TimerId id) override { return timers_.cancel(id); }

  // Runs, in order, every timer due at or before `until` (including timers scheduled by the timers
  // themselves), setting now() to each timer's time as it runs; then sets now() to `until`.
  // REQUIRES: until >= now()
  void run_until(TimePoint until);

  // Runs the earliest pending timer (and sets now() to its time). Returns false when none is pending.
  bool run_next();

  // Time of the earliest pending timer, if any.
  std::optional<TimePoint> next_due() { return timers_.next_due(); }

  // Number of timers scheduled and not yet run or cancelled.
  size_t pending() const { return timers_.size(); }

 private:
  TimePoint now_;
  TimerQueue timers_;
};

}  // namespace hooksim
