#include "cluster/wire.h"

#include <fmt/format.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "storage/record_codec.h"

namespace hooksim::cluster {

using nlohmann::json;

std::string encode_event(const Event& e) {
  return json{{"id", e.id},
              {"type", e.type},
              {"account", e.account},
              {"vehicle", e.vehicle},
              {"occurred_at_ms", to_unix_ms(e.occurred_at)},
              {"data", e.data}}
      .dump();
}

Result<Event> decode_event(std::string_view bytes) {
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  auto text = [&](const char* key) { return j.is_object() && j.contains(key) && j[key].is_string(); };
  if (!text("id") || !text("type") || !text("account") || !text("vehicle") || !text("data") ||
      !j["occurred_at_ms"].is_number_integer())
    return Status::Corruption("stream message: not an event");
  Event e;
  e.id = j["id"];
  e.type = j["type"];
  e.account = j["account"];
  e.vehicle = j["vehicle"];
  e.occurred_at = from_unix_ms(j["occurred_at_ms"].get<int64_t>());
  e.data = j["data"];
  return e;
}

namespace {

void put_u64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}
uint64_t get_u64(std::string_view& in) {
  uint64_t v;
  std::memcpy(&v, in.data(), 8);
  in.remove_prefix(8);
  return v;
}

}  // namespace

std::string encode_sub(const SubscriptionConfig& config, uint64_t start_seq, uint64_t order) {
  std::string out;
  put_u64(out, start_seq);
  put_u64(out, order);
  out += storage::encode_config(config);
  return out;
}

Result<SubRecord> decode_sub(std::string_view bytes, uint64_t revision) {
  if (bytes.size() < 16) return Status::Corruption("subscription value: too short");
  SubRecord r;
  r.start_seq = get_u64(bytes);
  r.order = get_u64(bytes);
  if (r.order == 0) r.order = revision;
  auto c = storage::decode_config(bytes);
  if (!c.ok()) return c.status();
  r.config = std::move(*c);
  return r;
}

std::string lease_key(size_t shard) {
  return fmt::format("shard-{}", shard);
}

Status validate_key(std::string_view what, std::string_view id) {
  HOOKSIM_RETURN_IF_ERROR(validate_subscription_id(id));
  if (id.front() == '.' || id.back() == '.' || id.find("..") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format(
        "{} '{}': in a cluster, may not start or end with '.' nor hold \"..\" (a NATS key)", what, id));
  return Status::OK();
}

std::string admin_subject(std::string_view node) {
  return fmt::format("hooksim.admin.{}", node);
}

std::string encode_admin_answer(const Result<AdminAnswer>& answer) {
  std::string out;
  if (!answer.ok()) {
    out += 'E';
    out += static_cast<char>(answer.status().code());
    out += answer.status().message();
    return out;
  }
  out += 'S';
  const uint32_t in_flight = answer->in_flight_count;
  const int64_t oldest =
      answer->oldest_queued ? answer->oldest_queued->time_since_epoch().count() : INT64_MIN;
  out.append(reinterpret_cast<const char*>(&in_flight), sizeof in_flight);
  out.append(reinterpret_cast<const char*>(&oldest), sizeof oldest);
  out += storage::encode_state(answer->state);
  return out;
}

Result<AdminAnswer> decode_admin_answer(std::string_view bytes) {
  if (bytes.size() >= 2 && bytes[0] == 'E') {
    std::string message(bytes.substr(2));
    switch (static_cast<Status::Code>(static_cast<unsigned char>(bytes[1]))) {
      case Status::Code::kInvalidArgument:
        return Status::InvalidArgument(std::move(message));
      case Status::Code::kNotFound:
        return Status::NotFound(std::move(message));
      case Status::Code::kAlreadyExists:
        return Status::AlreadyExists(std::move(message));
      case Status::Code::kFailedPrecondition:
        return Status::FailedPrecondition(std::move(message));
      case Status::Code::kIOError:
        return Status::IOError(std::move(message));
      case Status::Code::kCorruption:
        return Status::Corruption(std::move(message));
      default:
        return Status::Corruption("admin answer: unknown error code");
    }
  }
  if (bytes.size() < 1 + 4 + 8 || bytes[0] != 'S') return Status::Corruption("admin answer: malformed");
  AdminAnswer a;
  int64_t oldest;
  std::memcpy(&a.in_flight_count, bytes.data() + 1, 4);
  std::memcpy(&oldest, bytes.data() + 5, 8);
  if (oldest != INT64_MIN) a.oldest_queued = TimePoint(Duration(oldest));
  auto state = storage::decode_state(bytes.substr(13));
  if (!state.ok()) return state.status();
  a.state = std::move(*state);
  return a;
}

}  // namespace hooksim::cluster
