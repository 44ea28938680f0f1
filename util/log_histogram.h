// A log-linear (HDR-style) histogram of non-negative integer values: the run report's publish-to-delivery
// lags (milliseconds) and `hooksim bench`'s response times (microseconds). Header-only, standard library
// only.
//
// Values below 1024 are kept exactly; a larger value v, with 2^k <= v < 2^(k+1), falls in one of 512 equal
// buckets of [2^k, 2^(k+1)), whose lower bound is within 1/512 (below 0.2 %) of every value in it. So a
// quantile is never above the true nearest-rank quantile and never more than 1/512 of it below; the
// maximum is exact. Memory follows the number of distinct buckets used, not the number of values.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>

#include "util/percentile.h"

namespace hooksim::util {

class LogHistogram {
 public:
  // The bound on the relative error of a quantile (see the file comment).
  static constexpr double kRelativeError = 1.0 / 512;

  // Counts `value`; a negative value counts as 0.
  void add(int64_t value) {
    value = std::max<int64_t>(value, 0);
    ++buckets_[bucket_of(value)];
    ++count_;
    sum_ += value;
    max_ = std::max(max_, value);
  }
  // Adds every value `other` counted (a histogram of the union of both sets of values).
  void merge(const LogHistogram& other) {
    for (const auto& [bucket, n] : other.buckets_) buckets_[bucket] += n;
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // The sum of the values added (for a mean); exact.
  int64_t sum() const { return sum_; }
  // The nearest-rank q-quantile (0 < q <= 1): the lower bound of the bucket holding the ceil(q * count)-th
  // smallest value (never above max()). 0 when empty.
  int64_t percentile(double q) const {
    if (count_ == 0) return 0;
    uint64_t rank = nearest_rank(count_, q);
    uint64_t seen = 0;
    for (const auto& [bucket, n] : buckets_) {
      seen += n;
      if (seen >= rank) return std::min(lower_bound(bucket), max_);
    }
    return max_;
  }

  // The bucket of a value >= 0, and the smallest value of a bucket.
  static uint32_t bucket_of(int64_t value) {
    if (value < 1024) return static_cast<uint32_t>(std::max<int64_t>(value, 0));
    int k = std::bit_width(static_cast<uint64_t>(value)) - 1;  // 2^k <= value < 2^(k+1), k >= 10
    uint64_t sub = (static_cast<uint64_t>(value) >> (k - 9)) & 511;
    return static_cast<uint32_t>(1024 + (k - 10) * 512 + sub);
  }
  static int64_t lower_bound(uint32_t bucket) {
    if (bucket < 1024) return bucket;
    uint32_t k = 10 + (bucket - 1024) / 512;
    uint64_t sub = (bucket - 1024) % 512;
    return static_cast<int64_t>((512 + sub) << (k - 9));
  }

 private:
  std::map<uint32_t, uint64_t> buckets_;
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace hooksim::util
