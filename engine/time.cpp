#include "engine/time.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

namespace hooksim {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Largest first, the order in which a duration is written.
constexpr std::array<Unit, 5> kUnits = {
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

// Writes `value`'s last `Width` decimal digits at `at`, with leading zeros.
template <int Width>
void put_digits(char* at, unsigned value) {
  for (int i = Width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("invalid duration '{}': {} (expected e.g. 250ms, 30s, 5m, 2h30m, 1d12h)", text, why));
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Duration::zero();  // the one amount that needs no unit
  int64_t total = 0;
  int64_t last_unit_ms = std::numeric_limits<int64_t>::max();  // units must come in decreasing size
  size_t i = 0;
  while (i < text.size()) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) return bad("number too large");
    if (ec != std::errc() || text[i] == '-' || text[i] == '+') return bad("expected a whole number");
    i = static_cast<size_t>(end - text.data());
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits)  // the longest name that matches: "ms" rather than "m"
      if (text.substr(i, u.name.size()) == u.name && (!unit || u.name.size() > unit->name.size())) unit = &u;
    if (unit == nullptr) return bad(i == text.size() ? "missing unit" : "unknown unit");
    i += unit->name.size();
    if (unit->ms >= last_unit_ms) return bad("units must appear once each, largest first");
    last_unit_ms = unit->ms;
    if (value > (std::numeric_limits<int64_t>::max() - total) / unit->ms) return bad("number too large");
    total += value * unit->ms;
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += fmt::format("{}{}", ms / u.ms, u.name);
      ms %= u.ms;
    }
  }
  return out;
}

Result<TimePoint> parse_utc(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("invalid timestamp '{}' (expected UTC like 2026-01-01T00:00:00Z)", text));
  };
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && p == text.data() + pos + len;
  };
  int y, mo, d, h, mi, s, frac = 0;
  if (text.size() < 20 || !num(0, 4, y) || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' ||
      !num(8, 2, d) || (text[10] != 'T' && text[10] != 't') || !num(11, 2, h) || text[13] != ':' ||
      !num(14, 2, mi) || text[16] != ':' || !num(17, 2, s))
    return bad();
  size_t pos = 19;
  if (text[pos] == '.') {
    size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    size_t n = pos - start;
    if (n == 0 || n > 9) return bad();
    std::string digits(text.substr(start, std::min<size_t>(n, 3)));
    digits.resize(3, '0');
    std::from_chars(digits.data(), digits.data() + 3, frac);
  }
  if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) return bad();
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return bad();
  auto days = std::chrono::sys_days(ymd);
  return TimePoint(days.time_since_epoch() + std::chrono::hours(h) + std::chrono::minutes(mi) +
                   std::chrono::seconds(s) + Duration(frac));
}

std::string format_elapsed_minutes(Duration since_start) {
  int64_t ms = since_start.count();
  return fmt::format("{}d {:02}:{:02}", ms / 86'400'000, ms / 3'600'000 % 24, ms / 60'000 % 60);
}

std::string format_elapsed(Duration since_start) {
  int64_t ms = since_start.count();
  return fmt::format("{}:{:02}.{:03}", format_elapsed_minutes(since_start), ms / 1000 % 60, ms % 1000);
}

namespace {

// "YYYY-MM-DDT" of the last day written; one per thread.
struct UtcDate {
  int64_t day = INT64_MIN;  // days since the epoch
  char text[16] = {};       // longer than 11 characters only for a year outside 0..9999
  size_t size = 0;

  void set(std::chrono::sys_days d) {
    day = d.time_since_epoch().count();
    std::chrono::year_month_day ymd(d);
    int year = static_cast<int>(ymd.year());
    unsigned month = static_cast<unsigned>(ymd.month()), mday = static_cast<unsigned>(ymd.day());
    if (year < 0 || year > 9999) {  // outside what four digits hold: the general path
      size = fmt::format_to_n(text, sizeof text, "{:04}-{:02}-{:02}T", year, month, mday).size;
      return;
    }
    std::memcpy(text, "0000-00-00T", 11);
    put_digits<4>(text, static_cast<unsigned>(year));
    put_digits<2>(text + 5, month);
    put_digits<2>(text + 8, mday);
    size = 11;
  }
};

}  // namespace

// Written digit by digit: this runs for every envelope and every generated timestamp, and fmt::format here
// was a large share of a simulated week (bench/README.md, "What dominates where targets are missed").
void append_utc(std::string& out, TimePoint t) {
  thread_local UtcDate date;
  auto day = std::chrono::floor<std::chrono::days>(t);
  if (day.time_since_epoch().count() != date.day) date.set(day);
  auto ms = static_cast<unsigned>((t - day).count());  // [0, 86'400'000)
  char buf[sizeof date.text + 13];
  std::memcpy(buf, date.text, sizeof date.text);
  char* time = buf + date.size;
  put_digits<2>(time, ms / 3'600'000);
  time[2] = ':';
  put_digits<2>(time + 3, ms / 60'000 % 60);
  time[5] = ':';
  put_digits<2>(time + 6, ms / 1000 % 60);
  time[8] = '.';
  put_digits<3>(time + 9, ms % 1000);
  time[12] = 'Z';
  out.append(buf, date.size + 13);
}

std::string format_utc(TimePoint t) {
  std::string out;
  out.reserve(24);
  append_utc(out, t);
  return out;
}

}  // namespace hooksim
