// Escaping text for the HTML pages hooksim writes (the run report, the check report). Pure: no I/O, nothing
// beyond the standard library, so every layer that renders a page can use it.
#pragma once

#include <string>
#include <string_view>

namespace hooksim::util {

// `s` with & < > " ' replaced by entities: safe as element text and inside quoted attribute values.
inline std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const char* entity = c == '&'    ? "&amp;"
                         : c == '<'  ? "&lt;"
                         : c == '>'  ? "&gt;"
                         : c == '"'  ? "&quot;"
                         : c == '\'' ? "&#39;"
                                     : nullptr;
    entity != nullptr ? out.append(entity) : out.append(1, c);
  }
  return out;
}

}  // namespace hooksim::util
