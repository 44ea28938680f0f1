// The attempt log (JSON Lines) and the audit that checks a run against the delivery contract.
//
// Log records, one per line (docs/attempt-log.md):
//   {"kind":"attempt","t_ms":..,"sub":..,"event":..,"seq":..,"attempt":..,"outcome":"delivered"|"failed",
//    "status":..,["error":..,]"latency_ms":..[,"probe":true][,"next_t_ms":..]}
//   {"kind":"deactivated","t_ms":..,"sub":..,"discarded":N}   {"kind":"reactivated","t_ms":..,"sub":..}
//   {"kind":"restart","t_ms":..}
// t_ms is virtual milliseconds since the scenario start; attempt records are written when the attempt
// ends, and their t_ms is when it began.
#pragma once

#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/delivery_observer.h"

namespace hooksim::sim {

// Writes the JSON Lines log. Output depends only on the records, so equal runs give equal bytes.
class AttemptLogWriter final : public DeliveryObserver {
 public:
  AttemptLogWriter(std::ostream& out, TimePoint start) : out_(out), start_(start) {}
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_restart(TimePoint at);

 private:
  std::ostream& out_;
  TimePoint start_;
};

// Counts what happened and checks per-subscription order: apart from live probes, deliveries to a
// subscription must have strictly increasing sequence numbers, and no event is delivered twice.
class DeliveryAudit final : public DeliveryObserver {
 public:
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_error(std::string_view sub, const Status& st) override;

  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t delivered = 0;
  uint64_t discarded = 0;
  uint64_t order_violations = 0;
  std::vector<std::string> deactivated;  // subscriptions deactivated during the run, first time each
  std::vector<std::string> errors;       // store errors the engine reported

 private:
  struct PerSub {
    uint64_t last_in_order = 0;     // highest seq delivered in order
    std::set<uint64_t> probes;      // seqs delivered as live probes
  };
  std::map<std::string, PerSub, std::less<>> subs_;
};

// Sends every callback to each observer in turn.
class ObserverFanout final : public DeliveryObserver {
 public:
  explicit ObserverFanout(std::vector<DeliveryObserver*> observers) : observers_(std::move(observers)) {}
  void on_attempt(const AttemptRecord& r) override {
    for (auto* o : observers_) o->on_attempt(r);
  }
  void on_lifecycle(const LifecycleRecord& r) override {
    for (auto* o : observers_) o->on_lifecycle(r);
  }
  void on_error(std::string_view sub, const Status& st) override {
    for (auto* o : observers_) o->on_error(sub, st);
  }

 private:
  std::vector<DeliveryObserver*> observers_;
};

}  // namespace hooksim::sim
