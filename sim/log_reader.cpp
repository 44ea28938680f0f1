#include "sim/log_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace hooksim::sim {
namespace {

using nlohmann::json;

struct BadField {
  std::string message;
};

const json& need(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw BadField{fmt::format("{}: is required", key)};
  return *it;
}

int64_t int_field(const json& j, const char* key, int64_t min = 0) {
  const json& v = need(j, key);
  if (!v.is_number_integer() || v.get<int64_t>() < min)
    throw BadField{fmt::format("{}: must be an integer >= {}, got {}", key, min, v.dump())};
  return v.get<int64_t>();
}

std::string string_field(const json& j, const char* key) {
  const json& v = need(j, key);
  if (!v.is_string() || v.get_ref<const std::string&>().empty())
    throw BadField{fmt::format("{}: must be a non-empty string, got {}", key, v.dump())};
  return v.get<std::string>();
}

void parse_attempt(const json& j, LogRecord& r) {
  r.sub = string_field(j, "sub");
  r.event = string_field(j, "event");
  r.seq = static_cast<uint64_t>(int_field(j, "seq", 1));
  r.attempt = static_cast<uint32_t>(int_field(j, "attempt", 1));
  std::string outcome = string_field(j, "outcome");
  r.status = static_cast<int>(int_field(j, "status"));
  r.latency_ms = int_field(j, "latency_ms");
  if (outcome == "delivered") {
    r.error = ErrorClass::kNone;
  } else if (outcome == "failed") {
    std::string error = string_field(j, "error");
    auto e = error_class_from_string(error);
    if (!e || *e == ErrorClass::kNone) throw BadField{fmt::format("error: unknown error class '{}'", error)};
    r.error = *e;
  } else {
    throw BadField{fmt::format("outcome: must be \"delivered\" or \"failed\", got \"{}\"", outcome)};
  }
  if (auto it = j.find("probe"); it != j.end()) {
    if (!it->is_boolean()) throw BadField{"probe: must be true or false"};
    r.probe = it->get<bool>();
  }
  if (auto it = j.find("exhausted"); it != j.end()) {
    if (!it->is_boolean()) throw BadField{"exhausted: must be true or false"};
    r.exhausted = it->get<bool>();
  }
}

void parse_publish(const json& j, LogRecord& r) {
  r.event = string_field(j, "event");
  const json& subs = need(j, "subs");
  if (!subs.is_object()) throw BadField{"subs: must be an object of subscription id -> sequence number"};
  for (const auto& [id, seq] : subs.items()) {
    if (!seq.is_number_integer() || seq.get<int64_t>() < 1)
      throw BadField{fmt::format("subs.{}: must be a sequence number >= 1", id)};
    r.subs.emplace_back(id, seq.get<uint64_t>());
  }
  if (auto it = j.find("dropped"); it != j.end()) {
    if (!it->is_array()) throw BadField{"dropped: must be an array of subscription ids"};
    for (const json& id : *it) {
      if (!id.is_string()) throw BadField{"dropped: must be an array of subscription ids"};
      r.dropped.push_back(id.get<std::string>());
    }
  }
  if (auto it = j.find("body"); it != j.end()) {
    if (!it->is_string()) throw BadField{"body: must be a string (the delivery body)"};
    r.body = it->get<std::string>();
  }
}

void parse_run(const json& j, LogRecord& r) {
  RunHeader& h = r.run;
  for (auto [key, out] :
       {std::pair{"command", &h.command}, {"scenario", &h.scenario}, {"scenario_sha256", &h.scenario_sha256}})
    if (auto it = j.find(key); it != j.end() && it->is_string()) *out = it->get<std::string>();
  if (j.contains("seed")) h.seed = static_cast<uint64_t>(int_field(j, "seed"));
  auto start = parse_utc(string_field(j, "start"));
  if (!start.ok()) throw BadField{"start: " + start.status().message()};
  h.start = *start;
  h.duration = Duration(int_field(j, "duration_ms"));
  if (auto it = j.find("subscriptions"); it != j.end()) {
    if (!it->is_array() || !std::all_of(it->begin(), it->end(), [](const json& s) { return s.is_string(); }))
      throw BadField{"subscriptions: must be an array of subscription ids"};
    h.subscriptions = it->get<std::vector<std::string>>();
  }
  if (auto it = j.find("payloads"); it != j.end()) {
    if (!it->is_boolean()) throw BadField{"payloads: must be true or false"};
    h.payloads = it->get<bool>();
  }
}

}  // namespace

Result<std::optional<LogRecord>> parse_log_line(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("must be a JSON object");
  try {
    using Kind = LogRecord::Kind;
    static const std::map<std::string, Kind, std::less<>> kKinds = {{"run", Kind::kRun},
                                                                    {"attempt", Kind::kAttempt},
                                                                    {"publish", Kind::kPublish},
                                                                    {"deactivated", Kind::kDeactivated},
                                                                    {"reactivated", Kind::kReactivated},
                                                                    {"restart", Kind::kRestart}};
    auto known = kKinds.find(string_field(j, "kind"));
    if (known == kKinds.end()) return std::optional<LogRecord>();
    LogRecord r;
    r.kind = known->second;
    if (r.kind == Kind::kRun) parse_run(j, r);
    if (r.kind != Kind::kRun) r.t_ms = int_field(j, "t_ms");
    if (r.kind == Kind::kAttempt) parse_attempt(j, r);
    if (r.kind == Kind::kPublish) parse_publish(j, r);
    if (r.kind == Kind::kDeactivated || r.kind == Kind::kReactivated) r.sub = string_field(j, "sub");
    if (r.kind == Kind::kDeactivated) r.discarded = static_cast<uint64_t>(int_field(j, "discarded"));
    return std::optional<LogRecord>(std::move(r));
  } catch (const BadField& e) {
    return Status::InvalidArgument(e.message);
  }
}

Result<LogReader> LogReader::open(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("{}: cannot open the file", path));
  return LogReader(path, std::move(in));
}

Result<bool> LogReader::next(LogRecord& out) {
  while (std::getline(in_, line_)) {
    ++line_no_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.find_first_not_of(" \t") == std::string::npos) continue;
    auto r = parse_log_line(line_);
    if (!r.ok())
      return Status::InvalidArgument(fmt::format("{}:{}: {}", path_, line_no_, r.status().message()));
    if (!r->has_value()) continue;
    out = std::move(**r);
    return true;
  }
  if (in_.bad()) return Status::IOError(fmt::format("{}: read error after line {}", path_, line_no_));
  return false;
}

}  // namespace hooksim::sim
