// QueueStore: the engine's only way to persist. storage/ implements it on RocksDB.
//
// Layout the engine relies on: a subscription is a (key, config, state) triple, key a small integer chosen
// by the engine; each subscription has a queue of events addressed by (key, seq). All writes go through a
// StoreBatch and are applied atomically by QueueStore::write.
//
// Bodies: an event published to several queues has its body stored once, whatever the number of queues
// (StoreBatch::enqueue_many), and kept exactly as long as one of those queue entries is: its last removal
// (remove, remove_range, erase_subscription) deletes it in the same atomic write, so no crash leaves a
// body without an entry or an entry without its body. Reading an entry (read_event) gives its body as a
// shared, immutable string: readers of entries of the same event may share one copy in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/subscription.h"

namespace hooksim {

// Where an event joins a queue: subscription `key`, sequence number `seq`.
struct QueueSlot {
  uint64_t key = 0;
  uint64_t seq = 0;
};

// What only publishes write of a subscription (StoreBatch::put_tail); both values only ever grow.
struct QueueTail {
  uint64_t key = 0;
  uint64_t next_seq = 0;          // its queue ends before this sequence number
  uint64_t dropped_inactive = 0;  // events it dropped while deactivated (DeliveryState::dropped_inactive)
};

// What a store tells about a queued event's body so that removing the entry needs no read: 0 when the
// entry holds its body itself, otherwise the store's id of a body shared with other entries. Opaque to
// the engine, which only hands it back (StoreBatch::remove).
using BodyRef = uint64_t;

// A set of writes applied all-or-nothing by QueueStore::write, in the order they were added. Arguments are
// copied into the batch. A batch is written once.
class StoreBatch {
 public:
  virtual ~StoreBatch() = default;
  virtual void put_config(uint64_t key, const SubscriptionConfig& config) = 0;
  virtual void put_state(uint64_t key, const DeliveryState& state) = 0;
  // Records what a publish changed of subscription `tail.key`: where its queue now ends and how many
  // events it dropped while deactivated. load_subscriptions() gives the state's next_seq and
  // dropped_inactive as the larger of its own and the tail's: a publish writes entries and tails, never a
  // state, which the subscription's owner may be writing at the same time from another thread (engine.h,
  // stage_publish).
  virtual void put_tail(const QueueTail& tail) = 0;
  // Adds the event `event_id`, published at `enqueued_at`, to the queue of each subscription in `slots`,
  // at the slot's sequence number. The body is stored once for all of the slots (the batch holds one
  // copy, whatever their number) and deleted with the last of these entries. Each (key, seq) is written at
  // most once. Nothing is added when `slots` is empty.
  virtual void enqueue_many(std::span<const QueueSlot> slots, TimePoint enqueued_at,
                            std::string_view event_id, std::string_view body) = 0;
  // Adds event `seq` to the queue of subscription `key` alone (enqueue_many with one slot).
  void enqueue(uint64_t key, uint64_t seq, TimePoint enqueued_at, std::string_view event_id,
               std::string_view body) {
    const QueueSlot slot{key, seq};
    enqueue_many({&slot, 1}, enqueued_at, event_id, body);
  }
  // Remembers that an event with this id was published (see QueueStore::find_event_ids).
  virtual void remember_event_id(std::string_view event_id, TimePoint published_at) = 0;
  // Removes event (key, seq) from its queue. It is not an error if it is absent. The store finds the
  // entry's body reference itself, which may cost a read.
  virtual void remove(uint64_t key, uint64_t seq) = 0;
  // As remove(key, seq), for an entry whose body reference the caller knows (QueuedEvent::body_ref, read
  // from it): no read. REQUIRES: `body_ref` is the entry's own (0 for an entry with a shared body would
  // leave that body stored for ever), and the entry is queued when the batch is written, unless this batch
  // removed it before (an absent entry with a wrong reference would release a body another entry still
  // holds). Without the reference, call remove(key, seq).
  virtual void remove(uint64_t key, uint64_t seq, BodyRef body_ref) = 0;
  // Removes the events (key, first) .. (key, end - 1). Reads the range once when shared bodies are stored.
  virtual void remove_range(uint64_t key, uint64_t first, uint64_t end) = 0;
  // Removes the subscription's config, state and whole queue (reading the queue once, as remove_range).
  virtual void erase_subscription(uint64_t key) = 0;
  // Number of operations added so far.
  virtual size_t size() const = 0;
};

struct QueuedEvent {
  std::string id;
  TimePoint enqueued_at;
  // The delivery body; never null. Shared and immutable: entries of one event read while an earlier read
  // is still held may return the same string.
  std::shared_ptr<const std::string> body;
  BodyRef body_ref = 0;  // pass back to StoreBatch::remove
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

  // Event `seq` of subscription `key`. NotFound when it is not queued; Corruption when its body is missing.
  virtual Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) = 0;

  // For each id, whether remember_event_id() stored it.
  virtual Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) = 0;
};

}  // namespace hooksim
