// Runs a scenario: the real engine, on the clock, the store and the transport for real receivers that the
// command wires in (cli/scenario_run.h: simulate and run differ only there). Here is what the scenario says
// happens: its events and fleet are published, its actions (restart, reactivate) carried out, its simulated
// receivers (SimTransport) answer the subscriptions without a url, and the observers (attempt log, timeline,
// progress) hear everything the engine reports.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/clock.h"
#include "engine/delivery_observer.h"
#include "engine/queue_store.h"
#include "engine/status.h"
#include "engine/transport.h"
#include "sim/scenario.h"

namespace hooksim::sim {

// What a run reports, and to whom.
struct RunOptions {
  std::ostream* log = nullptr;       // the JSON Lines attempt log, if wanted
  std::ostream* timeline = nullptr;  // a human-readable timeline, if wanted
  bool log_payloads = false;         // publish records in the log carry the delivery body (for replay)
  std::vector<DeliveryObserver*> observers;  // also told everything the engine reports (e.g. a progress line)
};

// What the command wires into a run. Everything it points to must outlive run_simulation().
struct RunWiring {
  // The run's clock: its now() is the scenario's start when run_simulation() is called.
  Scheduler* scheduler = nullptr;
  // Runs the scheduler's timers (and the I/O they wait on) until its clock reaches the given time.
  std::function<void(TimePoint)> run_until;
  // The store, opened before the engine first opens and again after each simulated crash (`restart`), once
  // the engine that used the previous one is gone: a store in memory hands out the same object again, one on
  // disk is closed and reopened, so the new engine resumes from what was written. An error ends the run.
  std::function<Result<QueueStore*>()> open_store;
  // Where attempts for subscriptions with a url go (`run`: HTTP). nullptr: no subscription may have a url.
  Transport* http = nullptr;
};

// One subscription at the end of a run: its state and its counters (engine/subscription.h).
struct SubscriptionSummary {
  std::string id;
  std::string state;
  uint64_t delivered = 0;
  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t backlog = 0;
  uint64_t discarded = 0;
  uint64_t dropped_inactive = 0;
  uint64_t exhausted = 0;  // dropped after the policy's max_attempts
};

// What came of a run: the totals, the subscriptions deactivated, and each subscription at the end.
struct Summary {
  uint64_t events_published = 0;
  uint64_t delivered = 0;
  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t discarded = 0;
  uint64_t dropped_inactive = 0;
  uint64_t exhausted = 0;  // events dropped after the policy's max_attempts
  std::vector<std::string> deactivated;
  uint64_t order_violations = 0;
  int64_t virtual_ms = 0;
  int64_t wall_ms = 0;
  std::vector<SubscriptionSummary> subscriptions;

  // {"events_published",...,"wall_ms","subscriptions":{id:{...}}} in this order.
  nlohmann::ordered_json to_json() const;
};

// InvalidArgument, naming the field by its JSON path, when a subscription has a url and `real_receivers` is
// false (simulate sends nothing over the network); OK otherwise. Checks nothing else.
Status check_scenario_fits(const Scenario& scenario, bool real_receivers);

// Runs `scenario` from its start to start + duration on what `wiring` gives. Errors: InvalidArgument when a
// subscription has a url and wiring.http is nullptr (check_scenario_fits); the store's errors (opening it,
// or a write during the run).
Result<Summary> run_simulation(const Scenario& scenario, const RunOptions& options, const RunWiring& wiring);

// Runs `scenario` as run_simulation() does, on wirings.size() shards (`hooksim run --threads N`):
// subscription `id` belongs to shard shard_of(id), which is below wirings.size(). Shard k runs on wirings[k],
// with its own engine and simulated receivers, on a thread of its own (shard 0 on the calling thread); the
// wirings' schedulers must share one clock (net::SharedClock), and each its own store and transport. Every
// shard plays the whole scenario: each publishes every event to its own engine (which queues it for the
// shard's subscriptions) and restarts at each `restart`; a `reactivate` is played by the subscription's
// shard. The attempt log, the timeline and the observers hear one run: a publish once, with every shard's
// queues, and each restart once. Errors: those of run_simulation().
Result<Summary> run_sharded(const Scenario& scenario, const RunOptions& options,
                            std::span<const RunWiring> wirings,
                            const std::function<size_t(std::string_view)>& shard_of);

}  // namespace hooksim::sim
