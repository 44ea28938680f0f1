// The sample payloads of `hooksim check`: one small function, so it can later draw from the fleet generator.
#include <fmt/format.h>

#include "check/check.h"

namespace hooksim::check {

Event sample_event(std::string_view kind, uint64_t n, TimePoint at) {
  Event e;
  e.id = fmt::format("evt_{}", n);
  e.type = std::string(kind);
  e.account = "acme";
  e.vehicle = fmt::format("truck-{:02}", n % 17 + 1);
  e.occurred_at = at;
  if (kind == "tracking") {
    e.data =
        fmt::format(R"({{"latitude":{:.5f},"longitude":{:.5f},"speed_kmh":{},"heading":{},"ignition":true,)"
                    R"("odometer_km":{:.1f}}})",
                    38.72230 + 0.0001 * static_cast<double>(n % 100), -9.13930, 40 + n % 50, n * 37 % 360,
                    182734.4 + 0.3 * static_cast<double>(n));
  } else if (kind == "message") {
    e.data = fmt::format(
        R"({{"direction":"from_driver","driver":"D-{}","text":"Arrived at the depot, unloading now."}})",
        1000 + n % 50);
  } else {  // driving_time
    e.data = fmt::format(
        R"({{"driver":"D-{}","activity":"driving","continuous_driving_min":{},"daily_driving_min":{},)"
        R"("remaining_daily_min":{}}})",
        1000 + n % 50, 30 + n % 240, 120 + n % 420, 540 - (120 + n % 420));
  }
  return e;
}

}  // namespace hooksim::check
