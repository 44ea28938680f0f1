// hooksim_load: the load generator and probes of the end-to-end benchmark (scripts/bench.sh,
// bench/README.md).
//
//   hooksim_load subscribe --api URL --count N --target URL [--per-vehicle]
//   hooksim_load publish   --api URL (--events N | --seconds S) [--connections C] [--batch B] [--vehicles V]
//   hooksim_load wait      --api URL --delivered N [--timeout S]
//   hooksim_load latency   --api URL --rate R --seconds S
//   hooksim_load fill      --data DIR --subs N --per-sub M --target URL
//   hooksim_load restart   --hooksim BIN --data DIR --port P [--seconds S] [--crash]
//   hooksim_load free-port
//
// Every subcommand prints one JSON object on stdout with what it measured. The HTTP client is
// net::HttpClient (libcurl's easy interface), one keep-alive connection per thread: the generator must not
// be the bottleneck of a publish benchmark on two cores, and a few blocking threads are the cheapest client
// there is.
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "protocol/envelope.h"
#include "receiver/server.h"
#include "storage/rocks_store.h"
#include "util/percentile.h"

namespace {

using namespace hooksim;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
  std::cerr << "hooksim_load: " << what << "\n";
  std::exit(1);
}

// One keep-alive HTTP connection, sending and reading JSON.
class Http {
 public:
  Http()
      : client_({.timeout = std::chrono::seconds(120),
                 .connect_timeout = std::chrono::seconds(120),
                 .max_response_body = std::numeric_limits<size_t>::max(),
                 .keep_body = true}) {}

  // POSTs `body` (or GETs when body is null); returns the status, 0 on a transport error.
  long request(const std::string& url, const std::string* body) {
    static const std::vector<std::string> kHeaders = {"content-type: application/json"};
    answer_ = body != nullptr ? client_.post(url, *body, kHeaders) : client_.get(url, kHeaders);
    return answer_.status;
  }
  const std::string& body() const { return answer_.body; }

 private:
  net::HttpClient client_;
  net::HttpAnswer answer_;
};

// A tracking event of vehicle `vehicle` of account "acme", about the size of a real one.
std::string event_json(const std::string& id, uint64_t vehicle, const std::string& type = "tracking") {
  return fmt::format(
      R"({{"id":"{}","type":"{}","account":"acme","vehicle":"v-{}","data":{{"lat":38.72231,"lon":-9.13934,)"
      R"("speed_kmh":72,"heading":184,"ignition":true,"odometer_km":182734.2,"gps_time":"2026-03-02T08:00:00Z"}}}})",
      id, type, vehicle);
}

// The delivered counter of `hooksim serve` (hooksim_deliveries_total in /metrics).
uint64_t delivered_total(Http& http, const std::string& api) {
  if (http.request(api + "/metrics", nullptr) != 200) die("GET /metrics failed");
  const std::string& m = http.body();
  auto at = m.find("\nhooksim_deliveries_total ");
  if (at == std::string::npos) die("/metrics has no hooksim_deliveries_total");
  return std::stoull(m.substr(at + sizeof("\nhooksim_deliveries_total ") - 1));
}

// --- subscribe
// -----------------------------------------------------------------------------------------------
int subscribe(const std::string& api, uint64_t count, const std::string& target, bool per_vehicle) {
  Http http;
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    Json sub = {{"id", fmt::format("sub-{:06}", i)}, {"url", target}, {"token", "bench-token"}};
    if (per_vehicle) sub["filter"] = {{"vehicles", {fmt::format("v-{}", i)}}};
    std::string body = sub.dump();
    long st = http.request(api + "/v1/subscriptions", &body);
    if (st != 201) die(fmt::format("POST /v1/subscriptions answered {}: {}", st, http.body()));
  }
  Json out = {{"subscriptions", count}, {"seconds", seconds_since(t0)}};
  std::cout << out.dump() << "\n";
  return 0;
}

// --- publish
// -------------------------------------------------------------------------------------------------
int publish(const std::string& api, uint64_t events, double seconds, int connections, int batch,
            uint64_t vehicles, const std::string& prefix) {
  std::atomic<uint64_t> next{0}, accepted{0}, requests{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  auto t0 = Clock::now();
  auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      Http http;
      std::vector<double> mine;
      std::string body;
      for (;;) {
        if (seconds > 0 && Clock::now() >= deadline) break;
        uint64_t first = next.fetch_add(static_cast<uint64_t>(batch));
        if (events > 0 && first >= events) break;
        uint64_t end = events > 0 ? std::min(events, first + static_cast<uint64_t>(batch)) : first + batch;
        body = "[";
        for (uint64_t n = first; n < end; ++n) {
          if (n != first) body += ',';
          body += event_json(fmt::format("{}-{}", prefix, n), n % vehicles);
        }
        body += ']';
        auto sent = Clock::now();
        long st = http.request(api + "/v1/events", &body);
        if (st != 202) die(fmt::format("POST /v1/events answered {}: {}", st, http.body()));
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        accepted += end - first;
        ++requests;
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double took = seconds_since(t0);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  Json out = {{"events", accepted.load()},
              {"requests", requests.load()},
              {"batch", batch},
              {"connections", connections},
              {"seconds", took},
              {"events_per_s", static_cast<double>(accepted.load()) / took},
              {"request_p50_ms", util::percentile(latencies_ms, 0.50)},
              {"request_p99_ms", util::percentile(latencies_ms, 0.99)}};
  std::cout << out.dump() << "\n";
  return 0;
}

// --- wait
// --------------------------------------------------------------------------------------------------- Polls
// /metrics every 20 ms until `target` deliveries; prints when the count first moved and when it got there.
// Each poll costs serve the whole metrics text (per subscription), which the benchmark's CPU figure counts:
// 20 ms keeps that small while adding at most 20 ms to a run of seconds.
int wait_delivered(const std::string& api, uint64_t target, double timeout_s) {
  Http http;
  auto t0 = Clock::now();
  uint64_t start = delivered_total(http, api), now = start;
  double first_move = -1;
  while (now < target) {
    if (seconds_since(t0) > timeout_s) die(fmt::format("timed out: {} of {} delivered", now, target));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll interval, not a wait for an outcome
    now = delivered_total(http, api);
    if (first_move < 0 && now > start) first_move = seconds_since(t0);
  }
  Json out = {{"delivered", now}, {"seconds", seconds_since(t0)}, {"first_delivery_s", first_move}};
  std::cout << out.dump() << "\n";
  return 0;
}

// --- latency
// ------------------------------------------------------------------------------------------------- Publishes
// one event per request at a fixed rate to a subscription whose receiver runs in this process, and measures
// each event from the start of its publish request to its arrival at the receiver.
int latency(const std::string& api, double rate, double seconds) {
  const uint64_t total = static_cast<uint64_t>(rate * seconds);
  std::vector<Clock::time_point> sent(total), arrived(total);
  std::vector<std::atomic<bool>> seen(total);
  std::atomic<uint64_t> received{0};
  const std::string prefix = fmt::format("lat{}-", getpid());

  boost::asio::io_context ioc;
  receiver::ReceiverOptions ro;
  ro.on_request = [&](const receiver::RequestRecord& r) {
    if (!r.event || r.event->rfind(prefix, 0) != 0) return;
    uint64_t n = std::stoull(r.event->substr(prefix.size()));
    if (n < total && !seen[n].exchange(true)) {
      arrived[n] = Clock::now();
      ++received;
    }
  };
  receiver::MockReceiver receiver(ioc, ro);
  if (Status st = receiver.listen("127.0.0.1:0"); !st.ok()) die(st.message());
  std::thread server([&] { ioc.run(); });

  Http http;
  std::string sub = Json{{"id", "latency-probe"},
                         {"url", receiver.url()},
                         {"token", "bench-token"},
                         {"filter", {{"types", {"latency"}}}}}
                        .dump();
  if (long st = http.request(api + "/v1/subscriptions", &sub); st != 201)
    die(fmt::format("subscribe: {}", st));
  auto t0 = Clock::now();
  auto interval = std::chrono::duration<double>(1.0 / rate);
  for (uint64_t n = 0; n < total; ++n) {
    auto due = t0 + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
    std::this_thread::sleep_until(due);  // pacing the offered load
    std::string body = event_json(prefix + std::to_string(n), 0, "latency");
    sent[n] = Clock::now();
    if (long st = http.request(api + "/v1/events", &body); st != 202) die(fmt::format("publish: {}", st));
  }
  double offered_s = seconds_since(t0);
  auto drain_deadline = Clock::now() + std::chrono::seconds(30);
  while (received.load() < total && Clock::now() < drain_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll for the stragglers
  receiver.stop();
  server.join();
  std::vector<double> ms;
  for (uint64_t n = 0; n < total; ++n)
    if (seen[n]) ms.push_back(std::chrono::duration<double, std::milli>(arrived[n] - sent[n]).count());
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  Json out = {{"rate", rate},
              {"offered_per_s", static_cast<double>(total) / offered_s},
              {"events", total},
              {"delivered", ms.size()},
              {"p50_ms", util::percentile(sorted, 0.50)},
              {"p90_ms", util::percentile(sorted, 0.90)},
              {"p99_ms", util::percentile(sorted, 0.99)},
              {"max_ms", sorted.empty() ? 0.0 : sorted.back()}};
  std::cout << out.dump() << "\n";
  return ms.size() == total ? 0 : 1;
}

// --- fill
// ---------------------------------------------------------------------------------------------------- Writes
// the store `serve --data DIR` would hold after N subscriptions (one vehicle each) had M events each
// published while their receiver was away: configs, states (nothing attempted yet) and queued envelopes,
// through the same RocksQueueStore. Faster than publishing 10M events over HTTP, and the same bytes.
int fill(const std::string& dir, uint64_t subs, uint64_t per_sub, const std::string& target) {
  auto t0 = Clock::now();
  auto store = storage::RocksQueueStore::open(dir, storage::StoreOptions{.sync = false});
  if (!store.ok()) die(store.status().message());
  const TimePoint at = TimePoint(std::chrono::days(20454));
  uint64_t bytes = 0;
  for (uint64_t key = 1; key <= subs;) {
    auto batch = (*store)->new_batch();
    for (int n = 0; n < 100 && key <= subs; ++n, ++key) {
      SubscriptionConfig c;
      c.id = fmt::format("sub-{:06}", key - 1);
      c.endpoint.url = target;
      c.endpoint.token = "bench-token";
      c.filter.vehicles = {fmt::format("v-{}", key - 1)};
      DeliveryState st;
      st.next_seq = per_sub + 1;
      batch->put_config(key, c);
      batch->put_state(key, st);
      for (uint64_t seq = 1; seq <= per_sub; ++seq) {
        Event e{fmt::format("fill-{}-{}", key - 1, seq),
                "tracking",
                "acme",
                c.filter.vehicles[0],
                at,
                R"({"lat":38.72231,"lon":-9.13934,"speed_kmh":72,"heading":184,"ignition":true})"};
        std::string body = protocol::make_envelope(e);
        bytes += body.size();
        batch->enqueue(key, seq, at, e.id, body);
      }
    }
    if (Status st = (*store)->write(*batch, Durability::kBuffered); !st.ok()) die(st.message());
  }
  store->reset();  // closes (flushes the memtable)
  Json out = {{"subscriptions", subs},
              {"events", subs * per_sub},
              {"body_bytes", bytes},
              {"seconds", seconds_since(t0)}};
  std::cout << out.dump() << "\n";
  return 0;
}

// --- restart
// -------------------------------------------------------------------------------------------------
long rss_kib(pid_t pid, const char* field) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return -1;
}

// Starts `hooksim serve --data DIR` with a receiver already listening on 127.0.0.1:PORT (where the filled
// subscriptions point), and measures the time from the spawn to the first delivery, then samples the
// server's RSS for `seconds` while it drains. Then stops it with SIGTERM, or SIGKILL with `crash` (the next
// start then replays RocksDB's log, as after a real crash).
int restart(const std::string& bin, const std::string& dir, int port, double seconds, bool crash) {
  std::atomic<int64_t> first_ns{-1};
  std::atomic<uint64_t> delivered{0};
  Clock::time_point spawned;
  boost::asio::io_context ioc;
  receiver::ReceiverOptions ro;
  ro.on_request = [&](const receiver::RequestRecord&) {
    int64_t expected = -1;
    first_ns.compare_exchange_strong(expected, (Clock::now() - spawned).count());
    ++delivered;
  };
  receiver::MockReceiver receiver(ioc, ro);
  if (Status st = receiver.listen(fmt::format("127.0.0.1:{}", port)); !st.ok()) die(st.message());
  std::thread server([&] { ioc.run(); });

  std::vector<std::string> args = {bin, "serve", "--data", dir, "--listen", "127.0.0.1:0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  spawned = Clock::now();
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0) die("cannot start " + bin);
  posix_spawn_file_actions_destroy(&fa);

  Json samples = Json::array();
  long peak = 0;
  while (seconds_since(spawned) < seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the sampling period
    long rss = rss_kib(pid, "VmRSS:");
    if (rss < 0) die("hooksim serve exited early");
    peak = std::max(peak, rss_kib(pid, "VmHWM:"));
    samples.push_back(
        {{"t_s", seconds_since(spawned)}, {"rss_mib", rss / 1024.0}, {"delivered", delivered.load()}});
  }
  kill(pid, crash ? SIGKILL : SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  receiver.stop();
  server.join();
  Json out = {{"first_delivery_ms", first_ns < 0 ? -1.0 : static_cast<double>(first_ns.load()) / 1e6},
              {"delivered", delivered.load()},
              {"rss_peak_mib", static_cast<double>(peak) / 1024.0},
              {"samples", samples}};
  std::cout << out.dump() << "\n";
  return first_ns < 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hooksim_load: load generator and probes for scripts/bench.sh"};
  app.require_subcommand(1);
  std::string api, target, data, bin, prefix = "load";
  uint64_t count = 0, events = 0, vehicles = 1000, delivered = 0, per_sub = 0;
  double seconds = 0, rate = 0, timeout = 600;
  int connections = 4, batch = 100, port = 0;
  bool per_vehicle = false;

  auto* sub = app.add_subcommand("subscribe", "create N subscriptions (sub-000000 ...) delivering to TARGET");
  sub->add_option("--api", api)->required();
  sub->add_option("--count", count)->required();
  sub->add_option("--target", target)->required();
  sub->add_flag("--per-vehicle", per_vehicle, "subscription i gets only vehicle v-i");

  auto* pub = app.add_subcommand("publish", "publish tracking events in batches over C connections");
  pub->add_option("--api", api)->required();
  pub->add_option("--events", events, "stop after N events");
  pub->add_option("--seconds", seconds, "stop after S seconds");
  pub->add_option("--connections", connections)->check(CLI::Range(1, 256));
  pub->add_option("--batch", batch)->check(CLI::Range(1, 10000));
  pub->add_option("--vehicles", vehicles, "events cycle over vehicles v-0 .. v-(V-1)")
      ->check(CLI::Range(1, 100000000));
  pub->add_option("--prefix", prefix, "event ids are PREFIX-n");

  auto* wait = app.add_subcommand("wait", "poll /metrics until N deliveries");
  wait->add_option("--api", api)->required();
  wait->add_option("--delivered", delivered)->required();
  wait->add_option("--timeout", timeout);

  auto* lat = app.add_subcommand("latency", "publish-to-delivery latency at a fixed publish rate");
  lat->add_option("--api", api)->required();
  lat->add_option("--rate", rate)->required()->check(CLI::PositiveNumber);
  lat->add_option("--seconds", seconds)->required()->check(CLI::PositiveNumber);

  auto* fil = app.add_subcommand("fill", "write a store of N subscriptions x M queued events");
  fil->add_option("--data", data)->required();
  fil->add_option("--subs", count)->required();
  fil->add_option("--per-sub", per_sub)->required();
  fil->add_option("--target", target)->required();

  auto* rst = app.add_subcommand("restart", "start serve on a filled store: time to first delivery, RSS");
  rst->add_option("--hooksim", bin)->required();
  rst->add_option("--data", data)->required();
  rst->add_option("--port", port)->required();
  double sample_seconds = 10;
  rst->add_option("--seconds", sample_seconds, "how long to sample RSS (default 10)");
  bool crash = false;
  rst->add_flag("--crash", crash, "stop serve with SIGKILL instead of SIGTERM");

  auto* fp = app.add_subcommand("free-port", "print a TCP port of 127.0.0.1 that is free now");

  CLI11_PARSE(app, argc, argv);
  if (*fp) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    std::cout << a.local_endpoint().port() << "\n";
    return 0;
  }
  if (*sub) return subscribe(api, count, target, per_vehicle);
  if (*pub) {
    if ((events == 0) == (seconds == 0)) die("publish: give one of --events or --seconds");
    return publish(api, events, seconds, connections, batch, vehicles, prefix);
  }
  if (*wait) return wait_delivered(api, delivered, timeout);
  if (*lat) return latency(api, rate, seconds);
  if (*fil) return fill(data, count, per_sub, target);
  if (*rst) return restart(bin, data, port, sample_seconds, crash);
  return 2;
}
