#include "storage/memory_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace hooksim::storage {

// A batch's operations, recorded in a few flat buffers that are reused from one batch to the next: an
// operation costs no allocation of its own once the buffers have grown.
struct MemoryQueueStore::BatchBuffers {
  enum class Kind : uint8_t { kPutConfig, kPutState, kPutTail, kEnqueue, kRememberId, kRemove, kErase };
  struct Op {
    Kind kind;
    uint64_t key = 0;
    uint64_t first = 0, end = 0;  // kRemove: [first, end); kEnqueue: slots[first, end); kPut*: the index
                                  // (kPutTail: next_seq and dropped_inactive)
    TimePoint at{};               // kEnqueue
    size_t id_at = 0, id_len = 0, body_at = 0, body_len = 0;  // in `bytes`
  };
  std::vector<Op> ops;
  std::vector<SubscriptionConfig> configs;
  std::vector<DeliveryState> states;
  std::vector<QueueSlot> slots;
  std::string bytes;  // ids and bodies

  void clear() {
    ops.clear();
    configs.clear();
    states.clear();
    slots.clear();
    bytes.clear();
  }
  std::string_view view(size_t at, size_t len) const { return std::string_view(bytes).substr(at, len); }
};

// Operations are recorded by value and applied in order by write(); nothing can fail while applying (a
// spill that fails leaves its block in memory), so a batch is all-or-nothing.
class MemoryBatch final : public StoreBatch {
  using Buffers = MemoryQueueStore::BatchBuffers;
  using Kind = Buffers::Kind;

 public:
  explicit MemoryBatch(MemoryQueueStore& store) : store_(store) {
    buf_ = store.spare_ ? std::move(store.spare_) : std::make_unique<Buffers>();
  }
  ~MemoryBatch() override {
    buf_->clear();
    if (!store_.spare_) store_.spare_ = std::move(buf_);
  }

  void put_config(uint64_t key, const SubscriptionConfig& config) override {
    buf_->ops.push_back({.kind = Kind::kPutConfig, .key = key, .first = buf_->configs.size()});
    buf_->configs.push_back(config);
  }
  void put_state(uint64_t key, const DeliveryState& state) override {
    buf_->ops.push_back({.kind = Kind::kPutState, .key = key, .first = buf_->states.size()});
    buf_->states.push_back(state);
  }
  void put_tail(const QueueTail& tail) override {
    buf_->ops.push_back(
        {.kind = Kind::kPutTail, .key = tail.key, .first = tail.next_seq, .end = tail.dropped_inactive});
  }
  void enqueue_many(std::span<const QueueSlot> slots, TimePoint enqueued_at, std::string_view event_id,
                    std::string_view body) override {
    if (slots.empty()) return;
    Buffers& b = *buf_;
    b.ops.push_back({.kind = Kind::kEnqueue,
                     .first = b.slots.size(),
                     .end = b.slots.size() + slots.size(),
                     .at = enqueued_at,
                     .id_at = b.bytes.size(),
                     .id_len = event_id.size(),
                     .body_at = b.bytes.size() + event_id.size(),
                     .body_len = body.size()});
    b.slots.insert(b.slots.end(), slots.begin(), slots.end());
    b.bytes.append(event_id).append(body);
  }
  void remember_event_id(std::string_view event_id, TimePoint) override {
    buf_->ops.push_back({.kind = Kind::kRememberId, .id_at = buf_->bytes.size(), .id_len = event_id.size()});
    buf_->bytes.append(event_id);
  }
  void remove(uint64_t key, uint64_t seq) override { remove_range(key, seq, seq + 1); }
  void remove(uint64_t key, uint64_t seq, BodyRef) override { remove(key, seq); }
  void remove_range(uint64_t key, uint64_t first, uint64_t end) override {
    if (first < end) buf_->ops.push_back({.kind = Kind::kRemove, .key = key, .first = first, .end = end});
  }
  void erase_subscription(uint64_t key) override { buf_->ops.push_back({.kind = Kind::kErase, .key = key}); }
  size_t size() const override { return buf_->ops.size(); }

  MemoryQueueStore& store_;
  std::unique_ptr<Buffers> buf_;
};

MemoryQueueStore::MemoryQueueStore(MemoryStoreOptions options) : pool_(std::move(options)) {}

MemoryQueueStore::~MemoryQueueStore() = default;

std::unique_ptr<StoreBatch> MemoryQueueStore::new_batch() {
  return std::make_unique<MemoryBatch>(*this);
}

Status MemoryQueueStore::write(StoreBatch& batch, Durability) {
  BatchBuffers& b = *static_cast<MemoryBatch&>(batch).buf_;
  for (const BatchBuffers::Op& op : b.ops) {
    switch (op.kind) {
      case BatchBuffers::Kind::kPutConfig:
        configs_[op.key] = std::move(b.configs[op.first]);
        break;
      case BatchBuffers::Kind::kPutState:
        states_[op.key] = std::move(b.states[op.first]);
        break;
      case BatchBuffers::Kind::kPutTail: {
        QueueTail& tail = tails_[op.key];
        tail.next_seq = std::max(tail.next_seq, op.first);
        tail.dropped_inactive = std::max(tail.dropped_inactive, op.end);
        break;
      }
      case BatchBuffers::Kind::kEnqueue: {
        std::string_view id = b.view(op.id_at, op.id_len);
        std::string_view body = b.view(op.body_at, op.body_len);
        auto queue = [this](uint64_t key) -> MemoryQueue& {
          return queues_.try_emplace(key, pool_).first->second;
        };
        if (op.end - op.first == 1) {
          const QueueSlot& slot = b.slots[op.first];
          queue(slot.key).put(slot.seq, op.at, id, body);
          break;
        }
        auto shared = std::make_shared<const std::string>(body);
        for (uint64_t i = op.first; i < op.end; ++i)
          queue(b.slots[i].key).put(b.slots[i].seq, op.at, id, shared);
        break;
      }
      case BatchBuffers::Kind::kRememberId:
        event_ids_.emplace(b.view(op.id_at, op.id_len));
        break;
      case BatchBuffers::Kind::kRemove:
        if (auto it = queues_.find(op.key); it != queues_.end()) it->second.remove_range(op.first, op.end);
        break;
      case BatchBuffers::Kind::kErase:
        configs_.erase(op.key);
        states_.erase(op.key);
        tails_.erase(op.key);
        queues_.erase(op.key);
        break;
    }
  }
  b.clear();
  return Status::OK();
}

Result<std::vector<StoredSubscription>> MemoryQueueStore::load_subscriptions() {
  std::vector<StoredSubscription> out;
  out.reserve(configs_.size());
  for (const auto& [key, config] : configs_) {
    auto st = states_.find(key);
    out.push_back({key, config, st == states_.end() ? DeliveryState{} : st->second});
    if (auto tail = tails_.find(key); tail != tails_.end()) {
      DeliveryState& state = out.back().state;
      state.next_seq = std::max(state.next_seq, tail->second.next_seq);
      state.dropped_inactive = std::max(state.dropped_inactive, tail->second.dropped_inactive);
    }
  }
  return out;
}

Result<QueuedEvent> MemoryQueueStore::read_event(uint64_t key, uint64_t seq) {
  auto it = queues_.find(key);
  auto event = it == queues_.end() ? Result<QueuedEvent>(Status::NotFound("")) : it->second.read(seq);
  if (event.status().code() == Status::Code::kNotFound)
    return Status::NotFound(fmt::format("event {} of subscription key {} is not queued", seq, key));
  return event;
}

Result<std::vector<bool>> MemoryQueueStore::find_event_ids(const std::vector<std::string_view>& ids) {
  std::vector<bool> found;
  found.reserve(ids.size());
  for (std::string_view id : ids) found.push_back(event_ids_.count(std::string(id)) != 0);
  return found;
}

uint64_t MemoryQueueStore::count_bodies() const {
  std::unordered_set<const void*> shared;
  uint64_t own = 0;
  for (const auto& [key, queue] : queues_) own += queue.count_bodies(shared);
  return own + shared.size();
}

uint64_t MemoryQueueStore::count_queued(uint64_t key) const {
  auto it = queues_.find(key);
  return it == queues_.end() ? 0 : it->second.count();
}

}  // namespace hooksim::storage
