#include "engine/retry_policy.h"

#include <algorithm>

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

Duration RetryPolicy::jittered(Duration delay, double draw) const {
  using Ms = std::chrono::duration<double, std::milli>;
  Ms d = delay;
  if (jitter_fraction > 0) d *= 1 + jitter_fraction * (2 * draw - 1);
  if (jitter_max.count() > 0) d += Ms(jitter_min) + (jitter_max - jitter_min) * draw;
  if (d == Ms(delay)) return delay;
  return std::max(Duration(0), std::chrono::floor<std::chrono::milliseconds>(d));
}

std::optional<TimePoint> RetryPolicy::next_after_failure(uint32_t failures, TimePoint streak_start,
                                                         TimePoint failed_at, double draw,
                                                         std::optional<Duration> replace) const {
  TimePoint next = failed_at + (replace ? *replace : jittered(delay_after_failure(failures), draw));
  if (next >= deactivation_time(streak_start)) return std::nullopt;
  return next;
}

std::optional<Duration> RetryPolicy::retry_after_delay(int status, std::optional<Duration> asked) const {
  if (!honour_retry_after || !asked || (status != 429 && status != 503)) return std::nullopt;
  return std::clamp(*asked, retry_after_min, retry_after_max);
}

std::optional<std::string> RetryPolicy::disable_reason(int status, uint32_t streak_failures,
                                                       TimePoint streak_start, TimePoint now) const {
  if (status != 0 &&
      std::find(disable_on_status.begin(), disable_on_status.end(), status) != disable_on_status.end())
    return "answered HTTP " + std::to_string(status) + " (disable_on_status)";
  if (disable_after_failures != 0 && streak_failures >= disable_after_failures)
    return std::to_string(streak_failures) + " consecutive failed attempts since " +
           format_utc(streak_start) + " (disable_after)";
  if (disable_after_duration.count() > 0 && now - streak_start >= disable_after_duration)
    return "failing for " + format_duration(now - streak_start) + " since " + format_utc(streak_start) +
           " (disable_after)";
  return std::nullopt;
}

const char* to_string(ProbeMode m) {
  return m == ProbeMode::kLive ? "live" : "head";
}

const char* to_string(Ordering o) {
  return o == Ordering::kUnordered ? "unordered" : "fifo";
}

}  // namespace hooksim
