// Gate: what a `hooksim check` run has learnt about valid deliveries (signed, or carrying the token,
// exactly as the sender's). Every check but accepts_valid and https judges the receiver on the premise that
// a valid delivery is accepted in time: a forgery refused with 401 proves nothing when the valid delivery got
// 401 too, and a receiver that never answers within the timeout makes every later check wait it out again.
// So the run learns from the first check that sends valid deliveries (accepts_valid, when it runs) and,
// once the gate is closed, the dependent checks are SKIPped with its cause instead of being judged.
//
//   Gate gate;
//   gate.start_check();
//   ... gate.saw_valid(probe, answer.error) for each valid delivery sent ...
//   gate.end_check("accepts_valid", "secret", timeout);
//   if (gate.closed()) ... SKIP with gate.cause() ...
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "check/check.h"
#include "engine/subscription.h"

namespace hooksim::check {

// The likely cause of a valid delivery not being accepted, as one phrase for a figure: e.g. for a 401 with
// a secret, "correctly signed deliveries were rejected with 401: secret mismatch? (--secret must be the
// whsec_ secret the receiver verifies with)". `auth` is "secret", "token" or "none" (Report::auth).
// REQUIRES: `miss` was not met (its answer is not 2xx).
std::string diagnose(const ProbeRecord& miss, ErrorClass error, std::string_view auth, Duration timeout);

class Gate {
 public:
  enum class State {
    kUnknown,   // no check has sent a valid delivery yet
    kOpen,      // a valid delivery was accepted and none has timed out
    kRejected,  // the first check to send valid deliveries had none accepted
    kTimedOut,  // a valid delivery got no answer within the timeout
  };

  State state() const { return state_; }
  bool closed() const { return state_ == State::kRejected || state_ == State::kTimedOut; }
  // Why it is closed: diagnose() of the miss that closed it. "" while not closed.
  const std::string& cause() const { return cause_; }
  // Who closed it: the check whose delivery did (or "a valid control delivery"). "" while not closed.
  const std::string& found_by() const { return found_by_; }

  // Forgets the previous check's deliveries. Call before each check.
  void start_check();
  // Records one valid delivery of the current check: its probe and the error class of its answer.
  void saw_valid(const ProbeRecord& probe, ErrorClass error);
  // Whether a valid delivery of the current check timed out (the check should send nothing more).
  bool timed_out_in_check() const { return timeout_.has_value(); }
  // Learns from the current check `check`'s valid deliveries: a timeout closes the gate (kTimedOut) whatever
  // its state; while it is unknown, a check that sent valid deliveries opens it if one was accepted and
  // closes it (kRejected) otherwise. Returns true when this call closed it.
  bool end_check(std::string_view check, std::string_view auth, Duration timeout);

 private:
  struct Miss {
    ProbeRecord probe;
    ErrorClass error;
  };
  State state_ = State::kUnknown;
  std::string cause_, found_by_;
  size_t sent_ = 0, accepted_ = 0;
  std::optional<Miss> first_miss_, timeout_;
};

}  // namespace hooksim::check
