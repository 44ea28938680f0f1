#include "sim/runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "engine/engine.h"
#include "protocol/envelope.h"
#include "sim/attempt_log.h"
#include "sim/fleet.h"
#include "sim/sim_transport.h"
#include "sim/timeline.h"

namespace hooksim::sim {
namespace {

// Sends each attempt through the simulated receivers or, for subscriptions with a url, to the wired
// transport for real receivers. Its handles are those of the transport used, shifted left by one, with the
// route in the lowest bit, so it keeps no state (a cancel of a finished handle reaches the transport used,
// for which it is a no-op by Transport::cancel's contract). Both transports count their handles up from 1,
// so the shift loses nothing.
class RoutingTransport final : public Transport {
 public:
  RoutingTransport(Transport& sim, Transport* http) : sim_(sim), http_(http) {}
  AttemptHandle send(const DeliveryRequest& request, Done done) override {
    bool real = http_ != nullptr && !request.subscription->endpoint.url.empty();
    AttemptHandle inner = route(real).send(request, std::move(done));
    assert(inner != 0 && inner >> 63 == 0);
    return (inner << 1) | (real ? 1 : 0);
  }
  void cancel(AttemptHandle handle) override { route(handle & 1).cancel(handle >> 1); }

 private:
  Transport& route(bool real) { return real ? *http_ : sim_; }

  Transport& sim_;
  Transport* http_;
};

// Where a run's records go besides the engine: everything a DeliveryObserver hears, and the restarts and
// notes the runner itself makes.
class RunOutput : public DeliveryObserver {
 public:
  virtual void on_restart(TimePoint at) = 0;
  virtual void note(TimePoint at, const std::string& text) = 0;
};

// The run's own audit, then the attempt log, the timeline and the options' observers, each told in turn.
class DirectOutput final : public RunOutput {
 public:
  DirectOutput(const Scenario& sc, const RunOptions& options) : fanout_(make_observers(sc, options)) {
    for (const auto& s : sc.subscriptions)
      if (s.config.policy.ordering == Ordering::kUnordered) audit.set_unordered(s.config.id);
  }

  void on_attempt(const AttemptRecord& r) override { fanout_.on_attempt(r); }
  void on_lifecycle(const LifecycleRecord& r) override { fanout_.on_lifecycle(r); }
  void on_published(const PublishRecord& r) override { fanout_.on_published(r); }
  bool wants_published() const override { return fanout_.wants_published(); }
  void on_error(std::string_view sub, const Status& st) override { fanout_.on_error(sub, st); }
  void on_restart(TimePoint at) override {
    if (log_) log_->on_restart(at);
    if (timeline_) timeline_->on_restart(at);
  }
  void note(TimePoint at, const std::string& text) override {
    if (timeline_) timeline_->note(at, text);
  }
  void flush() {
    if (timeline_) timeline_->flush();
  }

  DeliveryAudit audit;

 private:
  std::vector<DeliveryObserver*> make_observers(const Scenario& sc, const RunOptions& options) {
    std::vector<DeliveryObserver*> list{&audit};
    if (options.log) {
      log_ = std::make_unique<AttemptLogWriter>(*options.log, sc.start, options.log_payloads);
      list.push_back(log_.get());
    }
    if (options.timeline) {
      timeline_ = std::make_unique<TimelinePrinter>(*options.timeline, sc.start);
      list.push_back(timeline_.get());
    }
    list.insert(list.end(), options.observers.begin(), options.observers.end());
    return list;
  }

  std::unique_ptr<AttemptLogWriter> log_;
  std::unique_ptr<TimelinePrinter> timeline_;
  ObserverFanout fanout_;  // after what it points to
};

// The records of several shards' runs (run_sharded), merged into one output as one run would have made
// them. Every shard plays the whole scenario against its own subscriptions, so each publishes every event,
// and restarts, at the same instants, in the same order: the shards' parts of a publish (or a restart) are
// combined into one record, emitted once every shard has reached it, after everything each shard reported
// before it and before anything after it. So a publish still comes before its events' attempts in the log.
// Other records go out in the order they arrive. Thread-safe: the shards report from their own threads.
class ShardMerge {
 public:
  ShardMerge(RunOutput& out, const Scenario& sc, size_t shards) : out_(out), queues_(shards) {
    for (size_t i = 0; i < sc.subscriptions.size(); ++i) order_.emplace(sc.subscriptions[i].config.id, i);
  }

  struct Attempt {
    std::string sub, event_id;
    AttemptRecord r;  // its views are set again when it goes out
  };
  struct Lifecycle {
    std::string sub;
    LifecycleRecord r;
  };
  struct Error {
    std::string sub;
    Status st;
  };
  struct Published {
    Event event;
    std::string body;
    TimePoint at;
    std::vector<std::pair<std::string, uint64_t>> queued;
    std::vector<std::string> dropped;
  };
  struct Restart {
    TimePoint at;
  };
  struct Note {
    TimePoint at;
    std::string text;
  };
  using Record = std::variant<Attempt, Lifecycle, Error, Published, Restart, Note>;

  void add(size_t shard, Record r) {
    std::lock_guard lock(mu_);
    queues_[shard].push_back(std::move(r));
    drain(/*final=*/false);
  }
  // Emits what is left (parts of a publish some shard never made: its publish failed).
  void finish() {
    std::lock_guard lock(mu_);
    drain(/*final=*/true);
  }
  bool wants_published() const { return out_.wants_published(); }
  // Whether the shards' publishes or restarts ever failed to line up (a shard's publish failed, or a bug):
  // their parts then went out one by one, and the run is an error.
  bool diverged() const {
    std::lock_guard lock(mu_);
    return diverged_;
  }

 private:
  static bool combined(const Record& r) {
    return std::holds_alternative<Published>(r) || std::holds_alternative<Restart>(r);
  }

  void drain(bool final) {
    for (;;) {
      for (auto& q : queues_) {
        for (; !q.empty() && !combined(q.front()); q.pop_front()) emit(q.front());
      }
      size_t waiting = 0;
      for (const auto& q : queues_) waiting += q.empty() ? 0 : 1;
      if (waiting == 0 || (waiting < queues_.size() && !final)) return;
      if (waiting < queues_.size()) diverged_ = true;  // at the end, a part some shard never made
      // Every queue (or, at the end, every one left) starts with its part of a publish or a restart: the
      // same one, as the shards play the same scenario, unless a shard's publish failed.
      bool same = true;
      size_t kind = 0;
      for (const auto& q : queues_) {
        if (q.empty()) continue;
        if (kind == 0) kind = q.front().index() + 1;
        same = same && q.front().index() + 1 == kind;
        if (same && std::holds_alternative<Published>(q.front()))
          same = std::get<Published>(q.front()).event.id == std::get<Published>(first_front()).event.id;
      }
      if (!same) {
        diverged_ = true;
        for (auto& q : queues_)
          if (!q.empty()) emit(q.front()), q.pop_front();
      } else if (std::holds_alternative<Published>(first_front())) {
        emit_publish();
      } else {
        TimePoint at = std::get<Restart>(first_front()).at;
        for (auto& q : queues_) {
          if (q.empty()) continue;
          at = std::min(at, std::get<Restart>(q.front()).at);  // the first shard's, as for a publish
          q.pop_front();
        }
        out_.on_restart(at);
      }
    }
  }

  const Record& first_front() const {
    for (const auto& q : queues_)
      if (!q.empty()) return q.front();
    std::abort();  // drain() calls it only with a queue that is not empty
  }

  void emit_publish() {
    Published all;
    bool first = true;
    for (auto& q : queues_) {
      if (q.empty()) continue;
      auto& part = std::get<Published>(q.front());
      if (first) {
        all.event = std::move(part.event);
        all.at = part.at;
        first = false;
      }
      all.at = std::min(all.at, part.at);  // the first shard's publish: before any of the event's attempts
      if (all.body.empty()) all.body = std::move(part.body);
      for (auto& e : part.queued) all.queued.push_back(std::move(e));
      for (auto& d : part.dropped) all.dropped.push_back(std::move(d));
      q.pop_front();
    }
    auto by_order = [this](const std::string& a, const std::string& b) { return order_[a] < order_[b]; };
    std::sort(all.queued.begin(), all.queued.end(),
              [&](const auto& a, const auto& b) { return by_order(a.first, b.first); });
    std::sort(all.dropped.begin(), all.dropped.end(), by_order);
    std::vector<std::pair<std::string_view, uint64_t>> queued(all.queued.begin(), all.queued.end());
    std::vector<std::string_view> dropped(all.dropped.begin(), all.dropped.end());
    out_.on_published(
        {.event = &all.event, .body = all.body, .at = all.at, .queued = queued, .dropped = dropped});
  }

  void emit(Record& r) {
    std::visit(
        [this](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, Attempt>) {
            x.r.sub = x.sub;
            x.r.event_id = x.event_id;
            out_.on_attempt(x.r);
          } else if constexpr (std::is_same_v<T, Lifecycle>) {
            x.r.sub = x.sub;
            out_.on_lifecycle(x.r);
          } else if constexpr (std::is_same_v<T, Error>) {
            out_.on_error(x.sub, x.st);
          } else if constexpr (std::is_same_v<T, Published>) {
            std::vector<std::pair<std::string_view, uint64_t>> queued(x.queued.begin(), x.queued.end());
            std::vector<std::string_view> dropped(x.dropped.begin(), x.dropped.end());
            out_.on_published(
                {.event = &x.event, .body = x.body, .at = x.at, .queued = queued, .dropped = dropped});
          } else if constexpr (std::is_same_v<T, Restart>) {
            out_.on_restart(x.at);
          } else {
            out_.note(x.at, x.text);
          }
        },
        r);
  }

  RunOutput& out_;
  mutable std::mutex mu_;
  bool diverged_ = false;
  std::vector<std::deque<Record>> queues_;         // per shard, what it reported and is not out yet
  std::unordered_map<std::string, size_t> order_;  // subscription id -> its index in the scenario
};

// One shard's records, copied (their views live only during the call) and handed to the merge.
class ShardOutput final : public RunOutput {
 public:
  ShardOutput(ShardMerge& merge, size_t shard) : merge_(merge), shard_(shard) {}

  void on_attempt(const AttemptRecord& r) override {
    merge_.add(shard_, ShardMerge::Attempt{std::string(r.sub), std::string(r.event_id), r});
  }
  void on_lifecycle(const LifecycleRecord& r) override {
    merge_.add(shard_, ShardMerge::Lifecycle{std::string(r.sub), r});
  }
  void on_error(std::string_view sub, const Status& st) override {
    merge_.add(shard_, ShardMerge::Error{std::string(sub), st});
  }
  void on_published(const PublishRecord& r) override {
    ShardMerge::Published p{*r.event, std::string(r.body), r.at, {}, {}};
    for (const auto& [sub, seq] : r.queued) p.queued.emplace_back(sub, seq);
    for (std::string_view sub : r.dropped) p.dropped.emplace_back(sub);
    merge_.add(shard_, std::move(p));
  }
  bool wants_published() const override { return merge_.wants_published(); }
  void on_restart(TimePoint at) override { merge_.add(shard_, ShardMerge::Restart{at}); }
  void note(TimePoint at, const std::string& text) override {
    merge_.add(shard_, ShardMerge::Note{at, text});
  }

 private:
  ShardMerge& merge_;
  size_t shard_;
};

// Everything that lives for one run, or for one shard of a run: the engine and the simulated receivers of
// the subscriptions it owns, and everything the scenario schedules (all of it: each shard publishes every
// event to its own engine, which routes it to its own subscriptions). The clock, the store and the
// transport for real receivers come from the wiring; the rest is the same whatever they are.
class Run {
 public:
  // `owns(id)`: whether subscription `id` is this run's (every one, unless the run is a shard).
  Run(const Scenario& sc, RunOutput& out, const RunWiring& wiring, std::function<bool(std::string_view)> owns)
      : sc_(sc),
        wiring_(wiring),
        scheduler_(wiring.scheduler),
        out_(out),
        owns_(std::move(owns)),
        sim_(*scheduler_, sc.start, sc.seed),
        routing_(sim_, wiring.http) {
    for (const auto& s : sc.subscriptions)
      if (owns_(s.config.id)) sim_.set_receiver(s.config.id, s.receiver);
  }

  Status start() {
    HOOKSIM_RETURN_IF_ERROR(open_engine());
    for (const auto& s : sc_.subscriptions)
      if (owns_(s.config.id)) HOOKSIM_RETURN_IF_ERROR(engine_->add_subscription(s.config));
    for (const EventSpec& e : sc_.events) schedule_event(e, e.repeating ? e.from : e.at);
    if (sc_.fleet) {
      fleet_ = std::make_unique<FleetGenerator>(*sc_.fleet, sc_.start, sc_.seed);
      schedule_fleet();
    }
    for (const Action& a : sc_.actions) schedule_action(a);
    return Status::OK();
  }

  // Plays the scenario to its end.
  void run_to_end() { wiring_.run_until(sc_.start + sc_.duration); }

  const Status& status() const { return status_; }
  uint64_t published() const { return published_; }
  const Engine& engine() const { return *engine_; }

 private:
  Status open_engine() {
    auto store = wiring_.open_store();
    if (!store.ok()) return store.status();
    engine_ = std::make_unique<Engine>(*scheduler_, **store, routing_, &out_,
                                       EngineOptions{.envelope = protocol::make_envelope, .seed = sc_.seed});
    return engine_->open();
  }

  // Crash and recover: the engine goes away with its timers and attempts in flight, the store is reopened
  // (RunWiring::open_store) and a new engine resumes from what was persisted.
  void restart() {
    engine_.reset();
    out_.on_restart(scheduler_->now());
    record(open_engine());
  }

  void schedule_event(const EventSpec& spec, Duration at) {
    scheduler_->schedule_at(sc_.start + at, [this, &spec, at] {
      if (!engine_) return;  // a restart failed to reopen the store: the run ends with that error
      Event e{.id = spec.id.empty() ? "evt_" + std::to_string(published_ + 1) : spec.id,
              .type = spec.type,
              .account = spec.account,
              .vehicle = spec.vehicle,
              // Its scenario time, not now(): on an accelerated clock the shards of a run publish it a few
              // real milliseconds apart, and every subscription must get the same body.
              .occurred_at = sc_.start + at,
              .data = spec.data};
      record(engine_->publish({&e, 1}));
      ++published_;
      if (spec.repeating && at + spec.every < spec.until) schedule_event(spec, at + spec.every);
    });
  }

  // The fleet is a stream: one timer at a time, for its next instant; all its events due then are published
  // in one call (one store batch), and the timer for the following instant is set.
  void schedule_fleet() {
    if (auto at = fleet_->next_time()) scheduler_->schedule_at(*at, [this, at = *at] { publish_fleet(at); });
  }

  // The events of `instant` (the timer's own time, not now(): the shards of a run, each a little behind or
  // ahead in real time, must publish the same batches).
  void publish_fleet(TimePoint instant) {
    if (!engine_) return;  // as in schedule_event()
    constexpr size_t kMaxBatch = 4096;
    size_t n = 0;
    for (auto at = fleet_->next_time(); at && *at <= instant && n < kMaxBatch; at = fleet_->next_time()) {
      if (n == fleet_batch_.size()) fleet_batch_.emplace_back();
      Event& e = fleet_batch_[n++];
      fleet_->next(e);
      char digits[24];
      auto end = std::to_chars(digits, digits + sizeof digits, published_ + n).ptr;
      e.id.assign("evt_").append(digits, end);
    }
    record(engine_->publish({fleet_batch_.data(), n}));
    published_ += n;
    schedule_fleet();
  }

  void schedule_action(const Action& a) {
    // A reactivation is the business of the shard that owns the subscription; a restart, of every shard.
    if (a.kind != Action::Kind::kRestart && !owns_(a.sub)) return;
    scheduler_->schedule_at(sc_.start + a.at, [this, &a] {
      if (!engine_) return;  // as in schedule_event()
      if (a.kind == Action::Kind::kRestart) {
        restart();
        return;
      }
      Status st = engine_->reactivate(a.sub);
      if (st.code() == Status::Code::kFailedPrecondition) {
        out_.note(scheduler_->now(), fmt::format("reactivate {}: {}", a.sub, st.message()));
        return;  // reactivating an active subscription changes nothing
      }
      record(st);
    });
  }

  // Keeps the first error; the run then stops at the end of the current instant's work.
  void record(const Status& st) {
    if (!st.ok() && status_.ok()) status_ = st;
  }

  const Scenario& sc_;
  const RunWiring& wiring_;
  Scheduler* scheduler_;
  RunOutput& out_;
  std::function<bool(std::string_view)> owns_;
  SimTransport sim_;
  RoutingTransport routing_;
  std::unique_ptr<Engine> engine_;  // after the transports and output it uses: destroyed before them
  uint64_t published_ = 0;
  std::unique_ptr<FleetGenerator> fleet_;
  std::vector<Event> fleet_batch_;  // reused: its strings keep their capacity
  Status status_;
};

// What came of runs that have ended: the output's audit, and each subscription as its run's engine left it,
// in scenario order.
Result<Summary> summarize(const Scenario& sc, DirectOutput& out, std::span<const std::unique_ptr<Run>> runs,
                          const std::function<size_t(std::string_view)>& shard_of,
                          std::chrono::steady_clock::time_point wall_start) {
  out.flush();
  for (const auto& run : runs)
    if (!run->status().ok()) return run->status();
  const DeliveryAudit& audit = out.audit;
  if (!audit.errors.empty()) return Status::IOError("store error during the run: " + audit.errors.front());
  Summary s;
  s.events_published = runs.front()->published();
  s.delivered = audit.delivered;
  s.attempts = audit.attempts;
  s.failed_attempts = audit.failed_attempts;
  s.discarded = audit.discarded;
  s.exhausted = audit.exhausted;
  s.deactivated = audit.deactivated;
  s.order_violations = audit.order_violations;
  s.virtual_ms = to_ms(sc.duration);
  for (const auto& sub : sc.subscriptions) {
    const std::string& id = sub.config.id;
    const DeliveryState& st = runs[shard_of(id)]->engine().find(id)->state;
    s.dropped_inactive += st.dropped_inactive;
    s.subscriptions.push_back({id, to_string(st.state), st.delivered, st.attempts, st.failed_attempts,
                               st.backlog(), st.discarded, st.dropped_inactive, st.exhausted});
  }
  s.wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_start)
          .count();
  return s;
}

}  // namespace

nlohmann::ordered_json Summary::to_json() const {
  nlohmann::ordered_json j;
  j["events_published"] = events_published;
  j["delivered"] = delivered;
  j["attempts"] = attempts;
  j["failed_attempts"] = failed_attempts;
  j["discarded"] = discarded;
  j["dropped_inactive"] = dropped_inactive;
  j["exhausted"] = exhausted;
  j["deactivated"] = deactivated;
  j["order_violations"] = order_violations;
  j["virtual_ms"] = virtual_ms;
  j["wall_ms"] = wall_ms;
  nlohmann::ordered_json subs = nlohmann::ordered_json::object();
  for (const auto& s : subscriptions) {
    subs[s.id] = {{"state", s.state},
                  {"delivered", s.delivered},
                  {"attempts", s.attempts},
                  {"failed_attempts", s.failed_attempts},
                  {"backlog", s.backlog},
                  {"discarded", s.discarded},
                  {"dropped_inactive", s.dropped_inactive},
                  {"exhausted", s.exhausted}};
  }
  j["subscriptions"] = subs;
  return j;
}

Status check_scenario_fits(const Scenario& scenario, bool real_receivers) {
  if (real_receivers) return Status::OK();
  for (size_t i = 0; i < scenario.subscriptions.size(); ++i) {
    if (scenario.subscriptions[i].real())
      return Status::InvalidArgument(
          fmt::format("subscriptions[{}].url: simulate sends nothing over the network; use hooksim run for "
                      "real receivers, or give a simulated receiver",
                      i));
  }
  return Status::OK();
}

Result<Summary> run_simulation(const Scenario& scenario, const RunOptions& options, const RunWiring& wiring) {
  auto wall_start = std::chrono::steady_clock::now();
  HOOKSIM_RETURN_IF_ERROR(check_scenario_fits(scenario, wiring.http != nullptr));
  DirectOutput out(scenario, options);
  std::vector<std::unique_ptr<Run>> runs;
  runs.push_back(std::make_unique<Run>(scenario, out, wiring, [](std::string_view) { return true; }));
  HOOKSIM_RETURN_IF_ERROR(runs[0]->start());
  runs[0]->run_to_end();
  return summarize(
      scenario, out, runs, [](std::string_view) { return size_t{0}; }, wall_start);
}

Result<Summary> run_sharded(const Scenario& scenario, const RunOptions& options,
                            std::span<const RunWiring> wirings,
                            const std::function<size_t(std::string_view)>& shard_of) {
  auto wall_start = std::chrono::steady_clock::now();
  assert(!wirings.empty());
  for (const RunWiring& w : wirings)
    HOOKSIM_RETURN_IF_ERROR(check_scenario_fits(scenario, w.http != nullptr));
  DirectOutput out(scenario, options);
  ShardMerge merge(out, scenario, wirings.size());
  std::vector<std::unique_ptr<ShardOutput>> outputs;
  std::vector<std::unique_ptr<Run>> runs;
  for (size_t k = 0; k < wirings.size(); ++k) {
    outputs.push_back(std::make_unique<ShardOutput>(merge, k));
    runs.push_back(std::make_unique<Run>(scenario, *outputs[k], wirings[k],
                                         [&shard_of, k](std::string_view id) { return shard_of(id) == k; }));
    HOOKSIM_RETURN_IF_ERROR(runs[k]->start());
  }
  {
    std::vector<std::jthread> threads;
    for (size_t k = 1; k < runs.size(); ++k)
      threads.emplace_back([run = runs[k].get()] { run->run_to_end(); });
    runs[0]->run_to_end();
  }
  merge.finish();
  auto summary = summarize(scenario, out, runs, shard_of, wall_start);
  if (summary.ok() && merge.diverged())
    return Status::IOError("the shards' publishes did not line up; the attempt log is not one run's");
  return summary;
}

}  // namespace hooksim::sim
