// The Retry-After header of an answer (RFC 9110, section 10.2.3): the one reader of its value, for every
// transport that receives one.
#pragma once

#include <optional>
#include <string_view>

#include "engine/time.h"

namespace hooksim::protocol {

// The header's name (a literal: data() is NUL-terminated, for C APIs).
inline constexpr std::string_view kRetryAfterHeader = "retry-after";

// The delay a Retry-After value asks for: delay-seconds ("120", digits only) or an IMF-fixdate HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT") less `now` (0 for a date at or before it). Surrounding spaces are
// ignored. nullopt for anything else (the obsolete date forms included), and for more than 3650 days.
std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now);

}  // namespace hooksim::protocol
