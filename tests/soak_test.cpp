// The soak of issue 7: `hooksim serve` (the real binary) under a steady publish load, delivering to a
// flapping receiver (503 windows, dropped connections, random 500s) and to a fragile subscription that is
// deactivated by its policy during long outages (and reactivated by the test), while the server is killed
// with SIGKILL and restarted on the same store every few seconds. In the end the shared delivery audit
// (tests/serve_harness.h, the same as the crash audit's) checks that every acknowledged event was delivered
// in order or is accounted for as discarded by a deactivation, and the store holds no body once drained
// (one event in a hundred carries 1 MiB of data). The server's RSS is sampled once a second and
// reported per server instance, with the part the store accounts for (hooksim_store_memory_bytes in
// /metrics) and the rest (figures only, no thresholds).
//
// Length: HOOKSIM_SOAK_SECONDS (default 25, the CI run), kill interval HOOKSIM_SOAK_KILL_EVERY (seconds,
// default duration / 5), publish pace HOOKSIM_SOAK_BATCHES_PER_SECOND (default 100, 1-8 events each).
// scripts/soak.sh runs it for minutes. HOOKSIM_SOAK_REPORT=FILE also writes the figures as JSON.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/serve_harness.h"
#include "tests/store_audit.h"

namespace hooksim {
namespace {

using namespace harness;

long env_number(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtol(v, nullptr, 10);
}

// The server's resident set size in KiB (VmRSS), 0 when unreadable.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

// What the server's store holds in memory, in KiB: the sum of hooksim_store_memory_bytes in /metrics
// (-1 when the server did not answer).
long store_kib(const ServerProcess& server) {
  Reply r = http("GET", server.url("/metrics"));
  if (r.status != 200) return -1;
  long bytes = 0;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("hooksim_store_memory_bytes{"))
      bytes += std::strtol(line.c_str() + line.rfind(' '), nullptr, 10);
  return bytes / 1024;
}

// A receiver script that flaps for `seconds`: a 503 window of 1 s every 7 s, connections dropped for
// 300 ms every 11 s, 2% random 500s throughout; healthy (200 after 1 ms) afterwards.
std::string flapping_script(long seconds) {
  json windows = json::array();
  for (long t = 3; t < seconds; t += 7)
    windows.push_back(
        {{"from", std::to_string(t) + "s"}, {"until", std::to_string(t + 1) + "s"}, {"status", 503}});
  for (long t = 5; t < seconds; t += 11)
    windows.push_back({{"from", std::to_string(t) + "s"},
                       {"until", std::to_string(t * 1000 + 300) + "ms"},
                       {"drop", true}});
  return json({{"latency", "1ms"},
               {"fail_rate", 0.02},
               {"fail_status", 500},
               {"seed", 7},
               {"windows", windows}})
      .dump();
}

// The fragile subscription's receiver: down for 4 s every 10 s (its policy gives up after 1.5 s).
std::string outage_script(long seconds) {
  json windows = json::array();
  for (long t = 2; t < seconds; t += 10)
    windows.push_back(
        {{"from", std::to_string(t) + "s"}, {"until", std::to_string(t + 4) + "s"}, {"status", 503}});
  return json({{"latency", "1ms"}, {"windows", windows}}).dump();
}

TEST(Soak, SteadyLoadWithAFlappingReceiverAndPeriodicSigkillLosesNothingAcknowledged) {
  const long seconds = env_number("HOOKSIM_SOAK_SECONDS", 25);
  const long kill_every = std::max(2L, env_number("HOOKSIM_SOAK_KILL_EVERY", std::max(2L, seconds / 5)));
  const long batches_per_second = std::max(1L, env_number("HOOKSIM_SOAK_BATCHES_PER_SECOND", 100));
  std::mt19937_64 rng(20261129);

  TempDir dir("soak");
  auto record = std::make_shared<Record>();
  Receiver flapping(flapping_script(seconds), record);
  Receiver fragile_rx(outage_script(seconds), record);
  const json policy = json::parse(R"({"immediate_retries":1,"delays":["10ms","50ms"],"repeat":"100ms"})");
  const json fragile_policy =
      json::parse(R"({"immediate_retries":0,"delays":["100ms"],"repeat":"200ms","give_up_after":"1500ms"})");
  const std::vector<AuditSub> subs = {{"tracking", {{"types", {"tracking"}}}},
                                      {"everything", json::object()},
                                      {"fragile", {{"accounts", {"globex"}}}}};
  const std::vector<std::string> types = {"tracking", "alarm", "message"};
  const std::vector<std::string> accounts = {"acme", "globex"};

  auto server = std::make_unique<ServerProcess>(dir / "data", dir / "serve.log");
  ASSERT_TRUE(server->start());
  for (const AuditSub& s : subs) {
    bool is_fragile = s.id == "fragile";
    json body = {{"id", s.id},
                 {"url", is_fragile ? fragile_rx.url() : flapping.url()},
                 {"secret", kSecret},
                 {"filter", s.filter},
                 {"policy", is_fragile ? fragile_policy : policy}};
    Reply r = http("POST", server->url("/v1/subscriptions"), body.dump());
    ASSERT_EQ(r.status, 201) << r.body << r.error;
  }

  // The publisher, on its own thread: batches with known ids; a batch without an answer (the server died)
  // is sent again with the same ids after the restart, or (one time in four) given up on.
  harness::Endpoint endpoint(server->port());
  std::mt19937_64 prng(20261130);
  std::vector<std::string> order;
  std::map<std::string, PublishedEvent> events;
  std::set<std::string> acknowledged;
  std::vector<std::vector<std::string>> abandoned;
  std::atomic<bool> stop_publishing{false};
  std::string publisher_error;
  std::thread publisher([&] {
    auto pace = std::chrono::microseconds(1'000'000 / batches_per_second);
    auto next = std::chrono::steady_clock::now();
    while (!stop_publishing && publisher_error.empty()) {
      json batch = json::array();
      std::vector<std::string> ids;
      size_t n = 1 + prng() % 8;
      for (size_t i = 0; i < n; ++i) {
        std::string id = "soak-" + std::to_string(order.size() + 1);
        PublishedEvent e{types[prng() % types.size()], accounts[prng() % accounts.size()], order.size()};
        batch.push_back({{"id", id}, {"type", e.type}, {"account", e.account}, {"vehicle", "v1"}});
        // One event in a hundred is large (1 MiB): stored once however many subscriptions it joins, and
        // deleted with its last queue entry (checked at the end).
        if (prng() % 100 == 0) batch.back()["data"] = {{"blob", std::string(1 << 20, 'b')}};
        events[id] = e;
        order.push_back(id);
        ids.push_back(id);
      }
      const std::string body = batch.dump();
      bool decided = false;
      for (;;) {
        const auto [p, gen] = endpoint.current();
        Reply r = http("POST", "http://127.0.0.1:" + std::to_string(p) + "/v1/events", body);
        if (r.status == 202) {
          json j = r.j();
          for (const auto& id : j["accepted"]) acknowledged.insert(id);
          for (const auto& id : j["duplicates"]) acknowledged.insert(id);
          break;
        }
        if (r.status != 0) {
          publisher_error = "unexpected answer " + std::to_string(r.status) + ": " + r.body;
          break;
        }
        if (!decided) {
          decided = true;
          if (prng() % 4 == 0) {
            abandoned.push_back(ids);
            break;
          }
        }
        if (!endpoint.wait_for_restart(gen, stop_publishing)) {
          publisher_error = "the server did not come back";
          break;
        }
        if (stop_publishing) {
          abandoned.push_back(ids);
          break;
        }
      }
      next += pace;
      std::this_thread::sleep_until(next);
    }
  });
  StopAndJoin joiner{publisher, stop_publishing, endpoint};

  // The main loop: kills, reactivations, RSS samples.
  struct Sample {
    int instance;
    double t_s;
    long rss_kib;
    long store_kib;  // RocksDB's memtables, block cache and table readers (part of the RSS)
  };
  std::vector<Sample> samples;
  std::vector<TimePoint> kill_times;
  int reactivations = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  double next_kill = static_cast<double>(kill_every), next_sample = 1;
  while (elapsed() < static_cast<double>(seconds) && publisher_error.empty()) {
    std::this_thread::sleep_for(200ms);
    if (elapsed() >= next_sample) {
      next_sample += 1;
      samples.push_back(
          {static_cast<int>(kill_times.size()), elapsed(), rss_kib(server->pid()), store_kib(*server)});
    }
    // The fragile subscription is reactivated as soon as it is seen deactivated.
    Reply st = http("GET", server->url("/v1/subscriptions/fragile/status"));
    if (st.status == 200 && st.j()["state"] == "deactivated" &&
        http("POST", server->url("/v1/subscriptions/fragile/reactivate")).status == 200)
      ++reactivations;
    if (elapsed() >= next_kill && elapsed() + 1 < static_cast<double>(seconds)) {
      next_kill += static_cast<double>(kill_every);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 100'000));  // a seeded moment
      ASSERT_NO_FATAL_FAILURE(kill_and_restart(*server, kill_times, endpoint));
    }
  }
  stop_publishing = true;
  endpoint.wake();
  publisher.join();
  ASSERT_EQ(publisher_error, "");

  // Drain: the receivers are healthy again once their scripts end; every backlog empties.
  json list;
  bool drained = eventually(
      [&] {
        Reply st = http("GET", server->url("/v1/subscriptions/fragile/status"));
        if (st.status == 200 && st.j()["state"] == "deactivated" &&
            http("POST", server->url("/v1/subscriptions/fragile/reactivate")).status == 200)
          ++reactivations;
        Reply r = http("GET", server->url("/v1/subscriptions"));
        if (r.status != 200) return false;
        list = r.j();
        for (const auto& s : list["subscriptions"])
          if (s["backlog"] != 0 || s["in_flight"] != false || s["state"] != "active") return false;
        return true;
      },
      std::chrono::milliseconds(60'000 + 1000 * seconds));
  ASSERT_TRUE(drained) << list.dump();
  samples.push_back(
      {static_cast<int>(kill_times.size()), elapsed(), rss_kib(server->pid()), store_kib(*server)});
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait_exit(), 0) << read_file(dir / "serve.log");
  server.reset();
  flapping.stop();
  fragile_rx.stop();
  // Every queue drained: no body is left behind, none leaked by the kills
  ASSERT_NO_FATAL_FAILURE(expect_no_stored_body(dir / "data"));

  AuditReport report = audit_deliveries({.subs = subs,
                                         .events = events,
                                         .acknowledged = acknowledged,
                                         .abandoned = abandoned,
                                         .records = record->records(),
                                         .kill_times = kill_times,
                                         .final_list = list,
                                         // Each deactivation was followed by a reactivation (all end active).
                                         .deactivations = {{"fragile", reactivations}}});
  EXPECT_TRUE(report.problems.empty()) << join_lines(report.problems);
  EXPECT_GT(report.delivered, 0u);
  EXPECT_EQ(kill_times.size(), static_cast<size_t>(std::max(0L, (seconds - 1) / kill_every)));

  // The figures.
  uint64_t discarded = 0, dropped = 0;
  for (const auto& s : list["subscriptions"]) {
    discarded += s["discarded"].get<uint64_t>();
    dropped += s["dropped_inactive"].get<uint64_t>();
  }
  json figures = {{"seconds", seconds},
                  {"kill_every_s", kill_every},
                  {"events_published", order.size()},
                  {"acknowledged", acknowledged.size()},
                  {"abandoned_batches", abandoned.size()},
                  {"deliveries_expected", report.expected},
                  {"delivered", report.delivered},
                  {"accounted_by_deactivation", report.discarded_accounted},
                  {"discarded", discarded},
                  {"dropped_inactive", dropped},
                  {"reactivations", reactivations},
                  {"requests", report.requests},
                  {"requests_not_2xx", report.failed_requests},
                  {"repeated_deliveries", report.extra_deliveries},
                  {"kills", kill_times.size()}};
  json rss = json::array();
  std::string rss_line;
  for (int inst = 0; inst <= static_cast<int>(kill_times.size()); ++inst) {
    std::vector<long> v, store, rest;  // the store's part only where /metrics answered
    for (const auto& s : samples) {
      if (s.instance != inst || s.rss_kib <= 0) continue;
      v.push_back(s.rss_kib);
      if (s.store_kib < 0) continue;
      store.push_back(s.store_kib);
      rest.push_back(s.rss_kib - s.store_kib);
    }
    if (v.empty()) continue;
    rss.push_back(
        {{"instance", inst}, {"samples_kib", v}, {"store_kib", store}, {"rss_minus_store_kib", rest}});
    auto line = [](const std::vector<long>& x) {
      if (x.empty()) return std::string("n/a");
      return std::to_string(x.front() / 1024) + "->" +
             std::to_string(*std::max_element(x.begin(), x.end()) / 1024) + "->" +
             std::to_string(x.back() / 1024);
    };
    rss_line += " #" + std::to_string(inst) + ": " + line(v) + " MiB (store " + line(store) + ", rest " +
                line(rest) + ")";
  }
  figures["rss"] = rss;
  std::cerr << "[ soak     ] " << figures.dump()
            << "\n[ soak     ] RSS first->max->last per instance:" << rss_line << "\n";
  if (const char* path = std::getenv("HOOKSIM_SOAK_REPORT")) std::ofstream(path) << figures.dump(2) << "\n";
}

}  // namespace
}  // namespace hooksim
