#include "service/metrics.h"

#include <fmt/format.h>

#include <iterator>

namespace hooksim::service {

namespace {

// Upper bounds (seconds) of the publish-to-delivery lag histogram.
constexpr double kLagBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
                                 2.5,   5,    10,    60,   300, 3600, 86400};
constexpr size_t kLagBucketCount = std::size(kLagBounds);

std::string prometheus_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Metrics::Metrics(AttemptHistory& history) : history_(history), lag_buckets_(kLagBucketCount, 0) {}

void Metrics::on_attempt(const AttemptRecord& r) {
  history_.record(r);
  if (!r.delivered()) {
    ++failed_by_class_[static_cast<size_t>(r.error)];
    return;
  }
  ++delivered_;
  double lag = std::chrono::duration<double>(r.started + r.latency - r.enqueued_at).count();
  for (size_t i = 0; i < kLagBucketCount; ++i)
    if (lag <= kLagBounds[i]) ++lag_buckets_[i];
  lag_sum_seconds_ += lag;
  ++lag_count_;
}

void Metrics::on_lifecycle(const LifecycleRecord& r) {
  if (r.kind == LifecycleRecord::Kind::kDeactivated) ++deactivations_;
}

void Metrics::on_error(std::string_view sub, const Status& st) {
  ++store_errors_;
  fmt::print(stderr, "hooksim serve: subscription {}: {}\n", sub, st.message());
}

void Metrics::count_published(size_t accepted, size_t duplicates) {
  published_ += accepted;
  duplicates_ += duplicates;
}

std::string Metrics::prometheus_text(const Engine& engine, const storage::StoreMemory& store) const {
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
  for (const std::string& id : engine.subscription_ids()) {
    auto v = engine.find(id);
    out +=
        fmt::format("hooksim_backlog{{subscription=\"{}\"}} {}\n", prometheus_label(id), v->state.backlog());
    states += fmt::format("hooksim_subscription_state{{subscription=\"{}\",state=\"{}\"}} 1\n",
                          prometheus_label(id), to_string(v->state.state));
  }
  out += states;
  out += fmt::format(
      "# HELP hooksim_store_memory_bytes Memory the store holds, by part (RocksDB's accounting).\n"
      "# TYPE hooksim_store_memory_bytes gauge\n"
      "hooksim_store_memory_bytes{{part=\"memtables\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"block_cache\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"table_readers\"}} {}\n",
      store.memtables, store.block_cache, store.table_readers);
  out +=
      "# HELP hooksim_delivery_lag_seconds Time from publish to successful delivery.\n"
      "# TYPE hooksim_delivery_lag_seconds histogram\n";
  for (size_t i = 0; i < kLagBucketCount; ++i)
    out +=
        fmt::format("hooksim_delivery_lag_seconds_bucket{{le=\"{}\"}} {}\n", kLagBounds[i], lag_buckets_[i]);
  out += fmt::format("hooksim_delivery_lag_seconds_bucket{{le=\"+Inf\"}} {}\n", lag_count_);
  out += fmt::format("hooksim_delivery_lag_seconds_sum {}\nhooksim_delivery_lag_seconds_count {}\n",
                     lag_sum_seconds_, lag_count_);
  return out;
}

}  // namespace hooksim::service
