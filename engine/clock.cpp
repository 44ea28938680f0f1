#include "engine/clock.h"

#include <cassert>

namespace hooksim {

TimerId TimerQueue::add(TimePoint at, std::function<void()> fn) {
  TimerId id = next_id_++;
  heap_.push({at, id});
  callbacks_.emplace(id, std::move(fn));
  return id;
}

std::optional<TimePoint> TimerQueue::next_due() {
  while (!heap_.empty() && !callbacks_.contains(heap_.top().id)) heap_.pop();  // drop cancelled entries
  if (heap_.empty()) return std::nullopt;
  return heap_.top().at;
}

std::pair<TimePoint, std::function<void()>> TimerQueue::pop() {
  next_due();
  assert(!heap_.empty());
  Entry e = heap_.top();
  heap_.pop();
  auto it = callbacks_.find(e.id);
  std::function<void()> fn = std::move(it->second);
  callbacks_.erase(it);
  return {e.at, std::move(fn)};
}

bool VirtualScheduler::run_next() {
  if (!timers_.next_due()) return false;
  auto [at, fn] = timers_.pop();
  now_ = at;
  fn();
  return true;
}

void VirtualScheduler::run_until(TimePoint until) {
  assert(until >= now_);
  for (auto due = timers_.next_due(); due && *due <= until; due = timers_.next_due()) run_next();
  now_ = until;
}

}  // namespace hooksim
