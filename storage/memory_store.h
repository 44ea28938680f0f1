// MemoryQueueStore: the QueueStore contract held in process memory.
//
// `hooksim simulate` and `hooksim run` keep their queues here unless given `--data DIR`: a scenario's store
// lives only as long as the run, so a write-ahead log and an LSM tree would be pure cost (the simulation
// section of bench/README.md measures both stores). The contract is the same as RocksQueueStore's: batches
// apply all-or-nothing and in order, and what was written survives the engine. A scenario `restart` drops the
// engine with its timers and attempts in flight and opens a new one on this same store, just as a crashed
// process reopens its RocksDB directory: anything the engine had not written is lost.
//
// Queues are per-subscription deques indexed by sequence number, so the engine's access pattern (append at
// the tail, remove or read at the head, an occasional hole left by a live probe) costs O(1). The entries of
// one event share its body (a shared_ptr), which is freed with the last of them; body references are
// always 0 (nothing needs to be found on removal).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/queue_store.h"

namespace hooksim::storage {

class MemoryQueueStore final : public QueueStore {
 public:
  std::unique_ptr<StoreBatch> new_batch() override;
  Status write(StoreBatch& batch, Durability durability) override;
  Result<std::vector<StoredSubscription>> load_subscriptions() override;
  Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) override;
  Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) override;

  // Events queued for subscription `key` (for tests).
  uint64_t count_queued(uint64_t key) const;
  // Distinct bodies held by queued events, counted by scanning (for tests and audits).
  uint64_t count_bodies() const;

 private:
  friend class MemoryBatch;

  // Slots [base, base + slots.size()); an empty slot is an event removed (or never written) above the head.
  struct Queue {
    uint64_t base = 0;
    std::deque<std::optional<QueuedEvent>> slots;
    uint64_t count = 0;

    void put(uint64_t seq, QueuedEvent event);
    void remove_range(uint64_t first, uint64_t end);  // [first, end); absent seqs are skipped
    const QueuedEvent* find(uint64_t seq) const;
  };

  std::map<uint64_t, SubscriptionConfig> configs_;
  std::unordered_map<uint64_t, DeliveryState> states_;
  std::unordered_map<uint64_t, Queue> queues_;
  std::unordered_set<std::string> event_ids_;
};

}  // namespace hooksim::storage
