// Fuzzes the duration, timestamp, Retry-After and retry-policy readers (engine/time.h,
// protocol/retry_after.h, engine/retry_policy.h), and checks their round trips:
// format_duration/parse_duration and policy_to_json/parse_policy give back the value; a Retry-After is never
// negative.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "engine/retry_policy.h"
#include "engine/time.h"
#include "protocol/policy_json.h"
#include "protocol/retry_after.h"

using namespace hooksim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto d = parse_duration(text);
  if (d.ok() && d->count() >= 0) {
    auto again = parse_duration(format_duration(*d));
    if (!again.ok() || *again != *d) __builtin_trap();
  }

  auto t = parse_utc(text);
  if (t.ok()) {
    auto again = parse_utc(format_utc(*t));
    if (!again.ok() || *again != *t) __builtin_trap();
  }

  auto wait = protocol::parse_retry_after(text, TimePoint(std::chrono::days(20454)));
  if (wait && wait->count() < 0) __builtin_trap();

  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto p = parse_policy(j, "policy");
  if (p.ok()) {
    auto again = parse_policy(nlohmann::json::parse(policy_to_json(*p).dump()), "policy");
    if (!again.ok() || !(*again == *p)) __builtin_trap();
  }
  return 0;
}
