// Reading user-supplied JSON (scenario files, receiver scripts, API request bodies) with errors that name
// the field by its JSON path: "subscriptions[0].receiver.windows[1].from: invalid duration ...".
//
// The readers throw ParseError; each public parse function catches it and returns a Status. Nothing else
// throws it, and it never crosses a library boundary.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/retry_policy.h"
#include "engine/status.h"
#include "engine/time.h"

namespace hooksim::json_input {

using nlohmann::json;

// Thrown inside the parser only; parse_scenario turns it into a Status.
struct ParseError {
  std::string message;
};

// "path: why", or just `why` when the path is empty.
[[noreturn]] inline void fail(const std::string& path, const std::string& why) {
  throw ParseError{path.empty() ? why : fmt::format("{}: {}", path, why)};
}

inline std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
inline std::string index(const std::string& path, size_t i) {
  return fmt::format("{}[{}]", path, i);
}

// The Levenshtein distance between `a` and `b`: the fewest single-character insertions, deletions and
// substitutions that turn one into the other.
inline size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The known name closest to `name`, as " (did you mean \"accounts\"?)", when one is within edit distance 2
// and closer than `name` is long (so a short name is not "corrected" into an unrelated one); "" otherwise.
// Ties go to the first in `known`'s order.
template <typename Names>
std::string did_you_mean(std::string_view name, const Names& known) {
  const std::string* best = nullptr;
  size_t best_distance = 3;
  for (const std::string& k : known) {
    size_t d = edit_distance(name, k);
    if (d < best_distance && d < name.size()) best = &k, best_distance = d;
  }
  return best == nullptr ? "" : fmt::format(" (did you mean \"{}\"?)", *best);
}

// Fails with "<path>.<key>: unknown field", and a did_you_mean() suggestion among `known`: the one wording
// of an unknown field for every reader of user JSON.
template <typename Names>
[[noreturn]] void unknown_field(const std::string& path, const std::string& key, const Names& known) {
  fail(join(path, key), "unknown field" + did_you_mean(key, known));
}

// An object whose fields are read one by one; unread fields are reported as unknown.
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) fail(path_.empty() ? "(root)" : path_, "must be a JSON object");
  }
  const json* get(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  const json& need(const std::string& key) {
    const json* v = get(key);
    if (v == nullptr) fail(join(path_, key), "is required");
    return *v;
  }
  std::string path(const std::string& key) const { return join(path_, key); }
  // Fails on the first field (in key order) that was never asked for with get() or need(), suggesting the
  // closest asked-for name. Call after every field has been asked for.
  void no_unknown() const {
    for (const auto& [key, value] : j_.items())
      if (!seen_.contains(key)) unknown_field(path_, key, seen_);
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

inline Duration duration(const json& j, const std::string& path) {
  if (!j.is_string()) fail(path, "must be a duration string like \"5m\"");
  auto d = parse_duration(j.get<std::string>());
  if (!d.ok()) fail(path, d.status().message());
  return *d;
}

inline std::string string(const json& j, const std::string& path, bool allow_empty = false) {
  if (!j.is_string()) fail(path, "must be a string");
  if (!allow_empty && j.get_ref<const std::string&>().empty()) fail(path, "must not be empty");
  return j.get<std::string>();
}

inline int http_status(const json& j, const std::string& path, int min = 100) {
  if (!j.is_number_integer() || j.get<int64_t>() < min || j.get<int64_t>() > 599)
    fail(path, fmt::format("must be an HTTP status code from {} to 599", min));
  return j.get<int>();
}

inline TimePoint utc(const json& j, const std::string& path) {
  if (!j.is_string()) fail(path, "must be an RFC 3339 UTC time string like \"2026-01-01T00:00:00Z\"");
  auto t = parse_utc(j.get<std::string>());
  if (!t.ok()) fail(path, t.status().message());
  return *t;
}

inline bool flag(const json& j, const std::string& path) {
  if (!j.is_boolean()) fail(path, "must be true or false");
  return j.get<bool>();
}

inline std::vector<std::string> string_list(const json* j, const std::string& path) {
  std::vector<std::string> out;
  if (j == nullptr) return out;
  if (!j->is_array()) fail(path, "must be an array of strings");
  for (size_t i = 0; i < j->size(); ++i) out.push_back(string((*j)[i], index(path, i)));
  return out;
}

// parse_policy() (protocol/policy_json.h), throwing.
RetryPolicy policy(const json& j, const std::string& path);

// nlohmann's DOM builder that also keeps the byte at which parsing failed: nlohmann reports a number too
// large for a double ("1e999") as an out_of_range without a position, but tells its SAX handler the byte.
class PositionedDomParser : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit PositionedDomParser(json& out) : json_sax_dom_parser(out) {}
  template <class Exception>
  bool parse_error(std::size_t byte, const std::string& token, const Exception& ex) {
    error_byte = byte;
    return json_sax_dom_parser::parse_error(byte, token, ex);  // throws `ex`
  }
  std::size_t error_byte = 0;  // 1-based index of the last byte read when parsing failed
};

// Parses `text` as one JSON value: the one parser of every reader of user JSON (scenario files, receiver
// scripts, policies, API bodies), so that a syntax error reads the same everywhere. InvalidArgument
// "line L, column C: what is wrong" (lines and columns from 1, columns in bytes), never nlohmann's
// "[json.exception...]" tag, e.g. "line 3, column 5: syntax error while parsing object key - invalid literal;
// last read: '{not'; expected string literal".
inline Result<json> parse_json(std::string_view text) {
  json out;
  PositionedDomParser dom(out);
  try {
    json::sax_parse(text, &dom);
    return out;
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    std::string_view what = e.what();
    if (auto tag = what.find("] "); what.starts_with("[json.exception.") && tag != std::string_view::npos)
      what.remove_prefix(tag + 2);
    // A parse_error says where itself: "parse error at line 1, column 5: ...".
    if (constexpr std::string_view kAt = "parse error at line "; what.starts_with(kAt)) {
      what.remove_prefix(kAt.size() - 5);
      return Status::InvalidArgument(std::string(what));
    }
    if (what.starts_with("parse error")) what.remove_prefix(what.find(": ") + 2);
    size_t end = std::min(dom.error_byte, text.size());
    size_t line_start = text.substr(0, end).rfind('\n');
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + end, '\n'));
    size_t column = line_start == std::string_view::npos ? end : end - line_start - 1;
    return Status::InvalidArgument(
        fmt::format("line {}, column {}: {}", line, std::max<size_t>(column, 1), what));
  }
}

// Reads and parses a JSON file. InvalidArgument "PATH: cannot open the file" or "PATH: not valid JSON: line
// L, column C: ..." (parse_json).
inline Result<json> load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("{}: cannot open the file", path));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto j = parse_json(text);
  if (!j.ok())
    return Status::InvalidArgument(fmt::format("{}: not valid JSON: {}", path, j.status().message()));
  return j;
}

}  // namespace hooksim::json_input
