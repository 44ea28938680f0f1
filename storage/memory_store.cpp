#include "storage/memory_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <variant>
#include <vector>

namespace hooksim::storage {

namespace {
struct PutConfig {
  uint64_t key;
  std::unique_ptr<SubscriptionConfig> config;
};  // rare and big: kept out of line
struct PutState {
  uint64_t key;
  DeliveryState state;
};
struct Enqueue {
  std::vector<QueueSlot> slots;
  QueuedEvent event;  // shared by every slot
};
struct RememberId {
  std::string id;
};
struct Remove {
  uint64_t key;
  uint64_t first;
  uint64_t end;
};  // [first, end)
struct Erase {
  uint64_t key;
};
using Op = std::variant<PutConfig, PutState, Enqueue, RememberId, Remove, Erase>;
}  // namespace

// Operations are recorded by value and applied in order by write(); nothing can fail while applying, so a
// batch is all-or-nothing.
class MemoryBatch final : public StoreBatch {
 public:
  MemoryBatch() { ops_.reserve(3); }  // an ack is two operations, a one-event publish three
  void put_config(uint64_t key, const SubscriptionConfig& config) override {
    ops_.push_back(PutConfig{key, std::make_unique<SubscriptionConfig>(config)});
  }
  void put_state(uint64_t key, const DeliveryState& state) override { ops_.push_back(PutState{key, state}); }
  void enqueue_many(std::span<const QueueSlot> slots, TimePoint enqueued_at, std::string_view event_id,
                    std::string_view body) override {
    if (slots.empty()) return;
    ops_.push_back(Enqueue{
        {slots.begin(), slots.end()},
        QueuedEvent{std::string(event_id), enqueued_at, std::make_shared<const std::string>(body), 0}});
  }
  void remember_event_id(std::string_view event_id, TimePoint) override {
    ops_.push_back(RememberId{std::string(event_id)});
  }
  void remove(uint64_t key, uint64_t seq) override { ops_.push_back(Remove{key, seq, seq + 1}); }
  void remove(uint64_t key, uint64_t seq, BodyRef) override { remove(key, seq); }
  void remove_range(uint64_t key, uint64_t first, uint64_t end) override {
    if (first < end) ops_.push_back(Remove{key, first, end});
  }
  void erase_subscription(uint64_t key) override { ops_.push_back(Erase{key}); }
  size_t size() const override { return ops_.size(); }

  std::vector<Op> ops_;
};

void MemoryQueueStore::Queue::put(uint64_t seq, QueuedEvent event) {
  if (slots.empty()) base = seq;
  if (seq < base) {
    slots.insert(slots.begin(), base - seq, std::nullopt);
    base = seq;
  }
  if (seq - base >= slots.size()) slots.resize(seq - base + 1);
  auto& slot = slots[seq - base];
  if (!slot) ++count;
  slot = std::move(event);
}

void MemoryQueueStore::Queue::remove_range(uint64_t first, uint64_t end) {
  first = std::max(first, base);
  end = std::min<uint64_t>(end, base + slots.size());
  for (uint64_t seq = first; seq < end; ++seq) {
    auto& slot = slots[seq - base];
    if (slot) {
      slot.reset();
      --count;
    }
  }
  while (!slots.empty() && !slots.front()) {  // drop the empty slots at the front
    slots.pop_front();
    ++base;
  }
  if (slots.empty()) base = 0;
}

const QueuedEvent* MemoryQueueStore::Queue::find(uint64_t seq) const {
  if (seq < base || seq - base >= slots.size()) return nullptr;
  const auto& slot = slots[seq - base];
  return slot ? &*slot : nullptr;
}

std::unique_ptr<StoreBatch> MemoryQueueStore::new_batch() {
  return std::make_unique<MemoryBatch>();
}

Status MemoryQueueStore::write(StoreBatch& batch, Durability) {
  for (Op& op : static_cast<MemoryBatch&>(batch).ops_) {
    std::visit(
        [this](auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, PutConfig>) {
            configs_[o.key] = std::move(*o.config);
          } else if constexpr (std::is_same_v<T, PutState>) {
            states_[o.key] = std::move(o.state);
          } else if constexpr (std::is_same_v<T, Enqueue>) {
            for (const QueueSlot& slot : o.slots) queues_[slot.key].put(slot.seq, o.event);
          } else if constexpr (std::is_same_v<T, RememberId>) {
            event_ids_.insert(std::move(o.id));
          } else if constexpr (std::is_same_v<T, Remove>) {
            auto it = queues_.find(o.key);
            if (it == queues_.end()) return;
            it->second.remove_range(o.first, o.end);
          } else {
            configs_.erase(o.key);
            states_.erase(o.key);
            queues_.erase(o.key);
          }
        },
        op);
  }
  static_cast<MemoryBatch&>(batch).ops_.clear();
  return Status::OK();
}

Result<std::vector<StoredSubscription>> MemoryQueueStore::load_subscriptions() {
  std::vector<StoredSubscription> out;
  out.reserve(configs_.size());
  for (const auto& [key, config] : configs_) {
    auto st = states_.find(key);
    out.push_back({key, config, st == states_.end() ? DeliveryState{} : st->second});
  }
  return out;
}

Result<QueuedEvent> MemoryQueueStore::read_event(uint64_t key, uint64_t seq) {
  auto it = queues_.find(key);
  const QueuedEvent* e = it == queues_.end() ? nullptr : it->second.find(seq);
  if (e == nullptr)
    return Status::NotFound(fmt::format("event {} of subscription key {} is not queued", seq, key));
  return *e;
}

Result<std::vector<bool>> MemoryQueueStore::find_event_ids(const std::vector<std::string_view>& ids) {
  std::vector<bool> found;
  found.reserve(ids.size());
  for (std::string_view id : ids) found.push_back(event_ids_.count(std::string(id)) != 0);
  return found;
}

uint64_t MemoryQueueStore::count_bodies() const {
  std::unordered_set<const std::string*> bodies;
  for (const auto& [key, queue] : queues_) {
    for (const auto& slot : queue.slots)
      if (slot) bodies.insert(slot->body.get());
  }
  return bodies.size();
}

uint64_t MemoryQueueStore::count_queued(uint64_t key) const {
  auto it = queues_.find(key);
  return it == queues_.end() ? 0 : it->second.count;
}

}  // namespace hooksim::storage
