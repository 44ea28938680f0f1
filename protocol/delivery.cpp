#include "protocol/delivery.h"

namespace hooksim::protocol {

namespace {
constexpr std::string_view kBearer = "Bearer ";
}  // namespace

std::string_view user_agent() {
  return "hooksim/" HOOKSIM_VERSION;
}

std::string bearer_authorization(std::string_view token) {
  return std::string(kBearer).append(token);
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  if (!authorization.starts_with(kBearer)) return std::nullopt;
  return authorization.substr(kBearer.size());
}

void build_delivery_headers(const DeliveryHeaders& h, const Credentials& credentials, std::string_view body,
                            const HeaderSink& add) {
  char number[24];
  auto digits = [&](auto n) {
    auto end = std::to_chars(number, number + sizeof number, n).ptr;
    return std::string_view(number, static_cast<size_t>(end - number));
  };
  add(header::kContentType, kJsonContentType);
  add(header::kUserAgent, h.user_agent);
  add(header::kWebhookId, h.event_id);
  add(header::kWebhookTimestamp, digits(h.timestamp));
  if (credentials.signer != nullptr) credentials.signer->sign(h.event_id, h.timestamp, body, add);
  if (!credentials.bearer_token.empty())
    add(header::kAuthorization, bearer_authorization(credentials.bearer_token));
  add(header::kSequence, digits(h.seq));
  add(header::kAttempt, digits(h.attempt));
  add(header::kVirtualTime, format_utc(h.virtual_time));
  add(header::kSubscription, h.subscription);
}

ReceivedDelivery parse_delivery_headers(const HeaderLookup& headers) {
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    if (auto v = headers(name)) return std::string(*v);
    return std::nullopt;
  };
  return {.event_id = text(header::kWebhookId),
          .timestamp = whole_number<int64_t>(headers(header::kWebhookTimestamp)),
          .seq = whole_number<uint64_t>(headers(header::kSequence)),
          .attempt = whole_number<uint64_t>(headers(header::kAttempt)),
          .virtual_time = text(header::kVirtualTime),
          .subscription = text(header::kSubscription)};
}

AuthCheck check_delivery_auth(const AuthRequirements& required, const HeaderLookup& headers,
                              std::string_view body, int64_t now) {
  AuthCheck result = AuthCheck::kUnchecked;
  if (required.signer != nullptr)
    result = worse(result, required.signer->verify(headers, body, now, required.timestamp_tolerance));
  if (!required.bearer_token.empty()) {
    auto got = headers(header::kAuthorization);
    auto token = bearer_token(got.value_or(""));
    bool match = token && constant_time_equal(*token, required.bearer_token);
    result = worse(result, !got ? AuthCheck::kMissing : match ? AuthCheck::kOk : AuthCheck::kBad);
  }
  return result;
}

}  // namespace hooksim::protocol
