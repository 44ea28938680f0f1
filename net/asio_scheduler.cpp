#include "net/asio_scheduler.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cassert>

namespace hooksim::net {
namespace {

// An accelerated clock's time: `anchor_clock` plus the real time since `anchor_real`, times `speed`.
TimePoint scaled_now(TimePoint anchor_clock, std::chrono::steady_clock::time_point anchor_real,
                     double speed) {
  auto real = std::chrono::steady_clock::now() - anchor_real;
  auto scaled = std::chrono::duration<double, std::milli>(real) * speed;
  return anchor_clock + Duration(static_cast<int64_t>(scaled.count()));
}

// Real time that corresponds to `d` of a clock running at `speed`.
std::chrono::steady_clock::duration real_time_of(Duration d, double speed) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::milli>(static_cast<double>(d.count()) / speed));
}

}  // namespace

SharedClock::SharedClock(TimePoint start, double speed, size_t members)
    : speed_(speed), anchor_clock_(start), anchor_real_(std::chrono::steady_clock::now()), members_(members) {
  assert(speed > 0 && members > 0);
}

TimePoint SharedClock::now_locked() const {
  return started_ ? scaled_now(anchor_clock_, anchor_real_, speed_) : anchor_clock_;
}

TimePoint SharedClock::now() const {
  std::lock_guard lock(mu_);
  return now_locked();
}

std::chrono::steady_clock::duration SharedClock::to_real(Duration d) const {
  return real_time_of(d, speed_);
}

void SharedClock::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  anchor_real_ = std::chrono::steady_clock::now();
}

void SharedClock::set_waker(size_t m, std::function<void()> wake) {
  std::lock_guard lock(mu_);
  members_.at(m).wake = std::move(wake);
}

void SharedClock::busy(size_t m) {
  std::lock_guard lock(mu_);
  members_.at(m).idle = false;
}

bool SharedClock::idle(size_t m, TimePoint next) {
  std::lock_guard lock(mu_);
  members_.at(m).idle = true;
  members_[m].next = next;
  TimePoint target = next;
  for (const Member& member : members_) {
    if (!member.idle) return false;
    target = std::min(target, member.next);
  }
  // A timer already due belongs to a member that is awake or about to wake for it.
  if (TimePoint now = now_locked(); target <= now) return next <= now;
  anchor_clock_ = target;
  anchor_real_ = std::chrono::steady_clock::now();
  for (size_t k = 0; k < members_.size(); ++k)
    if (k != m && members_[k].wake) members_[k].wake();
  return true;
}

AsioScheduler::AsioScheduler(boost::asio::io_context& io, AsioSchedulerOptions options)
    : io_(io),
      options_(std::move(options)),
      anchor_clock_(options_.start),
      anchor_real_(std::chrono::steady_clock::now()),
      wakeup_(io) {
  assert(options_.speed > 0);
  assert(!options_.skip_idle || options_.busy);
  // Woken by a jump of the shared clock: any handler makes run_until()'s io_context::run_one() return.
  if (options_.shared) options_.shared->set_waker(options_.member, [&io] { boost::asio::post(io, [] {}); });
}

TimePoint AsioScheduler::now() const {
  if (options_.wall_clock) return std::chrono::floor<Duration>(std::chrono::system_clock::now());
  if (options_.shared) return options_.shared->now();
  return started_ ? scaled_now(anchor_clock_, anchor_real_, options_.speed) : anchor_clock_;
}

std::chrono::steady_clock::duration AsioScheduler::to_real(Duration d) const {
  if (options_.wall_clock) return d;
  if (options_.shared) return options_.shared->to_real(d);
  return real_time_of(d, options_.speed);
}

TimerId AsioScheduler::schedule_at(TimePoint at, std::function<void()> fn) {
  // The timer runs from run_until(); a handler that schedules one returns to that loop, which re-plans.
  return timers_.add(options_.keep_past_times ? at : std::max(at, now()), std::move(fn));
}

void AsioScheduler::jump_to(TimePoint t) {
  anchor_clock_ = t;
  anchor_real_ = std::chrono::steady_clock::now();
}

void AsioScheduler::stop() {
  stopped_ = true;
  wakeup_.cancel();
}

// Runs the handlers that are ready, at most kTurnHandlers of them: under a steady stream of I/O,
// io_context::poll() alone need not return, and the due timers and the end of the turn would wait on it.
void AsioScheduler::poll_ready() {
  constexpr int kTurnHandlers = 1024;
  for (int i = 0; i < kTurnHandlers && io_.poll_one() > 0; ++i) {
  }
}

void AsioScheduler::run_until(TimePoint until) {
  // Keep the io_context from stopping when it momentarily has no work.
  auto guard = boost::asio::make_work_guard(io_);
  if (io_.stopped()) io_.restart();
  if (!started_) {
    if (options_.shared) {
      options_.shared->start();
    } else {
      jump_to(anchor_clock_);  // the clock stood still until now
    }
    started_ = true;
  }
  for (;;) {
    if (options_.shared) options_.shared->busy(options_.member);
    poll_ready();  // handlers that are ready (completed I/O) go first
    // stopped_ is checked between timers: after a restart thousands of retries can be due at once, and
    // SIGTERM must not wait for all of them.
    for (auto due = timers_.next_due(); due && *due <= now() && !stopped_; due = timers_.next_due()) {
      auto [at, fn] = timers_.pop();
      fn();
      poll_ready();
    }
    if (turn_end_) turn_end_();
    TimePoint now_t = now();
    auto due = timers_.next_due();
    TimePoint target = due ? std::min(*due, until) : until;
    // A timer that fell due before `until` while the last ones ran still runs.
    if (now_t >= until && !stopped_ && due && *due <= until) continue;
    if (now_t >= until || stopped_) {
      // Done: idle for good as far as the other members are concerned (they may still jump to `until`).
      if (options_.shared) options_.shared->idle(options_.member, until);
      return;
    }
    if (options_.shared && options_.skip_idle && !options_.busy()) {
      // Nothing in flight here: the clock jumps once every member is idle; until then, wait.
      if (options_.shared->idle(options_.member, target)) continue;
    } else if (options_.skip_idle && !options_.busy()) {
      // Nothing in flight: nothing can happen before the next timer, so go there at once.
      jump_to(std::max(target, now_t));
      if (!due || *due > until) return;
      continue;
    }
    // Wait for I/O or for the next timer, whichever comes first.
    // At most an hour at a time, so that a far `until` (a service runs "forever") cannot overflow.
    auto wake_at = std::chrono::steady_clock::now() +
                   to_real(std::min<Duration>(target - now_t, std::chrono::hours(1))) +
                   std::chrono::microseconds(100);
    // An armed wakeup that fires earlier than needed only costs one spurious loop; one that would fire
    // later must move.
    if (!wake_->armed || wake_->at > wake_at + std::chrono::microseconds(200)) {
      wakeup_.expires_at(wake_at);
      uint64_t generation = ++wake_->generation;
      wake_->armed = true;
      wake_->at = wake_at;
      wakeup_.async_wait([weak = std::weak_ptr<Wake>(wake_), generation](const boost::system::error_code&) {
        auto w = weak.lock();
        if (w && w->generation == generation) w->armed = false;
      });
    }
    io_.run_one();
  }
}

}  // namespace hooksim::net
