// The per-subscription rules of delivery, as functions of a DeliveryState and a RetryPolicy alone: no
// store, no timers, no transport. The Engine (engine.cpp) applies them and does the I/O they imply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/retry_policy.h"
#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim {

// The attempt count kept for queued event `seq` (DeliveryState::attempted), created at 0 when absent.
uint32_t& attempts_for(DeliveryState& st, uint64_t seq);

// Forgets the attempt count of `seq` (it left the queue).
void forget_attempts(DeliveryState& st, uint64_t seq);

// The newest event still queued. REQUIRES: st.backlog() > 0.
uint64_t newest_queued(const DeliveryState& st);

// Takes queued event `seq` out of the queue (delivered, or dropped as exhausted): advances the head past
// it (and past events already out ahead of it), or remembers it in delivered_ahead. Its attempt count is
// forgotten.
void remove_from_queue(DeliveryState& st, uint64_t seq);

// A failed attempt, as the engine saw it.
struct FailedAttempt {
  uint64_t seq = 0;                     // the event it carried
  uint32_t attempt = 0;                 // that event's attempt number, from 1
  int status = 0;                       // its HTTP status, 0 when none
  TimePoint ended;                      // when the failure was known (now)
  std::optional<Duration> retry_after;  // what the answer's Retry-After asked for
  double jitter_draw = 0;               // the jitter's uniform draw in [0, 1) for the next delay
};

// What a failed attempt leads to.
struct FailureOutcome {
  bool streak_began = false;  // the first failure since a success: the deadline must be armed
  bool exhausted = false;     // the event used up max_attempts and left the queue
  // Deactivate now (disable_on_status, disable_after), with this reason; st.next_attempt is then unset.
  std::optional<std::string> disable;
  // apply_unordered_failure only: when the event's own retry is due (none when it is exhausted, the
  // subscription deactivates, or no retry fits before the deadline).
  std::optional<TimePoint> due;
};

// Applies a failed attempt to `st` under `policy`: counts it, starts or continues the streak, drops the
// event when it used up max_attempts (the next queued event, if any, is then due at once and starts the
// schedule afresh; the streak goes on), and sets st.next_attempt from the schedule (jittered), a honoured
// Retry-After, or none (waiting to give up, or deactivating). REQUIRES: st is not deactivated.
FailureOutcome apply_failure(const RetryPolicy& policy, DeliveryState& st, const FailedAttempt& failed);

// Ordering::kUnordered: applies a failed attempt of event `failed.seq` to `st`. The streak is the
// subscription's, as with FIFO: counted across events, ended by any success, deactivating at
// give_up_after and by disable_on_status / disable_after. The event itself is dropped as exhausted when
// `failed.attempt` used up max_attempts; otherwise its retry is planned from its own failures
// (`failed.attempt`), jittered or replaced by a honoured Retry-After, and recorded in st.retry_at (with no
// due time when none fits before the deadline). st.next_attempt becomes the earliest due time of
// st.retry_at. REQUIRES: st is not deactivated.
FailureOutcome apply_unordered_failure(const RetryPolicy& policy, DeliveryState& st,
                                       const FailedAttempt& failed);

// The earliest due time in st.retry_at; nullopt when none has one.
std::optional<TimePoint> earliest_retry(const DeliveryState& st);

}  // namespace hooksim
