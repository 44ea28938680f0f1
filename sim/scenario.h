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
#include "protocol/receiver_behaviour.h"
#include "sim/expect.h"
#include "sim/fleet.h"

namespace hooksim::sim {

// A subscription delivers either to a simulated receiver (`receiver`) or, under `hooksim run`, to a real
// URL (config.endpoint.url, with an optional secret or token).
struct ScenarioSubscription {
  SubscriptionConfig config;
  protocol::ReceiverBehaviour receiver;  // parsed as ReceiverContext::kSimulated
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
