#include "protocol/policy_json.h"

#include <fmt/ranges.h>

#include "protocol/json_input.h"
#include "protocol/signing.h"

namespace hooksim {

namespace json_input {
namespace {

// Bounded so that no sum of times can overflow.
Duration policy_duration(const json& j, const std::string& path, bool positive) {
  Duration d = duration(j, path);
  if (positive && d.count() <= 0) fail(path, "must be greater than 0s");
  if (d > std::chrono::days(3650)) fail(path, "must be at most 3650d");
  return d;
}

// One of protocol::signature_schemes(), by name.
std::string signature_scheme(const json& j, const std::string& path) {
  const auto& known = protocol::signature_schemes();
  std::string list = fmt::format("{}", fmt::join(known, ", "));
  if (!j.is_string()) fail(path, "must be the name of a signature scheme: " + list);
  std::string name = j.get<std::string>();
  if (std::find(known.begin(), known.end(), name) == known.end())
    fail(path,
         fmt::format("unknown signature scheme '{}'{} (known: {})", name, did_you_mean(name, known), list));
  return name;
}

}  // namespace

RetryPolicy policy(const json& j, const std::string& path) {
  RetryPolicy p = RetryPolicy::frotcom();
  if (j.is_string()) {
    if (j == "frotcom") return p;
    fail(path, fmt::format("unknown policy preset '{}' (known: frotcom)", j.get<std::string>()));
  }
  if (!j.is_object()) fail(path, "must be a preset name or an object");
  for (const auto& [key, value] : j.items()) {  // in key order: the first bad field is the one reported
    std::string at = join(path, key);
    if (key == "immediate_retries") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000)
        fail(at, "must be a whole number from 0 to 1000");
      p.immediate_retries = value.get<uint32_t>();
    } else if (key == "immediate_delay") {
      p.immediate_delay = policy_duration(value, at, false);
    } else if (key == "delays") {
      if (!value.is_array()) fail(at, "must be an array of durations");
      p.delays.clear();
      for (size_t i = 0; i < value.size(); ++i)
        p.delays.push_back(policy_duration(value[i], index(at, i), false));
    } else if (key == "repeat") {
      p.repeat = policy_duration(value, at, true);
    } else if (key == "give_up_after") {
      p.give_up_after = policy_duration(value, at, true);
    } else if (key == "attempt_timeout") {
      p.attempt_timeout = policy_duration(value, at, true);
    } else if (key == "probe") {
      if (value != "head" && value != "live") fail(at, "must be \"head\" or \"live\"");
      p.probe = value == "head" ? ProbeMode::kHead : ProbeMode::kLive;
    } else if (key == "signature") {
      p.signature = signature_scheme(value, at);
    } else {
      static const std::vector<std::string> kFields = {
          "immediate_retries", "immediate_delay", "delays", "repeat",
          "give_up_after",     "attempt_timeout", "probe",  "signature"};
      unknown_field(path, key, kFields);
    }
  }
  return p;
}

}  // namespace json_input

Result<RetryPolicy> parse_policy(const nlohmann::json& j, const std::string& path) {
  try {
    return json_input::policy(j, path);
  } catch (const json_input::ParseError& e) {
    return Status::InvalidArgument(e.message);
  }
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
          {"attempt_timeout", format_duration(p.attempt_timeout)},
          {"signature", p.signature}};
}

}  // namespace hooksim
