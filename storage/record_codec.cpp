#include "storage/record_codec.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "protocol/policy_json.h"

namespace hooksim::storage {
namespace {

constexpr uint8_t kStateVersion = 1;
constexpr uint8_t kQueueEntryVersion = 2;  // behind a zero byte; version 1 has no marker
constexpr uint8_t kAttemptVersion = 1;     // JSON before it: '{'

void put_u64_be(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_svarint(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));  // zigzag
}

void put_time(std::string& out, const std::optional<TimePoint>& t) {
  out.push_back(t ? 1 : 0);
  if (t) put_svarint(out, to_unix_ms(*t));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

// A bounds-checked cursor over bytes; any failed read makes ok() false for good.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return p_.empty(); }
  uint8_t byte() {
    if (p_.empty()) return fail(), 0;
    uint8_t b = static_cast<uint8_t>(p_[0]);
    p_.remove_prefix(1);
    return b;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      uint8_t b = byte();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail(), 0;
  }
  int64_t svarint() {
    uint64_t z = varint();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::optional<TimePoint> time() {
    uint8_t present = byte();
    if (present > 1) return fail(), std::nullopt;
    if (present == 0) return std::nullopt;
    return from_unix_ms(svarint());
  }
  std::string_view bytes(uint64_t n) {
    if (n > p_.size()) return fail(), std::string_view();
    std::string_view s = p_.substr(0, n);
    p_.remove_prefix(n);
    return s;
  }
  std::string string() { return std::string(bytes(varint())); }
  std::string_view rest() { return bytes(p_.size()); }

 private:
  void fail() { ok_ = false; }
  std::string_view p_;
  bool ok_ = true;
};

}  // namespace

std::string encode_sub_key(uint64_t key) {
  std::string out;
  put_u64_be(out, key);
  return out;
}

Result<uint64_t> decode_sub_key(std::string_view bytes) {
  if (bytes.size() != 8) return Status::Corruption(fmt::format("subscription key of {} bytes", bytes.size()));
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string encode_queue_key(uint64_t key, uint64_t seq) {
  std::string out;
  out.reserve(16);
  put_u64_be(out, key);
  put_u64_be(out, seq);
  return out;
}

namespace {

std::string encode_entry(std::string_view event_id, TimePoint enqueued_at, BodyRef body_ref,
                         std::string_view body) {
  std::string out;
  out.reserve(24 + event_id.size() + body.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(kQueueEntryVersion));
  put_varint(out, body_ref);
  put_string(out, event_id);
  put_svarint(out, to_unix_ms(enqueued_at));
  out.append(body);
  return out;
}

// Reads the version marker and the body reference (0 for version 1). False for an unknown version.
bool read_entry_header(Reader& r, std::string_view bytes, BodyRef& body_ref) {
  body_ref = 0;
  if (bytes.empty() || bytes[0] != '\0') return true;  // version 1
  r.byte();
  if (r.byte() != kQueueEntryVersion) return false;
  body_ref = r.varint();
  return r.ok();
}

}  // namespace

std::string encode_queued_event(std::string_view event_id, TimePoint enqueued_at, std::string_view body) {
  return encode_entry(event_id, enqueued_at, 0, body);
}

std::string encode_shared_queued_event(std::string_view event_id, TimePoint enqueued_at, BodyRef body_ref) {
  return encode_entry(event_id, enqueued_at, body_ref, {});
}

Result<QueueEntry> decode_queued_event(std::string_view bytes) {
  Reader r(bytes);
  QueueEntry e;
  if (!read_entry_header(r, bytes, e.body_ref)) return Status::Corruption("queued event: unknown version");
  e.id = r.string();
  e.enqueued_at = from_unix_ms(r.svarint());
  if (!r.ok()) return Status::Corruption("queued event: truncated header");
  std::string_view rest = r.rest();
  if (e.body_ref != 0 && !rest.empty()) return Status::Corruption("queued event: a shared body and bytes");
  e.body = std::string(rest);
  return e;
}

Result<BodyRef> decode_body_ref(std::string_view bytes) {
  Reader r(bytes);
  BodyRef ref = 0;
  if (!read_entry_header(r, bytes, ref)) return Status::Corruption("queued event: unknown version");
  return ref;
}

std::string encode_config(const SubscriptionConfig& c) {
  nlohmann::ordered_json j;
  j["id"] = c.id;
  j["url"] = c.endpoint.url;
  j["secret"] = c.endpoint.secret;
  j["token"] = c.endpoint.token;
  j["filter"] = {{"types", c.filter.types}, {"accounts", c.filter.accounts}, {"vehicles", c.filter.vehicles}};
  j["policy"] = policy_to_json(c.policy);
  return j.dump();
}

Result<SubscriptionConfig> decode_config(std::string_view bytes) {
  try {
    auto j = nlohmann::json::parse(bytes);
    SubscriptionConfig c;
    c.id = j.at("id").get<std::string>();
    c.endpoint.url = j.at("url").get<std::string>();
    c.endpoint.secret = j.at("secret").get<std::string>();
    c.endpoint.token = j.at("token").get<std::string>();
    const auto& f = j.at("filter");
    c.filter.types = f.at("types").get<std::vector<std::string>>();
    c.filter.accounts = f.at("accounts").get<std::vector<std::string>>();
    c.filter.vehicles = f.at("vehicles").get<std::vector<std::string>>();
    auto policy = parse_policy(j.at("policy"), "policy");
    if (!policy.ok()) return Status::Corruption("stored config: " + policy.status().message());
    c.policy = std::move(*policy);
    return c;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(fmt::format("stored config: {}", e.what()));
  }
}

std::string encode_state(const DeliveryState& s) {
  std::string out;
  out.reserve(64);
  out.push_back(static_cast<char>(kStateVersion));
  out.push_back(static_cast<char>(s.state));
  put_varint(out, s.head_seq);
  put_varint(out, s.next_seq);
  put_varint(out, s.delivered_ahead.size());
  for (uint64_t seq : s.delivered_ahead) put_varint(out, seq);
  put_varint(out, s.attempted.size());
  for (auto [seq, n] : s.attempted) {
    put_varint(out, seq);
    put_varint(out, n);
  }
  put_time(out, s.streak_start);
  put_varint(out, s.streak_failures);
  put_time(out, s.next_attempt);
  put_time(out, s.last_attempt);
  put_svarint(out, s.last_status);
  out.push_back(static_cast<char>(s.last_error));
  put_varint(out, s.delivered);
  put_varint(out, s.attempts);
  put_varint(out, s.failed_attempts);
  put_varint(out, s.discarded);
  put_varint(out, s.dropped_inactive);
  put_time(out, s.deactivated_at);
  put_string(out, s.deactivation_reason);
  // An optional tail, written only when it is not all zeros, so that a state without these policy fields
  // (RetryPolicy::max_attempts) keeps the bytes, and a record written before them reads as zeros.
  if (s.exhausted != 0 || s.schedule_from != 0 || !s.retry_at.empty()) {
    put_varint(out, s.exhausted);
    put_varint(out, s.schedule_from);
  }
  // A second optional part (Ordering::kUnordered): each waiting event's seq and due time.
  if (!s.retry_at.empty()) {
    put_varint(out, s.retry_at.size());
    for (const auto& [seq, due] : s.retry_at) {
      put_varint(out, seq);
      put_time(out, due);
    }
  }
  return out;
}

Result<DeliveryState> decode_state(std::string_view bytes) {
  Reader r(bytes);
  if (r.byte() != kStateVersion || !r.ok()) return Status::Corruption("delivery state: unknown version");
  DeliveryState s;
  uint8_t state = r.byte();
  if (state > static_cast<uint8_t>(SubState::kDeactivated))
    return Status::Corruption("delivery state: bad state");
  s.state = static_cast<SubState>(state);
  s.head_seq = r.varint();
  s.next_seq = r.varint();
  uint64_t n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) s.delivered_ahead.push_back(r.varint());
  n = r.varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    uint64_t seq = r.varint();
    uint64_t count = r.varint();
    if (count > UINT32_MAX || (!s.attempted.empty() && seq <= s.attempted.back().first))
      return Status::Corruption("delivery state: bad attempt counts");
    s.attempted.emplace_back(seq, static_cast<uint32_t>(count));
  }
  s.streak_start = r.time();
  uint64_t streak_failures = r.varint();
  if (streak_failures > UINT32_MAX) return Status::Corruption("delivery state: bad streak length");
  s.streak_failures = static_cast<uint32_t>(streak_failures);
  s.next_attempt = r.time();
  s.last_attempt = r.time();
  int64_t last_status = r.svarint();
  if (last_status < 0 || last_status > 999) return Status::Corruption("delivery state: bad last status");
  s.last_status = static_cast<int>(last_status);
  uint8_t err = r.byte();
  if (err > static_cast<uint8_t>(ErrorClass::kPrivateAddress))
    return Status::Corruption("delivery state: bad error class");
  s.last_error = static_cast<ErrorClass>(err);
  s.delivered = r.varint();
  s.attempts = r.varint();
  s.failed_attempts = r.varint();
  s.discarded = r.varint();
  s.dropped_inactive = r.varint();
  s.deactivated_at = r.time();
  s.deactivation_reason = r.string();
  if (r.ok() && !r.done()) {
    s.exhausted = r.varint();
    uint64_t schedule_from = r.varint();
    if (schedule_from > s.streak_failures) return Status::Corruption("delivery state: bad schedule start");
    s.schedule_from = static_cast<uint32_t>(schedule_from);
  }
  if (r.ok() && !r.done()) {
    uint64_t waiting = r.varint();
    for (uint64_t i = 0; i < waiting && r.ok(); ++i) {
      uint64_t seq = r.varint();
      std::optional<TimePoint> due = r.time();
      if (!s.retry_at.empty() && seq <= s.retry_at.back().first)
        return Status::Corruption("delivery state: bad retry list");
      s.retry_at.emplace_back(seq, due);
    }
  }
  if (!r.ok() || !r.done()) return Status::Corruption("delivery state: truncated or trailing bytes");
  // Invariants the engine relies on; a record breaking them is damaged.
  if (s.head_seq == 0 || s.head_seq > s.next_seq || s.delivered_ahead.size() > s.next_seq - s.head_seq)
    return Status::Corruption("delivery state: inconsistent queue bounds");
  for (size_t i = 0; i < s.delivered_ahead.size(); ++i) {
    uint64_t seq = s.delivered_ahead[i];
    if (seq <= s.head_seq || seq >= s.next_seq || (i > 0 && seq <= s.delivered_ahead[i - 1]))
      return Status::Corruption("delivery state: bad delivered-ahead list");
  }
  for (const auto& [seq, due] : s.retry_at)
    if (seq < s.head_seq || seq >= s.next_seq) return Status::Corruption("delivery state: bad retry list");
  return s;
}

std::string encode_attempt(const StoredAttempt& a) {
  std::string out;
  out.reserve(32 + a.event.size());
  out.push_back(static_cast<char>(kAttemptVersion));
  put_svarint(out, to_unix_ms(a.started));
  put_varint(out, a.seq);
  put_varint(out, a.attempt);
  out.push_back(a.probe ? 1 : 0);
  put_svarint(out, a.status);
  put_string(out, a.error == ErrorClass::kNone ? std::string_view() : std::string_view(to_string(a.error)));
  put_svarint(out, a.latency.count());
  out.append(a.event);
  return out;
}

namespace {

Result<ErrorClass> attempt_error(std::string_view name) {
  if (name.empty()) return ErrorClass::kNone;
  auto error = error_class_from_string(name);
  if (!error) return Status::Corruption(fmt::format("stored attempt: unknown error class '{}'", name));
  return *error;
}

// The integer field `key` of `j` as a T. nlohmann's get<T>() converts a fraction or a number out of T's range
// with a plain cast (undefined behaviour for a double such as 7e61), so both are refused here first.
template <typename T>
Result<T> integer_field(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  if (v.is_number_unsigned() && std::in_range<T>(v.get<uint64_t>())) return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned() && std::in_range<T>(v.get<int64_t>()))
    return static_cast<T>(v.get<int64_t>());
  return Status::Corruption(fmt::format("stored attempt: {} is not an integer in range", key));
}

Result<StoredAttempt> decode_json_attempt(std::string_view bytes) {
  using nlohmann::json;
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("stored attempt: not a JSON object");
  try {
    // The integers first, each checked before the next is read: the first bad one is the error.
    auto at_ms = integer_field<int64_t>(j, "at_ms");
    if (!at_ms.ok()) return at_ms.status();
    auto seq = integer_field<uint64_t>(j, "seq");
    if (!seq.ok()) return seq.status();
    auto attempt = integer_field<uint32_t>(j, "attempt");
    if (!attempt.ok()) return attempt.status();
    auto status = integer_field<int>(j, "status");
    if (!status.ok()) return status.status();
    auto latency_ms = integer_field<int64_t>(j, "latency_ms");
    if (!latency_ms.ok()) return latency_ms.status();
    StoredAttempt a;
    a.started = from_unix_ms(*at_ms);
    a.event = j.at("event").get<std::string>();
    a.seq = *seq;
    a.attempt = *attempt;
    a.probe = j.at("probe").get<bool>();
    a.status = *status;
    auto error = attempt_error(j.at("error").is_null() ? "" : j.at("error").get<std::string>());
    if (!error.ok()) return error.status();
    a.error = *error;
    a.latency = Duration(*latency_ms);
    return a;
  } catch (const json::exception& e) {
    return Status::Corruption(fmt::format("stored attempt: {}", e.what()));
  }
}

}  // namespace

Result<StoredAttempt> decode_attempt(std::string_view bytes) {
  if (!bytes.empty() && bytes[0] == '{') return decode_json_attempt(bytes);
  Reader r(bytes);
  if (r.byte() != kAttemptVersion) return Status::Corruption("stored attempt: unknown version");
  StoredAttempt a;
  a.started = from_unix_ms(r.svarint());
  a.seq = r.varint();
  uint64_t attempt = r.varint();
  uint8_t probe = r.byte();
  int64_t status = r.svarint();
  std::string_view error_name = r.bytes(r.varint());
  a.latency = Duration(r.svarint());
  a.event = std::string(r.rest());
  if (!r.ok() || attempt > UINT32_MAX || probe > 1 || status < INT32_MIN || status > INT32_MAX)
    return Status::Corruption("stored attempt: truncated or out of range");
  a.attempt = static_cast<uint32_t>(attempt);
  a.probe = probe == 1;
  a.status = static_cast<int>(status);
  auto error = attempt_error(error_name);
  if (!error.ok()) return error.status();
  a.error = *error;
  return a;
}

}  // namespace hooksim::storage
