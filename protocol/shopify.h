// Shopify's signatures (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries and
// https://shopify.dev/docs/apps/build/webhooks/delivery-structure#headers):
//
//   x-shopify-webhook-id: <the event id>
//   x-shopify-event-id: <the event id>
//   x-shopify-triggered-at: <the attempt's timestamp, RFC 3339 UTC>
//   x-shopify-hmac-sha256: <base64 HMAC-SHA256(secret, body)>
//
// keyed with the secret's bytes (any string: Shopify uses the app's client secret). Only the body is signed,
// so a receiver cannot reject a replay by its age: verify() never answers kStale.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

namespace shopify_header {
inline constexpr std::string_view kWebhookId = "x-shopify-webhook-id";
inline constexpr std::string_view kEventId = "x-shopify-event-id";
inline constexpr std::string_view kTriggeredAt = "x-shopify-triggered-at";
inline constexpr std::string_view kHmac = "x-shopify-hmac-sha256";
}  // namespace shopify_header

// The base64 HMAC-SHA256 of `body` under `secret`: the value of x-shopify-hmac-sha256.
std::string shopify_signature(std::string_view secret, std::string_view body);

// The Signer of the scheme, for any non-empty secret. InvalidArgument for an empty one.
Result<std::unique_ptr<Signer>> shopify_signer(std::string_view secret);

}  // namespace hooksim::protocol
