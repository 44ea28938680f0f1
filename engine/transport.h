// Transport: how one delivery attempt reaches a receiver. The engine sends only through this interface:
// SimTransport answers from a receiver model in virtual time; CurlTransport sends real HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim {

// One attempt to deliver one event. The views are valid only during Transport::send(): a transport copies
// whatever it needs to keep, except the body, which it keeps by holding `body_owner` when that is set (a
// large event delivered to many subscriptions at once is then in memory once).
struct DeliveryRequest {
  const SubscriptionConfig* subscription = nullptr;
  std::string_view event_id;
  std::string_view body;  // the JSON envelope
  // Each of these travels in a header of its own (protocol/delivery.h).
  uint64_t seq = 0;        // per-subscription order number
  uint32_t attempt = 0;    // attempt number for this event, from 1
  TimePoint virtual_time;  // the engine's clock at the start of the attempt
  Duration timeout{0};     // total time allowed for the attempt
  // Owns the bytes `body` views, immutable, when the caller has them shared (the engine does); may be null.
  std::shared_ptr<const std::string> body_owner = nullptr;
};

// What came of an attempt. The engine counts it delivered only when error == kNone and the status is 2xx;
// a transport may leave error = kNone for a non-2xx status (the engine classifies it as kStatus).
struct AttemptResult {
  int status = 0;  // HTTP status, 0 when no answer was received
  ErrorClass error = ErrorClass::kNone;
  Duration latency{0};  // time from the start of the attempt to its outcome, on the engine's clock
  // The delay the answer's Retry-After asked for (protocol/retry_after.h), when it had a valid one.
  std::optional<Duration> retry_after;
};

// Whether an HTTP status is a success (200 to 299): the only answers that count as delivered.
constexpr bool is_2xx(int status) {
  return status >= 200 && status <= 299;
}

using AttemptHandle = uint64_t;

class Transport {
 public:
  using Done = std::function<void(const AttemptResult&)>;
  virtual ~Transport() = default;

  // Starts an attempt. `done` runs exactly once, later, on the engine's scheduler thread (never from inside
  // send), unless cancel() is called first. Returns a handle for cancel(); never 0.
  virtual AttemptHandle send(const DeliveryRequest& request, Done done) = 0;

  // Abandons an attempt in flight: its `done` will not run. A no-op for a finished or unknown handle.
  virtual void cancel(AttemptHandle handle) = 0;
};

}  // namespace hooksim
