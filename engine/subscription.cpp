#include "engine/subscription.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace hooksim {

namespace {
bool allowed(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

constexpr std::array<const char*, 11> kErrorNames = {"",      "status",   "timeout",        "connect",
                                                     "tls",   "dns",      "reset",          "abandoned",
                                                     "other", "protocol", "private_address"};
}  // namespace

bool Filter::matches(const Event& e) const {
  return allowed(types, e.type) && allowed(accounts, e.account) && allowed(vehicles, e.vehicle);
}

Status validate_subscription_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return Status::InvalidArgument(fmt::format("id '{}' must be 1 to 64 characters long", id));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument(fmt::format("id '{}' may contain only A-Z a-z 0-9 . _ -", id));
  }
  return Status::OK();
}

namespace {
// OK when `s` is 1 to `max` printable ASCII characters without spaces; otherwise says why.
Status validate_printable(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max)
    return Status::InvalidArgument(fmt::format("must be 1 to {} characters long", max));
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e; }))
    return Status::InvalidArgument("may contain only printable ASCII characters, no spaces");
  return Status::OK();
}
}  // namespace

Status validate_event_id(std::string_view id) {
  return validate_printable(id, 200);
}

Status validate_token(std::string_view token) {
  return validate_printable(token, 1024);
}

const char* to_string(SubState s) {
  static constexpr const char* kNames[] = {"active", "retrying", "deactivated"};
  return kNames[static_cast<size_t>(s)];
}

const char* to_string(ErrorClass e) {
  return kErrorNames[static_cast<size_t>(e)];
}

std::optional<ErrorClass> error_class_from_string(std::string_view name) {
  for (size_t i = 1; i < kErrorNames.size(); ++i)
    if (name == kErrorNames[i]) return static_cast<ErrorClass>(i);
  return std::nullopt;
}

}  // namespace hooksim
