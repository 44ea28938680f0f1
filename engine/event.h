// An event published by the platform, and the JSON envelope that carries it to receivers.
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

// The delivery body: {"id","type","account","vehicle","occurred_at","data"} in that order, with
// occurred_at formatted as RFC 3339 UTC with milliseconds. REQUIRES: event.data is valid JSON text.
std::string make_envelope(const Event& event);

}  // namespace hooksim
