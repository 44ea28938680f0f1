// The fleet event generator: realistic tracking, message and driving-time events for a fleet of vehicles,
// produced lazily in time order. Payloads and the vehicle model are documented in docs/fleet-events.md.
//
// A fleet of V vehicles in A accounts: vehicle n (1-based) is "vehicle-<n>", driven by "driver-<n>", and
// belongs to account "account-<((n-1) mod A) + 1>". Each vehicle emits three streams:
//   tracking      every `tracking_every`, the first at from + floor_s((n-1) * tracking_every / V)
//   driving_time  every `driving_time_every`, staggered the same way
//   message       a Poisson process of `messages_per_hour` per vehicle, at whole seconds
// A stream with a zero period (or rate) is off. Everything is a function of the seed: the same spec and seed
// give the same events, byte for byte.
//
// Memory is O(vehicles): each vehicle keeps its state at the start of its current motion piece. Every event
// falls on a whole second after `from`, so the streams are merged by a calendar of the next kWindow seconds
// (one bucket of (vehicle, kind) slots per second, sorted when its second comes) and a binary heap for the
// few slots further ahead (long gaps between messages): O(1) per event instead of a heap's O(log V).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/event.h"
#include "engine/status.h"
#include "engine/time.h"

namespace hooksim::sim {

// The scenario's `{"fleet": {...}}` event source. Times are relative to the scenario start.
struct FleetSpec {
  uint32_t accounts = 1;
  uint32_t vehicles = 1;
  Duration from{0};
  Duration until{0};                         // exclusive
  Duration tracking_every{30'000};           // 0: no tracking events
  double messages_per_hour = 0.5;            // per vehicle; 0: no messages
  Duration driving_time_every{15 * 60'000};  // 0: no driving-time events
};

// Reads `{"accounts", "vehicles", "from", "until", "tracking_every", "messages_per_hour",
// "driving_time_every"}` at JSON path `path` (e.g. "events[2].fleet"). `until` defaults to
// `scenario_duration`. InvalidArgument naming the field (e.g. "events[2].fleet.vehicles: must be from 1 to
// 1000000") for anything invalid or unknown.
Result<FleetSpec> parse_fleet(const nlohmann::json& j, const std::string& path, Duration scenario_duration);

// Names the generator gives (1-based numbers).
std::string fleet_account_name(uint32_t account);
std::string fleet_vehicle_name(uint32_t vehicle);

// Model limits the payloads respect (documented; the plausibility tests check them).
inline constexpr double kFleetMaxSpeedKmh = 95.0;
inline constexpr int64_t kMaxContinuousDrivingS = 4 * 3600 + 30 * 60;  // 4h30 before a 45-minute break
inline constexpr int64_t kMaxDailyDrivingS = 9 * 3600;                 // per shift

// Generates a fleet's events in time order (ties: vehicle number, then tracking, driving_time, message).
// Not thread-safe. Generation costs O(log V) per event and allocates only while filling strings.
class FleetGenerator {
 public:
  // `start` is the scenario's t = 0 (events' occurred_at = start + offset); `seed` the scenario seed.
  FleetGenerator(const FleetSpec& spec, TimePoint start, uint64_t seed);
  ~FleetGenerator();
  FleetGenerator(const FleetGenerator&) = delete;
  FleetGenerator& operator=(const FleetGenerator&) = delete;

  // Time of the next event, or nullopt when the fleet has no more (it ends at start + until).
  std::optional<TimePoint> next_time() const;

  // Fills `out` with the next event (type, account, vehicle, occurred_at, data; `id` is left alone) and
  // moves past it. REQUIRES: next_time().
  void next(Event& out);

 private:
  struct Vehicle;
  struct Slot;
  static constexpr int64_t kWindow = 4096;                // seconds of the calendar
  void push(uint32_t vehicle, uint8_t kind, int64_t at);  // `at` in unix ms; nothing at or after the end
  void next_second();
  void write_next(Event& out);

  FleetSpec spec_;
  TimePoint start_;
  TimePoint end_;
  int64_t from_ms_ = 0;  // unix ms of `from`: slots fall on whole seconds after it
  std::vector<Vehicle> vehicles_;
  int64_t second_ = -1;                  // the second being generated (since from_ms_)
  std::vector<Slot> now_;                // its slots, in order
  size_t next_ = 0;                      // the next of them
  std::vector<std::vector<Slot>> ring_;  // seconds second_ + 1 .. second_ + kWindow - 1, by second % kWindow
  size_t in_ring_ = 0;
  std::vector<Slot> far_;  // later slots: a heap, earliest first
};

}  // namespace hooksim::sim
