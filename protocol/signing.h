// Signing: how a delivery proves which sender it comes from. One small interface, one file per scheme
// (protocol/standard_webhooks.h today); the sender signs through it and the mock receiver verifies through
// it, so a scheme's header names and byte layout live in its own file only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

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

// The signer for `secret`: "whsec_..." is Standard Webhooks. InvalidArgument saying why for anything
// else.
Result<std::unique_ptr<Signer>> make_signer(std::string_view secret);

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
