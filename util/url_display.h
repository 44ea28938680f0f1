// Showing a long URL in a narrow column by its distinctive parts: the start (scheme, host, port) and the
// end of the path, with an ellipsis in the middle. `hooksim status` uses it; the status page's script
// (service/page/status.js, shortUrl) does the same in the browser.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hooksim::util {

// `url` whole when it has at most `width` characters; otherwise exactly `width` characters (counting
// `ellipsis` as `ellipsis_width`): a head, then `ellipsis`, then a tail. The tail is the end of the URL
// after its host (path, query), as much of it as fits once the head has its share; the head is the
// start of the URL, at most up to the end of the host and port and at most half of what is left for the
// two. So a short path is kept whole and a short host is kept whole. Characters are UTF-8 code points: a
// cut never splits one. REQUIRES: width > ellipsis_width.
inline std::string shorten_middle(std::string_view url, size_t width, std::string_view ellipsis = "...",
                                  size_t ellipsis_width = 3) {
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  // Offsets of the code points, so that widths count characters, not bytes.
  std::vector<size_t> starts;
  for (size_t i = 0; i < url.size(); ++i)
    if (!is_continuation(url[i])) starts.push_back(i);
  const size_t chars = starts.size();
  if (chars <= width) return std::string(url);
  starts.push_back(url.size());
  // The host ends at the first '/' after "://" (or at the first '?' or '#'), or with the URL.
  size_t scheme = url.find("://");
  size_t host_end_byte = url.find_first_of("/?#", scheme == std::string_view::npos ? 0 : scheme + 3);
  if (host_end_byte == std::string_view::npos) host_end_byte = url.size();
  size_t host_chars = 0;
  while (host_chars < chars && starts[host_chars] < host_end_byte) ++host_chars;
  const size_t rest_chars = chars - host_chars;
  const size_t budget = width - ellipsis_width;
  size_t head = std::min(host_chars, budget / 2);
  size_t tail = std::min(rest_chars, budget - head);
  head = budget - tail;
  std::string out(url.substr(0, starts[head]));
  out += ellipsis;
  out += url.substr(starts[chars - tail]);
  return out;
}

}  // namespace hooksim::util
