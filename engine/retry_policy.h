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

  // The documented platform schedule (see the file comment).
  static RetryPolicy frotcom();

  // The delay between the end of the `failures`-th consecutive failed attempt of a streak and the next
  // attempt. REQUIRES: failures >= 1.
  Duration delay_after_failure(uint32_t failures) const;

  // Whether the attempt that follows the `failures`-th failure is one of the immediate retries (which
  // always carry the head event, whatever the probe mode). REQUIRES: failures >= 1.
  bool is_immediate_retry(uint32_t failures) const { return failures <= immediate_retries; }

  // The time the subscription is deactivated if no attempt succeeds: streak start + give_up_after.
  TimePoint deactivation_time(TimePoint streak_start) const { return streak_start + give_up_after; }

  // When to attempt next after the `failures`-th consecutive failure, which ended at `failed_at`, of a
  // streak that began at `streak_start`. Returns nullopt when that attempt would fall at or after the
  // deactivation time: no further attempt is made, and deactivation follows at deactivation_time().
  std::optional<TimePoint> next_after_failure(uint32_t failures, TimePoint streak_start,
                                              TimePoint failed_at) const;

  bool operator==(const RetryPolicy&) const = default;
};

const char* to_string(ProbeMode m);

}  // namespace hooksim
