// Hook0's signatures (hook0/hook0: output-worker/src/work.rs, `Signature`, which signs; the receivers' side
// in documentation/tutorials/webhook-authentication.md and clients/python/src/hook0/signature.py):
//
//   x-event-id: <the event id>
//   x-hook0-signature: t=<Unix seconds>,h=content-type x-event-id,v1=<hex HMAC-SHA256(secret, M)>
//   M = t + "." + h + "." + <the values of the headers h names, in h's order, joined by "."> + "." + body
//
// keyed with the secret's bytes (any string: Hook0's are UUIDs). `h` lists, lower case, space-separated and
// sorted, the headers the v1 signature covers: Hook0 covers the request's headers set before signing (its
// content-type, x-event-id and x-event-type, and an endpoint's own headers); hooksim has no event-type
// header, so it covers content-type and x-event-id. A receiver verifies v1 over the headers `h` names
// (one of them missing from the request: kBad), or, in a header with no v1, the legacy v0 over
// t + "." + body; then the timestamp t against the tolerance.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

namespace hook0_header {
inline constexpr std::string_view kEventId = "x-event-id";
inline constexpr std::string_view kSignature = "x-hook0-signature";
}  // namespace hook0_header

// The value of x-hook0-signature for a delivery of `body` with event id `event_id` at `timestamp`.
std::string hook0_signature(std::string_view secret, std::string_view event_id, int64_t timestamp,
                            std::string_view body);

// The Signer of the scheme, for any non-empty secret. InvalidArgument for an empty one.
Result<std::unique_ptr<Signer>> hook0_signer(std::string_view secret);

}  // namespace hooksim::protocol
