// How a webhook receiver behaves: one model for the simulated receiver of a scenario (sim/sim_transport.h)
// and the served mock receiver (`hooksim receiver`, receiver/server.h), and one parser for both of its JSON
// forms: a scenario's `receiver` object (docs/scenario.md) and a `--script` file (docs/receiver.md).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim::protocol {

// What a receiver does with one request.
enum class ReceiverAction {
  kAnswer,   // answer with a status
  kTimeout,  // never answer (simulated: the attempt times out; served: the connection is held open)
  kDrop,     // close the connection without answering (served receivers only)
  kError,    // fail at the connection level: connect, tls, dns, reset (simulated receivers only)
};

// A period with its own behaviour: [from, until) on the behaviour's clock (ReceiverBehaviour::clock).
struct ReceiverWindow {
  Duration from{0};
  Duration until{0};
  ReceiverAction action = ReceiverAction::kAnswer;
  int status = 200;                      // kAnswer only
  ErrorClass error = ErrorClass::kNone;  // kError only
  std::optional<Duration> latency;       // overrides the behaviour's latency inside the window
  std::optional<Duration> retry_after;   // overrides the behaviour's retry_after inside the window
};

// How window times are read.
enum class ReceiverClock {
  kRelative,  // durations since the origin: a scenario's start, or when a served receiver started listening
  kWall,  // absolute wall-clock times (a served receiver; RFC 3339 in its script), as offsets from the epoch
  kVirtual,  // durations after `start`, compared with a request's virtual-time header (a served receiver)
};

// What ReceiverBehaviour::decide() says to do with one request.
struct ReceiverDecision {
  ReceiverAction action = ReceiverAction::kAnswer;
  int status = 200;                      // kAnswer
  ErrorClass error = ErrorClass::kNone;  // kError
  Duration latency{0};                   // before the answer, the drop or the error
  std::optional<Duration> retry_after;   // kAnswer: the Retry-After the answer carries, if any
};

// A receiver's behaviour. Inside the first window containing a request's time it does what the window says;
// outside every window it answers `fail_status` with probability `fail_rate` and `status` otherwise, after
// `latency`.
struct ReceiverBehaviour {
  Duration latency{0};
  int status = 200;
  std::vector<ReceiverWindow> windows;
  double fail_rate = 0.0;
  int fail_status = 503;
  // The Retry-After (whole seconds) that its answers other than 2xx carry; none when unset.
  std::optional<Duration> retry_after;

  // Served receivers only: a simulated receiver runs on its scenario's clock (kRelative to the scenario's
  // start) and draws from a generator seeded by the scenario's seed.
  ReceiverClock clock = ReceiverClock::kRelative;
  TimePoint start{};  // kVirtual: the virtual time of offset 0
  uint64_t seed = 0;  // seeds the fail_rate draws

  // The decision for a request at `t` on this behaviour's clock (nullopt: a time that cannot be read, which
  // matches no window). Draws one number from `rng` exactly when no window matched and fail_rate > 0: a
  // uniform double in [0, 1) from 53 random bits, (rng() >> 11) * 2^-53, the same on every standard library
  // (std::uniform_real_distribution is not), so a seed gives the same answers everywhere.
  ReceiverDecision decide(std::optional<Duration> t, std::mt19937_64& rng) const;
};

// Where a behaviour is used; each context refuses what it cannot honour.
enum class ReceiverContext {
  // A scenario's simulated receiver: statuses from 100, `error` windows, `latency` in any window; no clock,
  // start, seed or drop.
  kSimulated,
  // A served mock receiver's script: `clock`, `start`, `seed`, `drop` windows, statuses from 200 (a 1xx
  // cannot end an exchange), RFC 3339 window bounds on the wall clock; no latency in a timeout window, no
  // connection-level `error`.
  kServed,
};

// Reads and validates a behaviour (the JSON object at `path`, "" for a document's root). Unknown fields are
// errors. On error the status is InvalidArgument and its message is one line naming the field by its JSON
// path and the problem, e.g. "subscriptions[0].receiver.windows[1].until: must be later than from".
Result<ReceiverBehaviour> parse_receiver_behaviour(const nlohmann::json& j, const std::string& path,
                                                   ReceiverContext context);

}  // namespace hooksim::protocol
