#include "sim/fleet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/scenario_run.h"
#include "engine/subscription.h"
#include "sim/scenario.h"

namespace hooksim::sim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const TimePoint kStart =
    TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 3 / 2).time_since_epoch()) + 8h;

std::vector<Event> generate(const FleetSpec& spec, uint64_t seed, size_t limit = SIZE_MAX) {
  FleetGenerator g(spec, kStart, seed);
  std::vector<Event> out;
  while (g.next_time() && out.size() < limit) {
    TimePoint at = *g.next_time();
    out.emplace_back();
    g.next(out.back());
    EXPECT_EQ(out.back().occurred_at, at);
  }
  return out;
}

FleetSpec spec(uint32_t accounts, uint32_t vehicles, Duration until) {
  FleetSpec s;
  s.accounts = accounts;
  s.vehicles = vehicles;
  s.until = until;
  s.tracking_every = 1min;
  s.driving_time_every = 15min;
  s.messages_per_hour = 2;
  return s;
}

double haversine_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double r = 6371.0, deg = std::numbers::pi / 180;
  double a = std::pow(std::sin((lat2 - lat1) * deg / 2), 2) +
             std::cos(lat1 * deg) * std::cos(lat2 * deg) * std::pow(std::sin((lon2 - lon1) * deg / 2), 2);
  return 2 * r * std::asin(std::sqrt(a));
}

int64_t unix_s(const std::string& utc) {
  return to_unix_ms(*parse_utc(utc)) / 1000;
}

TEST(FleetGenerator, SameSeedGivesIdenticalEventsAndAnotherSeedOthers) {
  FleetSpec s = spec(3, 10, 48h);
  auto a = generate(s, 42), b = generate(s, 42), c = generate(s, 43);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].type, b[i].type) << i;
    ASSERT_EQ(a[i].vehicle, b[i].vehicle) << i;
    ASSERT_EQ(a[i].account, b[i].account) << i;
    ASSERT_EQ(a[i].occurred_at, b[i].occurred_at) << i;
    ASSERT_EQ(a[i].data, b[i].data) << i;
  }
  size_t differ = 0;
  for (size_t i = 0; i < std::min(a.size(), c.size()); ++i) differ += a[i].data != c[i].data;
  EXPECT_GT(differ, a.size() / 2);
}

// A vehicle's route and day are a function of the seed and time only: reporting more or less often, or
// adding messages, samples the same trajectory.
TEST(FleetGenerator, ReportingPeriodsDoNotChangeTheRoute) {
  FleetSpec often = spec(1, 1, 30h), rarely = spec(1, 1, 30h);
  often.tracking_every = 1min;
  often.messages_per_hour = 0;
  rarely.tracking_every = 5min;
  rarely.driving_time_every = 0min;
  rarely.messages_per_hour = 20;
  std::map<TimePoint, std::string> positions;
  for (const Event& e : generate(often, 3))
    if (e.type == "tracking") positions[e.occurred_at] = e.data;
  size_t compared = 0;
  for (const Event& e : generate(rarely, 3)) {
    if (e.type != "tracking") continue;
    ASSERT_EQ(e.data, positions.at(e.occurred_at));
    ++compared;
  }
  EXPECT_EQ(compared, 30u * 12);
}

TEST(FleetGenerator, StreamsFollowTheSpecInTimeOrder) {
  FleetSpec s = spec(3, 7, 6h);
  s.from = 30min;
  auto events = generate(s, 1);
  std::map<std::string, int> per_type;
  std::map<std::string, TimePoint> first_tracking;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    ++per_type[e.type];
    if (i > 0) {
      ASSERT_LE(events[i - 1].occurred_at, e.occurred_at);
    }
    ASSERT_GE(e.occurred_at, kStart + 30min);
    ASSERT_LT(e.occurred_at, kStart + 6h);
    if (e.type == "tracking" && !first_tracking.contains(e.vehicle))
      first_tracking[e.vehicle] = e.occurred_at;
    // Vehicles belong to accounts round-robin.
    int n = std::stoi(e.vehicle.substr(8));
    EXPECT_EQ(e.account, fleet_account_name((n - 1) % 3 + 1));
    EXPECT_EQ(json::parse(e.data).is_object(), true);
  }
  // 5h30 of tracking every minute and driving time every 15 minutes, for each of 7 vehicles.
  EXPECT_EQ(per_type["tracking"], 7 * 330);
  EXPECT_EQ(per_type["driving_time"], 7 * 22);
  // Messages: a Poisson process of 2 per hour per vehicle, 77 expected; 5 standard deviations either side.
  EXPECT_GT(per_type["message"], 77 - 5 * 9);
  EXPECT_LT(per_type["message"], 77 + 5 * 9);
  // Staggered: vehicle n starts at from + floor_s((n - 1) * 60s / 7).
  for (uint32_t n = 1; n <= 7; ++n)
    EXPECT_EQ(first_tracking[fleet_vehicle_name(n)], kStart + 30min + std::chrono::seconds((n - 1) * 60 / 7))
        << n;
}

// Ties come in vehicle order, then tracking, driving time, message (fleet.h), whatever the gap to a stream's
// next event: none (messages at up to 3600 an hour, some in the second of the one before), or longer than
// the generator's calendar (a message every 10 hours on average, a tracking period of 2 hours).
TEST(FleetGenerator, EventsComeInTimeVehicleKindOrderWhateverTheGaps) {
  struct Case {
    double per_hour;
    Duration tracking, until;
  };
  for (Case c : {Case{3600.0, 7s, 6h}, Case{0.1, 2h, 72h}}) {
    FleetSpec s = spec(2, 10, c.until);
    s.from = 1500ms;  // events fall on whole seconds after `from`, not of the clock
    s.messages_per_hour = c.per_hour;
    s.tracking_every = c.tracking;
    auto events = generate(s, 3);
    auto key = [](const Event& e) {
      int kind = e.type == "tracking" ? 0 : e.type == "driving_time" ? 1 : 2;
      return std::tuple(e.occurred_at, std::stoi(e.vehicle.substr(8)), kind);
    };
    std::map<std::string, int> per_type;
    int same_second = 0;  // messages in the second of the vehicle's message before
    std::map<std::string, TimePoint> last_message;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      ++per_type[e.type];
      if (i > 0) {
        ASSERT_LE(key(events[i - 1]), key(e)) << c.per_hour << " " << i;
      }
      ASSERT_EQ((e.occurred_at - kStart - 1500ms) % 1s, 0ms);
      if (e.type != "message") continue;
      auto [it, first] = last_message.try_emplace(e.vehicle, e.occurred_at);
      if (!first && it->second == e.occurred_at) ++same_second;
      it->second = e.occurred_at;
    }
    EXPECT_EQ(per_type["driving_time"], 10 * (c.until / 15min));
    if (c.per_hour > 1) {
      EXPECT_GT(per_type["message"], 100'000);  // gaps are rounded up to whole seconds
      EXPECT_GT(same_second, 0);
    } else {
      EXPECT_GT(per_type["message"], 20);
    }
  }
}

TEST(FleetGenerator, TrackingMovesPlausiblyAlongARoute) {
  FleetSpec s = spec(2, 12, 72h);
  s.tracking_every = 30s;
  std::map<std::string, json> last;
  double moved_km = 0;
  int stopped = 0, moving = 0;
  for (const Event& e : generate(s, 7)) {
    if (e.type != "tracking") continue;
    json d = json::parse(e.data);
    ASSERT_EQ(d["gps_time"], format_utc(e.occurred_at));
    ASSERT_GE(d["heading"].get<int>(), 0);
    ASSERT_LT(d["heading"].get<int>(), 360);
    ASSERT_LE(d["speed_kmh"].get<double>(), kFleetMaxSpeedKmh);
    if (d["ignition"].get<bool>()) {
      ++moving;
      ASSERT_GE(d["speed_kmh"].get<double>(), 40.0) << e.data;
    } else {
      ++stopped;
      ASSERT_EQ(d["speed_kmh"].get<double>(), 0.0) << e.data;
    }
    auto it = last.find(e.vehicle);
    if (it != last.end()) {
      const json& p = it->second;
      double hours = static_cast<double>(unix_s(d["gps_time"]) - unix_s(p["gps_time"])) / 3600.0;
      double dist = haversine_km(p["lat"], p["lon"], d["lat"], d["lon"]);
      double odo = d["odometer_km"].get<double>() - p["odometer_km"].get<double>();
      ASSERT_GE(odo, 0.0) << "odometer went back: " << p << " -> " << d;
      // The straight line is never longer than the road driven, and nothing drives faster than the maximum
      // (tolerances: 6-decimal coordinates, metre odometer, the flat-earth step of the model).
      ASSERT_LE(dist, odo * 1.002 + 0.002) << p << " -> " << d;
      ASSERT_LE(odo, kFleetMaxSpeedKmh * hours + 0.002) << p << " -> " << d;
      // Parked (ignition off at both ends and no driving in between): the position does not change.
      if (odo == 0.0) {
        ASSERT_LT(dist, 0.001);
      }
      moved_km += odo;
    }
    last[e.vehicle] = d;
  }
  EXPECT_GT(moving, 100);
  EXPECT_GT(stopped, 100);
  EXPECT_GT(moved_km, 12 * 3 * 300.0);  // each vehicle drives 6-9 hours a day at 40-95 km/h
}

TEST(FleetGenerator, DrivingTimeIsTachographConsistent) {
  FleetSpec s = spec(1, 6, 96h);
  s.driving_time_every = 5min;
  s.tracking_every = 5min;  // the same instants as driving time: ignition and activity must agree
  s.messages_per_hour = 0;
  std::map<std::string, json> tracking_now;
  std::map<std::string, json> last;
  int shifts = 0;
  std::set<std::string> activities;
  for (const Event& e : generate(s, 99)) {
    json d = json::parse(e.data);
    if (e.type == "tracking") {
      tracking_now[e.vehicle] = d;
      continue;
    }
    ASSERT_EQ(e.type, "driving_time");
    int64_t t = to_unix_ms(e.occurred_at) / 1000;
    int64_t driving = d["driving_s"], rest = d["rest_s"], available = d["available_s"];
    int64_t continuous = d["continuous_driving_s"];
    activities.insert(d["activity"].get<std::string>());
    ASSERT_EQ(d["driver_id"], "driver-" + e.vehicle.substr(8));
    ASSERT_EQ(driving + rest + available, t - unix_s(d["shift_start"])) << d;
    ASSERT_LE(unix_s(d["shift_start"]), unix_s(d["activity_since"]));
    ASSERT_LE(unix_s(d["activity_since"]), t);
    ASSERT_LE(continuous, kMaxContinuousDrivingS);
    ASSERT_LE(continuous, driving);
    ASSERT_LE(driving, kMaxDailyDrivingS);
    ASSERT_EQ(d["remaining_driving_s"].get<int64_t>(), kMaxDailyDrivingS - driving);
    ASSERT_EQ(d["remaining_continuous_driving_s"].get<int64_t>(), kMaxContinuousDrivingS - continuous);
    // The tracking event of the same instant (same vehicle) shows the same activity.
    const json& tr = tracking_now.at(e.vehicle);
    ASSERT_EQ(tr["gps_time"], format_utc(e.occurred_at));
    ASSERT_EQ(tr["ignition"].get<bool>(), d["activity"] == "driving") << tr << " vs " << d;
    auto it = last.find(e.vehicle);
    if (it != last.end()) {
      const json& p = it->second;
      if (p["shift_start"] == d["shift_start"]) {
        ASSERT_GE(driving, p["driving_s"].get<int64_t>());
        ASSERT_GE(rest, p["rest_s"].get<int64_t>());
        ASSERT_GE(available, p["available_s"].get<int64_t>());
      } else {
        ++shifts;
        ASSERT_GT(unix_s(d["shift_start"]), unix_s(p["shift_start"]));
      }
    }
    last[e.vehicle] = d;
  }
  EXPECT_EQ(activities, (std::set<std::string>{"driving", "rest", "available"}));
  EXPECT_GE(shifts, 6 * 3);  // a new shift every day
}

TEST(FleetGenerator, AccountAndVehicleFiltersSelectRealSubsets) {
  FleetSpec s = spec(3, 9, 24h);
  auto events = generate(s, 5);
  Filter account2{.types = {}, .accounts = {"account-2"}, .vehicles = {}};
  Filter vehicle4{.types = {"tracking"}, .accounts = {}, .vehicles = {"vehicle-4"}};
  std::set<std::string> account2_vehicles;
  size_t account2_events = 0, vehicle4_events = 0;
  for (const Event& e : events) {
    if (account2.matches(e)) {
      ++account2_events;
      account2_vehicles.insert(e.vehicle);
    }
    vehicle4_events += vehicle4.matches(e);
  }
  EXPECT_EQ(account2_vehicles, (std::set<std::string>{"vehicle-2", "vehicle-5", "vehicle-8"}));
  EXPECT_GT(account2_events, events.size() / 4);
  EXPECT_LT(account2_events, events.size() / 2);
  EXPECT_EQ(vehicle4_events, 24u * 60);
}

// The runner publishes the fleet into the real engine: each subscription gets exactly the events its filter
// selects from the generator's stream, and the same scenario twice gives the same log.
TEST(FleetGenerator, RunnerDeliversTheFilteredStreams) {
  json j = json::parse(R"({
    "seed": 11, "start": "2026-03-02T08:00:00Z", "duration": "13h",
    "subscriptions": [
      {"id": "all", "receiver": {"latency": "20ms"}},
      {"id": "acct2", "filter": {"accounts": ["account-2"]}, "receiver": {"latency": "20ms"}},
      {"id": "v3-msg", "filter": {"types": ["message", "driving_time"], "vehicles": ["vehicle-3"]}}
    ],
    "events": [{"fleet": {"accounts": 2, "vehicles": 5, "until": "12h", "tracking_every": "1m",
                          "messages_per_hour": 3, "driving_time_every": "15m"}}]
  })");
  auto sc = parse_scenario(j);
  ASSERT_TRUE(sc.ok()) << sc.status().message();
  ASSERT_TRUE(sc->fleet);
  FleetGenerator g(*sc->fleet, sc->start, sc->seed);
  std::map<std::string, uint64_t> want;
  uint64_t total = 0;
  for (; g.next_time(); ++total) {
    Event e;
    g.next(e);
    for (const auto& sub : sc->subscriptions) want[sub.config.id] += sub.config.filter.matches(e);
  }
  std::ostringstream log1, log2;
  RunOptions o;
  o.log = &log1;
  auto summary = cli::simulate_scenario(*sc, o);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->events_published, total);
  for (const auto& s : summary->subscriptions) {
    EXPECT_EQ(s.delivered, want[s.id]) << s.id;
    EXPECT_EQ(s.attempts, want[s.id]) << s.id;
    EXPECT_EQ(s.backlog, 0u) << s.id;
  }
  EXPECT_EQ(want["all"], total);
  EXPECT_GT(want["acct2"], 0u);
  EXPECT_LT(want["acct2"], total / 2);  // account-2 has vehicles 2 and 4 of 5
  o.log = &log2;
  ASSERT_TRUE(cli::simulate_scenario(*sc, o).ok());
  EXPECT_EQ(log1.str(), log2.str());
}

std::string fleet_error(const std::string& fleet_json, const std::string& duration = "1d") {
  json j = json::parse(R"({"duration": ")" + duration + R"(", "subscriptions": [{"id": "s"}], "events": [)" +
                       fleet_json + "]}");
  auto sc = parse_scenario(j);
  return sc.ok() ? "ok" : sc.status().message();
}

TEST(FleetGenerator, BadFleetFieldsAreNamedByTheirJsonPath) {
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 0}})"),
            "events[0].fleet.vehicles: must be a whole number from 1 to 1000000");
  EXPECT_EQ(fleet_error(R"({"fleet": {"vehicles": 3}})"), "events[0].fleet.accounts: is required");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 4, "vehicles": 3}})"),
            "events[0].fleet.accounts: 4 accounts for 3 vehicles: every account needs a vehicle");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "from": "5h", "until": "2h"}})"),
            "events[0].fleet.until: the fleet must stop (until) after it starts (from)");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "from": "2d"}})"),
            "events[0].fleet.from: must be before the scenario's duration");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "tracking_every": "30x"}})")
                .rfind("events[0].fleet.tracking_every: invalid duration '30x'", 0),
            0u);
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "driving_time_every": "1500ms"}})"),
            "events[0].fleet.driving_time_every: must be whole seconds (or 0s: none of these events)");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "messages_per_hour": -1}})"),
            "events[0].fleet.messages_per_hour: must be a number from 0 to 3600 (per vehicle)");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "tracking_every": "0s",
                                      "driving_time_every": "0s", "messages_per_hour": 0}})"),
            "events[0].fleet: generates nothing: tracking_every and driving_time_every are 0s and "
            "messages_per_hour is 0");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3, "speed": 3}})"),
            "events[0].fleet.speed: unknown field");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3}, "type": "tracking"})"),
            "events[0]: a fleet entry has only the field fleet");
  EXPECT_EQ(fleet_error(R"({"at": "1h", "type": "x"}, {"fleet": {"accounts": 1, "vehicles": 1}},
                          {"fleet": {"accounts": 1, "vehicles": 1}})"),
            "events[2]: only one fleet per scenario (its vehicles would repeat the first's)");
  EXPECT_EQ(fleet_error(R"({"fleet": {"accounts": 1, "vehicles": 3}})"), "ok");
}

}  // namespace
}  // namespace hooksim::sim
