// Runs a scenario: the real engine and store, a VirtualScheduler and a SimTransport.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "engine/delivery_observer.h"
#include "engine/status.h"
#include "net/curl_transport.h"
#include "sim/scenario.h"

namespace hooksim::sim {

struct RunOptions {
  // kVirtual (`simulate`): a virtual clock; every subscription needs a simulated receiver.
  // kAccelerated (`run`): real requests to subscriptions with a url (simulated receivers for the others);
  // the clock runs at `speed` x real time while a request is in flight and jumps over idle gaps.
  enum class Clock { kVirtual, kAccelerated };
  Clock clock = Clock::kVirtual;
  double speed = 1.0;
  net::CurlOptions curl;  // kAccelerated: TLS and connection settings
  // Store directory. Empty: the queues are kept in memory (storage::MemoryQueueStore) for the run.
  // Otherwise a RocksDB store is created there; the directory must not hold one already (a scenario starts
  // from nothing) and is kept.
  std::string data_dir;
  std::ostream* log = nullptr;       // the JSON Lines attempt log, if wanted
  std::ostream* timeline = nullptr;  // a human-readable timeline, if wanted
  bool log_payloads = false;         // publish records in the log carry the delivery body (for replay)
  std::vector<DeliveryObserver*> observers;  // also told everything the engine reports (e.g. a progress line)
};

struct SubscriptionSummary {
  std::string id;
  std::string state;
  uint64_t delivered = 0;
  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t backlog = 0;
  uint64_t discarded = 0;
  uint64_t dropped_inactive = 0;
};

struct Summary {
  uint64_t events_published = 0;
  uint64_t delivered = 0;
  uint64_t attempts = 0;
  uint64_t failed_attempts = 0;
  uint64_t discarded = 0;
  uint64_t dropped_inactive = 0;
  std::vector<std::string> deactivated;
  uint64_t order_violations = 0;
  int64_t virtual_ms = 0;
  int64_t wall_ms = 0;
  std::vector<SubscriptionSummary> subscriptions;

  // {"events_published",...,"wall_ms","subscriptions":{id:{...}}} in this order.
  nlohmann::ordered_json to_json() const;
};

// Whether `scenario` can run with `options`, without running anything: InvalidArgument when
// options.data_dir exists and is not empty (a scenario starts from an empty store), or, naming the field by
// its JSON path, when a subscription has a url under kVirtual (simulate sends nothing over the network), or
// when options.curl.refuse_private_addresses is set and a url's host is a literal private or loopback
// address (net::check_url_host_not_private; a name is judged by CurlTransport on the address it connects
// to). run_simulation() checks this first; a caller that writes files may check it before creating them.
Status check_scenario_fits(const Scenario& scenario, const RunOptions& options);

// Runs `scenario` from its start to start + duration. Errors: InvalidArgument when the scenario does not
// fit the options (check_scenario_fits); IOError when the store could not be opened or written.
Result<Summary> run_simulation(const Scenario& scenario, const RunOptions& options);

}  // namespace hooksim::sim
