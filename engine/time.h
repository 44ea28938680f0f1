// Time values used throughout hooksim, and the duration syntax of scenarios and policies.
//
// All engine time is milliseconds. A TimePoint is milliseconds since the Unix epoch: under the system clock
// it is the wall time; under the virtual clock it starts at the scenario's `start` and moves only when the
// scheduler says so. The engine never reads time except through a Scheduler (see clock.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace hooksim {

using Duration = std::chrono::milliseconds;
using TimePoint = std::chrono::sys_time<Duration>;

inline int64_t to_ms(Duration d) {
  return d.count();
}
inline int64_t to_unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
inline TimePoint from_unix_ms(int64_t ms) {
  return TimePoint(Duration(ms));
}

// Parses a duration written as one or more <integer><unit> parts, units in decreasing order:
// `d`, `h`, `m`, `s`, `ms` (e.g. "250ms", "30s", "5m", "2h30m", "1d12h", "0s"). Whitespace, signs,
// fractions and repeated or out-of-order units are rejected with a message saying why.
Result<Duration> parse_duration(std::string_view text);

// Formats a duration in the same syntax, with the largest units first ("1d12h", "2h30m", "250ms", "0s").
// parse_duration(format_duration(d)) == d for every d >= 0.
std::string format_duration(Duration d);

// A time since a run's start as the timeline, the report and the progress line show it: days, then the
// time of day, "2d 03:15:00.250". format_elapsed_minutes() stops at the minutes, "2d 03:15" (chart axes,
// the progress line). REQUIRES: since_start >= 0.
std::string format_elapsed(Duration since_start);
std::string format_elapsed_minutes(Duration since_start);

// Parses an RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.fff]Z".
Result<TimePoint> parse_utc(std::string_view text);

// Formats a TimePoint as RFC 3339 UTC with milliseconds: "2026-01-01T00:05:00.000Z".
std::string format_utc(TimePoint t);

// Appends what format_utc(t) returns to `out`, without making a string of its own. Each thread keeps the date
// of the day it wrote last, so a stream of times on the same day (envelopes, generated events) costs only the
// time of day.
void append_utc(std::string& out, TimePoint t);

}  // namespace hooksim
