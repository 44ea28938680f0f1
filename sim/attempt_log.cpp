#include "sim/attempt_log.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace hooksim::sim {
namespace {
std::string quoted(std::string_view s) {
  return nlohmann::json(std::string(s)).dump();
}
}  // namespace

void AttemptLogWriter::on_attempt(const AttemptRecord& r) {
  std::string line = fmt::format(
      R"({{"kind":"attempt","t_ms":{},"sub":{},"event":{},"seq":{},"attempt":{},"outcome":"{}","status":{})",
      to_ms(r.started - start_), quoted(r.sub), quoted(r.event_id), r.seq, r.attempt,
      r.delivered() ? "delivered" : "failed", r.status);
  if (!r.delivered()) line += fmt::format(R"(,"error":"{}")", to_string(r.error));
  line += fmt::format(R"(,"latency_ms":{})", to_ms(r.latency));
  if (r.probe) line += R"(,"probe":true)";
  if (r.exhausted) line += R"(,"exhausted":true)";
  if (r.next_attempt) line += fmt::format(R"(,"next_t_ms":{})", to_ms(*r.next_attempt - start_));
  line += "}\n";
  out_ << line;
}

void AttemptLogWriter::on_lifecycle(const LifecycleRecord& r) {
  out_ << (r.kind == LifecycleRecord::Kind::kDeactivated
               ? fmt::format(R"({{"kind":"deactivated","t_ms":{},"sub":{},"discarded":{}}})",
                             to_ms(r.at - start_), quoted(r.sub), r.discarded)
               : fmt::format(R"({{"kind":"reactivated","t_ms":{},"sub":{}}})", to_ms(r.at - start_),
                             quoted(r.sub)))
       << '\n';
}

void AttemptLogWriter::on_published(const PublishRecord& r) {
  std::string line = fmt::format(R"({{"kind":"publish","t_ms":{},"event":{},"subs":{{)", to_ms(r.at - start_),
                                 quoted(std::string_view(r.event->id)));
  for (size_t i = 0; i < r.queued.size(); ++i) {
    if (i > 0) line += ',';
    line += fmt::format("{}:{}", quoted(r.queued[i].first), r.queued[i].second);
  }
  line += '}';
  if (!r.dropped.empty()) {
    line += R"(,"dropped":[)";
    for (size_t i = 0; i < r.dropped.size(); ++i) {
      if (i > 0) line += ',';
      line += quoted(r.dropped[i]);
    }
    line += ']';
  }
  if (payloads_ && !r.body.empty()) line += fmt::format(R"(,"body":{})", quoted(r.body));
  line += "}\n";
  out_ << line;
}

void write_run_header(std::ostream& out, const RunHeader& h) {
  nlohmann::ordered_json j;
  j["kind"] = "run";
  j["command"] = h.command;
  j["scenario"] = h.scenario;
  j["scenario_sha256"] = h.scenario_sha256;
  j["seed"] = h.seed;
  j["start"] = format_utc(h.start);
  j["duration_ms"] = to_ms(h.duration);
  j["subscriptions"] = h.subscriptions;
  j["payloads"] = h.payloads;
  out << j.dump() << '\n';
}

Result<std::string> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("{}: cannot open the file", path));
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return fmt::format("{:02x}", fmt::join(md, md + len, ""));
}

void AttemptLogWriter::on_restart(TimePoint at) {
  out_ << fmt::format(R"({{"kind":"restart","t_ms":{}}})", to_ms(at - start_)) << '\n';
}

void DeliveryAudit::on_attempt(const AttemptRecord& r) {
  ++attempts;
  if (!r.delivered()) {
    ++failed_attempts;
    if (r.exhausted) ++exhausted;
    return;
  }
  ++delivered;
  auto it = subs_.find(r.sub);
  if (it == subs_.end()) it = subs_.emplace(std::string(r.sub), PerSub{}).first;
  PerSub& s = it->second;
  if (s.unordered) {
    if (!s.probes.insert(r.seq).second) ++order_violations;
    return;
  }
  if (r.probe) {
    if (r.seq <= s.last_in_order || !s.probes.insert(r.seq).second) ++order_violations;
    return;
  }
  if (r.seq <= s.last_in_order || s.probes.contains(r.seq)) ++order_violations;
  s.last_in_order = std::max(s.last_in_order, r.seq);
}

void DeliveryAudit::on_lifecycle(const LifecycleRecord& r) {
  if (r.kind != LifecycleRecord::Kind::kDeactivated) return;
  discarded += r.discarded;
  if (std::find(deactivated.begin(), deactivated.end(), r.sub) == deactivated.end())
    deactivated.emplace_back(r.sub);
}

void DeliveryAudit::on_error(std::string_view sub, const Status& st) {
  errors.push_back(fmt::format("{}: {}", sub, st.message()));
}

}  // namespace hooksim::sim
