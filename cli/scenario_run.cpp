#include "cli/scenario_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <vector>

#include "engine/clock.h"
#include "net/address_policy.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "service/shards.h"
#include "storage/memory_store.h"
#include "storage/rocks_store.h"

namespace hooksim::cli {
namespace {

// The store of one run (sim::RunWiring::open_store). In memory it outlives the engine, as a directory
// outlives a process; in a directory, a simulated crash is a close and reopen.
class RunStore {
 public:
  explicit RunStore(std::string data_dir) : dir_(std::move(data_dir)) {}

  Result<QueueStore*> open() {
    if (dir_.empty()) {
      if (!store_) store_ = std::make_unique<storage::MemoryQueueStore>();
      return store_.get();
    }
    store_.reset();  // closed before it is opened again
    // Not synced: a simulated crash is a close and reopen, so nothing in the WAL is lost.
    auto store = storage::RocksQueueStore::open(dir_, {.sync = false});
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    return store_.get();
  }

 private:
  std::string dir_;
  std::unique_ptr<QueueStore> store_;
};

Status check_data_dir(const std::string& dir) {
  if (!dir.empty() && std::filesystem::exists(dir) && !std::filesystem::is_empty(dir))
    return Status::InvalidArgument(
        fmt::format("--data {}: directory is not empty (a scenario starts from an empty store)", dir));
  return Status::OK();
}

}  // namespace

Status check_simulate_fits(const sim::Scenario& scenario, const std::string& data_dir) {
  HOOKSIM_RETURN_IF_ERROR(check_data_dir(data_dir));
  return sim::check_scenario_fits(scenario, /*real_receivers=*/false);
}

Status check_run_fits(const sim::Scenario& scenario, const std::string& data_dir,
                      const net::CurlOptions& curl) {
  HOOKSIM_RETURN_IF_ERROR(check_data_dir(data_dir));
  if (!curl.refuse_private_addresses) return Status::OK();
  for (size_t i = 0; i < scenario.subscriptions.size(); ++i) {
    const sim::ScenarioSubscription& s = scenario.subscriptions[i];
    if (!s.real()) continue;
    if (Status st = net::check_url_host_not_private(s.config.endpoint.url); !st.ok())
      return Status::InvalidArgument(fmt::format("subscriptions[{}].url: {}", i, st.message()));
  }
  return Status::OK();
}

Result<sim::Summary> simulate_scenario(const sim::Scenario& scenario, const sim::RunOptions& options,
                                       const std::string& data_dir) {
  HOOKSIM_RETURN_IF_ERROR(check_simulate_fits(scenario, data_dir));
  VirtualScheduler scheduler(scenario.start);
  RunStore store(data_dir);
  return sim::run_simulation(scenario, options,
                             {.scheduler = &scheduler,
                              .run_until = [&](TimePoint end) { scheduler.run_until(end); },
                              .open_store = [&] { return store.open(); }});
}

namespace {

// run --threads N, N > 1: one shard per thread, each with its own io_context, scheduler on the shared
// clock, curl multi and store (in memory, or data_dir/shard-K).
Result<sim::Summary> run_threads(const sim::Scenario& scenario, const sim::RunOptions& options,
                                 const std::string& data_dir, const net::CurlOptions& curl, bool skip_idle,
                                 uint32_t threads) {
  struct Shard {
    explicit Shard(std::string dir) : store(std::move(dir)) {}
    boost::asio::io_context io;
    std::unique_ptr<net::AsioScheduler> scheduler;
    std::unique_ptr<net::CurlTransport> http;
    RunStore store;
  };
  if (!data_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return Status::IOError(fmt::format("--data {}: {}", data_dir, ec.message()));
  }
  net::SharedClock clock(scenario.start, curl.speed, threads);
  net::CurlOptions curl_options = curl;
  // The cap on connections per host is the run's: each shard gets its share.
  curl_options.max_host_connections = std::max<long>(1, curl.max_host_connections / threads);
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<sim::RunWiring> wirings;
  for (uint32_t k = 0; k < threads; ++k) {
    auto& s = *shards.emplace_back(
        std::make_unique<Shard>(data_dir.empty() ? "" : fmt::format("{}/shard-{}", data_dir, k)));
    s.scheduler = std::make_unique<net::AsioScheduler>(
        s.io, net::AsioSchedulerOptions{.start = scenario.start,
                                        .speed = curl.speed,
                                        .skip_idle = skip_idle,
                                        .busy = [&s] { return s.http->in_flight() > 0; },
                                        .shared = &clock,
                                        .member = k,
                                        .keep_past_times = true});
    s.http = std::make_unique<net::CurlTransport>(s.io, *s.scheduler, curl_options);
    wirings.push_back({.scheduler = s.scheduler.get(),
                       .run_until = [&s](TimePoint end) { s.scheduler->run_until(end); },
                       .open_store = [&s] { return s.store.open(); },
                       .http = s.http.get()});
  }
  return sim::run_sharded(scenario, options, wirings,
                          [threads](std::string_view id) { return service::Shards::shard_of(id, threads); });
}

}  // namespace

Result<sim::Summary> run_scenario(const sim::Scenario& scenario, const sim::RunOptions& options,
                                  const std::string& data_dir, double speed, const net::CurlOptions& curl,
                                  bool skip_idle, uint32_t threads) {
  HOOKSIM_RETURN_IF_ERROR(check_run_fits(scenario, data_dir, curl));
  net::CurlOptions curl_options = curl;
  curl_options.speed = speed;  // timeouts are on the accelerated clock
  if (!skip_idle) curl_options.min_real_timeout = kTimeScaleTimeoutFloor;
  if (threads > 1) return run_threads(scenario, options, data_dir, curl_options, skip_idle, threads);
  boost::asio::io_context io;
  net::CurlTransport* http = nullptr;
  auto busy = [&http] { return http->in_flight() > 0; };
  net::AsioScheduler scheduler(
      io, {.start = scenario.start, .speed = speed, .skip_idle = skip_idle, .busy = busy});
  net::CurlTransport transport(io, scheduler, curl_options);
  http = &transport;
  RunStore store(data_dir);
  return sim::run_simulation(scenario, options,
                             {.scheduler = &scheduler,
                              .run_until = [&](TimePoint end) { scheduler.run_until(end); },
                              .open_store = [&] { return store.open(); },
                              .http = &transport});
}

SkippedIdleWatch::SkippedIdleWatch(const sim::Scenario& scenario, WallClock wall)
    : wall_(std::move(wall)), started_(wall_()) {
  for (const sim::ScenarioSubscription& s : scenario.subscriptions) {
    if (!s.real()) continue;
    order_.emplace_back(s.config.id, s.config.policy.give_up_after);
    subs_.emplace(s.config.id, Watched{});
  }
}

void SkippedIdleWatch::on_attempt(const AttemptRecord& r) {
  auto it = subs_.find(r.sub);
  if (it == subs_.end()) return;
  Watched& w = it->second;
  if (w.attempts++ == 0) w.first_started = r.started;
  w.last_started = r.started;
  if (!r.delivered()) {
    ++w.failed;
    w.last_failure_wall = wall_() - started_;
  }
}

void SkippedIdleWatch::on_lifecycle(const LifecycleRecord& r) {
  if (r.kind != LifecycleRecord::Kind::kDeactivated) return;
  auto it = subs_.find(r.sub);
  if (it == subs_.end() || it->second.deactivated_wall) return;
  it->second.deactivated_wall = wall_() - started_;
}

std::vector<std::string> SkippedIdleWatch::warnings() const {
  // "12 ms" under a second (a skipped week often takes less), else "3.4 s".
  auto real = [](std::chrono::steady_clock::duration d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms < 1000 ? fmt::format("{} ms", ms) : fmt::format("{:.1f} s", static_cast<double>(ms) / 1000);
  };
  auto attempts = [](uint64_t n) { return fmt::format("{} attempt{}", n, n == 1 ? "" : "s"); };
  std::vector<std::string> out;
  for (const auto& [id, give_up_after] : order_) {
    const Watched& w = subs_.find(id)->second;
    if (w.deactivated_wall && *w.deactivated_wall < kShortWallTime) {
      out.push_back(fmt::format(
          "subscription {} was deactivated after {} of real time: run skips idle time, so its whole "
          "retry schedule ({}, deactivation after {} of virtual time) ran while the receiver was down; to "
          "keep "
          "the schedule in step with real time, use --time-scale 3600 (a real second is a virtual hour)",
          id, real(*w.deactivated_wall), attempts(w.attempts), format_duration(give_up_after)));
    } else if (!w.deactivated_wall && w.attempts > 0 && w.failed == w.attempts &&
               w.last_failure_wall < kShortWallTime) {
      out.push_back(fmt::format(
          "every attempt to subscription {} failed ({} over {} of virtual time, in {} of real time): "
          "run skips idle time, so its retries ran back to back; if the receiver was down for a while only, "
          "use --time-scale 3600 (a real second is a virtual hour)",
          id, attempts(w.attempts), format_duration(w.last_started - w.first_started),
          real(w.last_failure_wall)));
    }
  }
  return out;
}

}  // namespace hooksim::cli
