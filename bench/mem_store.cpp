#include "bench/mem_store.h"

#include <fmt/format.h>

#include <functional>
#include <vector>

namespace hooksim::bench {

// Operations are recorded as closures over copies of their arguments and applied in order by write().
class MemBatch final : public StoreBatch {
 public:
  using Op = std::function<void(MemQueueStore&)>;

  void put_config(uint64_t key, const SubscriptionConfig& config) override {
    ops_.push_back([key, config](MemQueueStore& s) { s.configs_[key] = config; });
  }
  void put_state(uint64_t key, const DeliveryState& state) override {
    ops_.push_back([key, state](MemQueueStore& s) { s.states_[key] = state; });
  }
  void enqueue(uint64_t key, uint64_t seq, TimePoint enqueued_at, std::string_view event_id,
               std::string_view body) override {
    ops_.push_back(
        [key, seq, e = QueuedEvent{std::string(event_id), enqueued_at, std::string(body)}](MemQueueStore& s) {
          s.queue_[{key, seq}] = e;
        });
  }
  void remember_event_id(std::string_view event_id, TimePoint) override {
    ops_.push_back([id = std::string(event_id)](MemQueueStore& s) { s.event_ids_.insert(id); });
  }
  void remove(uint64_t key, uint64_t seq) override {
    ops_.push_back([key, seq](MemQueueStore& s) { s.queue_.erase({key, seq}); });
  }
  void remove_range(uint64_t key, uint64_t first, uint64_t end) override {
    if (first >= end) return;
    ops_.push_back([key, first, end](MemQueueStore& s) {
      s.queue_.erase(s.queue_.lower_bound({key, first}), s.queue_.lower_bound({key, end}));
    });
  }
  void erase_subscription(uint64_t key) override {
    ops_.push_back([key](MemQueueStore& s) {
      s.configs_.erase(key);
      s.states_.erase(key);
      s.queue_.erase(s.queue_.lower_bound({key, 0}), s.queue_.lower_bound({key + 1, 0}));
    });
  }
  size_t size() const override { return ops_.size(); }

  std::vector<Op> ops_;
};

std::unique_ptr<StoreBatch> MemQueueStore::new_batch() {
  return std::make_unique<MemBatch>();
}

Status MemQueueStore::write(StoreBatch& batch, Durability) {
  for (auto& op : static_cast<MemBatch&>(batch).ops_) op(*this);
  return Status::OK();
}

Result<std::vector<StoredSubscription>> MemQueueStore::load_subscriptions() {
  std::vector<StoredSubscription> out;
  for (const auto& [key, config] : configs_) {
    auto st = states_.find(key);
    out.push_back({key, config, st == states_.end() ? DeliveryState{} : st->second});
  }
  return out;
}

Result<QueuedEvent> MemQueueStore::read_event(uint64_t key, uint64_t seq) {
  auto it = queue_.find({key, seq});
  if (it == queue_.end())
    return Status::NotFound(fmt::format("event {} of subscription key {} is not queued", seq, key));
  return it->second;
}

Result<std::vector<bool>> MemQueueStore::find_event_ids(const std::vector<std::string_view>& ids) {
  std::vector<bool> found;
  found.reserve(ids.size());
  for (std::string_view id : ids) found.push_back(event_ids_.find(id) != event_ids_.end());
  return found;
}

}  // namespace hooksim::bench
