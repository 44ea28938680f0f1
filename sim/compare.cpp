#include "sim/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "engine/transport.h"
#include "protocol/json_input.h"
#include "protocol/policy_json.h"

namespace hooksim::sim {
namespace {

// Whether `seq` was already in `ranges` (disjoint, non-adjacent [first, second] intervals); adds it. In order
// (or nearly), deliveries keep this to a few intervals however many events a subscription gets.
bool seen_before(std::map<uint64_t, uint64_t>& ranges, uint64_t seq) {
  auto next = ranges.upper_bound(seq);  // the first interval starting after seq
  if (next != ranges.begin()) {
    auto prev = std::prev(next);
    if (prev->second >= seq) return true;
    if (prev->second + 1 == seq) {
      prev->second = seq;
      if (next != ranges.end() && next->first == seq + 1) {
        prev->second = next->second;
        ranges.erase(next);
      }
      return false;
    }
  }
  if (next != ranges.end() && next->first == seq + 1) {
    uint64_t hi = next->second;
    ranges.erase(next);
    ranges.emplace(seq, hi);
    return false;
  }
  ranges.emplace(seq, seq);
  return false;
}

// Hears one policy's run: feeds the records, as the attempt log would carry them, to a ReportBuilder (the
// backlog series of the run report) and follows each subscription's backlog from the builder, record by
// record, for the moment it drains after the receiver's recovery.
class Recorder final : public DeliveryObserver {
 public:
  Recorder(const Scenario& sc, const RetryPolicy& policy) : start_(sc.start) {
    LogRecord header;
    header.kind = LogRecord::Kind::kRun;
    header.run.command = "compare";
    header.run.seed = sc.seed;
    header.run.start = sc.start;
    header.run.duration = sc.duration;
    for (const ScenarioSubscription& s : sc.subscriptions) {
      header.run.subscriptions.push_back(s.config.id);
      index_.emplace(s.config.id, subs_.size());
      Sub& sub = subs_.emplace_back();
      sub.metrics.recovery_ms = to_ms_opt(receiver_recovery(s.receiver, policy.attempt_timeout, sc.duration));
    }
    builder_.add(header);
  }

  void on_attempt(const AttemptRecord& a) override {
    record_ = LogRecord{};
    record_.kind = LogRecord::Kind::kAttempt;
    record_.t_ms = to_ms(a.started - start_);
    record_.sub = a.sub;
    record_.event = a.event_id;
    record_.seq = a.seq;
    record_.attempt = a.attempt;
    record_.error = a.error;
    record_.status = a.status;
    record_.latency_ms = to_ms(a.latency);
    record_.probe = a.probe;
    record_.exhausted = a.exhausted;
    builder_.add(record_);
    Sub* s = find(a.sub);
    if (s == nullptr) return;
    if (a.delivered() && seen_before(s->delivered_seqs, a.seq)) ++s->metrics.duplicates;
    settle(*s, record_.sub, record_.t_ms + record_.latency_ms);
  }

  void on_lifecycle(const LifecycleRecord& l) override {
    record_ = LogRecord{};
    const bool deactivated = l.kind == LifecycleRecord::Kind::kDeactivated;
    record_.kind = deactivated ? LogRecord::Kind::kDeactivated : LogRecord::Kind::kReactivated;
    record_.t_ms = to_ms(l.at - start_);
    record_.sub = l.sub;
    record_.discarded = l.discarded;
    builder_.add(record_);
    Sub* s = find(l.sub);
    if (s == nullptr) return;
    s->active = !deactivated;
    if (deactivated && !s->metrics.deactivated_at_ms) s->metrics.deactivated_at_ms = record_.t_ms;
    settle(*s, record_.sub, record_.t_ms);
  }

  void on_published(const PublishRecord& p) override {
    record_ = LogRecord{};
    record_.kind = LogRecord::Kind::kPublish;
    record_.t_ms = to_ms(p.at - start_);
    record_.event = p.event->id;
    for (const auto& [sub, seq] : p.queued) record_.subs.emplace_back(sub, seq);
    for (std::string_view sub : p.dropped) record_.dropped.emplace_back(sub);
    builder_.add(record_);
    for (const auto& [sub, seq] : record_.subs)
      if (Sub* s = find(sub)) settle(*s, sub, record_.t_ms);
  }
  bool wants_published() const override { return true; }

  // The run's results, once it is over: the counters of `summary` (the simulate summary), the metrics
  // followed here, and the series.
  PolicyRun finish(const NamedPolicy& named, const Summary& summary, const std::vector<std::string>& ids) && {
    PolicyRun run{named.name, named.policy, {}, {}};
    for (size_t i = 0; i < ids.size(); ++i) {
      Sub& s = subs_[i];
      CompareMetrics& m = s.metrics;
      // Still quiet at the end: drained at the start of that stretch, or at the recovery if it is later.
      if (s.quiet && m.recovery_ms && !s.drained_at) s.drained_at = std::max(s.quiet_since, *m.recovery_ms);
      if (s.drained_at) m.drain_ms = *s.drained_at - *m.recovery_ms;
      if (const SubscriptionReport* r = builder_.find(ids[i])) m.max_backlog = r->max_backlog;
      for (const SubscriptionSummary& sum : summary.subscriptions) {
        if (sum.id != ids[i]) continue;
        m.attempts = sum.attempts;
        m.failed_attempts = sum.failed_attempts;
        m.delivered = sum.delivered;
        m.exhausted = sum.exhausted;
        m.discarded = sum.discarded;
      }
      run.metrics.push_back(m);
    }
    run.series = std::move(builder_).finish();
    return run;
  }

 private:
  struct Sub {
    CompareMetrics metrics;
    bool active = true;
    // Quiet: active with an empty backlog; since when (ms), while it is.
    bool quiet = true;
    int64_t quiet_since = 0;
    std::optional<int64_t> drained_at;
    std::map<uint64_t, uint64_t> delivered_seqs;  // intervals of the sequence numbers delivered
  };

  static std::optional<int64_t> to_ms_opt(std::optional<Duration> d) {
    return d ? std::optional<int64_t>(to_ms(*d)) : std::nullopt;
  }

  Sub* find(std::string_view id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &subs_[it->second];
  }

  // After a record that touched subscription `id` at `t_ms`: the end of a quiet stretch that reached the
  // recovery is the drain (at the stretch's start, or at the recovery if later); a new quiet stretch starts.
  void settle(Sub& s, const std::string& id, int64_t t_ms) {
    const SubscriptionReport* r = builder_.find(id);
    const bool quiet = s.active && (r == nullptr || r->backlog == 0);
    const auto& recovery = s.metrics.recovery_ms;
    if (s.quiet && !quiet && recovery && !s.drained_at && t_ms >= *recovery)
      s.drained_at = std::max(s.quiet_since, *recovery);
    if (!s.quiet && quiet) s.quiet_since = t_ms;
    s.quiet = quiet;
  }

  TimePoint start_;
  ReportBuilder builder_;
  LogRecord record_;  // the record being fed
  std::vector<Sub> subs_;
  std::map<std::string, size_t, std::less<>> index_;
};

// A policy file: a preset name or an object, as a scenario's "policy"; errors name the file.
Result<RetryPolicy> read_policy_file(const std::string& path) {
  auto j = json_input::load_json_file(path);
  if (!j.ok()) return j.status();
  auto policy = parse_policy(*j, "");
  if (!policy.ok()) return Status::InvalidArgument(fmt::format("{}: {}", path, policy.status().message()));
  return policy;
}

nlohmann::ordered_json optional_ms(const std::optional<int64_t>& ms) {
  return ms ? nlohmann::ordered_json(*ms) : nlohmann::ordered_json(nullptr);
}

}  // namespace

Result<std::vector<NamedPolicy>> read_policy_list(const std::vector<std::string>& items) {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("--policies: " + why); };
  if (items.empty()) return bad("name at least one policy");
  std::vector<NamedPolicy> out;
  std::set<std::string> seen;
  for (const std::string& item : items) {
    if (item.empty()) return bad("an empty item (two commas in a row?)");
    if (!seen.insert(item).second) return bad(fmt::format("'{}' is given twice", item));
    auto policy = parse_policy(nlohmann::json(item), "");
    if (!policy.ok()) {
      const bool path_like = item.find('/') != std::string::npos || item.ends_with(".json");
      if (path_like || std::ifstream(item).good())
        policy = read_policy_file(item);
      else
        policy = Status::InvalidArgument(policy.status().message() + ", and no policy file of that name");
    }
    if (!policy.ok()) return bad(policy.status().message());
    out.push_back({item, std::move(*policy)});
  }
  return out;
}

std::optional<Duration> receiver_recovery(const protocol::ReceiverBehaviour& behaviour,
                                          Duration attempt_timeout, Duration run_end) {
  protocol::ReceiverBehaviour steady = behaviour;
  steady.fail_rate = 0;  // so decide() draws nothing
  std::mt19937_64 unused;
  auto fails = [&](Duration t) {
    protocol::ReceiverDecision d = steady.decide(t, unused);
    return d.action != protocol::ReceiverAction::kAnswer || !is_2xx(d.status) || d.latency >= attempt_timeout;
  };
  // Between two consecutive window bounds the behaviour does not change: one decision per stretch.
  std::vector<Duration> bounds{Duration(0)};
  for (const protocol::ReceiverWindow& w : behaviour.windows) {
    bounds.push_back(w.from);
    bounds.push_back(w.until);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  if (fails(bounds.back())) return std::nullopt;  // past every window: it fails for good
  std::optional<Duration> recovery;
  for (size_t i = 0; i + 1 < bounds.size(); ++i)
    if (fails(bounds[i])) recovery = bounds[i + 1];
  if (!recovery || *recovery >= run_end) return std::nullopt;
  return recovery;
}

nlohmann::ordered_json CompareMetrics::to_json() const {
  return {{"attempts", attempts},
          {"failed_attempts", failed_attempts},
          {"delivered", delivered},
          {"exhausted", exhausted},
          {"discarded", discarded},
          {"deactivated_at_ms", optional_ms(deactivated_at_ms)},
          {"recovery_ms", optional_ms(recovery_ms)},
          {"drain_ms", optional_ms(drain_ms)},
          {"max_backlog", max_backlog},
          {"duplicates", duplicates}};
}

nlohmann::ordered_json Comparison::to_json() const {
  nlohmann::ordered_json j;
  j["scenario"] = scenario;
  j["seed"] = seed;
  j["duration_ms"] = to_ms(duration);
  j["policies"] = nlohmann::ordered_json::array();
  for (const PolicyRun& run : runs)
    j["policies"].push_back({{"name", run.name}, {"policy", policy_to_json(run.policy)}});
  j["subscriptions"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < subscriptions.size(); ++i) {
    nlohmann::ordered_json by_policy = nlohmann::ordered_json::object();
    for (const PolicyRun& run : runs) by_policy[run.name] = run.metrics[i].to_json();
    j["subscriptions"].push_back({{"id", subscriptions[i]}, {"policies", by_policy}});
  }
  return j;
}

Result<Comparison> compare_policies(const Scenario& scenario, const std::string& scenario_path,
                                    const std::vector<NamedPolicy>& policies, const SimulateFn& simulate) {
  Comparison c;
  c.scenario = scenario_path;
  c.seed = scenario.seed;
  c.duration = scenario.duration;
  for (const ScenarioSubscription& s : scenario.subscriptions) c.subscriptions.push_back(s.config.id);
  for (const NamedPolicy& named : policies) {
    Scenario sc = scenario;
    sc.policy = named.policy;
    for (ScenarioSubscription& s : sc.subscriptions) s.config.policy = named.policy;
    sc.expect.reset();
    Recorder recorder(sc, named.policy);
    RunOptions options;
    options.observers.push_back(&recorder);
    auto summary = simulate(sc, options);
    if (!summary.ok()) return summary.status();
    c.runs.push_back(std::move(recorder).finish(named, *summary, c.subscriptions));
  }
  return c;
}

}  // namespace hooksim::sim
