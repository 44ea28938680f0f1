#include "protocol/delivery.h"

#include <fmt/format.h>

#include <charconv>

namespace hooksim::protocol {

std::string_view user_agent() {
  return "hooksim/" HOOKSIM_VERSION;
}

void build_delivery_headers(const DeliveryHeaders& h, const Credentials& credentials, std::string_view body,
                            const HeaderSink& add) {
  char number[24];
  auto digits = [&](auto n) {
    auto end = std::to_chars(number, number + sizeof number, n).ptr;
    return std::string_view(number, static_cast<size_t>(end - number));
  };
  add(header::kContentType, "application/json");
  add(header::kUserAgent, h.user_agent);
  add(header::kWebhookId, h.event_id);
  add(header::kWebhookTimestamp, digits(h.timestamp));
  if (credentials.signer != nullptr) credentials.signer->sign(h.event_id, h.timestamp, body, add);
  if (!credentials.bearer_token.empty())
    add(header::kAuthorization, fmt::format("Bearer {}", credentials.bearer_token));
  add(header::kSequence, digits(h.seq));
  add(header::kAttempt, digits(h.attempt));
  add(header::kVirtualTime, format_utc(h.virtual_time));
  add(header::kSubscription, h.subscription);
}

namespace {

template <typename Int>
std::optional<Int> whole_number(std::optional<std::string_view> text) {
  if (!text || text->empty()) return std::nullopt;
  Int value{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

std::optional<std::string> text(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

}  // namespace

ReceivedDelivery parse_delivery_headers(const HeaderLookup& headers) {
  ReceivedDelivery d;
  d.event_id = text(headers(header::kWebhookId));
  d.timestamp = whole_number<int64_t>(headers(header::kWebhookTimestamp));
  d.seq = whole_number<uint64_t>(headers(header::kSequence));
  d.attempt = whole_number<uint64_t>(headers(header::kAttempt));
  d.virtual_time = text(headers(header::kVirtualTime));
  d.subscription = text(headers(header::kSubscription));
  return d;
}

AuthCheck check_delivery_auth(const AuthRequirements& required, const HeaderLookup& headers,
                              std::string_view body, int64_t now) {
  AuthCheck result = AuthCheck::kUnchecked;
  if (required.signer != nullptr)
    result = worse(result, required.signer->verify(headers, body, now, required.timestamp_tolerance));
  if (!required.bearer_token.empty()) {
    auto got = headers(header::kAuthorization);
    if (!got) {
      result = worse(result, AuthCheck::kMissing);
    } else {
      std::string expected = fmt::format("Bearer {}", required.bearer_token);
      result = worse(result, constant_time_equal(*got, expected) ? AuthCheck::kOk : AuthCheck::kBad);
    }
  }
  return result;
}

}  // namespace hooksim::protocol
