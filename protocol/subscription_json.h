// Reading the parts of a subscription that scenarios and the service API share (protocol/json_input.h
// has the generic readers).
#pragma once

#include "engine/subscription.h"
#include "protocol/json_input.h"

namespace hooksim::json_input {

// Reads the fields a subscription has wherever it is defined: filter, policy (default: `default_policy`),
// url, secret, token. Validates them; leaves `id` and any other field to the caller.
void read_subscription_fields(Fields& f, SubscriptionConfig& c, const RetryPolicy& default_policy);

// OK when `url` is an absolute http:// or https:// URL with a host; otherwise says why.
Status validate_url(std::string_view url);

// OK when `secret` is "whsec_" followed by base64 of a non-empty key; otherwise says why.
Status validate_secret(std::string_view secret);

}  // namespace hooksim::json_input
