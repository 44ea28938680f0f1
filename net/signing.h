// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body".
//
// A secret is "whsec_" + base64(key). The header value is "v1,<base64 signature>"; a receiver accepts a
// header holding several space-separated signatures when any one of them matches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace hooksim::net {

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Decodes standard base64 (padding required). InvalidArgument for anything else.
Result<std::string> base64_decode(std::string_view text);

// The HMAC key of a "whsec_..." secret. InvalidArgument when the prefix is missing or the rest is not
// base64 of at least one byte.
Result<std::string> signing_key(std::string_view secret);

// "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
std::string sign(std::string_view key, std::string_view webhook_id, int64_t timestamp, std::string_view body);

// Whether any "v1,..." signature in `header` (space-separated) matches; compared in constant time.
bool verify(std::string_view key, std::string_view webhook_id, int64_t timestamp, std::string_view body,
            std::string_view header);

}  // namespace hooksim::net
