#include "receiver/record.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <type_traits>

#include "protocol/delivery.h"

namespace hooksim::receiver {
namespace {

// Appends `s` as a JSON string. Bytes >= 0x80 are escaped as \u00XX: HTTP field values are octets
// (obs-text is ISO-8859-1), and the record must stay valid UTF-8 whatever a client sends.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

// Appends `key` (with its punctuation) and `v`, or null.
template <typename T>
void append_optional(std::string& out, std::string_view key, const std::optional<T>& v) {
  out += key;
  if (!v) {
    out += "null";
  } else if constexpr (std::is_same_v<T, std::string>) {
    append_json_string(out, *v);
  } else {
    fmt::format_to(std::back_inserter(out), "{}", *v);
  }
}

// The record's names of the enumerators, in declaration order.
constexpr const char* kActionNames[] = {"answer", "timeout", "drop"};
constexpr const char* kOrderNames[] = {"ok", "duplicate", "gap", "out_of_order", "n/a"};

}  // namespace

RequestRecord RequestRecord::describe(const protocol::HeaderLookup& headers, std::string_view target) {
  protocol::ReceivedDelivery d = protocol::parse_delivery_headers(headers);
  RequestRecord r;
  r.sub = d.subscription ? std::move(*d.subscription) : std::string(target.substr(0, target.find('?')));
  r.event = std::move(d.event_id);
  r.seq = d.seq;
  r.attempt = d.attempt;
  r.virtual_time = std::move(d.virtual_time);
  return r;
}

void RequestRecord::append_json_line(std::string& out) const {
  fmt::format_to(std::back_inserter(out), "{{\"t_ms\":{},\"sub\":", t_ms);
  append_json_string(out, sub);
  append_optional(out, ",\"event\":", event);
  append_optional(out, ",\"seq\":", seq);
  append_optional(out, ",\"attempt\":", attempt);
  append_optional(out, ",\"virtual_time\":", virtual_time);
  fmt::format_to(std::back_inserter(out),
                 ",\"action\":\"{}\",\"status\":{},\"signature\":\"{}\",\"order\":\"{}\",\"bytes\":{}",
                 kActionNames[static_cast<int>(action)], status, protocol::to_string(signature),
                 kOrderNames[static_cast<int>(order)], bytes);
  if (body) {
    out += ",\"body\":";
    append_json_string(out, *body);
  }
  out += '}';
}

std::string RequestRecord::follow_line(std::string_view time) const {
  auto printable = [](std::string_view text) {
    std::string out(text);
    for (char& c : out)
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return out;
  };
  auto number = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  std::string answer =
      action == Action::kAnswer ? std::to_string(status) : kActionNames[static_cast<int>(action)];
  return fmt::format("{} {} seq={} attempt={} signature={} answer={} order={} event={}", time, printable(sub),
                     number(seq), number(attempt), protocol::to_string(signature), answer,
                     kOrderNames[static_cast<int>(order)], event ? printable(*event) : "-");
}

std::string RequestRecord::to_json_line() const {
  std::string out;
  out.reserve(256);
  append_json_line(out);
  return out;
}

void ReceiverStats::count(const RequestRecord& r) {
  ++requests;
  using Action = RequestRecord::Action;
  ++(r.action == Action::kTimeout ? timeouts
     : r.action == Action::kDrop  ? drops
     : is_2xx(r.status)           ? answered_2xx
                                  : answered_other);
  if (r.signature >= RequestRecord::Signature::kStale) ++bad_signatures;  // stale, bad or missing
  if (r.order == RequestRecord::Order::kDuplicate) ++duplicates;
  if (r.order == RequestRecord::Order::kGap || r.order == RequestRecord::Order::kOutOfOrder) {
    ++order_violations;
    ++(r.order == RequestRecord::Order::kGap ? sequence_gaps : out_of_order);
  }
}

std::string ReceiverStats::to_json_line() const {
  return fmt::format(
      "{{\"requests\":{},\"answered_2xx\":{},\"answered_other\":{},\"timeouts\":{},\"drops\":{},"
      "\"duplicates\":{},\"order_violations\":{},\"sequence_gaps\":{},\"out_of_order\":{},"
      "\"bad_signatures\":{},\"connections\":{}}}",
      requests, answered_2xx, answered_other, timeouts, drops, duplicates, order_violations, sequence_gaps,
      out_of_order, bad_signatures, connections);
}

RecordFile::~RecordFile() {
  if (file_ != nullptr) {
    write();
    std::fclose(file_);
  }
}

Status RecordFile::open(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "w");
  if (file_ == nullptr)
    return Status::InvalidArgument(
        fmt::format("record file '{}': cannot open for writing: {}", path, std::strerror(errno)));
  return Status::OK();
}

void RecordFile::append(const RequestRecord& r) {
  r.append_json_line(buffer_);
  buffer_ += '\n';
  if (buffer_.size() >= kFlushBytes) write();
}

void RecordFile::write() {
  if (file_ == nullptr || buffer_.empty()) return;
  size_t written = std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
  if ((written != buffer_.size() || std::fflush(file_) != 0) && error_.empty())
    error_ = fmt::format("record file '{}': write failed: {}", path_, std::strerror(errno));
  buffer_.clear();
}

Status RecordFile::flush() {
  write();
  return error_.empty() ? Status::OK() : Status::IOError(error_);
}

}  // namespace hooksim::receiver
