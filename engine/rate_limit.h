// A token bucket on the scheduler's clock, so that a rate limit holds in virtual time as in real time.
#pragma once

#include <cstdint>

#include "engine/time.h"

namespace hooksim {

// At most `deliveries` sends per `per`, in bursts of up to `deliveries`: the bucket holds up to
// `deliveries` tokens, starts full, and gains one every per / deliveries. Exact: the level is kept in
// milliseconds of `per` (one token is `per` of them, and the bucket gains `deliveries` of them a
// millisecond), so no rounding drifts. The limits are passed to each call, so that a changed policy
// applies from the next send on.
class TokenBucket {
 public:
  // Takes a token at `now` and returns 0 when one is there; otherwise takes nothing and returns how long
  // until one is (> 0). REQUIRES: deliveries >= 1, per > 0. A `now` earlier than the previous call's (serve's
  // wall clock stepped back) gains nothing rather than draining the bucket.
  Duration take(TimePoint now, uint32_t deliveries, Duration per) {
    const int64_t token = per.count();
    const int64_t capacity = token * deliveries;
    if (!filled_) {
      level_ = capacity;
      filled_ = true;
    } else {
      int64_t gained = now > at_ ? (now - at_).count() * deliveries : 0;
      level_ = gained >= capacity - level_ ? capacity : level_ + gained;
      if (level_ > capacity) level_ = capacity;  // a policy change lowered the limit
    }
    at_ = now;
    if (level_ >= token) {
      level_ -= token;
      return Duration(0);
    }
    return Duration((token - level_ + deliveries - 1) / deliveries);  // rounded up: a token is there then
  }

 private:
  bool filled_ = false;
  int64_t level_ = 0;  // in milliseconds of `per`
  TimePoint at_{};
};

}  // namespace hooksim
