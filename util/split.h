// Splitting text at a separator, as std::views::split does; that view does not compile with clang 14 and
// libstdc++ 12 (the fuzz build), so the project splits with this.
#pragma once

#include <string_view>

namespace hooksim::util {

// Calls f(part) for each part of `s` between separators `sep`, in order, empty parts included:
// "a,,b" gives "a", "", "b"; "a," gives "a", ""; "" gives "". The parts are views into `s`.
template <typename F>
void for_each_part(std::string_view s, char sep, F&& f) {
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    f(s.substr(start, end - start));
    if (end == std::string_view::npos) return;
    start = end + 1;
  }
}

}  // namespace hooksim::util
