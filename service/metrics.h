// Metrics: the service's DeliveryObserver, and the Prometheus text of GET /metrics (docs/api.md).
//
// It hands every attempt to the AttemptHistory it is given and counts, since the process started:
// deliveries, failed attempts by failure class, deactivations, store errors the engine could not return to
// a caller (also printed to stderr), the publish-to-delivery lag histogram, the receivers' response-time
// histogram and, as the API tells it, events published and duplicates skipped. Counters start at zero on
// every start; the per-subscription delivered and failed totals are the engine's (persisted) ones.
// Thread-safe: every shard's thread reports to it (one mutex; each report holds it for a few counters).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/delivery_observer.h"
#include "engine/engine.h"
#include "service/attempt_history.h"
#include "service/backend.h"

namespace hooksim::service {

// A Prometheus histogram: cumulative counts of observations at most each bound, their sum and count.
class Histogram {
 public:
  // REQUIRES: `bounds` ascending.
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}
  void observe(double value);
  // "# HELP", "# TYPE NAME histogram", NAME_bucket{le=...} for each bound and +Inf, NAME_sum, NAME_count.
  void append_text(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics final : public DeliveryObserver {
 public:
  // `history` must outlive the Metrics.
  explicit Metrics(AttemptHistory& history);

  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_error(std::string_view sub, const Status& st) override;

  // Counts one answered publish request: `accepted` events published, `duplicates` skipped as repeats.
  void count_published(size_t accepted, size_t duplicates);

  // The text exposition (format 0.0.4) of the counters, plus each subscription's backlog and state (`subs`,
  // in registration order) and the backend's store memory `store`. Names, labels and order as in
  // docs/api.md.
  std::string prometheus_text(std::span<const SubscriptionSnapshot> subs, const BackendMemory& store) const;

 private:
  AttemptHistory& history_;
  mutable std::mutex mutex_;  // guards everything below
  uint64_t published_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t delivered_ = 0;
  uint64_t deactivations_ = 0;
  uint64_t store_errors_ = 0;
  // Failed attempts by ErrorClass (kNone unused).
  std::array<uint64_t, static_cast<size_t>(ErrorClass::kPrivateAddress) + 1> failed_by_class_{};
  Histogram lag_;       // publish to successful delivery, seconds
  Histogram response_;  // attempt start to the receiver's answer (any status), seconds
};

}  // namespace hooksim::service
