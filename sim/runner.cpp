#include "sim/runner.h"

#include <fmt/format.h>

#include <cassert>
#include <charconv>
#include <chrono>
#include <memory>

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

// Everything that lives for one run. The clock, the store and the transport for real receivers come from
// the wiring; the engine, the simulated receivers and everything the scenario schedules are the same
// whatever they are.
class Run {
 public:
  Run(const Scenario& sc, const RunOptions& options, const RunWiring& wiring)
      : sc_(sc),
        wiring_(wiring),
        scheduler_(wiring.scheduler),
        sim_(*scheduler_, sc.start, sc.seed),
        routing_(sim_, wiring.http),
        observers_(make_observers(options)),
        fanout_(observers_) {
    for (const auto& s : sc.subscriptions) sim_.set_receiver(s.config.id, s.receiver);
  }

  Status start() {
    HOOKSIM_RETURN_IF_ERROR(open_engine());
    for (const auto& s : sc_.subscriptions) {
      HOOKSIM_RETURN_IF_ERROR(engine_->add_subscription(s.config));
      if (s.config.policy.ordering == Ordering::kUnordered) audit_.set_unordered(s.config.id);
    }
    for (const EventSpec& e : sc_.events) schedule_event(e, e.repeating ? e.from : e.at);
    if (sc_.fleet) {
      fleet_ = std::make_unique<FleetGenerator>(*sc_.fleet, sc_.start, sc_.seed);
      schedule_fleet();
    }
    for (const Action& a : sc_.actions) schedule_action(a);
    return Status::OK();
  }

  Result<Summary> finish(std::chrono::steady_clock::time_point wall_start) {
    wiring_.run_until(sc_.start + sc_.duration);
    if (timeline_) timeline_->flush();
    if (!status_.ok()) return status_;
    if (!audit_.errors.empty())
      return Status::IOError("store error during the run: " + audit_.errors.front());
    Summary s;
    s.events_published = published_;
    s.delivered = audit_.delivered;
    s.attempts = audit_.attempts;
    s.failed_attempts = audit_.failed_attempts;
    s.discarded = audit_.discarded;
    s.exhausted = audit_.exhausted;
    s.deactivated = audit_.deactivated;
    s.order_violations = audit_.order_violations;
    s.virtual_ms = to_ms(sc_.duration);
    for (const std::string& id : engine_->subscription_ids()) {
      const DeliveryState& st = engine_->find(id)->state;
      s.dropped_inactive += st.dropped_inactive;
      s.subscriptions.push_back({id, to_string(st.state), st.delivered, st.attempts, st.failed_attempts,
                                 st.backlog(), st.discarded, st.dropped_inactive, st.exhausted});
    }
    s.wall_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_start)
            .count();
    return s;
  }

 private:
  std::vector<DeliveryObserver*> make_observers(const RunOptions& options) {
    std::vector<DeliveryObserver*> list{&audit_};
    if (options.log) {
      log_ = std::make_unique<AttemptLogWriter>(*options.log, sc_.start, options.log_payloads);
      list.push_back(log_.get());
    }
    if (options.timeline) {
      timeline_ = std::make_unique<TimelinePrinter>(*options.timeline, sc_.start);
      list.push_back(timeline_.get());
    }
    list.insert(list.end(), options.observers.begin(), options.observers.end());
    return list;
  }

  Status open_engine() {
    auto store = wiring_.open_store();
    if (!store.ok()) return store.status();
    engine_ = std::make_unique<Engine>(*scheduler_, **store, routing_, &fanout_,
                                       EngineOptions{.envelope = protocol::make_envelope, .seed = sc_.seed});
    return engine_->open();
  }

  // Crash and recover: the engine goes away with its timers and attempts in flight, the store is reopened
  // (RunWiring::open_store) and a new engine resumes from what was persisted.
  void restart() {
    engine_.reset();
    if (log_) log_->on_restart(scheduler_->now());
    if (timeline_) timeline_->on_restart(scheduler_->now());
    record(open_engine());
  }

  void schedule_event(const EventSpec& spec, Duration at) {
    scheduler_->schedule_at(sc_.start + at, [this, &spec, at] {
      Event e{.id = spec.id.empty() ? "evt_" + std::to_string(published_ + 1) : spec.id,
              .type = spec.type,
              .account = spec.account,
              .vehicle = spec.vehicle,
              .occurred_at = scheduler_->now(),
              .data = spec.data};
      record(engine_->publish({&e, 1}));
      ++published_;
      if (spec.repeating && at + spec.every < spec.until) schedule_event(spec, at + spec.every);
    });
  }

  // The fleet is a stream: one timer at a time, for its next instant; all its events due then are published
  // in one call (one store batch), and the timer for the following instant is set.
  void schedule_fleet() {
    if (auto at = fleet_->next_time()) scheduler_->schedule_at(*at, [this] { publish_fleet(); });
  }

  void publish_fleet() {
    constexpr size_t kMaxBatch = 4096;
    size_t n = 0;
    for (auto at = fleet_->next_time(); at && *at <= scheduler_->now() && n < kMaxBatch;
         at = fleet_->next_time()) {
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
    scheduler_->schedule_at(sc_.start + a.at, [this, &a] {
      if (a.kind == Action::Kind::kRestart) {
        restart();
        return;
      }
      Status st = engine_->reactivate(a.sub);
      if (st.code() == Status::Code::kFailedPrecondition) {
        if (timeline_)
          timeline_->note(scheduler_->now(), fmt::format("reactivate {}: {}", a.sub, st.message()));
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
  SimTransport sim_;
  RoutingTransport routing_;
  DeliveryAudit audit_;
  std::unique_ptr<AttemptLogWriter> log_;
  std::unique_ptr<TimelinePrinter> timeline_;
  std::vector<DeliveryObserver*> observers_;
  ObserverFanout fanout_;
  std::unique_ptr<Engine> engine_;  // after the transports and observers it uses: destroyed before them
  uint64_t published_ = 0;
  std::unique_ptr<FleetGenerator> fleet_;
  std::vector<Event> fleet_batch_;  // reused: its strings keep their capacity
  Status status_;
};

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
  Run run(scenario, options, wiring);
  HOOKSIM_RETURN_IF_ERROR(run.start());
  return run.finish(wall_start);
}

}  // namespace hooksim::sim
