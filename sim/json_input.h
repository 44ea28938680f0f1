// Helpers for reading user-supplied JSON (scenario files, API request bodies) with errors that name the
// field by its JSON path ("subscriptions[0].receiver.windows[1].from: invalid duration ...").
//
// The readers throw ParseError; the public parse functions catch it and return a Status. Nothing else
// throws it.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/retry_policy.h"
#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim::json_input {

using nlohmann::json;

// Thrown inside the parser only; parse_scenario turns it into a Status.
struct ParseError {
  std::string message;
};

[[noreturn]] inline void fail(const std::string& path, const std::string& why) {
  throw ParseError{fmt::format("{}: {}", path, why)};
}

inline std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
inline std::string index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

// An object whose fields are read one by one; unread fields are reported as unknown.
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) fail(path_.empty() ? "(root)" : path_, "must be an object");
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
  void no_unknown() const {
    for (const auto& [key, value] : j_.items())
      if (!seen_.contains(key)) fail(join(path_, key), "unknown field");
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

inline int http_status(const json& j, const std::string& path) {
  if (!j.is_number_integer() || j.get<int64_t>() < 100 || j.get<int64_t>() > 599)
    fail(path, "must be an HTTP status code from 100 to 599");
  return j.get<int>();
}

inline std::vector<std::string> string_list(const json* j, const std::string& path) {
  std::vector<std::string> out;
  if (j == nullptr) return out;
  if (!j->is_array()) fail(path, "must be an array of strings");
  for (size_t i = 0; i < j->size(); ++i) out.push_back(string((*j)[i], index(path, i)));
  return out;
}

inline RetryPolicy policy(const json& j, const std::string& path) {
  auto p = parse_policy(j, path);
  if (!p.ok()) throw ParseError{p.status().message()};
  return *p;
}

// Reads the fields a subscription has wherever it is defined: filter, policy (default: `default_policy`),
// url, secret, token. Validates them; leaves `id` and any other field to the caller.
void read_subscription_fields(Fields& f, SubscriptionConfig& c, const RetryPolicy& default_policy);

// OK when `url` is an absolute http:// or https:// URL with a host; otherwise says why.
Status validate_url(std::string_view url);

// OK when `secret` is "whsec_" followed by base64 of a non-empty key; otherwise says why.
Status validate_secret(std::string_view secret);

}  // namespace hooksim::json_input
