// GitHub's signatures (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries and
// .../webhook-events-and-payloads#delivery-headers; octokit/webhooks-methods.js src/node/sign.ts and
// verify.ts, the `verify` of @octokit/webhooks-methods):
//
//   x-github-delivery: <the event id>
//   x-hub-signature: sha1=<hex HMAC-SHA1(secret, body)>        (legacy, sent by GitHub beside the next)
//   x-hub-signature-256: sha256=<hex HMAC-SHA256(secret, body)>
//
// keyed with the secret's bytes (any string). Nothing signs a timestamp, so a receiver cannot reject a
// replay by its age: verify() never answers kStale. A receiver verifies x-hub-signature-256.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

namespace github_header {
inline constexpr std::string_view kDelivery = "x-github-delivery";
inline constexpr std::string_view kSignatureSha1 = "x-hub-signature";
inline constexpr std::string_view kSignature = "x-hub-signature-256";
}  // namespace github_header

// "sha256=<hex HMAC-SHA256(secret, body)>": the value of x-hub-signature-256.
std::string github_signature(std::string_view secret, std::string_view body);

// The Signer of the scheme, for any non-empty secret. InvalidArgument for an empty one.
Result<std::unique_ptr<Signer>> github_signer(std::string_view secret);

}  // namespace hooksim::protocol
