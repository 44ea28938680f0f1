// `hooksim report`, first half: the series (backlog, attempts by outcome, lag, lifecycle) of a run, built
// from its attempt log. The log is streamed once; everything kept is bounded by the number of subscriptions,
// the chart resolution and the backlog (never by the number of records), so memory follows the subscriptions
// and the undelivered events, not the log's length. report_render.h draws the result.
//
//   ReportBuilder builder;
//   for each LogRecord r: builder.add(r);
//   Report report = builder.finish();
//   render_html(report) / render_text(report)
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/status.h"
#include "sim/log_reader.h"
#include "util/log_histogram.h"

namespace hooksim::sim {

// Publish-to-delivery lags in milliseconds (util/log_histogram.h: exact below 1024 ms, within 0.2 % above).
using LagHistogram = util::LogHistogram;

// Outcome classes of an attempt: 0 is delivered, the others are the ErrorClass values (status, timeout, ...).
inline constexpr size_t kOutcomeCount = 9;
// "delivered", "status", "timeout", "connect", "tls", "dns", "reset", "abandoned", "other".
const char* outcome_name(size_t outcome);

// One fixed-width time bucket of one subscription.
struct ReportBucket {
  bool touched = false;                            // the backlog changed in this bucket
  int64_t max_backlog = 0;                         // touched: the largest backlog within the bucket
  int64_t last_backlog = 0;                        // touched: the backlog at the end of the bucket
  std::array<uint64_t, kOutcomeCount> attempts{};  // attempts that began in this bucket, by outcome
};

// One subscription's share of the run. With publish records, every event published to it is accounted for:
// published == delivered + backlog (still queued at the end) + discarded + dropped_inactive + exhausted.
struct SubscriptionReport {
  std::string id;
  uint64_t published = 0;  // events whose filter matched: queued for it, or dropped while it was deactivated
  uint64_t delivered = 0;
  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t discarded = 0;         // thrown away from the backlog by deactivations
  uint64_t dropped_inactive = 0;  // published while it was deactivated, so never queued
  uint64_t exhausted = 0;         // dropped after their last attempt (the policy's max_attempts)
  // The lag covers delivered events only; these two say how old the others got (publish records needed):
  std::optional<int64_t> oldest_queued_ms;     // age, at the end of the log, of the oldest event still queued
  std::optional<int64_t> oldest_discarded_ms;  // the largest age of an event when a deactivation discarded it
  uint64_t deactivations = 0;
  uint64_t reactivations = 0;
  int64_t backlog = 0;  // at the end of the log
  int64_t max_backlog = 0;
  std::array<uint64_t, kOutcomeCount> outcomes{};
  LagHistogram lag;
  std::vector<ReportBucket> buckets;  // the ReportBuilder's bucket count of them
};

// A lifecycle change, drawn as a marker.
struct ReportMarker {
  enum class Kind { kDeactivated, kReactivated, kRestart };
  Kind kind;
  int64_t t_ms = 0;
  std::string sub;  // empty for a restart
  uint64_t discarded = 0;
};
const char* to_string(ReportMarker::Kind k);

struct Report {
  std::optional<RunHeader> run;  // the log's header, if it has one
  bool has_publish_records =
      false;  // false for logs written before publish records existed: no backlog, no lag
  uint64_t records = 0;
  uint64_t events_published = 0;
  uint64_t events_unmatched = 0;  // publish records that no subscription took or dropped
  int64_t end_ms = 0;             // the run's duration (header), else the latest time in the log
  int64_t bucket_ms = 1;          // width of one bucket
  std::vector<SubscriptionReport> subscriptions;  // header order, then in order of appearance
  std::vector<ReportMarker> markers;              // in log order
};

// Aggregates records. Buckets: `buckets` of fixed width from t = 0; the width is the run's duration divided
// by `buckets` when the header gives it, else 1 s, and doubles (merging neighbours) whenever a record falls
// beyond the last bucket.
class ReportBuilder {
 public:
  explicit ReportBuilder(size_t buckets = 500);
  void add(const LogRecord& r);
  // The figures of subscription `id` so far (its backlog as of the last record added), for a reader that
  // follows a run record by record; nullptr when no record has named it yet.
  const SubscriptionReport* find(const std::string& id) const;
  Report finish() &&;

 private:
  SubscriptionReport& sub(const std::string& id);
  ReportBucket& bucket(SubscriptionReport& s, int64_t t_ms);
  void set_backlog(SubscriptionReport& s, int64_t t_ms, int64_t value);
  void grow_until(int64_t t_ms);

  size_t bucket_count_;
  Report report_;
  std::unordered_map<std::string, size_t> index_;
  // Per subscription: queued events not yet delivered, seq -> publish time (for the lag).
  std::vector<std::unordered_map<uint64_t, int64_t>> pending_;
  int64_t latest_ms_ = 0;
};

// Streams the log file through a ReportBuilder. InvalidArgument naming the file and line for a bad line.
Result<Report> build_report(const std::string& log_path, size_t buckets = 500);

}  // namespace hooksim::sim
