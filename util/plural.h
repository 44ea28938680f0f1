// Counting words in messages: "1 subscription", "2 subscriptions". Pure, header-only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hooksim::util {

// `n` and `noun`, with an "s" added unless n == 1: counted("warning", 1) == "1 warning". For nouns whose
// plural is the noun plus "s" (every one hooksim counts).
inline std::string counted(std::string_view noun, uint64_t n) {
  std::string out = std::to_string(n);
  out += ' ';
  out += noun;
  if (n != 1) out += 's';
  return out;
}

}  // namespace hooksim::util
