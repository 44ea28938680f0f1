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
bool printable_no_space(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}
}  // namespace

Status validate_event_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return Status::InvalidArgument("must be 1 to 200 characters long");
  if (!printable_no_space(id))
    return Status::InvalidArgument("may contain only printable ASCII characters, no spaces");
  return Status::OK();
}

Status validate_token(std::string_view token) {
  if (token.empty() || token.size() > 1024)
    return Status::InvalidArgument("must be 1 to 1024 characters long");
  if (!printable_no_space(token))
    return Status::InvalidArgument("may contain only printable ASCII characters, no spaces");
  return Status::OK();
}

const char* to_string(SubState s) {
  switch (s) {
    case SubState::kActive:
      return "active";
    case SubState::kRetrying:
      return "retrying";
    case SubState::kDeactivated:
      return "deactivated";
  }
  return "?";
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
