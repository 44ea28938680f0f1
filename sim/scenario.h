// Scenario files: what `hooksim simulate` runs. The format is documented in docs/scenario.md.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/retry_policy.h"
#include "engine/status.h"
#include "engine/subscription.h"
#include "engine/time.h"
#include "sim/expect.h"
#include "sim/fleet.h"

namespace hooksim::sim {

// A time window of the simulated receiver, relative to the scenario start: [from, until).
// It answers with `status`, or times out, or fails with a connection-level error.
struct ReceiverWindow {
  Duration from{0};
  Duration until{0};
  int status = 0;                        // used when !timeout and error == kNone
  bool timeout = false;                  // no answer: the attempt fails after the attempt timeout
  ErrorClass error = ErrorClass::kNone;  // connect, tls, dns, reset
  std::optional<Duration> latency;       // overrides the receiver's latency inside the window
};

// How a simulated receiver answers. Outside every window it answers `status` after `latency`, except that
// with probability `fail_rate` (drawn from the scenario's seeded RNG) it answers `fail_status` instead.
struct ReceiverModel {
  Duration latency{0};
  int status = 200;
  std::vector<ReceiverWindow> windows;  // the first window containing the attempt's start time applies
  double fail_rate = 0.0;
  int fail_status = 503;
};

// A subscription delivers either to a simulated receiver (`receiver`) or, under `hooksim run`, to a real
// URL (config.endpoint.url, with an optional secret or token).
struct ScenarioSubscription {
  SubscriptionConfig config;
  ReceiverModel receiver;
  bool real() const { return !config.endpoint.url.empty(); }
};

// One event (at `at`), or a series every `every` in [from, until).
struct EventSpec {
  bool repeating = false;
  Duration at{0};
  Duration every{0};
  Duration from{0};
  Duration until{0};
  std::string id;  // single events only; generated ids are "evt_<n>", n counting publishes from 1
  std::string type;
  std::string account;
  std::string vehicle;
  std::string data = "{}";  // JSON text
};

struct Action {
  enum class Kind { kReactivate, kRestart };
  Kind kind = Kind::kRestart;
  Duration at{0};
  std::string sub;  // kReactivate
};

struct Scenario {
  std::string description;  // what the scenario shows (free text; an array of lines is joined with newlines)
  uint64_t seed = 0;
  TimePoint start;  // virtual time of t = 0 (default 2026-01-01T00:00:00Z)
  Duration duration{0};
  RetryPolicy policy = RetryPolicy::frotcom();
  std::vector<ScenarioSubscription> subscriptions;
  std::vector<EventSpec> events;
  std::optional<FleetSpec> fleet;  // the `{"fleet": {...}}` entry of `events` (at most one)
  std::vector<Action> actions;
  std::optional<Expectations> expect;  // what the run's summary must show, when given
};

// Reads and validates a scenario. On error the message is one line naming the field by its JSON path
// (e.g. "subscriptions[0].receiver.windows[1].from: invalid duration 'x' (...)") and the problem.
Result<Scenario> parse_scenario(const nlohmann::json& j);

// Reads a scenario file: parse_scenario() plus file and JSON syntax errors.
Result<Scenario> load_scenario(const std::string& path);

}  // namespace hooksim::sim
