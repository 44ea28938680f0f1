// A subscription: where events go (config) and how delivery to it stands (state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/event.h"
#include "engine/retry_policy.h"
#include "engine/status.h"
#include "engine/time.h"

namespace hooksim {

// Which events a subscription receives. Each list is an allow-list; an empty list matches everything.
// An event matches when it matches all three lists.
struct Filter {
  std::vector<std::string> types;
  std::vector<std::string> accounts;
  std::vector<std::string> vehicles;

  bool matches(const Event& e) const;
  bool operator==(const Filter&) const = default;
};

// Where and how requests are sent. In simulation the url may be empty (a simulated receiver answers).
// At most one of secret (Standard Webhooks signing, "whsec_...") and token (bearer) is set.
struct Endpoint {
  std::string url;
  std::string secret;
  std::string token;
  bool operator==(const Endpoint&) const = default;
};

struct SubscriptionConfig {
  std::string id;  // 1..64 characters from [A-Za-z0-9._-]
  Endpoint endpoint;
  Filter filter;
  RetryPolicy policy = RetryPolicy::frotcom();
  bool operator==(const SubscriptionConfig&) const = default;
};

// OK when `id` is a valid subscription id; otherwise says why.
Status validate_subscription_id(std::string_view id);

// OK when `id` is a valid event id: 1 to 200 printable ASCII characters, no spaces (it travels in the
// webhook-id header, so nothing may break the header line); otherwise says why.
Status validate_event_id(std::string_view id);

// OK when `token` can be sent as "authorization: Bearer <token>": 1 to 1024 printable ASCII characters,
// no spaces; otherwise says why.
Status validate_token(std::string_view token);

enum class SubState : uint8_t {
  kActive = 0,       // delivering, or idle with an empty queue
  kRetrying = 1,     // in a failure streak: the head is blocked and retries follow the policy
  kDeactivated = 2,  // gave up: backlog discarded, new events dropped until reactivated
};
const char* to_string(SubState s);

// Why an attempt failed. kNone means the attempt got a 2xx answer.
enum class ErrorClass : uint8_t {
  kNone = 0,
  kStatus = 1,     // an HTTP answer that is not 2xx (including 3xx: redirects are never followed)
  kTimeout = 2,    // no complete answer within the attempt timeout
  kConnect = 3,    // connection refused or unreachable
  kTls = 4,        // TLS handshake or certificate failure
  kDns = 5,        // the host name did not resolve
  kReset = 6,      // the connection dropped before a complete answer
  kAbandoned = 7,  // the attempt was still in flight when the subscription was deactivated
  kOther = 8,
  kProtocol = 9,         // an answer that is not valid HTTP (malformed status line, invalid chunked encoding)
  kPrivateAddress = 10,  // the receiver's address is private or loopback and such addresses are refused
};
const char* to_string(ErrorClass e);
// Parses the names to_string() gives; nullopt for anything else.
std::optional<ErrorClass> error_class_from_string(std::string_view name);

// The delivery state of one subscription: everything needed to resume exactly after a restart.
// Sequence numbers are per subscription, from 1, in publish order.
struct DeliveryState {
  SubState state = SubState::kActive;
  uint64_t head_seq = 1;  // oldest sequence number that may still be queued
  uint64_t next_seq = 1;  // sequence number the next published event will get
  // Events above head_seq already delivered out of order (live probes), ascending.
  std::vector<uint64_t> delivered_ahead;
  // Attempts made so far on events that are still queued: (seq, attempts), ascending by seq.
  std::vector<std::pair<uint64_t, uint32_t>> attempted;

  std::optional<TimePoint> streak_start;  // end of the first failed attempt since the last success
  uint32_t streak_failures = 0;           // failed attempts in the current streak
  // The streak's failures spent on events dropped as exhausted (RetryPolicy::max_attempts): the current
  // event's schedule counts its failures from here. 0 outside a streak.
  uint32_t schedule_from = 0;
  std::optional<TimePoint>
      next_attempt;  // when the next retry is due (none while idle or waiting to give up)
  // Ordering::kUnordered only: the queued events waiting for a retry, ascending by seq, each with the time
  // it is due, or nullopt when no retry fits before give_up_after's deadline (the event waits for the
  // streak to end or the subscription to be deactivated). next_attempt is then the earliest of them.
  std::vector<std::pair<uint64_t, std::optional<TimePoint>>> retry_at;

  std::optional<TimePoint> last_attempt;  // start time of the most recent completed attempt
  int last_status = 0;                    // its HTTP status, 0 when none
  ErrorClass last_error = ErrorClass::kNone;

  uint64_t delivered = 0;         // events delivered (2xx)
  uint64_t attempts = 0;          // completed attempts
  uint64_t failed_attempts = 0;   // completed attempts that failed
  uint64_t discarded = 0;         // events discarded by deactivation
  uint64_t dropped_inactive = 0;  // events published while deactivated (never queued)
  uint64_t exhausted = 0;         // events dropped after RetryPolicy::max_attempts failed attempts

  std::optional<TimePoint> deactivated_at;
  std::string deactivation_reason;

  // Number of events queued and not yet delivered.
  uint64_t backlog() const { return next_seq - head_seq - delivered_ahead.size(); }
  // Failed attempts of the current streak that count in the retry schedule of the event being retried:
  // streak_failures less those spent on exhausted events.
  uint32_t schedule_failures() const { return streak_failures - schedule_from; }
  bool operator==(const DeliveryState&) const = default;
};

}  // namespace hooksim
