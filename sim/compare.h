// `hooksim compare`: one scenario played once per retry policy, on the virtual clock, through the runner
// `hooksim simulate` uses (sim/runner.h), and what each policy made of each subscription, side by side. Runs
// and metrics only; sim/compare_render.h draws them. The metrics are defined in docs/compare.md.
//
//   auto policies = read_policy_list({"frotcom", "policies/fast.json"});
//   auto comparison = compare_policies(scenario, *policies, simulate);
//   comparison->to_json() / render_compare_text(*comparison) / render_compare_html(*comparison, title)
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/retry_policy.h"
#include "engine/status.h"
#include "protocol/receiver_behaviour.h"
#include "sim/report_series.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace hooksim::sim {

// One column of a comparison: an item of --policies and the policy it names.
struct NamedPolicy {
  std::string name;  // the item as given: a preset name or the path of a policy file
  RetryPolicy policy;
};

// Reads the items of --policies, in order. An item is a preset name (parse_policy, protocol/policy_json.h)
// or else the path of a JSON file holding a policy (what a scenario's "policy" accepts: an object or a
// preset name). Errors, InvalidArgument with a message starting "--policies: ": no item, an empty item, the
// same item twice, an item that is neither a preset nor a readable file (an item with a '/' or ending in
// ".json" is reported as a file, any other as a preset), a file that is not valid JSON, a policy that does
// not parse (the message names the file and the field).
Result<std::vector<NamedPolicy>> read_policy_list(const std::vector<std::string>& items);

// When the receiver `behaviour` recovers for good: the end of its last failing stretch, read from its
// windows as the simulated receiver reads them (the first window containing a time decides). A stretch
// fails when the answer is not a 2xx, is a timeout or a connection error, or comes after `attempt_timeout`
// or later (the policy's: an attempt that slow times out). `fail_rate` is left out (random failures have no
// end). nullopt when the receiver never fails, or fails outside its windows (it never recovers), or its
// last failing stretch ends at or after `run_end` (it does not recover within the run).
std::optional<Duration> receiver_recovery(const protocol::ReceiverBehaviour& behaviour,
                                          Duration attempt_timeout, Duration run_end);

// What one policy made of one subscription (docs/compare.md, "Metrics"). Times are since the scenario's
// start, in milliseconds; nullopt is "—" in the table and null in the JSON.
struct CompareMetrics {
  uint64_t attempts = 0;                     // as in the simulate summary
  uint64_t failed_attempts = 0;              // as in the simulate summary
  uint64_t delivered = 0;                    // as in the simulate summary
  uint64_t exhausted = 0;                    // events dropped after the policy's max_attempts
  uint64_t discarded = 0;                    // events thrown away from the backlog by deactivations
  std::optional<int64_t> deactivated_at_ms;  // the first deactivation; nullopt: never deactivated
  std::optional<int64_t> recovery_ms;        // receiver_recovery() under this policy's attempt timeout
  // From recovery_ms to the first moment at or after it when the subscription is active with an empty
  // backlog; nullopt when recovery_ms is, or when that moment does not come before the run ends.
  std::optional<int64_t> drain_ms;
  int64_t max_backlog = 0;  // the largest number of events queued and not yet delivered, at any moment
  uint64_t duplicates = 0;  // deliveries (2xx) of an event already delivered to the subscription

  // {"attempts", "failed_attempts", "delivered", "exhausted", "discarded", "deactivated_at_ms",
  // "recovery_ms", "drain_ms", "max_backlog", "duplicates"} in this order; a time that does not exist is
  // null.
  nlohmann::ordered_json to_json() const;
};

// One policy's run: its name, the metrics per subscription (scenario order) and the backlog series the run
// report draws (report_series.h; subscriptions in scenario order, markers for deactivations and
// reactivations).
struct PolicyRun {
  std::string name;
  RetryPolicy policy;
  std::vector<CompareMetrics> metrics;
  Report series;
};

// A whole comparison: the scenario's facts, the subscriptions, and one PolicyRun per policy, in the order
// the policies were given.
struct Comparison {
  std::string scenario;  // the scenario's path as given (shown, not read)
  uint64_t seed = 0;
  Duration duration{0};
  std::vector<std::string> subscriptions;  // ids, in scenario order
  std::vector<PolicyRun> runs;

  // The documented JSON object (docs/compare.md, "JSON"): scenario, seed, duration_ms, policies (name and
  // policy object), subscriptions (id and, per policy name, the metrics). The same comparison gives the
  // same bytes.
  nlohmann::ordered_json to_json() const;
};

// Plays `scenario` once per policy through `simulate` (what `hooksim simulate` runs: cli/scenario_run.h's
// simulate_scenario), every subscription's policy replaced by that policy and nothing else changed (same
// receivers, events, actions and seed); the scenario's `expect` is not checked. `scenario_path` is only
// recorded. Errors: the first run's error (e.g. InvalidArgument for a subscription with a url).
using SimulateFn = std::function<Result<Summary>(const Scenario&, const RunOptions&)>;
Result<Comparison> compare_policies(const Scenario& scenario, const std::string& scenario_path,
                                    const std::vector<NamedPolicy>& policies, const SimulateFn& simulate);

}  // namespace hooksim::sim
