#include "protocol/policy_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace hooksim {

namespace {

Status field_error(const std::string& path, const std::string& field, const std::string& why) {
  return Status::InvalidArgument(fmt::format("{}.{}: {}", path, field, why));
}

Status read_duration(const nlohmann::json& j, const std::string& path, const std::string& field,
                     Duration* out, bool positive) {
  if (!j.is_string()) return field_error(path, field, "must be a duration string like \"5m\"");
  auto d = parse_duration(j.get<std::string>());
  if (!d.ok()) return field_error(path, field, d.status().message());
  if (positive && d->count() <= 0) return field_error(path, field, "must be greater than 0s");
  // Bounded so that no sum of times can overflow.
  if (*d > std::chrono::days(3650)) return field_error(path, field, "must be at most 3650d");
  *out = *d;
  return Status::OK();
}

}  // namespace

Result<RetryPolicy> parse_policy(const nlohmann::json& j, const std::string& path) {
  RetryPolicy p = RetryPolicy::frotcom();
  if (j.is_string()) {
    if (j.get<std::string>() == "frotcom") return p;
    return Status::InvalidArgument(
        fmt::format("{}: unknown policy preset '{}' (known: frotcom)", path, j.get<std::string>()));
  }
  if (!j.is_object())
    return Status::InvalidArgument(fmt::format("{}: must be a preset name or an object", path));
  for (const auto& [key, value] : j.items()) {
    if (key == "immediate_retries") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000)
        return field_error(path, key, "must be a whole number from 0 to 1000");
      p.immediate_retries = value.get<uint32_t>();
    } else if (key == "immediate_delay") {
      HOOKSIM_RETURN_IF_ERROR(read_duration(value, path, key, &p.immediate_delay, false));
    } else if (key == "delays") {
      if (!value.is_array()) return field_error(path, key, "must be an array of durations");
      p.delays.clear();
      for (size_t i = 0; i < value.size(); ++i) {
        Duration d;
        HOOKSIM_RETURN_IF_ERROR(read_duration(value[i], path, fmt::format("{}[{}]", key, i), &d, false));
        p.delays.push_back(d);
      }
    } else if (key == "repeat") {
      HOOKSIM_RETURN_IF_ERROR(read_duration(value, path, key, &p.repeat, true));
    } else if (key == "give_up_after") {
      HOOKSIM_RETURN_IF_ERROR(read_duration(value, path, key, &p.give_up_after, true));
    } else if (key == "attempt_timeout") {
      HOOKSIM_RETURN_IF_ERROR(read_duration(value, path, key, &p.attempt_timeout, true));
    } else if (key == "probe") {
      if (value == "head") {
        p.probe = ProbeMode::kHead;
      } else if (value == "live") {
        p.probe = ProbeMode::kLive;
      } else {
        return field_error(path, key, "must be \"head\" or \"live\"");
      }
    } else {
      return field_error(path, key, "unknown field");
    }
  }
  return p;
}

nlohmann::ordered_json policy_to_json(const RetryPolicy& p) {
  nlohmann::ordered_json delays = nlohmann::ordered_json::array();
  for (Duration d : p.delays) delays.push_back(format_duration(d));
  return {{"immediate_retries", p.immediate_retries},
          {"immediate_delay", format_duration(p.immediate_delay)},
          {"delays", delays},
          {"repeat", format_duration(p.repeat)},
          {"give_up_after", format_duration(p.give_up_after)},
          {"probe", to_string(p.probe)},
          {"attempt_timeout", format_duration(p.attempt_timeout)}};
}

}  // namespace hooksim
