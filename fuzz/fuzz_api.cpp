// Fuzzes the API's request-body readers (service/requests.h) the way the service calls them: the first
// byte picks the route (POST /v1/events, POST /v1/subscriptions, PATCH /v1/subscriptions/{id}), the rest is
// the body. Bodies nested too deeply are refused first, as the service does. Accepted events are also
// turned into delivery envelopes, which must be valid JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/envelope.h"
#include "service/requests.h"

using namespace hooksim;
using namespace hooksim::service;

namespace {

SubscriptionConfig current() {
  SubscriptionConfig c;
  c.id = "acme";
  c.endpoint.url = "http://127.0.0.1:9/hooks";
  c.endpoint.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  return c;
}

void check_error(const BodyError& e) {
  if ((e.code != "invalid_json" && e.code != "invalid_argument") || e.message.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (nested_too_deep(body)) return 0;
  int n = 0;
  switch (data[0] % 3) {
    case 0: {
      auto r = parse_publish_body(body, TimePoint(std::chrono::days(20454)),
                                  [&n] { return "evt_" + std::to_string(++n); });
      if (auto* e = std::get_if<BodyError>(&r)) {
        check_error(*e);
      } else {
        for (const Event& ev : std::get<std::vector<Event>>(r)) {
          auto envelope =
              nlohmann::json::parse(protocol::make_envelope(ev), nullptr, /*allow_exceptions=*/false);
          if (envelope.is_discarded()) __builtin_trap();
        }
      }
      break;
    }
    case 1: {
      auto r = parse_subscription_body(body);
      if (auto* e = std::get_if<BodyError>(&r)) check_error(*e);
      break;
    }
    default: {
      auto r = parse_patch_body(body, current());
      if (auto* e = std::get_if<BodyError>(&r)) {
        check_error(*e);
      } else if (std::get<SubscriptionConfig>(r).id != "acme") {
        __builtin_trap();
      }
      break;
    }
  }
  return 0;
}
