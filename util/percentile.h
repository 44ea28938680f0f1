// Nearest-rank percentiles: the q-quantile of n values is the ceil(q * n)-th smallest, a value that was
// actually seen (no interpolation). Used by the run report's lag histogram, `hooksim check`'s latency check
// and the load benchmark, so that their p50 and p99 mean the same thing.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

namespace hooksim::util {

// The 1-based rank of the nearest-rank q-quantile among n values: ceil(q * n), clamped to [1, n] (so q <= 0
// gives the smallest and q >= 1 the largest). REQUIRES: n > 0.
inline uint64_t nearest_rank(uint64_t n, double q) {
  auto rank = static_cast<uint64_t>(std::max(0.0, std::ceil(q * static_cast<double>(n))));
  return std::clamp<uint64_t>(rank, 1, n);
}

// The nearest-rank q-quantile of `sorted` (REQUIRES: ascending); 0 when it is empty.
inline double percentile(std::span<const double> sorted, double q) {
  return sorted.empty() ? 0.0 : sorted[nearest_rank(sorted.size(), q) - 1];
}

}  // namespace hooksim::util
