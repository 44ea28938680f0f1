// Svix's signatures: Standard Webhooks (protocol/standard_webhooks.h) under Svix's own header names, as the
// Svix server sends them without white-label headers (svix/svix-webhooks, server/svix-server/src/worker.rs,
// generate_msg_headers) and as the `svix` library's Webhook.verify reads them (javascript/src/webhook.ts).
//
// A secret is "whsec_" + base64(key), as for Standard Webhooks. The delivery carries svix-id (the event id),
// svix-timestamp (Unix seconds) and svix-signature ("v1,<base64 HMAC-SHA256(key, id.timestamp.body)>").
#pragma once

#include <memory>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

namespace svix_header {
inline constexpr std::string_view kId = "svix-id";
inline constexpr std::string_view kTimestamp = "svix-timestamp";
inline constexpr std::string_view kSignature = "svix-signature";
}  // namespace svix_header

// The Signer of the scheme, for a secret protocol::signing_key() accepts.
Result<std::unique_ptr<Signer>> svix_signer(std::string_view secret);

}  // namespace hooksim::protocol
