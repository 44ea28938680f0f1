// What the mock receiver writes down: one record per request (the record file, docs/receiver.md "Record")
// and the counters of its summary line (docs/receiver.md "Summary").
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/transport.h"
#include "protocol/signing.h"

namespace hooksim::receiver {

// What happened to one request; one line of the record file.
struct RequestRecord {
  enum class Action { kAnswer, kTimeout, kDrop };
  // kStale: the signature matches but its timestamp is outside the tolerance (Checks::timestamp_tolerance).
  using Signature = protocol::AuthCheck;
  enum class Order { kOk, kDuplicate, kGap, kOutOfOrder, kNotApplicable };

  int64_t t_ms = 0;                         // wall milliseconds since the receiver started, at the outcome
  std::string sub;                          // the subscription header, else the request path
  std::optional<std::string> event;         // webhook-id
  std::optional<uint64_t> seq;              // the sequence number
  std::optional<uint64_t> attempt;          // the attempt number
  std::optional<std::string> virtual_time;  // the virtual-time header, as sent
  Action action = Action::kAnswer;
  int status = 0;  // the status answered; 0 unless action == kAnswer
  Signature signature = Signature::kUnchecked;
  Order order = Order::kNotApplicable;  // kNotApplicable unless answered 2xx
  uint64_t bytes = 0;                   // body size (for a 413 the declared Content-Length, 0 if chunked)
  std::optional<std::string> body;      // the body itself, only with ReceiverOptions::record_bodies

  // The request fields of a record (everything but the outcome) from the request's headers
  // (protocol::parse_delivery_headers) and its target: `sub` is the target's path when the subscription
  // header is absent.
  static RequestRecord describe(const protocol::HeaderLookup& headers, std::string_view target);

  // The record line, without the newline: {"t_ms":..,"sub":..,...} with fields in the order above; absent
  // optionals are null, except `body`, which appears only when recorded. Header bytes outside printable
  // ASCII are written as \u00XX (read as ISO-8859-1), so the line is valid UTF-8 JSON whatever was sent.
  std::string to_json_line() const;
  // Appends to_json_line() to `out`.
  void append_json_line(std::string& out) const;

  // The line `hooksim receiver --follow` prints for this record, without the newline: `time` (as given),
  // the subscription, then seq=, attempt=, signature=, answer= (the status, `timeout` or `drop`), order=
  // and event= ("-" for an absent value), e.g.
  // "09:14:03.512Z acme seq=17 attempt=1 signature=ok answer=200 order=ok event=evt_17". Bytes outside
  // printable ASCII in the subscription and the event id are shown as '?', so the line is one line.
  std::string follow_line(std::string_view time) const;
};

// Counters since listen(). requests == answered_2xx + answered_other + timeouts + drops.
struct ReceiverStats {
  uint64_t connections = 0;  // connections accepted
  uint64_t requests = 0;     // requests with an outcome (one record line each)
  uint64_t answered_2xx = 0;
  uint64_t answered_other = 0;    // 401, 405, 413 and scripted non-2xx answers
  uint64_t timeouts = 0;          // never answered: a timeout window, or pending when the receiver stopped
  uint64_t drops = 0;             // connection closed without an answer by a drop window
  uint64_t duplicates = 0;        // 2xx answers to an event id already answered 2xx for the subscription
  uint64_t order_violations = 0;  // 2xx answers whose sequence was a gap or out of order (both below)
  uint64_t sequence_gaps = 0;     // 2xx answers whose sequence skipped some (order "gap")
  uint64_t out_of_order = 0;      // 2xx answers of an older sequence after a newer one (order broken)
  uint64_t bad_signatures = 0;    // requests whose signature or token was bad, missing or stale

  // Counts one complete record (its action, status, signature and order).
  void count(const RequestRecord& r);

  // {"requests":..,"answered_2xx":..,"answered_other":..,"timeouts":..,"drops":..,"duplicates":..,
  //  "order_violations":..,"sequence_gaps":..,"out_of_order":..,"bad_signatures":..,"connections":..}
  // on one line.
  std::string to_json_line() const;
};

// The record file: one line per record, buffered. Not thread-safe: the caller serialises every call.
class RecordFile {
 public:
  // Appended records are written once this many bytes are pending (and by write() and flush()).
  static constexpr size_t kFlushBytes = 64 * 1024;

  RecordFile() = default;
  // Writes what is buffered and closes the file.
  ~RecordFile();
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  // Creates or truncates `path`. InvalidArgument "record file 'PATH': cannot open for writing: ..." on error.
  // REQUIRES: not open.
  Status open(const std::string& path);
  bool is_open() const { return file_ != nullptr; }

  // Buffers the record's line; writes the buffer when kFlushBytes are pending. REQUIRES: is_open().
  void append(const RequestRecord& r);
  // Writes the buffered lines. The first write error is kept for flush(). No-op when not open.
  void write();
  // write(), then IOError "record file 'PATH': write failed: ..." if any write has failed so far; OK when
  // not open.
  Status flush();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  std::string error_;  // the first write error
};

}  // namespace hooksim::receiver
