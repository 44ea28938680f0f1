// Metrics: the service's DeliveryObserver, and the Prometheus text of GET /metrics (docs/api.md).
//
// It hands every attempt to the AttemptHistory it is given and counts, since the process started:
// deliveries, failed attempts by failure class, deactivations, store errors the engine could not return to
// a caller (also printed to stderr), the publish-to-delivery lag histogram and, as the API tells it,
// events published and duplicates skipped. Counters start at zero on every start. Single-threaded (the
// service's io_context thread).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/delivery_observer.h"
#include "engine/engine.h"
#include "service/attempt_history.h"
#include "storage/rocks_store.h"

namespace hooksim::service {

class Metrics final : public DeliveryObserver {
 public:
  // `history` must outlive the Metrics.
  explicit Metrics(AttemptHistory& history);

  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_error(std::string_view sub, const Status& st) override;

  // Counts one answered publish request: `accepted` events published, `duplicates` skipped as repeats.
  void count_published(size_t accepted, size_t duplicates);

  // The text exposition (format 0.0.4) of the counters, plus each of `engine`'s subscriptions' backlog and
  // state and the store's memory `store`. Names, labels and order as in docs/api.md.
  std::string prometheus_text(const Engine& engine, const storage::StoreMemory& store) const;

 private:
  AttemptHistory& history_;
  uint64_t published_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t delivered_ = 0;
  uint64_t deactivations_ = 0;
  uint64_t store_errors_ = 0;
  // Failed attempts by ErrorClass (kNone unused).
  std::array<uint64_t, static_cast<size_t>(ErrorClass::kPrivateAddress) + 1> failed_by_class_{};
  std::vector<uint64_t> lag_buckets_;  // deliveries whose lag is at most each bound of kLagBounds
  double lag_sum_seconds_ = 0;
  uint64_t lag_count_ = 0;
};

}  // namespace hooksim::service
