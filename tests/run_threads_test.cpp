// hooksim run --threads N: the scenario played on N shards, each on a thread of its own, on one clock that
// skips idle time only when no shard has a request in flight (net::SharedClock, sim::run_sharded).
// Loopback only, ephemeral ports.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "cli/scenario_run.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "service/shards.h"
#include "sim/report_series.h"
#include "sim/scenario.h"
#include "tests/cli_test_util.h"
#include "tests/serve_harness.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const TimePoint kStart = TimePoint(std::chrono::days(20454));  // 2026-01-01

// Two schedulers on one shared clock, each on its own thread. Member 0 is busy (a request in flight, as far
// as its clock knows) until its own timer one virtual minute in; member 1 waits for a timer 100 virtual days
// in. Alone, member 1 would jump there at once; on the shared clock it must wait until member 0 is idle, and
// then both jump: at 600x, 100 days of real waiting would be 4 hours.
TEST(SharedClockThreads, JumpsOverAnIdleGapOnlyOnceEveryMemberIsIdle) {
  net::SharedClock clock(kStart, /*speed=*/600, /*members=*/2);
  boost::asio::io_context io0, io1;
  std::atomic<bool> busy0{true};
  net::AsioScheduler s0(io0, {.start = kStart,
                              .speed = 600,
                              .skip_idle = true,
                              .busy = [&] { return busy0.load(); },
                              .shared = &clock,
                              .member = 0});
  net::AsioScheduler s1(io1, {.start = kStart,
                              .speed = 600,
                              .skip_idle = true,
                              .busy = [] { return false; },
                              .shared = &clock,
                              .member = 1});
  TimePoint idle_at;
  s0.schedule_at(kStart + 1min, [&] {
    idle_at = s0.now();
    busy0 = false;
  });
  std::atomic<bool> busy_when_fired{true};
  TimePoint fired_at;
  s1.schedule_at(kStart + std::chrono::days(100), [&] {
    busy_when_fired = busy0.load();
    fired_at = s1.now();
  });
  const TimePoint end = kStart + std::chrono::days(100) + 1h;
  std::thread t1([&] { s1.run_until(end); });
  s0.run_until(end);
  t1.join();
  EXPECT_FALSE(busy_when_fired.load()) << "member 1's timer ran while member 0 was busy";
  EXPECT_GE(idle_at, kStart + 1min);
  EXPECT_GE(fired_at, kStart + std::chrono::days(100));
  // Both ended at `end` (the clock runs on after it, at 600x).
  EXPECT_GE(s0.now(), end);
  EXPECT_GE(s1.now(), end);
}

// --- the run, compared with one thread ------------------------------------------------------------------

// A week and a bit against simulated receivers: one healthy, one down for an hour, one down for 8 days
// (deactivated after 7, then reactivated), one that fails 1 in 10; a restart in the middle of two hours of
// fleet (3 vehicles, an event about every 20 s, published in batches per instant). With simulated
// receivers only, no request is ever in flight, so the clock jumps from timer to timer and the run is the
// same whatever the number of threads. (Latencies keep the deactivation off the instants events are
// published at: there the order would turn on a millisecond of real time.)
json simulated_week() {
  return {
      {"start", "2026-01-01T00:00:00Z"},
      {"duration", "9d"},
      {"seed", 7},
      {"subscriptions",
       {{{"id", "healthy"}, {"receiver", {{"latency", "20ms"}}}},
        {{"id", "hour-down"},
         {"receiver",
          {{"latency", "30ms"}, {"windows", {{{"from", "1h"}, {"until", "2h"}, {"status", 503}}}}}}},
        {{"id", "gone"},
         {"receiver",
          {{"latency", "7ms"}, {"windows", {{{"from", "0s"}, {"until", "8d"}, {"status", 500}}}}}}},
        {{"id", "flaky"}, {"receiver", {{"fail_rate", 0.1}}}},
        {{"id", "tracking-only"}, {"filter", {{"types", {"tracking"}}}}}}},
      {"events",
       {{{"every", "20m"}, {"type", "tracking"}, {"account", "a"}, {"vehicle", "v"}},
        {{"every", "3h"}, {"type", "message"}, {"account", "a"}, {"vehicle", "v"}},
        {{"fleet",
          {{"accounts", 1},
           {"vehicles", 3},
           {"from", "47h"},
           {"until", "49h"},
           {"tracking_every", "60s"},
           {"messages_per_hour", 2},
           {"driving_time_every", "15m"}}}}}},
      {"actions",
       {{{"at", "2d"}, {"action", "restart"}}, {{"at", "8d"}, {"action", "reactivate"}, {"sub", "gone"}}}}};
}

struct Played {
  json summary;                           // without wall_ms
  std::map<std::string, json> published;  // event id -> its publish record's subs
  size_t restarts = 0;
  std::map<std::string, std::vector<uint64_t>> delivered;  // sub -> seqs delivered, in log order
  std::string log;
};

Played play(const json& scenario_json, uint32_t threads) {
  auto scenario = sim::parse_scenario(scenario_json);
  EXPECT_TRUE(scenario.ok()) << scenario.status().message();
  std::ostringstream log;
  sim::RunOptions options;
  options.log = &log;
  auto summary = cli::run_scenario(*scenario, options, "", /*speed=*/1, net::CurlOptions{},
                                   /*skip_idle=*/true, threads);
  EXPECT_TRUE(summary.ok()) << summary.status().message();
  Played p;
  if (!summary.ok()) return p;
  p.summary = summary->to_json();
  p.summary.erase("wall_ms");
  p.log = log.str();
  for (const std::string& line : testutil::lines_of(p.log)) {
    json j = json::parse(line);
    if (j["kind"] == "publish") {
      EXPECT_FALSE(p.published.contains(j["event"])) << "published twice: " << line;
      p.published[j["event"]] = j["subs"];
    } else if (j["kind"] == "restart") {
      ++p.restarts;
    } else if (j["kind"] == "attempt" && j["outcome"] == "delivered") {
      // Each delivered event was published, with this subscription among its queues, earlier in the log.
      const std::string sub = j["sub"];
      auto it = p.published.find(j["event"]);
      EXPECT_TRUE(it != p.published.end() && it->second.contains(sub))
          << "attempt before its publish: " << line;
      p.delivered[sub].push_back(j["seq"]);
    }
  }
  return p;
}

// Writes `scenario` to a file in `dir`; returns its path.
std::string write_scenario(const testutil::TempDir& dir, const json& scenario) {
  const std::string path = dir.path() + "/s.json";
  testutil::write_file(path, scenario.dump());
  return path;
}

class RunThreads : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RunThreads, ASimulatedWeekIsTheSameRunWhateverTheNumberOfThreads) {
  const Played one = play(simulated_week(), 1);
  const Played many = play(simulated_week(), GetParam());
  ASSERT_FALSE(one.summary.is_null());
  ASSERT_FALSE(many.summary.is_null());
  EXPECT_EQ(many.summary, one.summary);
  EXPECT_EQ(many.summary["order_violations"], 0);
  EXPECT_EQ(many.summary["deactivated"], json::array({"gone"}));
  EXPECT_EQ(many.summary["subscriptions"]["gone"]["state"], "active");  // reactivated on day 8
  // One publish record per event, naming every shard's queues, as one thread writes it.
  EXPECT_EQ(many.published.size(), one.summary["events_published"].get<size_t>());
  EXPECT_EQ(many.published, one.published);
  EXPECT_EQ(many.restarts, 1u);
  EXPECT_EQ(one.restarts, 1u);
  // Every subscription's deliveries in order, and the same ones.
  EXPECT_EQ(many.delivered, one.delivered);
  for (const auto& [sub, seqs] : many.delivered) EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << sub;
  // The subscriptions really were spread over more than one shard.
  std::set<size_t> used;
  for (const auto& [id, s] : many.summary["subscriptions"].items())
    used.insert(service::Shards::shard_of(id, GetParam()));
  EXPECT_GT(used.size(), 1u);
  // And the merged log makes a report (sim/report_series.h), as one thread's does.
  testutil::TempDir dir;
  testutil::write_file(dir.path() + "/log.jsonl", many.log);
  auto report = sim::build_report(dir.path() + "/log.jsonl");
  ASSERT_TRUE(report.ok()) << report.status().message();
}

INSTANTIATE_TEST_SUITE_P(Threads, RunThreads, ::testing::Values(2u, 4u));

// Real receivers: three subscriptions to one receiver that answers 503 for the first three virtual days.
// On two and three threads each subscription's head follows the documented schedule, as on one
// (tests/http_delivery_test.cpp), the backlog then drains in order, and the receiver sees no order
// violation and no duplicate.
TEST(RunThreadsHttp, AThreeDayOutageKeepsTheDocumentedScheduleOnEveryShard) {
  for (uint32_t threads : {2u, 3u}) {
    SCOPED_TRACE(threads);
    harness::Receiver rx(R"({"clock":"virtual","start":"2026-01-01T00:00:00Z",
                            "windows":[{"from":"0s","until":"3d","status":503}]})");
    json sc = {{"start", "2026-01-01T00:00:00Z"},
               {"duration", "5d"},
               {"subscriptions",
                {{{"id", "acme"}, {"url", rx.url("/acme")}, {"secret", harness::kSecret}},
                 {{"id", "globex"}, {"url", rx.url("/globex")}, {"secret", harness::kSecret}},
                 {{"id", "initech"}, {"url", rx.url("/initech")}, {"secret", harness::kSecret}}}},
               {"events", {{{"every", "12h"}, {"type", "tracking"}, {"account", "a"}, {"vehicle", "v"}}}}};
    const Played p = play(sc, threads);
    ASSERT_FALSE(p.summary.is_null());
    EXPECT_EQ(p.summary["order_violations"], 0);
    EXPECT_EQ(p.summary["events_published"], 10);
    EXPECT_EQ(p.summary["delivered"], 30);
    EXPECT_EQ(p.published.size(), 10u);
    for (const auto& [event, subs] : p.published) EXPECT_EQ(subs.size(), 3u) << event;
    const std::vector<int64_t> expected_ms = {
        0, 0, 0, 0, 300000, 1200000, 3300000, 6900000, 15900000, 33900000, 71700000, 147300000, 320100000};
    for (const std::string sub : {"acme", "globex", "initech"}) {
      SCOPED_TRACE(sub);
      std::vector<json> head;
      for (const std::string& line : testutil::lines_of(p.log)) {
        json j = json::parse(line);
        if (j["kind"] == "attempt" && j["sub"] == sub && j["seq"] == 1) head.push_back(j);
      }
      ASSERT_EQ(head.size(), expected_ms.size());
      int64_t drift_budget = 0;  // the clock runs in real time while any shard's request is in flight
      for (size_t i = 0; i < head.size(); ++i) {
        EXPECT_EQ(head[i]["attempt"], i + 1);
        EXPECT_EQ(head[i]["outcome"], i + 1 < head.size() ? "failed" : "delivered");
        EXPECT_GE(head[i]["t_ms"].get<int64_t>(), expected_ms[i]);
        EXPECT_LE(head[i]["t_ms"].get<int64_t>(), expected_ms[i] + drift_budget + 1000);
        drift_budget += 3 * head[i]["latency_ms"].get<int64_t>() + 10;
      }
      std::vector<uint64_t> in_order(10);
      std::iota(in_order.begin(), in_order.end(), 1);
      EXPECT_EQ(p.delivered.at(sub), in_order);
    }
    EXPECT_EQ(rx.stats().order_violations, 0u);
    EXPECT_EQ(rx.stats().duplicates, 0u);
    EXPECT_EQ(rx.stats().bad_signatures, 0u);
  }
}

TEST(RunThreadsCommand, ThreadsMustBeFromOneToTheNumberOfSubscriptions) {
  testutil::TempDir dir;
  const std::string scenario = write_scenario(
      dir, json({{"duration", "1h"},
                 {"subscriptions",
                  {{{"id", "a"}, {"receiver", json::object()}}, {{"id", "b"}, {"receiver", json::object()}}}},
                 {"events", {{{"at", "0s"}, {"type", "tracking"}}}}}));
  for (const char* bad : {"0", "3"}) {
    auto r = testutil::run_hooksim(fmt::format("run {} --threads {}", scenario, bad), dir);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--threads " + std::string(bad) +
                         ": must be from 1 to 256 and at most the number of subscriptions (2)"),
              std::string::npos)
        << r.err;
  }
  auto ok = testutil::run_hooksim(fmt::format("run {} --threads 2", scenario), dir);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["delivered"], 2);
}

// With --data, each shard keeps its queues in a store of its own, DIR/shard-K.
TEST(RunThreadsCommand, WithDataEachShardHasAStoreOfItsOwn) {
  testutil::TempDir dir;
  const std::string scenario = write_scenario(
      dir, json({{"duration", "1h"},
                 {"subscriptions",
                  {{{"id", "a"}, {"receiver", json::object()}}, {{"id", "b"}, {"receiver", json::object()}}}},
                 {"events", {{{"every", "10m"}, {"type", "tracking"}}}},
                 {"actions", {{{"at", "30m"}, {"action", "restart"}}}}}));
  ASSERT_NE(service::Shards::shard_of("a", 2), service::Shards::shard_of("b", 2));  // one on each shard
  auto r =
      testutil::run_hooksim(fmt::format("run {} --threads 2 --data {}/store", scenario, dir.path()), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["delivered"], 12);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/store/shard-0/CURRENT"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/store/shard-1/CURRENT"));
}

// With --time-scale the shared clock runs at a constant speed and never jumps; the shards still make one
// run's log.
TEST(RunThreadsCommand, TimeScaleRunsEveryShardOnOneClock) {
  testutil::TempDir dir;
  const std::string scenario =
      write_scenario(dir, json({{"duration", "1h"},
                                {"subscriptions",
                                 {{{"id", "a"}, {"receiver", {{"latency", "50ms"}}}},
                                  {{"id", "b"}, {"receiver", json::object()}},
                                  {{"id", "c"}, {"receiver", json::object()}}}},
                                {"events", {{{"every", "5m"}, {"type", "tracking"}}}}}));
  auto r = testutil::run_hooksim(fmt::format("run {} --threads 3 --time-scale 36000 --log -", scenario), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = testutil::lines_of(r.out);
  ASSERT_FALSE(lines.empty());
  json summary = json::parse(lines.back());
  EXPECT_EQ(summary["events_published"], 12);
  EXPECT_EQ(summary["delivered"], 36);
  size_t publishes = 0;
  for (const std::string& line : lines) {
    json j = json::parse(line);
    if (j.value("kind", "") == "publish") {
      ++publishes;
      EXPECT_EQ(j["subs"].size(), 3u) << line;
    }
  }
  EXPECT_EQ(publishes, 12u);
}

}  // namespace
}  // namespace hooksim
