// Encodings of what the store keeps: queue keys, queued events, subscription configs and delivery states.
//
// Every decoder checks bounds and returns Corruption for bytes it cannot read; none trusts its input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/queue_store.h"
#include "engine/status.h"
#include "engine/subscription.h"

namespace hooksim::storage {

// 8 bytes, big-endian: keys of one subscription sort together and in numeric order.
std::string encode_sub_key(uint64_t key);
Result<uint64_t> decode_sub_key(std::string_view bytes);

// 16 bytes: big-endian subscription key, then big-endian sequence number.
std::string encode_queue_key(uint64_t key, uint64_t seq);

// A queue entry as stored: the event's id and publish time, and either its body (body_ref 0) or the id of
// a body stored apart, shared with other entries (body_ref > 0, body empty).
struct QueueEntry {
  std::string id;
  TimePoint enqueued_at;
  BodyRef body_ref = 0;
  std::string body;
};

// A queue entry, version 2: a zero byte, the version (2), varint body_ref, varint id length, id, zigzag
// varint enqueue time (Unix ms), then the body when body_ref is 0.
// Version 1 (written up to 22bc692, still read): varint id length, id, zigzag varint enqueue time, body. Its
// first byte is the id's length, never 0 (ids are 1 to 200 characters), which tells the versions apart.
std::string encode_queued_event(std::string_view event_id, TimePoint enqueued_at, std::string_view body);
std::string encode_shared_queued_event(std::string_view event_id, TimePoint enqueued_at, BodyRef body_ref);
Result<QueueEntry> decode_queued_event(std::string_view bytes);
// The body reference of an encoded entry, reading no further than it (for a scan of a removed range).
Result<BodyRef> decode_body_ref(std::string_view bytes);

// Config as JSON {"id","url","secret","token","filter":{types,accounts,vehicles},"policy":{...}}:
// written rarely, readable with any tool.
std::string encode_config(const SubscriptionConfig& config);
Result<SubscriptionConfig> decode_config(std::string_view bytes);

// Delivery state as a compact versioned binary record (written on every acknowledgement).
std::string encode_state(const DeliveryState& state);
Result<DeliveryState> decode_state(std::string_view bytes);

// One attempt kept for GET /v1/subscriptions/{id}/attempts (service/attempt_history.h).
struct StoredAttempt {
  TimePoint started;
  std::string event;
  uint64_t seq = 0;
  uint32_t attempt = 0;
  bool probe = false;
  int status = 0;
  ErrorClass error = ErrorClass::kNone;  // kNone: delivered
  Duration latency{0};

  bool operator==(const StoredAttempt&) const = default;
};

// A stored attempt, version 1 (written on every attempt, so binary): the byte 1, zigzag varint start (Unix
// ms), varint seq, varint attempt, a byte probe (0 or 1), zigzag varint status, the error class's name
// (varint length and bytes; empty when delivered), zigzag varint latency (ms), then the event id to the end.
// Stores written up to 72b59c7 hold a JSON object instead ({"at_ms", "event", "seq", "attempt", "probe",
// "status", "error", "latency_ms"}, null error when delivered); it is still read: its first byte is '{'.
std::string encode_attempt(const StoredAttempt& a);
Result<StoredAttempt> decode_attempt(std::string_view bytes);

}  // namespace hooksim::storage
