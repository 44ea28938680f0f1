#include "protocol/presets.h"

#include <algorithm>
#include <array>

namespace hooksim::protocol {
namespace {

struct Preset {
  std::string_view name;
  std::string_view policy;  // a policy object, as a user would write it
};

// One entry per sender. Each value is the sender's own (its documentation or its code, named in
// docs/policies.md, "Presets", with the commit read); what a sender does not publish is filled by the rule
// stated there and marked as an approximation. "3650d", the longest give_up_after, stands for "never":
// those senders deactivate no endpoint by default. None of them promises an order; none publishes how many
// requests it makes to one endpoint at once (approximation: 10).
constexpr std::array<Preset, 8> kPresets = {{
    // The documented platform schedule: RetryPolicy::frotcom() itself.
    {"frotcom", R"({})"},
    // docs.svix.com/retries (schedule, 15s, 5 days); svix-webhooks server/svix-server/src/worker.rs
    // (jitter ±20 %, Retry-After clamped, at least 60s after a 429).
    {"svix",
     R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0, "delays": ["5s", "5m", "30m", "2h", "5h", "10h", "10h"],
      "max_attempts": 8, "attempt_timeout": "15s", "give_up_after": "3650d", "disable_after": {"duration": "5d"},
      "jitter": 0.2, "retry_after": {"honour": {"min": "1m", "max": "20h"}}, "signature": "svix"})"},
    // docs.stripe.com/webhooks: exponential back-off for up to three days in live mode; the delays are
    // unpublished (approximation: doubling from 5m, the last retry at 3d).
    {"stripe", R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0,
      "delays": ["5m", "10m", "20m", "40m", "1h20m", "2h40m", "5h20m", "10h40m", "21h20m", "1d5h25m"],
      "max_attempts": 11, "attempt_timeout": "30s", "give_up_after": "3650d", "signature": "stripe"})"},
    // docs.github.com, "Handling failed webhook deliveries": no automatic redelivery; 10s.
    {"github",
     R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0, "delays": [], "max_attempts": 1, "attempt_timeout": "10s",
      "give_up_after": "3650d", "signature": "github"})"},
    // shopify.dev changelog "Updates to webhook retry mechanism": retried 8 times over 4 hours, exponential
    // (approximation: doubling from 1m, the last retry at 4h); 5s; removal after failures persist.
    {"shopify",
     R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0, "delays": ["1m", "2m", "4m", "8m", "16m", "32m", "1h4m", "1h53m"],
      "max_attempts": 9, "attempt_timeout": "5s", "give_up_after": "3650d", "disable_after": {"duration": "4h"},
      "signature": "shopify"})"},
    // hook0 output-worker/src/main.rs (RetryPolicy, Config) and documentation/explanation/
    // webhook-retry-logic.md: the schedule, 24 retries within 8 days, + up to 10 % (2s to 15m), 15s,
    // Retry-After of a 429 up to 10h.
    {"hook0",
     R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0, "delays": ["3s", "10s", "3m", "30m", "1h", "3h", "5h"], "repeat": "10h",
      "max_attempts": 25, "attempt_timeout": "15s", "give_up_after": "3650d", "jitter": {"min": "0s", "max": "2s"},
      "retry_after": {"honour": {"min": "3s", "max": "10h"}}, "signature": "hook0"})"},
    // outpost internal/backoff/backoff.go, internal/config/config.go: 30s·2^n, 10 retries, 5s.
    {"outpost", R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0,
      "delays": ["30s", "1m", "2m", "4m", "8m", "16m", "32m", "1h4m", "2h8m", "4h16m"],
      "max_attempts": 11, "attempt_timeout": "5s", "give_up_after": "3650d"})"},
    // convoy datastore/models.go (DefaultStrategyConfig: linear, 100s, 10), worker/task/
    // process_event_delivery.go (10 attempts in all), const.go (HTTP_TIMEOUT 10s).
    {"convoy",
     R"({"ordering": "unordered", "concurrency": 10, "immediate_retries": 0, "delays": [], "repeat": "1m40s", "max_attempts": 10,
      "attempt_timeout": "10s", "give_up_after": "3650d"})"},
}};

}  // namespace

const std::vector<std::string>& policy_presets() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> v;
    for (const Preset& p : kPresets) v.emplace_back(p.name);
    return v;
  }();
  return list;
}

std::optional<std::string_view> preset_policy(std::string_view name) {
  auto it =
      std::find_if(kPresets.begin(), kPresets.end(), [name](const Preset& p) { return p.name == name; });
  if (it == kPresets.end()) return std::nullopt;
  return it->policy;
}

}  // namespace hooksim::protocol
