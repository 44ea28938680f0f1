// A scenario's `expect` object: what its run summary must show. Documented in docs/scenario.md#expect.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/status.h"

namespace hooksim::sim {

struct Summary;

// An expected count: exactly `min` when min == max, otherwise any value in [min, max].
struct ExpectedCount {
  uint64_t min = 0;
  uint64_t max = 0;
};

struct SubscriptionExpectations {
  std::optional<std::string> state;  // "active", "retrying" or "deactivated"
  std::map<std::string, ExpectedCount>
      counts;  // delivered, attempts, failed_attempts, backlog, discarded, dropped_inactive, exhausted
};

// Every field is optional; only the fields given are checked.
struct Expectations {
  std::map<std::string, ExpectedCount> counts;  // events_published, delivered, attempts, failed_attempts,
                                                // discarded, dropped_inactive, exhausted, order_violations
  std::optional<std::vector<std::string>> deactivated;  // exactly this list, in this order
  std::map<std::string, SubscriptionExpectations> subscriptions;
};

// Reads the `expect` object at JSON path `path`. `subscription_ids` are the scenario's subscriptions
// (an expectation about another id is an error). InvalidArgument naming the field for anything invalid.
Result<Expectations> parse_expectations(const nlohmann::json& j, const std::string& path,
                                        const std::set<std::string>& subscription_ids);

// How many expectations `expect` holds: one per count, one for `deactivated`, one per subscription state.
size_t count_expectations(const Expectations& expect);

// The expectations `summary` does not meet, one line each, e.g.
// "expect.subscriptions.acme.delivered: expected 24, got 23"; empty when all are met.
std::vector<std::string> check_expectations(const Expectations& expect, const Summary& summary);

}  // namespace hooksim::sim
