// Reading the parts of a subscription that scenarios and the service API share (protocol/json_input.h
// has the generic readers).
#pragma once

#include "engine/subscription.h"
#include "protocol/json_input.h"

namespace hooksim::json_input {

// Reads the fields a subscription has wherever it is defined: filter, policy (default: `default_policy`),
// url, secret, token. Validates them: the url must be an absolute http:// or https:// URL with a host, the
// secret one that protocol::make_signer() accepts for the policy's signature scheme (a secret `c` already
// has is judged again when the policy changes and no token replaces it), the token one that
// validate_token() accepts. Leaves `id` and any other field to the caller.
void read_subscription_fields(Fields& f, SubscriptionConfig& c, const RetryPolicy& default_policy);

}  // namespace hooksim::json_input
