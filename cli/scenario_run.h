// The wiring of `hooksim simulate` and `hooksim run`: the same runner and engine (sim::run_simulation) on
//   simulate: a VirtualScheduler; every subscription answered by its simulated receiver;
//   run:      an AsioScheduler at `speed` x real time while a request is in flight that jumps over idle
//             gaps (or, with --time-scale, at `speed` x real time throughout, without jumps), and
//             CurlTransport for the subscriptions with a url (simulated receivers for the others);
// with the queues in memory (storage::MemoryQueueStore) for the run, or in a RocksDB store created in
// `data_dir`, which must not hold anything yet (a scenario starts from an empty store) and is kept.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/delivery_observer.h"
#include "engine/status.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace hooksim::net {
struct CurlOptions;  // net/curl_transport.h
}

namespace hooksim::cli {

// Whether simulate can run `scenario`, without running or writing anything: InvalidArgument when
// `data_dir` exists and is not empty, or, naming the field by its JSON path, when a subscription has a url
// (simulate sends nothing over the network).
Status check_simulate_fits(const sim::Scenario& scenario, const std::string& data_dir);

// Whether run can: InvalidArgument when `data_dir` exists and is not empty, or when
// curl.refuse_private_addresses is set and a url's host is a literal private or loopback address
// (net::check_url_host_not_private; a name is judged by CurlTransport on the address it connects to).
Status check_run_fits(const sim::Scenario& scenario, const std::string& data_dir,
                      const net::CurlOptions& curl);

// Runs `scenario` as simulate does. Errors: those of check_simulate_fits(), checked first; IOError when the
// store could not be opened or written.
Result<sim::Summary> simulate_scenario(const sim::Scenario& scenario, const sim::RunOptions& options,
                                       const std::string& data_dir = "");

// The least real time an attempt's timeout takes under `run --time-scale`: the policy's attempt timeout is
// virtual time, divided by the scale, but a real HTTP attempt needs real milliseconds (docs/scenario.md).
inline constexpr std::chrono::milliseconds kTimeScaleTimeoutFloor{500};

// Runs `scenario` as run does, with `curl`'s TLS and connection settings (its speed is set to `speed`).
// With `skip_idle` (the default) the clock runs at `speed` x real time while a request is in flight and
// jumps over idle gaps; without it (run --time-scale) it runs at `speed` x real time throughout, so the run
// lasts duration / speed of real time, and attempt timeouts take at least kTimeScaleTimeoutFloor.
// With `threads` > 1 the subscriptions are spread over that many shards by id (service::Shards::shard_of),
// each on a thread of its own with its own curl multi and store (in memory, or in `data_dir`/shard-K), all
// on one clock that skips an idle gap only when no shard has a request in flight (sim::run_sharded).
// Errors: those of check_run_fits(), checked first; IOError when the store could not be opened or written.
Result<sim::Summary> run_scenario(const sim::Scenario& scenario, const sim::RunOptions& options,
                                  const std::string& data_dir, double speed, const net::CurlOptions& curl,
                                  bool skip_idle = true, uint32_t threads = 1);

// Watches a `run` that skips idle time for the trap of a receiver taken down by hand: its retry schedule
// (days of virtual time) runs in the seconds it is down, so it is deactivated, or every attempt fails,
// after a moment of real time. Only subscriptions with a url are watched; real time counts from the watch's
// construction (just before the run).
class SkippedIdleWatch final : public DeliveryObserver {
 public:
  using WallClock = std::function<std::chrono::steady_clock::time_point()>;
  // What counts as a moment of real time: the warnings are for failures within it.
  static constexpr std::chrono::seconds kShortWallTime{60};

  explicit SkippedIdleWatch(const sim::Scenario& scenario, WallClock wall = std::chrono::steady_clock::now);

  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;

  // One line per watched subscription (in scenario order) that was deactivated, or whose every attempt
  // failed, within kShortWallTime of real time: what happened, the likely cause and the flag to use
  // (--time-scale). Empty when nothing of the kind happened.
  std::vector<std::string> warnings() const;

 private:
  struct Watched {
    uint64_t attempts = 0, failed = 0;
    TimePoint first_started, last_started;
    std::chrono::steady_clock::duration last_failure_wall{};              // real time since the start
    std::optional<std::chrono::steady_clock::duration> deactivated_wall;  // the first deactivation's
  };
  WallClock wall_;
  std::chrono::steady_clock::time_point started_;
  std::vector<std::pair<std::string, Duration>> order_;  // (id, policy.give_up_after), in scenario order
  std::map<std::string, Watched, std::less<>> subs_;
};

}  // namespace hooksim::cli
