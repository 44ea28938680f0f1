#include "sim/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

namespace hooksim::sim {

Result<ReplayPlan> load_replay_plan(const std::string& log_path, const ReplayFilter& filter) {
  auto reader = LogReader::open(log_path);
  if (!reader.ok()) return reader.status();
  ReplayPlan plan;
  plan.start = parse_utc("2026-01-01T00:00:00Z").value();  // the scenario default, for a log without header
  std::set<std::string, std::less<>> seen_subs;
  auto mention = [&](const std::string& id) {
    if (seen_subs.insert(id).second) plan.subscriptions.push_back(id);
  };
  struct Body {
    std::shared_ptr<const std::string> text;
    size_t undelivered = 0;  // queues the event joined (that the filter keeps) and was not delivered from
  };
  std::unordered_map<std::string, Body> bodies;
  bool any_body = false;
  const Status no_payloads = Status::InvalidArgument(
      fmt::format("{}: the log has no payloads (its publish records carry no \"body\"); record the run with "
                  "--log-payloads to replay it",
                  log_path));

  LogRecord r;
  for (;;) {
    auto more = reader->next(r);
    if (!more.ok()) return more.status();
    if (!*more) break;
    switch (r.kind) {
      case LogRecord::Kind::kRun:
        plan.start = r.run.start;
        for (const std::string& id : r.run.subscriptions) mention(id);
        break;
      case LogRecord::Kind::kPublish: {
        size_t kept = 0;
        for (const auto& [id, seq] : r.subs) {
          mention(id);
          if (filter.sub.empty() || filter.sub == id) ++kept;
        }
        if (!r.body) break;
        any_body = true;
        if (kept > 0) bodies[r.event] = Body{std::make_shared<const std::string>(std::move(*r.body)), kept};
        break;
      }
      case LogRecord::Kind::kAttempt: {
        mention(r.sub);
        if (!filter.sub.empty() && filter.sub != r.sub) break;
        auto it = bodies.find(r.event);
        bool want = filter.only == ReplayFilter::Only::kAll ||
                    (filter.only == ReplayFilter::Only::kFailed) == !r.delivered();
        if (want) {
          if (it == bodies.end()) {
            if (!any_body) return no_payloads;
            return Status::InvalidArgument(
                fmt::format("{}:{}: event {}: no publish record with its body comes before this attempt",
                            log_path, reader->line_number(), r.event));
          }
          plan.items.push_back(
              {r.sub, r.event, r.seq, r.attempt, r.t_ms, r.error, r.status, it->second.text});
        }
        if (r.delivered() && it != bodies.end() && --it->second.undelivered == 0) bodies.erase(it);
        break;
      }
      case LogRecord::Kind::kDeactivated:
      case LogRecord::Kind::kReactivated:
        mention(r.sub);
        break;
      case LogRecord::Kind::kRestart:
        break;
    }
  }
  if (!filter.sub.empty() && !seen_subs.contains(filter.sub)) {
    std::string known;
    for (const auto& id : plan.subscriptions) known += (known.empty() ? "" : ", ") + id;
    return Status::InvalidArgument(fmt::format("--sub {}: no such subscription in {} (it has: {})",
                                               filter.sub, log_path, known.empty() ? "none" : known));
  }
  if (!any_body) return no_payloads;
  std::stable_sort(plan.items.begin(), plan.items.end(),
                   [](const ReplayItem& a, const ReplayItem& b) { return a.t_ms < b.t_ms; });
  return plan;
}

Replayer::Replayer(Scheduler& scheduler, Transport& transport, ReplayTarget target, double speed)
    : scheduler_(scheduler), transport_(transport), target_(std::move(target)), speed_(speed) {}

void Replayer::start(const ReplayPlan& plan, std::function<void()> done) {
  plan_ = &plan;
  done_ = std::move(done);
  t0_ = scheduler_.now();
  next_ = 0;
  outcomes_.clear();
  send_next();
}

const SubscriptionConfig& Replayer::config(const std::string& sub) {
  auto [it, added] = configs_.try_emplace(sub);
  if (added) {
    it->second.id = sub;
    it->second.endpoint = {target_.url, target_.secret, target_.token};
  }
  return it->second;
}

void Replayer::send_next() {
  if (next_ >= plan_->items.size()) {
    scheduler_.schedule_at(scheduler_.now(), [this] {
      if (done_) done_();
    });
    return;
  }
  const ReplayItem& item = plan_->items[next_];
  double gap = static_cast<double>(item.t_ms - plan_->items.front().t_ms) / speed_;
  TimePoint due = t0_ + Duration(static_cast<int64_t>(std::llround(gap)));
  scheduler_.schedule_at(due, [this] {
    size_t index = next_++;
    const ReplayItem& it = plan_->items[index];
    DeliveryRequest req{.subscription = &config(it.sub),
                        .event_id = it.event,
                        .body = *it.body,
                        .seq = it.seq,
                        .attempt = it.attempt,
                        .virtual_time = plan_->start + Duration(it.t_ms),
                        .timeout = target_.timeout};
    TimePoint sent = scheduler_.now();
    transport_.send(req, [this, index, sent](const AttemptResult& result) {
      outcomes_.push_back({index, sent, result});
      if (observer_) {
        const ReplayItem& done = plan_->items[index];
        AttemptRecord record;
        record.sub = done.sub;
        record.event_id = done.event;
        record.seq = done.seq;
        record.attempt = done.attempt;
        record.started = plan_->start + Duration(done.t_ms);
        record.status = result.status;
        record.error = result.error;
        observer_->on_attempt(record);
      }
      send_next();
    });
  });
}

}  // namespace hooksim::sim
