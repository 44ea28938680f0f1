// RetryPolicy: the retry schedule as a value. This file is the only place that knows the delays.
//
// The documented platform schedule (preset "frotcom", the default): after the first failure of an event,
// 3 immediate retries of the same event; then attempts after 5m, 15m, 35m, 1h, 2h30m, 5h, 10h30m, 21h, 2d,
// then once a day; 7 days after the failure streak began, the subscription is deactivated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"

namespace hooksim {

// Which event a scheduled (non-immediate) retry carries.
enum class ProbeMode {
  kHead,  // always the oldest undelivered event (the head of the queue)
  kLive,  // the newest queued event ("try to send a live event"); the backlog drains after it succeeds
};

// How a subscription's queued events relate to each other (docs/policies.md, "ordering").
enum class Ordering {
  // One event at a time, in publish order: a failing event blocks the queue behind it (the platform's
  // contract). The schedule counts the streak's failures.
  kFifo,
  // Up to `concurrency` events in flight at once, each retried on its own schedule (its own failures
  // counted): a failing event does not block the others. A success of any event ends the streak.
  kUnordered,
};

struct RetryPolicy {
  uint32_t immediate_retries = 3;                 // retries of the same event right after the first failure
  Duration immediate_delay{0};                    // delay before each immediate retry
  std::vector<Duration> delays;                   // delays of the scheduled retries, in order
  Duration repeat = std::chrono::days(1);         // delay once `delays` is exhausted; > 0
  Duration give_up_after = std::chrono::days(7);  // deactivate this long after the streak began; > 0
  ProbeMode probe = ProbeMode::kHead;
  Duration attempt_timeout = std::chrono::seconds(10);  // one attempt's total time limit; > 0
  // How deliveries are signed when the subscription has a secret: a scheme's name, opaque to the engine
  // (protocol/signing.h knows the schemes and signs; docs/policies.md, "Signatures").
  std::string signature = "standard-webhooks";
  // Attempts of one event, the first included, after which a failed event is dropped as exhausted and the
  // next event is sent; 0: no limit (frotcom). An event's schedule starts afresh with each event.
  uint32_t max_attempts = 0;
  // HTTP statuses (never 2xx) whose answer deactivates the subscription at once (e.g. 410); empty: none.
  std::vector<int> disable_on_status;
  // Deactivate at the failed attempt that makes this many consecutive failures; 0: off.
  uint32_t disable_after_failures = 0;
  // Deactivate at the first failed attempt that ends this long or longer after the streak began; 0: off.
  // Unlike give_up_after, checked only when an attempt fails (no timer), and retries are not planned
  // around it.
  Duration disable_after_duration{0};
  // Jitter of every delay after a failure, drawn from the scenario's seed: a fraction f (each delay
  // multiplied by a uniform factor in [1 - f, 1 + f)), or a range (a uniform amount in [min, max) added).
  // Both 0: none (frotcom).
  double jitter_fraction = 0;
  Duration jitter_min{0}, jitter_max{0};
  // Retry-After on a 429 or 503 answer: ignored (false, frotcom), or honoured: the delay it asks for,
  // clamped to [retry_after_min, retry_after_max], replaces the schedule's next delay (no jitter).
  bool honour_retry_after = false;
  Duration retry_after_min = std::chrono::seconds(1);
  Duration retry_after_max = std::chrono::hours(10);
  // At most rate_limit_deliveries attempts per rate_limit_per to the subscription (a token bucket on the
  // scheduler's clock, engine/rate_limit.h): a send with no token waits for one, and never fails for it.
  // 0: no limit (frotcom).
  uint32_t rate_limit_deliveries = 0;
  Duration rate_limit_per{0};
  // kFifo (frotcom) or kUnordered, with at most `concurrency` attempts in flight at once (1 with kFifo).
  // A live probe (ProbeMode::kLive) is a FIFO notion: with kUnordered the probe mode is not used.
  Ordering ordering = Ordering::kFifo;
  uint32_t concurrency = 1;

  // The documented platform schedule (see the file comment).
  static RetryPolicy frotcom();

  // The delay between the end of the `failures`-th consecutive failed attempt of a streak and the next
  // attempt, before jitter. REQUIRES: failures >= 1.
  Duration delay_after_failure(uint32_t failures) const;

  // `delay` with the jitter applied, `draw` being a uniform draw in [0, 1); `delay` itself without jitter.
  // Never negative; whole milliseconds, as the attempt log counts them.
  Duration jittered(Duration delay, double draw) const;

  // Whether the attempt that follows the `failures`-th failure is one of the immediate retries (which
  // always carry the head event, whatever the probe mode). REQUIRES: failures >= 1.
  bool is_immediate_retry(uint32_t failures) const { return failures <= immediate_retries; }

  // Whether an event whose `attempts`-th attempt just failed has used up max_attempts.
  bool exhausted(uint32_t attempts) const { return max_attempts != 0 && attempts >= max_attempts; }

  // The time the subscription is deactivated if no attempt succeeds: streak start + give_up_after.
  TimePoint deactivation_time(TimePoint streak_start) const { return streak_start + give_up_after; }

  // The delay that replaces the schedule's after an answer of `status` whose Retry-After asked for
  // `asked`: `asked` clamped to [retry_after_min, retry_after_max] when the policy honours it and the
  // status is 429 or 503; nullopt otherwise (the schedule applies).
  std::optional<Duration> retry_after_delay(int status, std::optional<Duration> asked) const;

  // When to attempt next after the `failures`-th consecutive failure, which ended at `failed_at`, of a
  // streak that began at `streak_start`: `replace` when given (retry_after_delay()), else the jittered()
  // delay, `draw` being the jitter's uniform draw in [0, 1). Returns nullopt when that attempt would fall
  // at or after the deactivation time: no further attempt is made, and deactivation follows at
  // deactivation_time().
  std::optional<TimePoint> next_after_failure(uint32_t failures, TimePoint streak_start, TimePoint failed_at,
                                              double draw = 0,
                                              std::optional<Duration> replace = std::nullopt) const;

  // Why a failed attempt that answered `status` (0: no answer), ending at `now` as the `streak_failures`-th
  // consecutive failure of a streak that began at `streak_start`, deactivates the subscription at once
  // (disable_on_status, then disable_after); nullopt when it does not. The reason is the subscription's
  // deactivation_reason.
  std::optional<std::string> disable_reason(int status, uint32_t streak_failures, TimePoint streak_start,
                                            TimePoint now) const;

  bool operator==(const RetryPolicy&) const = default;
};

const char* to_string(ProbeMode m);
const char* to_string(Ordering o);

}  // namespace hooksim
