// Stripe's signatures (https://docs.stripe.com/webhooks/signature; stripe/stripe-node src/Webhooks.ts, which
// stripe.webhooks.constructEvent runs): one header,
//
//   stripe-signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// keyed with the whole secret as its bytes, "whsec_" included, as Stripe's libraries use it. Stripe sends no
// event-id or timestamp header of its own: its event id travels in the body, the timestamp in the signature.
// A receiver accepts a header holding several v1 signatures when any one matches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

inline constexpr std::string_view kStripeSignatureHeader = "stripe-signature";

// "t=<timestamp>,v1=<hex HMAC-SHA256(secret, timestamp.body)>".
std::string stripe_signature(std::string_view secret, int64_t timestamp, std::string_view body);

// The Signer of the scheme, for a secret "whsec_" followed by at least one character. InvalidArgument
// saying why for anything else.
Result<std::unique_ptr<Signer>> stripe_signer(std::string_view secret);

}  // namespace hooksim::protocol
