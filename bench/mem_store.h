// MemQueueStore: a QueueStore held in memory, for benchmarks only.
//
// It exists to separate the engine's own cost from RocksDB's in the simulation benchmarks
// (engine/*_mem_store): same engine, scheduler and transport, but every write is a few map operations.
// Not durable, not a product store; it keeps the QueueStore contract for what the engine uses (atomic
// batches, read_event, load_subscriptions, find_event_ids).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "engine/queue_store.h"

namespace hooksim::bench {

class MemQueueStore final : public QueueStore {
 public:
  std::unique_ptr<StoreBatch> new_batch() override;
  Status write(StoreBatch& batch, Durability durability) override;
  Result<std::vector<StoredSubscription>> load_subscriptions() override;
  Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) override;
  Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) override;

 private:
  friend class MemBatch;
  std::map<uint64_t, SubscriptionConfig> configs_;
  std::map<uint64_t, DeliveryState> states_;
  std::map<std::pair<uint64_t, uint64_t>, QueuedEvent> queue_;
  std::set<std::string, std::less<>> event_ids_;
};

}  // namespace hooksim::bench
