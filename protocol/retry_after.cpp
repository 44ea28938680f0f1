#include "protocol/retry_after.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace hooksim::protocol {

std::optional<Duration> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  constexpr auto kLimit = std::chrono::days(3650);
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t seconds = 0;
    for (char c : value) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      seconds = seconds * 10 + (c - '0');
      if (seconds > std::chrono::duration_cast<std::chrono::seconds>(kLimit).count()) return std::nullopt;
    }
    return std::chrono::seconds(seconds);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", 29 characters, read through parse_utc.
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (value.size() != 29 || value.substr(3, 2) != ", " || value.substr(25) != " GMT") return std::nullopt;
  size_t month = 0;
  while (month < kMonths.size() && kMonths[month] != value.substr(8, 3)) ++month;
  if (month == kMonths.size() || value[7] != ' ' || value[11] != ' ' || value[16] != ' ') return std::nullopt;
  auto at = parse_utc(fmt::format("{}-{:02}-{}T{}Z", value.substr(12, 4), month + 1, value.substr(5, 2),
                                  value.substr(17, 8)));
  if (!at.ok()) return std::nullopt;
  if (*at <= now) return Duration(0);
  if (*at - now > kLimit) return std::nullopt;
  return *at - now;
}

}  // namespace hooksim::protocol
