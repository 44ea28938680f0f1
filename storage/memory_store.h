// MemoryQueueStore: the QueueStore contract held in process memory.
//
// `hooksim simulate` and `hooksim run` keep their queues here unless given `--data DIR`: a scenario's store
// lives only as long as the run, so a write-ahead log and an LSM tree would be pure cost (the simulation
// section of bench/README.md measures both stores). The contract is the same as RocksQueueStore's: batches
// apply all-or-nothing and in order, and what was written survives the engine. A scenario `restart` drops the
// engine with its timers and attempts in flight and opens a new one on this same store, just as a crashed
// process reopens its RocksDB directory: anything the engine had not written is lost. Nothing survives the
// process (there is no reopening a memory store).
//
// Each subscription's queue packs its entries into blocks (storage/memory_queue.h): no heap node per
// entry. The body of an event queued for one subscription is copied into that queue's block; the body of an
// event queued for several is one refcounted string that each of their entries refers to, freed with the
// last of them. Past MemoryStoreOptions::memory_budget, full blocks behind a queue's head go to a temporary
// file until the head reaches them (bench/README.md, "Fleet week"). Body references are always 0 (nothing
// needs to be found on removal).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/queue_store.h"
#include "storage/memory_queue.h"

namespace hooksim::storage {

class MemoryQueueStore final : public QueueStore {
 public:
  explicit MemoryQueueStore(MemoryStoreOptions options = {});
  ~MemoryQueueStore() override;

  // A new batch. REQUIRES: it is destroyed before the store.
  std::unique_ptr<StoreBatch> new_batch() override;
  Status write(StoreBatch& batch, Durability durability) override;
  Result<std::vector<StoredSubscription>> load_subscriptions() override;
  // As QueueStore::read_event; also IOError when the entry's spilled block cannot be read back.
  Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) override;
  Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) override;

  // Events queued for subscription `key` (for tests).
  uint64_t count_queued(uint64_t key) const;
  // Distinct bodies held by queued events, counted by scanning (for tests and audits).
  uint64_t count_bodies() const;
  // Bytes of queue blocks in memory, and blocks in the spill file (for tests and the benchmark).
  size_t block_bytes_in_memory() const { return pool_.in_memory(); }
  size_t blocks_spilled() const { return pool_.spilled(); }

 private:
  friend class MemoryBatch;
  struct BatchBuffers;

  BlockPool pool_;  // before the queues: they give their blocks back to it
  std::map<uint64_t, SubscriptionConfig> configs_;
  std::unordered_map<uint64_t, DeliveryState> states_;
  std::unordered_map<uint64_t, QueueTail> tails_;  // StoreBatch::put_tail
  std::unordered_map<uint64_t, MemoryQueue> queues_;
  std::unordered_set<std::string> event_ids_;
  std::unique_ptr<BatchBuffers> spare_;  // a written batch's buffers, for the next batch
};

}  // namespace hooksim::storage
