// The wiring of `hooksim bench URL` (docs/bench.md): N subscriptions, all to one receiver, delivered by the
// real engine with CurlTransport on an AsioScheduler whose clock runs kBenchClockSpeed times real time
// (so the retry schedule's minutes pass in a fraction of a second), the queues in memory
// (storage::MemoryQueueStore). With --threads T, T shards, each a thread with all of that and its own
// share of the subscriptions (i mod T) and of the rate, started on one clock; their results add up. Events
// arrive open-loop, at a fixed total rate on a timer whatever the receiver does, or, with no rate ("max"), so
// that every subscription always has events queued. What the engine reports (DeliveryObserver) and what its
// SubscriptionViews say at the end make the BenchResult.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/subscription.h"
#include "engine/time.h"
#include "net/curl_transport.h"
#include "util/log_histogram.h"

namespace hooksim::cli {

// How much faster than real time the bench's clock runs: one hour of the retry schedule per real second.
// Attempt timeouts are not accelerated (CurlOptions::speed stays 1): an attempt may take 10 real seconds.
inline constexpr double kBenchClockSpeed = 3600;
// With no rate ("max"), each subscription's queue is topped up to this many events after each delivery:
// one in flight and the next ones ready, so a subscription never waits for the publisher.
inline constexpr uint64_t kMaxRateQueueDepth = 4;

// The highest --rate: far above what one sender thread delivers, low enough that a timer's batch stays small.
inline constexpr double kMaxBenchRate = 1e6;
// The most --threads (as serve's).
inline constexpr uint32_t kMaxBenchThreads = 256;

struct BenchOptions {
  std::string url;  // http:// or https://; each subscription's url is subscription_url(url, id)
  uint32_t subscriptions = 100;
  uint32_t threads = 1;                          // shards: 1 .. min(kMaxBenchThreads, subscriptions)
  std::optional<double> rate;                    // events per second in total, > 0; nullopt: "max"
  Duration duration = std::chrono::seconds(30);  // real time during which events are published
  Duration drain = std::chrono::seconds(5);      // at most this much real time after that
  std::string secret;                            // at most one of secret and token
  std::string token;
  net::CurlOptions curl;             // TLS settings; max_host_connections is set to the subscription count
  std::ostream* progress = nullptr;  // a one-line progress display (a terminal), redrawn in place
};

// What a bench measured. Times are real time.
struct BenchResult {
  std::string url;
  uint32_t subscriptions = 0;
  uint32_t threads = 1;
  std::optional<double> rate;
  Duration duration{0}, drain_limit{0};
  Duration drained{0};  // the real time the drain took (up to drain_limit)
  int64_t wall_ms = 0;

  // The balance: published == delivered + queued + in_flight + discarded (balanced()).
  uint64_t published = 0;  // events the publisher had accepted by the engine
  uint64_t delivered = 0;  // delivered attempts (2xx), as the observer heard them
  uint64_t queued = 0;     // events queued at the end, not in flight (from the engine's states)
  uint64_t in_flight = 0;  // attempts still in flight at the end
  uint64_t discarded = 0;  // discarded by deactivation plus dropped while deactivated

  uint64_t attempts = 0;  // completed attempts
  uint64_t retries = 0;   // completed attempts with an attempt number above 1
  // Failed attempts by ErrorClass (index kNone unused).
  std::array<uint64_t, static_cast<size_t>(ErrorClass::kPrivateAddress) + 1> failures{};
  std::vector<uint64_t> deliveries_per_second;  // [i]: deliveries that completed in second i of the run
  uint64_t delivered_in_duration = 0;           // those that completed before the publishing stopped
  util::LogHistogram latency_us;                // response time of every completed attempt, microseconds
  std::vector<std::string> store_errors;        // failures the engine reported (DeliveryObserver::on_error)

  bool balanced() const { return published == delivered + queued + in_flight + discarded; }
  // Deliveries per second while events were published: delivered_in_duration / duration.
  double rate_per_second() const;
  // What FIFO ordering allows at the measured response time (Little's law): N subscriptions, each with at
  // most one attempt in flight, over the mean response time; 0 when no attempt completed.
  double fifo_bound_per_second() const;
  // The JSON document of docs/bench.md, fields in that order.
  nlohmann::ordered_json to_json() const;
};

// "sub-0007": the id of subscription `index` of `count`, zero-padded to at least 4 digits (ids sort in
// index order).
std::string bench_subscription_id(uint32_t index, uint32_t count);
// `base` with "/" + `id` appended to its path (before any query or fragment; a trailing "/" of the path is
// not doubled): "http://h:8080/hook?x=1" and "sub-0007" give "http://h:8080/hook/sub-0007?x=1".
std::string bench_subscription_url(std::string_view base, std::string_view id);

// InvalidArgument, naming the flag, when an option cannot be run: a url that is not http(s), a rate that is
// not positive or above kMaxBenchRate, no subscriptions, a duration that is not positive, a negative drain,
// both a secret and a token, a secret or token that is not valid.
Status check_bench_options(const BenchOptions& options);

// Runs the bench. Errors: those of check_bench_options(), checked first; IOError when the engine could
// not be opened. A run whose store failed returns its result with store_errors set.
Result<BenchResult> run_bench(const BenchOptions& options);

}  // namespace hooksim::cli
