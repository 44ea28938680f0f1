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

// A queued event: varint id length, id, zigzag varint enqueue time (Unix ms), body.
std::string encode_queued_event(std::string_view event_id, TimePoint enqueued_at, std::string_view body);
Result<QueuedEvent> decode_queued_event(std::string_view bytes);

// Config as JSON {"id","url","secret","token","filter":{types,accounts,vehicles},"policy":{...}}:
// written rarely, readable with any tool.
std::string encode_config(const SubscriptionConfig& config);
Result<SubscriptionConfig> decode_config(std::string_view bytes);

// Delivery state as a compact versioned binary record (written on every acknowledgement).
std::string encode_state(const DeliveryState& state);
Result<DeliveryState> decode_state(std::string_view bytes);

}  // namespace hooksim::storage
