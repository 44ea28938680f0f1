#include "engine/retry_policy.h"

namespace hooksim {

using namespace std::chrono_literals;

RetryPolicy RetryPolicy::frotcom() {
  RetryPolicy p;
  p.delays = {5min, 15min, 35min, 1h, 2h + 30min, 5h, 10h + 30min, 21h, std::chrono::days(2)};
  return p;
}

Duration RetryPolicy::delay_after_failure(uint32_t failures) const {
  if (is_immediate_retry(failures)) return immediate_delay;
  size_t index = failures - immediate_retries - 1;
  return index < delays.size() ? delays[index] : repeat;
}

std::optional<TimePoint> RetryPolicy::next_after_failure(uint32_t failures, TimePoint streak_start,
                                                         TimePoint failed_at) const {
  TimePoint next = failed_at + delay_after_failure(failures);
  if (next >= deactivation_time(streak_start)) return std::nullopt;
  return next;
}

const char* to_string(ProbeMode m) {
  return m == ProbeMode::kLive ? "live" : "head";
}

}  // namespace hooksim
