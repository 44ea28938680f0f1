// The wiring of `hooksim simulate` and `hooksim run`: the same runner and engine (sim::run_simulation) on
//   simulate: a VirtualScheduler; every subscription answered by its simulated receiver;
//   run:      an AsioScheduler at `speed` x real time while a request is in flight that jumps over idle
//             gaps, and CurlTransport for the subscriptions with a url (simulated receivers for the others);
// with the queues in memory (storage::MemoryQueueStore) for the run, or in a RocksDB store created in
// `data_dir`, which must not hold anything yet (a scenario starts from an empty store) and is kept.
#pragma once

#include <string>

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

// Runs `scenario` as run does, with `curl`'s TLS and connection settings (its speed is set to `speed`).
// Errors: those of check_run_fits(), checked first; IOError when the store could not be opened or written.
Result<sim::Summary> run_scenario(const sim::Scenario& scenario, const sim::RunOptions& options,
                                  const std::string& data_dir, double speed, const net::CurlOptions& curl);

}  // namespace hooksim::cli
