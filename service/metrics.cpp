#include "service/metrics.h"

#include <fmt/format.h>

#include <iterator>

namespace hooksim::service {

namespace {

// Upper bounds (seconds) of the publish-to-delivery lag histogram.
const std::vector<double> kLagBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
                                        2.5,   5,    10,    60,   300, 3600, 86400};
// Upper bounds (seconds) of the receivers' response-time histogram: an attempt's time limit is 10 s by
// default and can be set longer.
const std::vector<double> kResponseBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string prometheus_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void Histogram::observe(double value) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++buckets_[i];
  sum_ += value;
  ++count_;
}

void Histogram::append_text(std::string& out, std::string_view name, std::string_view help) const {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} histogram\n", name, help);
  for (size_t i = 0; i < bounds_.size(); ++i)
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], buckets_[i]);
  out += fmt::format("{0}_bucket{{le=\"+Inf\"}} {1}\n{0}_sum {2}\n{0}_count {1}\n", name, count_, sum_);
}

Metrics::Metrics(AttemptHistory& history) : history_(history), lag_(kLagBounds), response_(kResponseBounds) {}

void Metrics::on_attempt(const AttemptRecord& r) {
  history_.record(r);
  std::lock_guard<std::mutex> lock(mutex_);
  // The receiver answered (any status): how long it took, from the start of the attempt.
  if (r.status != 0) response_.observe(std::chrono::duration<double>(r.latency).count());
  if (!r.delivered()) {
    ++failed_by_class_[static_cast<size_t>(r.error)];
    return;
  }
  ++delivered_;
  lag_.observe(std::chrono::duration<double>(r.started + r.latency - r.enqueued_at).count());
}

void Metrics::on_lifecycle(const LifecycleRecord& r) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (r.kind == LifecycleRecord::Kind::kDeactivated) ++deactivations_;
}

void Metrics::on_error(std::string_view sub, const Status& st) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++store_errors_;
  fmt::print(stderr, "hooksim serve: subscription {}: {}\n", sub, st.message());
}

void Metrics::count_published(size_t accepted, size_t duplicates) {
  std::lock_guard<std::mutex> lock(mutex_);
  published_ += accepted;
  duplicates_ += duplicates;
}

std::string Metrics::prometheus_text(std::span<const SubscriptionSnapshot> subs,
                                     const BackendMemory& store) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  counter("hooksim_events_published_total", "Events accepted by POST /v1/events since start.", published_);
  counter("hooksim_events_duplicate_total", "Published events skipped as repeats of an earlier id.",
          duplicates_);
  counter("hooksim_deliveries_total", "Attempts answered 2xx since start.", delivered_);
  counter("hooksim_deactivations_total", "Subscriptions deactivated since start.", deactivations_);
  counter("hooksim_store_errors_total", "Store writes that failed while delivering.", store_errors_);
  out +=
      "# HELP hooksim_attempts_failed_total Failed attempts since start, by failure class.\n"
      "# TYPE hooksim_attempts_failed_total counter\n";
  for (size_t c = 1; c < failed_by_class_.size(); ++c)  // every class, in ErrorClass order, 0 when none
    out += fmt::format("hooksim_attempts_failed_total{{class=\"{}\"}} {}\n",
                       to_string(static_cast<ErrorClass>(c)), failed_by_class_[c]);
  out += "# HELP hooksim_backlog Events queued per subscription.\n# TYPE hooksim_backlog gauge\n";
  std::string states =
      "# HELP hooksim_subscription_state 1 for the state each subscription is in.\n"
      "# TYPE hooksim_subscription_state gauge\n";
  for (const SubscriptionSnapshot& s : subs) {
    out += fmt::format("hooksim_backlog{{subscription=\"{}\"}} {}\n", prometheus_label(s.config.id),
                       s.state.backlog());
    states += fmt::format("hooksim_subscription_state{{subscription=\"{}\",state=\"{}\"}} 1\n",
                          prometheus_label(s.config.id), to_string(s.state.state));
  }
  out += states;
  // The engine's totals of each subscription (as /status reports them): persisted, so they go on across
  // restarts; a deleted subscription's series disappear.
  auto per_subscription = [&](const char* name, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n", name, help);
    for (const SubscriptionSnapshot& s : subs)
      out +=
          fmt::format("{}{{subscription=\"{}\"}} {}\n", name, prometheus_label(s.config.id), value(s.state));
  };
  per_subscription("hooksim_subscription_delivered_total",
                   "Events delivered (answered 2xx) per subscription.",
                   [](const DeliveryState& s) { return s.delivered; });
  per_subscription("hooksim_subscription_failed_attempts_total", "Failed attempts per subscription.",
                   [](const DeliveryState& s) { return s.failed_attempts; });
  per_subscription("hooksim_subscription_exhausted_total",
                   "Events dropped after the policy's max_attempts, per subscription.",
                   [](const DeliveryState& s) { return s.exhausted; });
  out += fmt::format(
      "# HELP hooksim_store_memory_bytes Memory the store holds, by part (RocksDB's accounting).\n"
      "# TYPE hooksim_store_memory_bytes gauge\n"
      "hooksim_store_memory_bytes{{part=\"memtables\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"block_cache\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"table_readers\"}} {}\n",
      store.memtables, store.block_cache, store.table_readers);
  lag_.append_text(out, "hooksim_delivery_lag_seconds", "Time from publish to successful delivery.");
  response_.append_text(out, "hooksim_receiver_response_seconds",
                        "Time from the start of an attempt to the receiver's answer, any status.");
  return out;
}

}  // namespace hooksim::service
