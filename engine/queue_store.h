// QueueStore: the engine's only way to persist. storage/ implements it on RocksDB.
//
// Layout the engine relies on: a subscription is a (key, config, state) triple, key a small integer chosen
// by the engine; each subscription has a queue of events addressed by (key, seq). All writes go through a
// StoreBatch and are applied atomically by QueueStore::write.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/subscription.h"

namespace hooksim {

// A set of writes applied all-or-nothing by QueueStore::write. Arguments are copied into the batch.
class StoreBatch {
 public:
  virtual ~StoreBatch() = default;
  virtual void put_config(uint64_t key, const SubscriptionConfig& config) = 0;
  virtual void put_state(uint64_t key, const DeliveryState& state) = 0;
  // Adds event `seq`, published at `enqueued_at`, to the queue of subscription `key`. Each (key, seq) is
  // written at most once.
  virtual void enqueue(uint64_t key, uint64_t seq, TimePoint enqueued_at, std::string_view event_id,
                       std::string_view body) = 0;
  // Remembers that an event with this id was published (see QueueStore::find_event_ids).
  virtual void remember_event_id(std::string_view event_id, TimePoint published_at) = 0;
  // Removes event (key, seq) from its queue. It is not an error if it is absent.
  virtual void remove(uint64_t key, uint64_t seq) = 0;
  // Removes the events (key, first) .. (key, end - 1).
  virtual void remove_range(uint64_t key, uint64_t first, uint64_t end) = 0;
  // Removes the subscription's config, state and whole queue.
  virtual void erase_subscription(uint64_t key) = 0;
  // Number of operations added so far.
  virtual size_t size() const = 0;
};

struct QueuedEvent {
  std::string id;
  TimePoint enqueued_at;
  std::string body;
};

struct StoredSubscription {
  uint64_t key = 0;
  SubscriptionConfig config;
  DeliveryState state;
};

enum class Durability {
  kSynced,    // on stable storage (WAL fsynced) when write() returns: publishes, config changes
  kBuffered,  // in the WAL, not necessarily synced: acks and state updates (a loss means redelivery)
};

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  // A new, empty batch for write().
  virtual std::unique_ptr<StoreBatch> new_batch() = 0;

  // Applies every operation of `batch` atomically. On error nothing of the batch is applied.
  virtual Status write(StoreBatch& batch, Durability durability) = 0;

  // Every subscription with its config and state, in ascending key order.
  virtual Result<std::vector<StoredSubscription>> load_subscriptions() = 0;

  // Event `seq` of subscription `key`. NotFound when it is not queued.
  virtual Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) = 0;

  // For each id, whether remember_event_id() stored it.
  virtual Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) = 0;
};

}  // namespace hooksim
