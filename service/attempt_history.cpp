#include "service/attempt_history.h"

#include <fmt/format.h>

#include <map>
#include <string_view>
#include <unordered_set>

#include "engine/subscription.h"
#include "storage/record_codec.h"

namespace hooksim::service {
namespace {

// Stored keys: "attempts/" + subscription id + '\0' + the entry's index (u64 big-endian), so that a
// subscription's entries are one range, in the order they happened. Ids never hold '\0'.
constexpr std::string_view kKeyPrefix = "attempts/";

std::string sub_prefix(std::string_view sub) {
  std::string key(kKeyPrefix);
  key += sub;
  key += '\0';
  return key;
}

std::string entry_key(std::string_view sub, uint64_t index) {
  std::string key = sub_prefix(sub);
  for (int shift = 56; shift >= 0; shift -= 8) key += static_cast<char>((index >> shift) & 0xff);
  return key;
}

}  // namespace

AttemptHistory::~AttemptHistory() {
  if (scheduler_ != nullptr) scheduler_->cancel(flush_timer_);
  if (Status st = flush(); !st.ok()) fmt::print(stderr, "hooksim serve: attempt history: {}\n", st.message());
}

Status AttemptHistory::persist_to(storage::RocksQueueStore& store, Scheduler& scheduler,
                                  const std::vector<std::string>& ids) {
  auto stored = store.scan_side(kKeyPrefix);
  if (!stored.ok()) return stored.status();
  std::map<std::string, std::vector<std::pair<uint64_t, const std::string*>>, std::less<>> found;
  for (const auto& [key, value] : *stored) {
    size_t nul = key.find('\0', kKeyPrefix.size());
    if (nul == std::string::npos || key.size() != nul + 9) continue;  // not one of ours
    uint64_t index = 0;
    for (size_t i = nul + 1; i < key.size(); ++i) index = index << 8 | static_cast<unsigned char>(key[i]);
    found[key.substr(kKeyPrefix.size(), nul - kKeyPrefix.size())].emplace_back(index, &value);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  store_ = &store;
  scheduler_ = &scheduler;
  arm_flush();
  const std::unordered_set<std::string_view> live(ids.begin(), ids.end());
  for (auto& [sub, list] : found) {
    if (!live.contains(sub)) {
      add_pending({storage::SideOp::Kind::kDeletePrefix, sub_prefix(sub), ""});  // a deleted subscription's
      continue;
    }
    Held& held = by_sub_[sub];
    held.next_index = list.back().first + 1;  // in key order: the last is the newest
    size_t first = list.size() > kept_ ? list.size() - kept_ : 0;
    for (size_t i = 0; i < first; ++i)
      add_pending({storage::SideOp::Kind::kDelete, entry_key(sub, list[i].first), ""});
    for (size_t i = first; i < list.size(); ++i) {
      // An entry that cannot be read is left out (the next ones keep their places).
      if (auto e = storage::decode_attempt(*list[i].second); e.ok()) held.entries.push_back(std::move(*e));
    }
  }
  return Status::OK();
}

void AttemptHistory::record(const AttemptRecord& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_sub_.find(r.sub);
  if (it == by_sub_.end()) it = by_sub_.emplace(std::string(r.sub), Held{}).first;
  Held& held = it->second;
  Entry e{r.started, std::string(r.event_id), r.seq, r.attempt, r.probe, r.status, r.error, r.latency};
  const uint64_t index = held.next_index++;
  if (store_ != nullptr)
    add_pending({storage::SideOp::Kind::kPut, entry_key(r.sub, index), storage::encode_attempt(e)});
  held.entries.push_back(std::move(e));
  if (held.entries.size() > kept_) held.entries.pop_front();
  // The stored window is [index + 1 - kept, index]: the entry that left it goes (by index, so that it goes
  // even when it could not be read back at the last start).
  if (store_ != nullptr && index >= kept_)
    add_pending({storage::SideOp::Kind::kDelete, entry_key(r.sub, index - kept_), ""});
}

void AttemptHistory::forget(std::string_view sub) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = by_sub_.find(sub); it != by_sub_.end()) by_sub_.erase(it);
    if (store_ == nullptr) return;
    // Ops apply in order: what was pending for `sub` is deleted too, and a new subscription with the same
    // id starts a fresh range.
    add_pending({storage::SideOp::Kind::kDeletePrefix, sub_prefix(sub), ""});
  }
  if (Status st = flush(); !st.ok()) fmt::print(stderr, "hooksim serve: attempt history: {}\n", st.message());
}

std::deque<AttemptHistory::Entry> AttemptHistory::of(std::string_view sub) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_sub_.find(sub);
  return it == by_sub_.end() ? std::deque<Entry>() : it->second.entries;
}

void AttemptHistory::add_pending(storage::SideOp op) {
  pending_.push_back(std::move(op));
}

void AttemptHistory::arm_flush() {
  flush_timer_ = scheduler_->schedule_at(scheduler_->now() + std::chrono::seconds(1), [this] {
    if (Status st = flush(); !st.ok())
      fmt::print(stderr, "hooksim serve: attempt history: {} (those entries are not kept)\n", st.message());
    std::lock_guard<std::mutex> lock(mutex_);
    arm_flush();
  });
}

Status AttemptHistory::flush() {
  std::vector<storage::SideOp> ops;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (store_ == nullptr || pending_.empty()) return Status::OK();
    ops.swap(pending_);
  }
  return store_->write_side(ops);
}

}  // namespace hooksim::service
