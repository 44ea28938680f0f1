#include "sim/fleet.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numbers>
#include <tuple>

#include "protocol/json_input.h"

namespace hooksim::sim {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr double kKmPerDegree = 111.195;  // along a meridian (mean Earth radius 6371 km)
constexpr double kDegree = std::numbers::pi / 180.0;
constexpr uint32_t kMaxFleetSize = 1'000'000;

// SplitMix64's finalizer: a bijective mix, so distinct inputs give distinct, unrelated outputs.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// SplitMix64: tiny, fast and defined by its source, so a seed gives the same fleet with every standard
// library (std::*_distribution are not specified bit for bit).
struct Rng {
  uint64_t state;
  uint64_t next() { return mix(state += 0x9E3779B97F4A7C15ull); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double between(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
};

// One independent stream per (seed, vehicle, purpose): nearby seeds do not give shifted copies of a fleet.
uint64_t stream_seed(uint64_t seed, uint32_t vehicle, uint64_t stream) {
  return mix(mix(mix(seed) ^ vehicle) ^ stream);
}

// Home bases: vehicles drive around one of these cities.
struct City {
  double lat, lon;
};
constexpr City kCities[] = {{38.7223, -9.1393}, {41.1579, -8.6291}, {40.4168, -3.7038}, {37.3891, -5.9845},
                            {39.4699, -0.3763}, {41.3874, 2.1686},  {45.7640, 4.8357},  {48.8566, 2.3522},
                            {50.8503, 4.3517},  {51.9244, 4.4777},  {53.5511, 9.9937},  {48.1351, 11.5820},
                            {45.4642, 9.1900},  {52.2297, 21.0122}, {50.0755, 14.4378}, {47.4979, 19.0402}};

constexpr const char* kDriverTexts[] = {"Arrived at the customer",
                                        "Loading finished, leaving now",
                                        "Unloading done",
                                        "Traffic jam, about 20 minutes late",
                                        "Starting my break",
                                        "Fuel stop",
                                        "Delivery refused, please call the customer",
                                        "Road closed, taking a detour",
                                        "Waiting at the gate",
                                        "Vehicle check done, all fine"};
constexpr const char* kOfficeTexts[] = {"Please call the office", "New pickup added to your route",
                                        "Customer asks for your ETA",
                                        "Delivery address changed, see the order", "Confirm when unloaded"};

enum class Activity : uint8_t { kDriving, kBreak, kDailyRest, kAvailable };
enum Kind : uint8_t { kTracking = 0, kDrivingTime = 1, kMessage = 2 };

const char* activity_name(Activity a) {
  return a == Activity::kDriving ? "driving" : a == Activity::kAvailable ? "available" : "rest";
}

// `v` with `decimals` (1..6) digits after the point: v * 10^decimals, computed in double, rounded to the
// nearest integer by std::llround (halfway cases away from zero), then written with integer arithmetic, to
// keep floating-point formatting out of the generator's per-event cost. This is not "%.*f", which rounds
// v's exact binary value with ties to even: the two can differ in the last digit when v * 10^decimals is a
// half or within one rounding of it, and a value that rounds to zero is written here without a minus sign.
// Kept so because a seed's events are fixed byte for byte (fleet.h).
void append_fixed(std::string& out, double v, int decimals) {
  static constexpr int64_t kScale[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  int64_t scaled = std::llround(v * static_cast<double>(kScale[decimals]));
  if (scaled < 0) {
    out += '-';
    scaled = -scaled;
  }
  char buf[32];
  char* end = buf + sizeof buf;
  char* p = end;
  for (int i = 0; i < decimals; ++i, scaled /= 10) *--p = static_cast<char>('0' + scaled % 10);
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + scaled % 10);
    scaled /= 10;
  } while (scaled > 0);
  out.append(p, end);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}
const char* json_bool(bool b) {
  return b ? "true" : "false";
}

int64_t floor_to(int64_t v, int64_t unit) {
  return v / unit * unit;
}
int64_t ceil_to(int64_t v, int64_t unit) {
  return (v + unit - 1) / unit * unit;
}

}  // namespace

// One vehicle's state at the start of its current motion piece: an interval with a constant activity,
// speed and direction. Pieces end at an activity change, a speed change (traffic) or the arrival at the
// next waypoint; the state at any time inside a piece is a linear function of the time.
struct FleetGenerator::Vehicle {
  uint32_t number = 0;
  std::string name, account, driver;
  Rng motion{0}, messages{0};
  double home_lat = 0, home_lon = 0;
  double target_lat = 0, target_lon = 0;
  int64_t shift_time_of_day = 0;  // when this driver usually starts (ms after midnight UTC)

  int64_t piece_start = 0, piece_end = 0;  // unix ms
  bool arrives = false;                    // the piece ends at the target
  double lat = 0, lon = 0;                 // at piece_start
  double dlat = 0, dlon = 0;               // degrees per ms during the piece
  double speed_kmh = 0, heading = 0;
  double odometer_km = 0;  // at piece_start

  Activity activity = Activity::kDailyRest;
  int64_t activity_start = 0, activity_end = 0;
  int64_t shift_start = 0, shift_target_ms = 0;
  int64_t driving_ms = 0, rest_ms = 0, available_ms = 0, continuous_ms = 0;  // at piece_start

  uint64_t messages_sent = 0;

  // Moves to the start of the piece that contains `t`.
  void advance_to(int64_t t) {
    while (piece_end <= t) finish_piece();
  }

  void add_time(int64_t dt, int64_t& driving, int64_t& rest, int64_t& available, int64_t& continuous) const {
    switch (activity) {
      case Activity::kDriving:
        driving += dt;
        continuous += dt;
        break;
      case Activity::kAvailable:
        available += dt;
        break;
      default:
        rest += dt;
        break;
    }
  }

  void finish_piece() {
    int64_t dt = piece_end - piece_start;
    if (arrives) {
      lat = target_lat;
      lon = target_lon;
    } else {
      lat += dlat * static_cast<double>(dt);
      lon += dlon * static_cast<double>(dt);
    }
    odometer_km += speed_kmh * static_cast<double>(dt) / kHour;
    add_time(dt, driving_ms, rest_ms, available_ms, continuous_ms);
    piece_start = piece_end;
    if (piece_start >= activity_end) next_activity();
    start_piece();
  }

  // Tachograph-style day: drive at most 4h30 without a 45-minute break and at most the shift's target
  // (6h to 9h) per shift; loading/unloading stops are "available" time; after the shift a daily rest of at
  // least 11h until the driver's usual start time.
  void next_activity() {
    int64_t now = piece_start;
    switch (activity) {
      case Activity::kDriving:
        if (driving_ms >= shift_target_ms) {
          begin(Activity::kDailyRest, next_shift_start(now, now + 11 * kHour));
        } else if (continuous_ms >= kMaxContinuousDrivingS * kSecond || motion.uniform() < 0.4) {
          begin(Activity::kBreak, now + 45 * kMinute);
        } else {
          begin(Activity::kAvailable, now + motion.between(int64_t{15}, int64_t{45}) * kMinute);
        }
        return;
      case Activity::kBreak:
        continuous_ms = 0;  // a 45-minute break resets continuous driving
        begin_driving(now);
        return;
      case Activity::kAvailable:
        begin_driving(now);
        return;
      case Activity::kDailyRest:
        shift_start = now;
        driving_ms = rest_ms = available_ms = continuous_ms = 0;
        shift_target_ms = motion.between(int64_t{6 * 60}, int64_t{9 * 60}) * kMinute;
        begin_driving(now);
        return;
    }
  }

  void begin(Activity a, int64_t end) {
    activity = a;
    activity_start = piece_start;
    activity_end = end;
  }

  void begin_driving(int64_t now) {
    int64_t stint =
        std::min({motion.between(int64_t{60}, int64_t{270}) * kMinute,
                  kMaxContinuousDrivingS * kSecond - continuous_ms, shift_target_ms - driving_ms});
    if (stint <= 0) {
      begin(Activity::kDailyRest, next_shift_start(now, now + 11 * kHour));
    } else {
      begin(Activity::kDriving, now + stint);
    }
  }

  // The driver's usual start time (± 30 minutes) on the first day it is not before `not_before`.
  int64_t next_shift_start(int64_t now, int64_t not_before) {
    int64_t day = floor_to(now, kDay);
    int64_t start = day + shift_time_of_day + motion.between(int64_t{-30}, int64_t{30}) * kMinute;
    while (start < not_before) start += kDay;
    return start;
  }

  void pick_target() {
    double bearing = motion.between(0.0, 360.0) * kDegree;
    double dist = motion.between(20.0, 150.0);
    target_lat = home_lat + dist * std::cos(bearing) / kKmPerDegree;
    target_lon = home_lon + dist * std::sin(bearing) / (kKmPerDegree * std::cos(home_lat * kDegree));
  }

  void start_piece() {
    arrives = false;
    dlat = dlon = 0;
    speed_kmh = 0;
    piece_end = activity_end;
    if (activity != Activity::kDriving) return;
    double cos_lat = std::cos(lat * kDegree);
    double north = (target_lat - lat) * kKmPerDegree;
    double east = (target_lon - lon) * kKmPerDegree * cos_lat;
    double dist = std::hypot(north, east);
    if (dist < 0.05) {  // at the waypoint: on to the next one
      pick_target();
      north = (target_lat - lat) * kKmPerDegree;
      east = (target_lon - lon) * kKmPerDegree * cos_lat;
      dist = std::hypot(north, east);
    }
    speed_kmh = motion.between(40.0, kFleetMaxSpeedKmh);
    heading = std::fmod(std::atan2(east, north) / kDegree + 360.0, 360.0);
    double km_per_ms = speed_kmh / kHour;
    dlat = north / dist * km_per_ms / kKmPerDegree;
    dlon = east / dist * km_per_ms / (kKmPerDegree * cos_lat);
    int64_t arrival = piece_start + std::max<int64_t>(1, static_cast<int64_t>(std::ceil(dist / km_per_ms)));
    int64_t traffic = piece_start + motion.between(int64_t{2}, int64_t{12}) * kMinute;
    piece_end = std::min({activity_end, traffic, arrival});
    arrives = piece_end == arrival;
  }
};

struct FleetGenerator::Slot {
  int64_t at;  // unix ms
  uint32_t vehicle;
  uint8_t kind;
  // std::*_heap keep the greatest element first; "greater" here means "later", so the earliest is first.
  bool operator<(const Slot& o) const {
    return std::tie(o.at, o.vehicle, o.kind) < std::tie(at, vehicle, kind);
  }
  // The order of the slots of one second.
  static bool before(const Slot& a, const Slot& b) {
    return std::tie(a.vehicle, a.kind) < std::tie(b.vehicle, b.kind);
  }
};

std::string fleet_account_name(uint32_t account) {
  return fmt::format("account-{}", account);
}
std::string fleet_vehicle_name(uint32_t vehicle) {
  return fmt::format("vehicle-{}", vehicle);
}

namespace {
// Ms from the first event of a stream to the scenario's `from`: vehicles are spread evenly over one period.
int64_t stagger(uint32_t index, uint32_t vehicles, int64_t every) {
  return floor_to(static_cast<int64_t>(static_cast<__int128>(index) * every / vehicles), kSecond);
}

int64_t message_gap(Rng& rng, double per_hour) {
  double mean_ms = static_cast<double>(kHour) / per_hour;
  return static_cast<int64_t>(-std::log1p(-rng.uniform()) * mean_ms);
}
}  // namespace

FleetGenerator::FleetGenerator(const FleetSpec& spec, TimePoint start, uint64_t seed)
    : spec_(spec), start_(start), end_(start + spec.until) {
  const int64_t from = to_unix_ms(start + spec.from);
  vehicles_.resize(spec.vehicles);
  from_ms_ = from;
  ring_.resize(kWindow);
  for (uint32_t i = 0; i < spec.vehicles; ++i) {
    Vehicle& v = vehicles_[i];
    v.number = i + 1;
    v.name = fleet_vehicle_name(v.number);
    v.account = fleet_account_name((v.number - 1) % spec.accounts + 1);
    v.driver = fmt::format("driver-{}", v.number);
    v.motion = Rng{stream_seed(seed, v.number, 1)};
    v.messages = Rng{stream_seed(seed, v.number, 2)};
    const City& city = kCities[v.motion.next() % std::size(kCities)];
    v.home_lat = city.lat + v.motion.between(-0.2, 0.2);
    v.home_lon = city.lon + v.motion.between(-0.2, 0.2);
    v.lat = v.home_lat;
    v.lon = v.home_lon;
    v.heading = v.motion.between(0.0, 360.0);
    v.odometer_km = v.motion.between(20'000.0, 400'000.0);
    v.shift_time_of_day = v.motion.between(int64_t{5 * 60}, int64_t{9 * 60}) * kMinute;
    v.pick_target();

    // The first state: on shift if `from` falls in the driver's usual shift, else resting until it starts.
    v.piece_start = v.shift_start = from;
    int64_t time_of_day = from - floor_to(from, kDay);
    if (time_of_day >= v.shift_time_of_day && time_of_day < v.shift_time_of_day + 8 * kHour) {
      v.shift_target_ms = v.motion.between(int64_t{6 * 60}, int64_t{9 * 60}) * kMinute;
      v.begin_driving(from);
    } else {
      v.begin(Activity::kDailyRest, v.next_shift_start(from, from));
    }
    v.start_piece();

    if (spec.tracking_every.count() > 0)
      push(i, kTracking, from + stagger(i, spec.vehicles, spec.tracking_every.count()));
    if (spec.driving_time_every.count() > 0)
      push(i, kDrivingTime, from + stagger(i, spec.vehicles, spec.driving_time_every.count()));
    if (spec.messages_per_hour > 0)
      push(i, kMessage, from + ceil_to(message_gap(v.messages, spec.messages_per_hour), kSecond));
  }
  next_second();
}

FleetGenerator::~FleetGenerator() = default;

void FleetGenerator::push(uint32_t vehicle, uint8_t kind, int64_t at) {
  if (at >= to_unix_ms(end_)) return;
  const Slot slot{at, vehicle, kind};
  const int64_t second = (at - from_ms_) / kSecond;
  if (second == second_) {  // a message due in the second being generated: in its place among the rest
    now_.insert(
        std::upper_bound(now_.begin() + static_cast<ptrdiff_t>(next_), now_.end(), slot, Slot::before), slot);
  } else if (second < second_ + kWindow) {
    ring_[static_cast<size_t>(second % kWindow)].push_back(slot);
    ++in_ring_;
  } else {
    far_.push_back(slot);
    std::push_heap(far_.begin(), far_.end());
  }
}

// Moves to the next second that has slots, and sorts them. REQUIRES: the current second's are all taken.
void FleetGenerator::next_second() {
  now_.clear();
  next_ = 0;
  while (in_ring_ > 0 || !far_.empty()) {
    ++second_;
    if (in_ring_ == 0) second_ = std::max(second_, (far_.front().at - from_ms_) / kSecond);
    std::vector<Slot>& bucket = ring_[static_cast<size_t>(second_ % kWindow)];
    in_ring_ -= bucket.size();
    now_.swap(bucket);
    while (!far_.empty() && (far_.front().at - from_ms_) / kSecond == second_) {
      now_.push_back(far_.front());
      std::pop_heap(far_.begin(), far_.end());
      far_.pop_back();
    }
    if (!now_.empty()) {
      std::sort(now_.begin(), now_.end(), Slot::before);
      return;
    }
  }
}

std::optional<TimePoint> FleetGenerator::next_time() const {
  if (next_ == now_.size()) return std::nullopt;
  return TimePoint(Duration(now_[next_].at));
}

void FleetGenerator::next(Event& out) {
  write_next(out);
  if (next_ == now_.size()) next_second();
}

void FleetGenerator::write_next(Event& out) {
  const Slot slot = now_[next_++];
  Vehicle& v = vehicles_[slot.vehicle];
  const int64_t t = slot.at;

  out.account = v.account;
  out.vehicle = v.name;
  out.occurred_at = TimePoint(Duration(t));
  // Payloads are written piece by piece (not with fmt::format_to): the generator runs once per event.
  std::string& d = out.data;
  d.clear();

  if (slot.kind == kMessage) {
    ++v.messages_sent;
    bool from_driver = v.messages.uniform() < 0.75;
    const char* text = from_driver ? kDriverTexts[v.messages.next() % std::size(kDriverTexts)]
                                   : kOfficeTexts[v.messages.next() % std::size(kOfficeTexts)];
    bool read = v.messages.uniform() < 0.3;
    out.type = "message";
    d.append(R"({"message_id":")").append(v.name).append("-m");
    append_int(d, static_cast<int64_t>(v.messages_sent));
    d.append(R"(","sender":")").append(from_driver ? "driver" : "office");
    d.append(R"(","driver_id":")").append(v.driver).append(R"(","text":")").append(text);
    d.append(R"(","read":)").append(json_bool(read)).append("}");
    int64_t gap = message_gap(v.messages, spec_.messages_per_hour);
    int64_t from = to_unix_ms(start_ + spec_.from);
    push(slot.vehicle, slot.kind, from + ceil_to(t - from + gap, kSecond));
    return;
  }

  v.advance_to(t);
  const int64_t dt = t - v.piece_start;
  if (slot.kind == kTracking) {
    double lat = v.lat + v.dlat * static_cast<double>(dt);  // advance_to() left t inside the piece
    double lon = v.lon + v.dlon * static_cast<double>(dt);
    double odometer = v.odometer_km + v.speed_kmh * static_cast<double>(dt) / kHour;
    out.type = "tracking";
    d += R"({"gps_time":")";
    append_utc(d, TimePoint(Duration(t)));
    d += R"(","lat":)";
    append_fixed(d, lat, 6);
    d += R"(,"lon":)";
    append_fixed(d, lon, 6);
    d += R"(,"speed_kmh":)";
    append_fixed(d, v.speed_kmh, 1);
    d += R"(,"heading":)";
    append_int(d, static_cast<int>(v.heading) % 360);
    d.append(R"(,"ignition":)").append(json_bool(v.activity == Activity::kDriving));
    d += R"(,"odometer_km":)";
    append_fixed(d, odometer, 3);
    d += '}';
    push(slot.vehicle, slot.kind, t + spec_.tracking_every.count());
    return;
  }

  int64_t driving = v.driving_ms, rest = v.rest_ms, available = v.available_ms, continuous = v.continuous_ms;
  v.add_time(dt, driving, rest, available, continuous);
  out.type = "driving_time";
  d.append(R"({"driver_id":")")
      .append(v.driver)
      .append(R"(","activity":")")
      .append(activity_name(v.activity));
  d += R"(","activity_since":")";
  append_utc(d, TimePoint(Duration(v.activity_start)));
  d += R"(","shift_start":")";
  append_utc(d, TimePoint(Duration(v.shift_start)));
  for (auto [key, value] :
       {std::pair{R"(","driving_s":)", driving / kSecond},
        {R"(,"rest_s":)", rest / kSecond},
        {R"(,"available_s":)", available / kSecond},
        {R"(,"continuous_driving_s":)", continuous / kSecond},
        {R"(,"remaining_driving_s":)", std::max<int64_t>(0, kMaxDailyDrivingS - driving / kSecond)},
        {R"(,"remaining_continuous_driving_s":)",
         std::max<int64_t>(0, kMaxContinuousDrivingS - continuous / kSecond)}}) {
    d += key;
    append_int(d, value);
  }
  d += '}';
  push(slot.vehicle, slot.kind, t + spec_.driving_time_every.count());
}

Result<FleetSpec> parse_fleet(const nlohmann::json& j, const std::string& path, Duration scenario_duration) {
  using namespace json_input;
  try {
    Fields f(j, path);
    FleetSpec s;
    auto count = [&](const char* key) -> uint32_t {
      const json& v = f.need(key);
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxFleetSize)
        fail(f.path(key), fmt::format("must be a whole number from 1 to {}", kMaxFleetSize));
      return v.get<uint32_t>();
    };
    s.accounts = count("accounts");
    s.vehicles = count("vehicles");
    if (s.accounts > s.vehicles)
      fail(f.path("accounts"),
           fmt::format("{} accounts for {} vehicles: every account needs a vehicle", s.accounts, s.vehicles));
    const json* from = f.get("from");
    const json* until = f.get("until");
    s.from = from ? duration(*from, f.path("from")) : Duration(0);
    s.until = until ? duration(*until, f.path("until")) : scenario_duration;
    if (s.from >= scenario_duration) fail(f.path("from"), "must be before the scenario's duration");
    if (s.until <= s.from)
      fail(f.path(until ? "until" : "from"), "the fleet must stop (until) after it starts (from)");
    auto period = [&](const char* key, Duration& out) {
      const json* v = f.get(key);
      if (v == nullptr) return;
      out = duration(*v, f.path(key));
      if (out.count() % kSecond != 0)
        fail(f.path(key), "must be whole seconds (or 0s: none of these events)");
    };
    period("tracking_every", s.tracking_every);
    period("driving_time_every", s.driving_time_every);
    if (const json* v = f.get("messages_per_hour")) {
      if (!v->is_number() || v->get<double>() < 0.0 || v->get<double>() > 3600.0)
        fail(f.path("messages_per_hour"), "must be a number from 0 to 3600 (per vehicle)");
      s.messages_per_hour = v->get<double>();
    }
    if (s.tracking_every.count() == 0 && s.driving_time_every.count() == 0 && s.messages_per_hour == 0.0)
      fail(path,
           "generates nothing: tracking_every and driving_time_every are 0s and messages_per_hour is 0");
    f.no_unknown();
    return s;
  } catch (const ParseError& e) {
    return Status::InvalidArgument(e.message);
  }
}

}  // namespace hooksim::sim
