// ShardStore: the QueueStore of one shard while a cluster node owns it (docs/cluster.md, "Progress").
//
// The queues are in memory (storage::MemoryQueueStore): the replicated log of accepted events is the
// JetStream stream, and a new owner rebuilds them from it. What a new owner cannot rebuild from the stream is
// each subscription's progress: which events it is done with and its retry state. So with every batch that
// writes a subscription's state (a success, which the engine's group commit writes before it sends the next
// event; a failure with its next attempt; a deactivation; a reactivation), the store hands the subscription's
// Progress to the node's writer, which puts it in the progress bucket before write() returns. A crash (or a
// lease lost) therefore repeats at most the attempt in flight, as with a local store.
//
// Each queue entry remembers the stream sequence number of its event, so that a subscription's progress can
// say "every event up to stream sequence `acked` is done" (delivered, dropped, discarded, or never its own).
// Single-threaded, as the engine that uses it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/queue_store.h"
#include "storage/memory_store.h"

namespace hooksim::cluster {

// What a next owner needs of a subscription (the progress bucket's value, encode_progress).
struct Progress {
  // Every event of the stream at or below this sequence number is done for the subscription.
  uint64_t acked = 0;
  // Its state as the engine last wrote it (ShardStore::restore makes its queue fields match the rebuilt
  // queue).
  DeliveryState state;
  // The sequence number (the owner's numbering, which every owner continues) of its first event not done:
  // a new owner numbers the rebuilt queue from it, so receivers see the same numbers for the same events.
  uint64_t head_seq = 1;
  uint32_t head_attempts = 0;  // attempts already made on its oldest queued event
  uint64_t backlog = 0;        // its queued events when written (for other nodes' status views)
  // The subscription's order (SubRecord::order) as its writer knew it: progress written for an earlier
  // subscription with the same id (deleted, then created again) is not the new one's.
  uint64_t order = 0;
};
std::string encode_progress(const Progress& p);
Result<Progress> decode_progress(std::string_view bytes);

class ShardStore final : public QueueStore {
 public:
  // Writes the progress of the subscriptions a batch changed (by subscription id), durably; an error
  // fails the write as a store error would (the engine reports it; delivery goes on at least once).
  using ProgressWriter = std::function<Status(std::span<const std::pair<std::string, Progress>>)>;

  ShardStore(ProgressWriter writer, storage::MemoryStoreOptions options);

  // The stream sequence number of the event being published now: queue entries added by the next writes
  // belong to it, and a subscription with an empty queue is done with every event up to it.
  void set_position(uint64_t stream_seq) { position_ = stream_seq; }
  uint64_t position() const { return position_; }

  // Adds to `batch` (one of this store's) one subscription as a new owner takes it over: its config, and
  // its state translated to a queue numbered from progress.head_seq that will hold `queued` events, which the
  // caller then enqueues in the same batch, oldest first, each after set_position(its stream sequence
  // number). A written batch made only of restores calls no writer. REQUIRES: before the engine opens.
  void restore(uint64_t key, const SubscriptionConfig& config, const Progress& progress, uint64_t queued,
               StoreBatch& batch);
  // Progress of subscription `key` as it stands (for the periodic status write); nullopt if unknown.
  std::optional<std::pair<std::string, Progress>> progress_of(uint64_t key);

  std::unique_ptr<StoreBatch> new_batch() override;
  Status write(StoreBatch& batch, Durability durability) override;
  Result<std::vector<StoredSubscription>> load_subscriptions() override {
    return memory_.load_subscriptions();
  }
  Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) override { return memory_.read_event(key, seq); }
  Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) override {
    return memory_.find_event_ids(ids);
  }

 private:
  friend class ShardBatch;
  struct Sub {
    std::string id;
    DeliveryState state;
    std::deque<std::pair<uint64_t, uint64_t>> queued;  // (local seq, stream seq), ascending
  };
  Progress progress(const Sub& s) const;

  storage::MemoryQueueStore memory_;
  ProgressWriter writer_;
  uint64_t position_ = 0;
  std::unordered_map<uint64_t, Sub> subs_;
};

}  // namespace hooksim::cluster
