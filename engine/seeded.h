// Seeded, stateless draws: the same inputs give the same number on every platform and standard library, so
// a scenario's seed decides every random choice and the same seed gives the same log.
#pragma once

#include <cstdint>
#include <string_view>

namespace hooksim {

// FNV-1a of `s`: a stable hash (std::hash is not stable across standard libraries).
constexpr uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A uniform draw in [0, 1) that depends only on its inputs: `seed` (the scenario's), the subscription
// `id`, and two counters (an event's sequence number and attempt number). Nothing is kept between draws,
// so a draw does not depend on what was drawn before it, nor on a restart. 53 bits, as
// protocol::ReceiverBehaviour::decide draws them.
inline double seeded_unit(uint64_t seed, std::string_view id, uint64_t a, uint64_t b) {
  // SplitMix64's finaliser, applied after each input is folded in.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(mix(mix(seed ^ fnv1a(id)) ^ a) ^ b);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace hooksim
