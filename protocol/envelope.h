// The delivery body: the JSON envelope that carries an event to receivers (docs/wire-format.md).
#pragma once

#include <string>

#include "engine/event.h"

namespace hooksim::protocol {

// The delivery body: {"id","type","account","vehicle","occurred_at","data"} in that order, with
// occurred_at formatted as RFC 3339 UTC with milliseconds. REQUIRES: event.data is valid JSON text.
std::string make_envelope(const Event& event);

}  // namespace hooksim::protocol
