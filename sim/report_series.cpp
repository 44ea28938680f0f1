#include "sim/report_series.h"

#include <algorithm>
#include <iterator>

namespace hooksim::sim {

// --- names -------------------------------------------------------------------------------------------------

const char* outcome_name(size_t outcome) {
  return outcome == 0 ? "delivered" : to_string(static_cast<ErrorClass>(outcome));
}

const char* to_string(ReportMarker::Kind k) {
  static constexpr const char* kNames[] = {"deactivated", "reactivated", "restart"};
  return kNames[static_cast<size_t>(k)];
}

// --- ReportBuilder -----------------------------------------------------------------------------------------

namespace {
// The earliest publish time among queued events (seq -> publish time); nullopt when none is queued.
std::optional<int64_t> oldest_publish(const std::unordered_map<uint64_t, int64_t>& pending) {
  std::optional<int64_t> out;
  for (const auto& [seq, t_ms] : pending) out = std::min(out.value_or(t_ms), t_ms);
  return out;
}
}  // namespace

ReportBuilder::ReportBuilder(size_t buckets) : bucket_count_(std::max<size_t>(buckets, 2)) {
  report_.bucket_ms = 1000;
}

SubscriptionReport& ReportBuilder::sub(const std::string& id) {
  auto [it, added] = index_.try_emplace(id, report_.subscriptions.size());
  if (!added) return report_.subscriptions[it->second];
  SubscriptionReport& s = report_.subscriptions.emplace_back();
  s.id = id;
  s.buckets.resize(bucket_count_);
  pending_.emplace_back();
  return s;
}

void ReportBuilder::grow_until(int64_t t_ms) {
  while (t_ms >= static_cast<int64_t>(bucket_count_) * report_.bucket_ms) {
    for (SubscriptionReport& s : report_.subscriptions) {
      std::vector<ReportBucket> merged(bucket_count_);
      for (size_t i = 0; i < bucket_count_; ++i) {  // buckets 2i and 2i + 1 become bucket i
        ReportBucket& out = merged[i / 2];
        const ReportBucket& b = s.buckets[i];
        if (b.touched) {
          out.max_backlog = out.touched ? std::max(out.max_backlog, b.max_backlog) : b.max_backlog;
          out.last_backlog = b.last_backlog;
          out.touched = true;
        }
        for (size_t o = 0; o < kOutcomeCount; ++o) out.attempts[o] += b.attempts[o];
      }
      s.buckets = std::move(merged);
    }
    report_.bucket_ms *= 2;
  }
}

ReportBucket& ReportBuilder::bucket(SubscriptionReport& s, int64_t t_ms) {
  t_ms = std::max<int64_t>(t_ms, 0);
  grow_until(t_ms);
  return s.buckets[static_cast<size_t>(t_ms / report_.bucket_ms)];
}

void ReportBuilder::set_backlog(SubscriptionReport& s, int64_t t_ms, int64_t value) {
  ReportBucket& b = bucket(s, t_ms);
  b.max_backlog = b.touched ? std::max(b.max_backlog, value) : std::max(s.backlog, value);
  b.last_backlog = value;
  b.touched = true;
  s.backlog = value;
  s.max_backlog = std::max(s.max_backlog, value);
}

void ReportBuilder::add(const LogRecord& r) {
  ++report_.records;
  if (r.kind != LogRecord::Kind::kRun) latest_ms_ = std::max(latest_ms_, r.t_ms);
  switch (r.kind) {
    case LogRecord::Kind::kRun:
      report_.run = r.run;
      if (r.run.duration.count() > 0 && report_.events_published == 0 && report_.subscriptions.empty()) {
        // The smallest round width that fits the whole run (t = duration included) into the buckets.
        static constexpr int64_t kWidths[] = {
            1,         2,         5,          10,         20,         50,        100,
            200,       500,       1'000,      2'000,      5'000,      10'000,    15'000,
            30'000,    60'000,    120'000,    300'000,    600'000,    900'000,   1'800'000,
            3'600'000, 7'200'000, 10'800'000, 21'600'000, 43'200'000, 86'400'000};
        int64_t need = r.run.duration.count() / static_cast<int64_t>(bucket_count_) + 1;
        const int64_t* w = std::lower_bound(std::begin(kWidths), std::end(kWidths), need);
        report_.bucket_ms = w == std::end(kWidths) ? need : *w;
      }
      for (const std::string& id : r.run.subscriptions) sub(id);
      break;
    case LogRecord::Kind::kPublish:
      report_.has_publish_records = true;
      ++report_.events_published;
      for (const auto& [id, seq] : r.subs) {
        SubscriptionReport& s = sub(id);
        ++s.published;
        pending_[index_[id]][seq] = r.t_ms;
        set_backlog(s, r.t_ms, s.backlog + 1);
      }
      for (const std::string& id : r.dropped) {
        SubscriptionReport& s = sub(id);
        ++s.published;
        ++s.dropped_inactive;
      }
      if (r.subs.empty() && r.dropped.empty()) ++report_.events_unmatched;
      break;
    case LogRecord::Kind::kAttempt: {
      SubscriptionReport& s = sub(r.sub);
      size_t outcome = static_cast<size_t>(r.error);
      if (outcome >= kOutcomeCount) outcome = static_cast<size_t>(ErrorClass::kOther);
      ++s.attempts;
      ++s.outcomes[outcome];
      ++bucket(s, r.t_ms).attempts[outcome];
      if (!r.delivered()) {
        ++s.failed_attempts;
        if (r.exhausted) {
          ++s.exhausted;
          if (pending_[index_[r.sub]].erase(r.seq) > 0) set_backlog(s, r.t_ms + r.latency_ms, s.backlog - 1);
        }
        break;
      }
      ++s.delivered;
      int64_t end = r.t_ms + r.latency_ms;
      latest_ms_ = std::max(latest_ms_, end);
      auto& pending = pending_[index_[r.sub]];
      if (auto it = pending.find(r.seq); it != pending.end()) {
        s.lag.add(end - it->second);
        pending.erase(it);
        set_backlog(s, end, s.backlog - 1);
      }
      break;
    }
    case LogRecord::Kind::kDeactivated: {
      SubscriptionReport& s = sub(r.sub);
      ++s.deactivations;
      s.discarded += r.discarded;
      auto& pending = pending_[index_[r.sub]];
      if (auto oldest = oldest_publish(pending))
        s.oldest_discarded_ms = std::max(s.oldest_discarded_ms.value_or(0), r.t_ms - *oldest);
      pending.clear();
      set_backlog(s, r.t_ms, 0);
      report_.markers.push_back({ReportMarker::Kind::kDeactivated, r.t_ms, r.sub, r.discarded});
      break;
    }
    case LogRecord::Kind::kReactivated:
      ++sub(r.sub).reactivations;
      report_.markers.push_back({ReportMarker::Kind::kReactivated, r.t_ms, r.sub, 0});
      break;
    case LogRecord::Kind::kRestart:
      report_.markers.push_back({ReportMarker::Kind::kRestart, r.t_ms, "", 0});
      break;
  }
}

const SubscriptionReport* ReportBuilder::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &report_.subscriptions[it->second];
}

Report ReportBuilder::finish() && {
  report_.end_ms = latest_ms_;
  if (report_.run && report_.run->duration.count() > 0)
    report_.end_ms = std::max(report_.end_ms, report_.run->duration.count());
  report_.end_ms = std::max<int64_t>(report_.end_ms, 1);
  for (size_t i = 0; i < report_.subscriptions.size(); ++i)
    if (auto oldest = oldest_publish(pending_[i]))
      report_.subscriptions[i].oldest_queued_ms = report_.end_ms - *oldest;
  return std::move(report_);
}

Result<Report> build_report(const std::string& log_path, size_t buckets) {
  auto reader = LogReader::open(log_path);
  if (!reader.ok()) return reader.status();
  ReportBuilder builder(buckets);
  LogRecord r;
  for (;;) {
    auto more = reader->next(r);
    if (!more.ok()) return more.status();
    if (!*more) break;
    builder.add(r);
  }
  return std::move(builder).finish();
}

}  // namespace hooksim::sim
