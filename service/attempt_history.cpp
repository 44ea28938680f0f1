#include "service/attempt_history.h"

namespace hooksim::service {

void AttemptHistory::record(const AttemptRecord& r) {
  auto it = by_sub_.find(r.sub);
  if (it == by_sub_.end()) it = by_sub_.emplace(std::string(r.sub), std::deque<Entry>{}).first;
  it->second.push_back(
      {r.started, std::string(r.event_id), r.seq, r.attempt, r.probe, r.status, r.error, r.latency});
  if (it->second.size() > kept_) it->second.pop_front();
}

void AttemptHistory::forget(std::string_view sub) {
  if (auto it = by_sub_.find(sub); it != by_sub_.end()) by_sub_.erase(it);
}

const std::deque<AttemptHistory::Entry>& AttemptHistory::of(std::string_view sub) const {
  static const std::deque<Entry> kNone;
  auto it = by_sub_.find(sub);
  return it == by_sub_.end() ? kNone : it->second;
}

}  // namespace hooksim::service
