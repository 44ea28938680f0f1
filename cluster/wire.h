// What the nodes of a cluster write to NATS and read back (docs/cluster.md, "What lives where"): the stream's
// messages (one event each) and the values of the hooksim_subs bucket. Progress values:
// cluster/shard_store.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/event.h"
#include "engine/status.h"
#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim::cluster {

inline constexpr const char* kStream = "HOOKSIM_EVENTS";   // the accepted events
inline constexpr const char* kSubject = "hooksim.events";  // its one subject

// The key of hooksim_subs holding the cluster's settings (S and the lease TTL, which every node must share):
// it has a character no subscription id has.
inline constexpr const char* kSettingsKey = "cluster=settings";

// A message of the stream: the event as JSON {"id","type","account","vehicle","occurred_at_ms","data"}.
std::string encode_event(const Event& e);
// Corruption for anything else.
Result<Event> decode_event(std::string_view bytes);

// A value of hooksim_subs: a subscription's config and where in the stream it starts.
struct SubRecord {
  SubscriptionConfig config;
  uint64_t start_seq = 0;  // the stream's last sequence when it was created: it takes the events after it
  uint64_t order = 0;      // the bucket revision that created it: registration order
};
// 8 bytes start_seq, 8 bytes order (0 when written by a create: the value's own revision), then the config
// as the RocksDB store writes it (storage/record_codec.h).
std::string encode_sub(const SubscriptionConfig& config, uint64_t start_seq, uint64_t order);
// `revision`: the value's own (the order of a value a create wrote). Corruption for a malformed value.
Result<SubRecord> decode_sub(std::string_view bytes, uint64_t revision);

// POST …/reactivate and …/retry sent to a node that does not own the subscription: forwarded to its owner as
// a NATS request on admin_subject(owner), {"id":…,"action":"reactivate"|"retry"}; the owner answers with the
// subscription as it stands right after the change, or the error.
std::string admin_subject(std::string_view node);  // "hooksim.admin.NODE"
struct AdminAnswer {
  DeliveryState state;
  uint32_t in_flight_count = 0;
  std::optional<TimePoint> oldest_queued;
};
// 'S', 4 bytes in_flight_count, 8 bytes oldest_queued (ms since the epoch; INT64_MIN for none), the state as
// the RocksDB store writes it; or 'E', 1 byte Status::Code, the message.
std::string encode_admin_answer(const Result<AdminAnswer>& answer);
// The answer, its error, or Corruption for a malformed value.
Result<AdminAnswer> decode_admin_answer(std::string_view bytes);

// A subscription id or node name is a key of a bucket and a token of a NATS subject: on top of
// validate_subscription_id, it may not start or end with '.' nor hold "..". InvalidArgument naming `what`.
Status validate_key(std::string_view what, std::string_view id);

// The key of shard `shard`'s lease in hooksim_leases: "shard-N".
std::string lease_key(size_t shard);

// The steady clock in nanoseconds (lease deadlines).
inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hooksim::cluster
