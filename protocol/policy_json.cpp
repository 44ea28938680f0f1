#include "protocol/policy_json.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "engine/transport.h"
#include "protocol/json_input.h"
#include "protocol/presets.h"
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

// disable_on_status: failing HTTP statuses, each once.
std::vector<int> disable_statuses(const json& j, const std::string& path) {
  if (!j.is_array()) fail(path, "must be an array of HTTP statuses, e.g. [410]");
  std::vector<int> out;
  for (size_t i = 0; i < j.size(); ++i) {
    int status = http_status(j[i], index(path, i));
    if (is_2xx(status)) fail(index(path, i), "must be a status that fails (2xx is a delivery)");
    if (std::find(out.begin(), out.end(), status) != out.end())
      fail(index(path, i), fmt::format("{} appears twice", status));
    out.push_back(status);
  }
  return out;
}

// disable_after: {"failures": N} and/or {"duration": "5d"}.
void disable_after(const json& j, const std::string& path, RetryPolicy& p) {
  Fields f(j, path);
  const json* failures = f.get("failures");
  const json* duration = f.get("duration");
  f.no_unknown();
  if (failures == nullptr && duration == nullptr) fail(path, "needs failures, duration or both");
  if (failures != nullptr) {
    if (!failures->is_number_integer() || failures->get<int64_t>() < 1 || failures->get<int64_t>() > 1000000)
      fail(f.path("failures"), "must be a whole number from 1 to 1000000");
    p.disable_after_failures = failures->get<uint32_t>();
  }
  if (duration != nullptr) p.disable_after_duration = policy_duration(*duration, f.path("duration"), true);
}

// jitter: a fraction in (0, 1], or {"min": D, "max": D} with min <= max and max > 0.
void jitter(const json& j, const std::string& path, RetryPolicy& p) {
  if (j.is_number()) {
    double f = j.get<double>();
    if (!(f > 0 && f <= 1)) fail(path, "must be a fraction greater than 0 and at most 1 (0.2 is ±20 %)");
    p.jitter_fraction = f;
    return;
  }
  if (!j.is_object()) fail(path, "must be a fraction (0.2 is ±20 %) or {\"min\": \"0s\", \"max\": \"5s\"}");
  Fields f(j, path);
  const json& min = f.need("min");
  const json& max = f.need("max");
  f.no_unknown();
  p.jitter_min = policy_duration(min, f.path("min"), false);
  p.jitter_max = policy_duration(max, f.path("max"), true);
  if (p.jitter_max < p.jitter_min) fail(f.path("max"), "must not be less than min");
}

// retry_after: "ignore", or {"honour": {"min": D, "max": D}} (either bound may be left out).
void retry_after(const json& j, const std::string& path, RetryPolicy& p) {
  if (j == "ignore") {
    p.honour_retry_after = false;
    return;
  }
  if (!j.is_object()) fail(path, "must be \"ignore\" or {\"honour\": {\"min\": \"1s\", \"max\": \"10h\"}}");
  Fields f(j, path);
  const json& honour = f.need("honour");
  f.no_unknown();
  Fields bounds(honour, f.path("honour"));
  if (const json* v = bounds.get("min")) p.retry_after_min = policy_duration(*v, bounds.path("min"), false);
  if (const json* v = bounds.get("max")) p.retry_after_max = policy_duration(*v, bounds.path("max"), true);
  bounds.no_unknown();
  if (p.retry_after_max < p.retry_after_min) fail(bounds.path("max"), "must not be less than min");
  p.honour_retry_after = true;
}

// rate_limit: {"deliveries": N, "per": D}, both required.
void rate_limit(const json& j, const std::string& path, RetryPolicy& p) {
  Fields f(j, path);
  const json& deliveries = f.need("deliveries");
  const json& per = f.need("per");
  f.no_unknown();
  if (!deliveries.is_number_integer() || deliveries.get<int64_t>() < 1 || deliveries.get<int64_t>() > 1000000)
    fail(f.path("deliveries"), "must be a whole number from 1 to 1000000");
  p.rate_limit_deliveries = deliveries.get<uint32_t>();
  p.rate_limit_per = policy_duration(per, f.path("per"), true);
}

}  // namespace

RetryPolicy policy(const json& j, const std::string& path) {
  if (j.is_string()) {  // a preset: the object it stands for, read as a user's would be
    std::string name = j.get<std::string>();
    if (auto text = protocol::preset_policy(name)) return policy(json::parse(*text), path);
    const auto& known = protocol::policy_presets();
    fail(path, fmt::format("unknown policy preset '{}'{} (known: {})", name, did_you_mean(name, known),
                           fmt::join(known, ", ")));
  }
  RetryPolicy p = RetryPolicy::frotcom();
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
    } else if (key == "max_attempts") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000000)
        fail(at, "must be a whole number from 1 to 1000000 (leave it out for no limit)");
      p.max_attempts = value.get<uint32_t>();
    } else if (key == "disable_on_status") {
      p.disable_on_status = disable_statuses(value, at);
    } else if (key == "disable_after") {
      disable_after(value, at, p);
    } else if (key == "jitter") {
      jitter(value, at, p);
    } else if (key == "retry_after") {
      retry_after(value, at, p);
    } else if (key == "rate_limit") {
      rate_limit(value, at, p);
    } else if (key == "ordering") {
      if (value != "fifo" && value != "unordered") fail(at, "must be \"fifo\" or \"unordered\"");
      p.ordering = value == "fifo" ? Ordering::kFifo : Ordering::kUnordered;
    } else if (key == "concurrency") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000)
        fail(at, "must be a whole number from 1 to 1000");
      p.concurrency = value.get<uint32_t>();
    } else {
      static const std::vector<std::string> kFields = {
          "immediate_retries", "immediate_delay",   "delays",        "repeat",
          "give_up_after",     "attempt_timeout",   "probe",         "signature",
          "max_attempts",      "disable_on_status", "disable_after", "jitter",
          "retry_after",       "rate_limit",        "ordering",      "concurrency"};
      unknown_field(path, key, kFields);
    }
  }
  // Checked once every field is read, whatever their order.
  if (p.ordering == Ordering::kFifo && p.concurrency != 1)
    fail(join(path, "concurrency"), "needs \"ordering\": \"unordered\" (FIFO sends one event at a time)");
  if (p.ordering == Ordering::kUnordered && p.probe == ProbeMode::kLive)
    fail(join(path, "probe"),
         "\"live\" needs \"ordering\": \"fifo\" (unordered events are all sent as they come)");
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
  nlohmann::ordered_json j = {{"immediate_retries", p.immediate_retries},
                              {"immediate_delay", format_duration(p.immediate_delay)},
                              {"delays", delays},
                              {"repeat", format_duration(p.repeat)},
                              {"give_up_after", format_duration(p.give_up_after)},
                              {"probe", to_string(p.probe)},
                              {"attempt_timeout", format_duration(p.attempt_timeout)},
                              {"signature", p.signature}};
  // The fields below are written only when set, so a policy without them keeps its JSON.
  if (p.max_attempts != 0) j["max_attempts"] = p.max_attempts;
  if (!p.disable_on_status.empty()) j["disable_on_status"] = p.disable_on_status;
  if (p.disable_after_failures != 0 || p.disable_after_duration.count() > 0) {
    nlohmann::ordered_json after = nlohmann::ordered_json::object();
    if (p.disable_after_failures != 0) after["failures"] = p.disable_after_failures;
    if (p.disable_after_duration.count() > 0) after["duration"] = format_duration(p.disable_after_duration);
    j["disable_after"] = after;
  }
  if (p.jitter_fraction > 0) j["jitter"] = p.jitter_fraction;
  if (p.jitter_max.count() > 0)
    j["jitter"] = {{"min", format_duration(p.jitter_min)}, {"max", format_duration(p.jitter_max)}};
  if (p.honour_retry_after)
    j["retry_after"] = {
        {"honour",
         {{"min", format_duration(p.retry_after_min)}, {"max", format_duration(p.retry_after_max)}}}};
  if (p.rate_limit_deliveries != 0)
    j["rate_limit"] = {{"deliveries", p.rate_limit_deliveries}, {"per", format_duration(p.rate_limit_per)}};
  if (p.ordering == Ordering::kUnordered) {
    j["ordering"] = to_string(p.ordering);
    j["concurrency"] = p.concurrency;
  }
  return j;
}

}  // namespace hooksim
