// A served receiver's behaviour on its clock: what `hooksim receiver --script` answers (docs/receiver.md,
// "Script"). The model and its parser are protocol/receiver_behaviour.h, shared with the simulator; this
// file reads the clock a request's time is on.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "engine/status.h"
#include "protocol/receiver_behaviour.h"

namespace hooksim::receiver {

// Reads a script file: protocol::parse_receiver_behaviour() in the served context plus file and JSON syntax
// errors (all InvalidArgument).
Result<protocol::ReceiverBehaviour> load_script(const std::string& path);

// A served behaviour and its clock. decide() is thread-safe.
class ServedBehaviour {
 public:
  // The fail_rate draws come from an mt19937_64 seeded with `behaviour.seed`, one draw per request outside
  // every window (protocol::ReceiverBehaviour::decide).
  explicit ServedBehaviour(protocol::ReceiverBehaviour behaviour);

  // Sets the origin of the relative clock. REQUIRES: called before decide() runs on another thread.
  void start(std::chrono::steady_clock::time_point origin) { origin_ = origin; }

  // The decision for a request that has just been read; `virtual_time` is its virtual-time header, if any.
  // The request's time is read on the behaviour's clock: the steady time since start(), the wall clock, or
  // (kVirtual) the header's time minus the behaviour's start; a request without a readable header matches
  // no window.
  protocol::ReceiverDecision decide(const std::optional<std::string>& virtual_time);

 private:
  const protocol::ReceiverBehaviour behaviour_;
  std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
  std::mutex rng_mu_;  // guards rng_
  std::mt19937_64 rng_;
};

}  // namespace hooksim::receiver
