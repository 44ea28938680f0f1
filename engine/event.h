// An event published by the platform. How it travels to a receiver (its delivery body) is the protocol's
// business: the engine asks an EnvelopeEncoder for it (protocol/envelope.h has the platform's envelope).
#pragma once

#include <string>

#include "engine/time.h"

namespace hooksim {

struct Event {
  std::string id;       // unique per event; becomes the `webhook-id` header, stable across retries
  std::string type;     // e.g. "tracking", "message", "driving_time"
  std::string account;  // the account that owns the vehicle
  std::string vehicle;
  TimePoint occurred_at{};
  std::string data = "{}";  // the event's payload: serialized JSON (any JSON value)
};

// Builds an event's delivery body. The engine calls it once per published event that some subscription
// queues, and stores what it returns.
using EnvelopeEncoder = std::string (*)(const Event& event);

}  // namespace hooksim
