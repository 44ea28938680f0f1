#include "engine/clock.h"

#include <cassert>

namespace hooksim {

TimerId VirtualScheduler::schedule_at(TimePoint at, std::function<void()> fn) {
  TimerId id = next_id_++;
  if (at < now_) at = now_;
  heap_.push({at, id});
  callbacks_.emplace(id, std::move(fn));
  return id;
}

bool VirtualScheduler::cancel(TimerId id) { return callbacks_.erase(id) > 0; }

void VirtualScheduler::drop_cancelled() {
  while (!heap_.empty() && !callbacks_.contains(heap_.top().id)) heap_.pop();
}

std::optional<TimePoint> VirtualScheduler::next_due() {
  drop_cancelled();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().at;
}

bool VirtualScheduler::run_next() {
  drop_cancelled();
  if (heap_.empty()) return false;
  Entry e = heap_.top();
  heap_.pop();
  auto it = callbacks_.find(e.id);
  std::function<void()> fn = std::move(it->second);
  callbacks_.erase(it);
  now_ = e.at;
  fn();
  return true;
}

void VirtualScheduler::run_until(TimePoint until) {
  assert(until >= now_);
  for (auto due = next_due(); due && *due <= until; due = next_due()) run_next();
  now_ = until;
}

}  // namespace hooksim
