// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body".
//
// A secret is "whsec_" + base64(key). The header `webhook-signature` is "v1,<base64 signature>"; a receiver
// accepts a header holding several space-separated signatures when any one of them matches. The id and
// timestamp signed are those of the `webhook-id` and `webhook-timestamp` headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

// The scheme's signature header.
inline constexpr std::string_view kSignatureHeader = "webhook-signature";

// The HMAC key of a "whsec_..." secret. InvalidArgument when the prefix is missing or the rest is not
// base64 of at least one byte.
Result<std::string> signing_key(std::string_view secret);

// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
std::string sign(std::string_view key, std::string_view webhook_id, int64_t timestamp, std::string_view body);

// Whether any "v1,..." signature in `header` (space-separated) matches; compared in constant time.
bool verify(std::string_view key, std::string_view webhook_id, int64_t timestamp, std::string_view body,
            std::string_view header);

// Where a Standard Webhooks-style scheme puts the event id, the timestamp and the signature. Svix
// (protocol/svix.h) is the same scheme under header names of its own.
struct StandardWebhooksHeaders {
  std::string_view id;
  std::string_view timestamp;
  std::string_view signature;
  // Whether the signer adds the id and timestamp headers itself: the delivery carries webhook-id and
  // webhook-timestamp already (protocol/delivery.h), other names it does not.
  bool adds_id_and_timestamp = false;
};

// The Signer of the scheme, for a secret signing_key() accepts, under the header names `names`.
std::unique_ptr<Signer> standard_webhooks_signer(std::string key, const StandardWebhooksHeaders& names);
// The Signer of the scheme under its own header names (webhook-id, webhook-timestamp and the signature
// header), for a secret signing_key() accepts.
Result<std::unique_ptr<Signer>> standard_webhooks_signer(std::string_view secret);

}  // namespace hooksim::protocol
