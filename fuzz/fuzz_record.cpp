// Fuzzes the stored-record decoders (storage/record_codec.h): every decoder must return a value or
// Corruption for any bytes, and what decodes must encode back to bytes that decode to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/record_codec.h"

using namespace hooksim;
using namespace hooksim::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto key = decode_sub_key(bytes); key.ok() && encode_sub_key(*key) != bytes) __builtin_trap();

  if (auto e = decode_queued_event(bytes); e.ok()) {
    auto again = decode_queued_event(encode_queued_event(e->id, e->enqueued_at, e->body));
    if (!again.ok() || again->id != e->id || again->enqueued_at != e->enqueued_at || again->body != e->body)
      __builtin_trap();
  } else if (e.status().code() != Status::Code::kCorruption) {
    __builtin_trap();
  }

  if (auto c = decode_config(bytes); c.ok()) {
    auto again = decode_config(encode_config(*c));
    if (!again.ok() || !(*again == *c)) __builtin_trap();
  } else if (c.status().code() != Status::Code::kCorruption) {
    __builtin_trap();
  }

  if (auto s = decode_state(bytes); s.ok()) {
    auto again = decode_state(encode_state(*s));
    if (!again.ok() || !(*again == *s)) __builtin_trap();
  } else if (s.status().code() != Status::Code::kCorruption) {
    __builtin_trap();
  }
  if (auto a = decode_attempt(bytes); a.ok()) {
    auto again = decode_attempt(encode_attempt(*a));
    if (!again.ok() || !(*again == *a)) __builtin_trap();
  } else if (a.status().code() != Status::Code::kCorruption) {
    __builtin_trap();
  }
  return 0;
}
