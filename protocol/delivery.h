// The delivery request on the wire (docs/wire-format.md): its headers are built by one function, which the
// sender (net/curl_transport.cpp) and `hooksim check` call, and read by one function, which the mock
// receiver calls. The body is the envelope (protocol/envelope.h).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/time.h"
#include "protocol/signing.h"

namespace hooksim::protocol {

// The names of the headers a delivery carries, lower case, as sent.
namespace header {
inline constexpr std::string_view kContentType = "content-type";
inline constexpr std::string_view kUserAgent = "user-agent";
inline constexpr std::string_view kAuthorization = "authorization";
inline constexpr std::string_view kWebhookId = "webhook-id";
inline constexpr std::string_view kWebhookTimestamp = "webhook-timestamp";
inline constexpr std::string_view kSequence = "hooksim-sequence";
inline constexpr std::string_view kAttempt = "hooksim-attempt";
inline constexpr std::string_view kVirtualTime = "hooksim-virtual-time";
inline constexpr std::string_view kSubscription = "hooksim-subscription";
}  // namespace header

// The content-type of every delivery (its body is the JSON envelope).
inline constexpr std::string_view kJsonContentType = "application/json";

// "hooksim/<version>": the user-agent of every delivery.
std::string_view user_agent();

// What one delivery attempt says about itself, besides its body.
struct DeliveryHeaders {
  std::string_view event_id;      // webhook-id: the same on every attempt of the event
  int64_t timestamp = 0;          // webhook-timestamp: when the attempt is sent, wall clock, Unix seconds
  uint64_t seq = 0;               // hooksim-sequence: the event's order number in the subscription
  uint32_t attempt = 0;           // hooksim-attempt: from 1
  TimePoint virtual_time{};       // hooksim-virtual-time: the sender's clock at the start of the attempt
  std::string_view subscription;  // hooksim-subscription
  std::string_view user_agent = protocol::user_agent();
};

// How a delivery authenticates itself: signed by `signer` and/or carrying "authorization: Bearer <token>".
// Either may be absent.
struct Credentials {
  const Signer* signer = nullptr;
  std::string_view bearer_token{};
};

// "Bearer <token>": the authorization value that carries `token`.
std::string bearer_authorization(std::string_view token);
// The token of an authorization value "Bearer <token>" (that prefix exactly, then the rest as it is);
// nullopt for any other value. A view into `authorization`.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// Calls `add` with each header of a delivery of `body`, in the documented order: content-type, user-agent,
// webhook-id, webhook-timestamp, the signer's header(s), authorization, hooksim-sequence, hooksim-attempt,
// hooksim-virtual-time, hooksim-subscription.
void build_delivery_headers(const DeliveryHeaders& h, const Credentials& credentials, std::string_view body,
                            const HeaderSink& add);

// What a received request says about itself: each field as sent, or nullopt when the header is absent (or,
// for the numbers, not a whole number).
struct ReceivedDelivery {
  std::optional<std::string> event_id;
  std::optional<int64_t> timestamp;
  std::optional<uint64_t> seq;
  std::optional<uint64_t> attempt;
  std::optional<std::string> virtual_time;  // as sent (parse with parse_utc)
  std::optional<std::string> subscription;
};

// Reads the delivery headers of a received request.
ReceivedDelivery parse_delivery_headers(const HeaderLookup& headers);

// The number `text` spells, all of it (decimal digits, led by '-' for a negative one of a signed Int);
// nullopt when `text` is absent, anything else, or out of Int's range.
template <typename Int>
std::optional<Int> whole_number(std::optional<std::string_view> text) {
  Int value{};
  if (!text) return std::nullopt;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

// What a receiver requires of a delivery: a signature by `signer` (when set), with a timestamp within
// `timestamp_tolerance` of its clock (nullopt: any timestamp), and/or exactly "Bearer <bearer_token>" (when
// not empty).
struct AuthRequirements {
  const Signer* signer = nullptr;
  std::optional<Duration> timestamp_tolerance = std::chrono::minutes(5);
  std::string_view bearer_token{};
};

// Judges a received request of `body` against `required`, at `now` (wall clock, Unix seconds): the worse
// of the signature's and the token's results (worse()); kUnchecked when nothing is required. The token is
// compared in constant time.
AuthCheck check_delivery_auth(const AuthRequirements& required, const HeaderLookup& headers,
                              std::string_view body, int64_t now);

}  // namespace hooksim::protocol
