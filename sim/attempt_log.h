// The attempt log (JSON Lines) and the audit that checks a run against the delivery contract.
//
// Log records, one per line (docs/attempt-log.md):
//   {"kind":"attempt","t_ms":..,"sub":..,"event":..,"seq":..,"attempt":..,"outcome":"delivered"|"failed",
//    "status":..,["error":..,]"latency_ms":..[,"probe":true][,"exhausted":true][,"next_t_ms":..]}
//   {"kind":"deactivated","t_ms":..,"sub":..,"discarded":N}   {"kind":"reactivated","t_ms":..,"sub":..}
//   {"kind":"restart","t_ms":..}
//   {"kind":"publish","t_ms":..,"event":..,"subs":{sub:seq,...}[,"dropped":[sub,...]][,"body":".."]}
//   {"kind":"run",...}: the first line, written by write_run_header()
// t_ms is virtual milliseconds since the scenario start; attempt records are written when the attempt
// ends, and their t_ms is when it began.
#pragma once

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/delivery_observer.h"

namespace hooksim::sim {

// What the `run` header line of a log says about the run that wrote it.
struct RunHeader {
  std::string command;          // "simulate" or "run"
  std::string scenario;         // the scenario file's path, as given
  std::string scenario_sha256;  // hex SHA-256 of the scenario file's bytes
  uint64_t seed = 0;
  TimePoint start;  // virtual time of t_ms 0
  Duration duration{0};
  std::vector<std::string> subscriptions;  // ids, in scenario order
  bool payloads = false;                   // publish records carry the delivery body
};

// Writes `h` as one line: {"kind":"run","command","scenario","scenario_sha256","seed","start",
// "duration_ms","subscriptions":[..],"payloads"}.
void write_run_header(std::ostream& out, const RunHeader& h);

// Hex SHA-256 of a file's bytes; IOError when it cannot be read.
Result<std::string> file_sha256(const std::string& path);

// Writes the JSON Lines log. Output depends only on the records, so equal runs give equal bytes.
// With `payloads`, each publish record carries the delivery body (the envelope, as sent), which is what
// `hooksim replay` needs; without it the log stays small.
class AttemptLogWriter final : public DeliveryObserver {
 public:
  AttemptLogWriter(std::ostream& out, TimePoint start, bool payloads = false)
      : out_(out), start_(start), payloads_(payloads) {}
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_published(const PublishRecord& r) override;
  bool wants_published() const override { return true; }
  void on_restart(TimePoint at);

 private:
  std::ostream& out_;
  TimePoint start_;
  bool payloads_;
};

// Counts what happened and checks per-subscription order: apart from live probes, deliveries to a
// subscription must have strictly increasing sequence numbers, and no event is delivered twice. A
// subscription marked unordered (set_unordered) makes no order claim: only an event delivered twice counts.
class DeliveryAudit final : public DeliveryObserver {
 public:
  // Subscription `sub`'s policy is Ordering::kUnordered.
  void set_unordered(std::string_view sub) { subs_[std::string(sub)].unordered = true; }
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_error(std::string_view sub, const Status& st) override;

  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t delivered = 0;
  uint64_t discarded = 0;
  uint64_t exhausted = 0;  // events dropped after their last attempt (RetryPolicy::max_attempts)
  uint64_t order_violations = 0;
  std::vector<std::string> deactivated;  // subscriptions deactivated during the run, first time each
  std::vector<std::string> errors;       // store errors the engine reported

 private:
  struct PerSub {
    uint64_t last_in_order = 0;  // highest seq delivered in order
    std::set<uint64_t> probes;   // seqs delivered as live probes; unordered: every seq delivered
    bool unordered = false;
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
  void on_published(const PublishRecord& r) override {
    for (auto* o : observers_)
      if (o->wants_published()) o->on_published(r);
  }
  bool wants_published() const override {
    return std::any_of(observers_.begin(), observers_.end(), [](auto* o) { return o->wants_published(); });
  }

 private:
  std::vector<DeliveryObserver*> observers_;
};

}  // namespace hooksim::sim
