// A retry policy as JSON: how scenarios, the API and the store's config records write one.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "engine/retry_policy.h"
#include "engine/status.h"

namespace hooksim {

// Reads a policy from JSON: a preset name (one of protocol::policy_presets(), protocol/presets.h: the object
// it stands for, read as below) or an object with any of the fields
// immediate_retries, immediate_delay, delays, repeat, give_up_after, probe ("head"|"live"), attempt_timeout,
// signature (one of protocol::signature_schemes()), and the fields that are off unless given
// (docs/policies.md, "Beyond the schedule"): max_attempts, disable_on_status, disable_after, jitter,
// retry_after, rate_limit; absent fields take the frotcom values. `path` names the JSON location in error
// messages (e.g. "subscriptions[2].policy"); the error names the offending field and the reason.
Result<RetryPolicy> parse_policy(const nlohmann::json& j, const std::string& path);

// The object form of a policy, accepted back by parse_policy. The fields that are off unless given are left
// out when off, so a policy without them keeps its JSON (the API's, the store's config records).
nlohmann::ordered_json policy_to_json(const RetryPolicy& p);

}  // namespace hooksim
