// Backend: what the API (service/api.h) asks of whatever runs the engines behind it.
//
// Two implement it: service::Shards, the engines of one `hooksim serve` (each on its own thread, over one
// RocksDB store), and cluster::Node, one node of `hooksim serve --cluster` (docs/cluster.md), whose
// subscriptions live in a NATS key-value bucket and whose engines run on whichever node owns their shard.
// The API validates every request before it reaches the backend; the backend answers with the engine's
// Status codes (InvalidArgument, NotFound, AlreadyExists, FailedPrecondition; anything else is 503).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "engine/status.h"
#include "engine/subscription.h"

namespace hooksim::service {

// A copy of one subscription's config and state (a SubscriptionView that outlives the call).
struct SubscriptionSnapshot {
  uint64_t key = 0;
  SubscriptionConfig config;
  DeliveryState state;
  uint32_t in_flight_count = 0;
  // When its oldest queued event was published (Engine::oldest_queued); nullopt with an empty queue.
  std::optional<TimePoint> oldest_queued;
  // In a cluster, the node that owns (delivers) the subscription; "" when none does or not a cluster.
  std::string owner;
  SubscriptionView view() const { return {config, state, in_flight_count > 0, in_flight_count, key}; }
};

// What the backend's store holds in memory (the `hooksim_store_memory_bytes` gauges of /metrics).
struct BackendMemory {
  uint64_t memtables = 0;
  uint64_t block_cache = 0;
  uint64_t table_readers = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Every subscription, in registration order. `oldest`: also when its oldest queued event was published.
  virtual Result<std::vector<SubscriptionSnapshot>> list(bool oldest) = 0;
  // One subscription; nullopt for an unknown id.
  virtual Result<std::optional<SubscriptionSnapshot>> find(std::string_view id, bool oldest) = 0;

  // Engine::add_subscription, update_subscription, reactivate and retry_now of subscription `id` (the
  // config's for the first two); each answers the subscription as it stands right after the change.
  virtual Result<SubscriptionSnapshot> add(const SubscriptionConfig& config) = 0;
  virtual Result<SubscriptionSnapshot> update(const SubscriptionConfig& config) = 0;
  virtual Result<SubscriptionSnapshot> reactivate(std::string_view id) = 0;
  virtual Result<SubscriptionSnapshot> retry_now(std::string_view id) = 0;
  // POST …/reactivate (`reactivate`) or …/retry: reactivate(id) or retry_now(id), answered through `done`
  // exactly once on the caller's thread, at once or later (a cluster node forwards it to the subscription's
  // owner and answers when the owner has).
  using Answer = std::function<void(Result<SubscriptionSnapshot>)>;
  virtual void change(std::string_view id, bool reactivate, Answer done) {
    done(reactivate ? this->reactivate(id) : retry_now(id));
  }
  // Engine::remove_subscription.
  virtual Status remove(std::string_view id) = 0;

  // Publishes `events`, all or nothing, durably before it returns; `result->duplicates` lists the indexes
  // of events skipped as already published.
  virtual Status publish(std::span<const Event> events, PublishResult* result) = 0;

  virtual BackendMemory memory() = 0;
  // GET /status: the backend's own view (for a cluster: its nodes, shards and leases), as JSON text;
  // nullopt when it has none (a single `serve`: /status is 404 there).
  virtual std::optional<std::string> status_json() { return std::nullopt; }
};

}  // namespace hooksim::service
