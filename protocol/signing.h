// Signing: how a delivery proves which sender it comes from. One small interface, one file per scheme
// (protocol/standard_webhooks.h, svix.h, stripe.h, github.h, shopify.h, hook0.h; docs/policies.md,
// "Signatures"); the sender signs through it and the mock receiver verifies through it, so a scheme's header
// names and byte layout live in its own file only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"
#include "util/split.h"

namespace hooksim::protocol {

// Receives one request header (lower-case name, value). Both views are valid only during the call (the
// caller may pass a reused buffer or a temporary): a sink that keeps a header copies it.
using HeaderSink = std::function<void(std::string_view name, std::string_view value)>;
// Looks up one request header by its lower-case name; nullopt when absent.
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view name)>;

// What a receiver concluded about a request's authentication, from the best to the worst.
enum class AuthCheck {
  kUnchecked,  // nothing was required
  kOk,         // the signature (or token) matches
  kStale,      // the signature matches but its timestamp is outside the tolerance
  kBad,        // present but wrong
  kMissing,    // required but absent
};
// "unchecked", "ok", "stale", "bad", "missing".
const char* to_string(AuthCheck a);
// The worse of two results (the later in AuthCheck's order), for a request checked twice (signature and
// token).
AuthCheck worse(AuthCheck a, AuthCheck b);

// A signing scheme bound to one secret.
class Signer {
 public:
  virtual ~Signer() = default;

  // Adds the header(s) that sign a delivery of `body` for event `event_id`, sent at `timestamp` (wall
  // clock, Unix seconds), by calling `add` with views that are valid only during that call (HeaderSink).
  virtual void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
                    const HeaderSink& add) const = 0;

  // Judges a received request's signature header(s): kOk, kBad, kMissing, or kStale when it matches but
  // its timestamp is further than `tolerance` from `now` (Unix seconds; a tolerance of nullopt accepts any
  // timestamp).
  virtual AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t now,
                           std::optional<Duration> tolerance) const = 0;
};

// The scheme a policy's `signature` names when it names none: Standard Webhooks.
inline constexpr std::string_view kDefaultSignatureScheme = "standard-webhooks";

// The names of the signing schemes, in documentation order: "standard-webhooks", "svix", "stripe",
// "github", "shopify", "hook0".
const std::vector<std::string>& signature_schemes();

// The signer of scheme `scheme` (one of signature_schemes()) for `secret`, which must have the scheme's form:
// "whsec_" + base64 of the key for standard-webhooks and svix, "whsec_" and anything for stripe (used whole
// as the key), any non-empty string for github, shopify and hook0. InvalidArgument saying why for a secret
// of another form, or for an unknown scheme.
Result<std::unique_ptr<Signer>> make_signer(std::string_view secret,
                                            std::string_view scheme = kDefaultSignatureScheme);

// Whether scheme `scheme` signs a timestamp (so a receiver can reject a replay by its age): all but github
// and shopify, which sign the body only.
bool signs_timestamp(std::string_view scheme);

// A new random secret of the form `scheme` takes (which make_signer() accepts). REQUIRES: `scheme` is one of
// signature_schemes().
std::string random_secret(std::string_view scheme);

// kOk when `timestamp` is within `tolerance` of `now` either way (all Unix seconds; a tolerance of nullopt
// accepts any timestamp), kStale otherwise: the replay check of every scheme that signs a timestamp.
AuthCheck timestamp_check(int64_t timestamp, int64_t now, std::optional<Duration> tolerance);

// The HMAC of `message` under `key`: SHA-256 or SHA-1, raw bytes (no allocation: signing is on serve's hot
// path). View one with mac_bytes().
std::array<char, 32> hmac_sha256(std::string_view key, std::string_view message);
std::array<char, 20> hmac_sha1(std::string_view key, std::string_view message);
template <size_t N>
std::string_view mac_bytes(const std::array<char, N>& mac) {
  return {mac.data(), N};
}

// Lower-case hex of `bytes`.
std::string hex_encode(std::string_view bytes);

// Calls f(key, value) for each part "key=value" of a comma-separated header value ("t=1,v1=ab"), split at
// the part's first '=', in order; parts without '=' are skipped, nothing is trimmed. The views point into
// `header`.
template <typename F>
void for_each_key_value(std::string_view header, F&& f) {
  util::for_each_part(header, ',', [&](std::string_view part) {
    if (size_t eq = part.find('='); eq != std::string_view::npos) f(part.substr(0, eq), part.substr(eq + 1));
  });
}

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Decodes standard base64 (padding required, and only at the end). InvalidArgument for anything else.
Result<std::string> base64_decode(std::string_view text);

// a == b, in time that depends only on the sizes.
bool constant_time_equal(std::string_view a, std::string_view b);

// `digits` lower-case hex digits from OpenSSL's RAND_bytes (unpredictable): the random part of generated
// ids and of throw-away secrets. When RAND_bytes fails (no entropy source) it prints why and aborts the
// process: every id would otherwise be the same, and colliding ids are worse than stopping.
std::string random_hex(size_t digits);

}  // namespace hooksim::protocol
