#include "protocol/standard_webhooks.h"

#include "protocol/delivery.h"
#include "util/split.h"

namespace hooksim::protocol {

Result<std::string> signing_key(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (!secret.starts_with(kPrefix)) return Status::InvalidArgument("secret must start with whsec_");
  auto key = base64_decode(secret.substr(kPrefix.size()));
  if (!key.ok())
    return Status::InvalidArgument("secret after whsec_ must be base64: " + key.status().message());
  if (key->empty()) return Status::InvalidArgument("secret has an empty key");
  return key;
}

std::string sign(std::string_view key, std::string_view webhook_id, int64_t timestamp,
                 std::string_view body) {
  std::string message;
  message.reserve(webhook_id.size() + body.size() + 24);
  message.append(webhook_id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return "v1," + base64_encode(mac_bytes(hmac_sha256(key, message)));
}

bool verify(std::string_view key, std::string_view webhook_id, int64_t timestamp, std::string_view body,
            std::string_view header) {
  std::string expected = sign(key, webhook_id, timestamp, body);
  bool match = false;  // every candidate is compared, so the time does not say which one matched
  util::for_each_part(header, ' ',
                      [&](std::string_view candidate) { match |= constant_time_equal(candidate, expected); });
  return match;
}

namespace {

class StandardWebhooksSigner final : public Signer {
 public:
  StandardWebhooksSigner(std::string key, const StandardWebhooksHeaders& names)
      : key_(std::move(key)), names_(names) {}

  void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
            const HeaderSink& add) const override {
    if (names_.adds_id_and_timestamp) {
      add(names_.id, event_id);
      add(names_.timestamp, std::to_string(timestamp));
    }
    add(names_.signature, protocol::sign(key_, event_id, timestamp, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t now,
                   std::optional<Duration> tolerance) const override {
    auto signature = headers(names_.signature);
    if (!signature || signature->empty()) return AuthCheck::kMissing;
    auto timestamp = whole_number<int64_t>(headers(names_.timestamp));
    if (!timestamp || !protocol::verify(key_, headers(names_.id).value_or(""), *timestamp, body, *signature))
      return AuthCheck::kBad;
    return timestamp_check(*timestamp, now, tolerance);
  }

 private:
  std::string key_;
  StandardWebhooksHeaders names_;
};

}  // namespace

std::unique_ptr<Signer> standard_webhooks_signer(std::string key, const StandardWebhooksHeaders& names) {
  return std::make_unique<StandardWebhooksSigner>(std::move(key), names);
}

Result<std::unique_ptr<Signer>> standard_webhooks_signer(std::string_view secret) {
  auto key = signing_key(secret);
  if (!key.ok()) return key.status();
  return standard_webhooks_signer(std::move(*key),
                                  {header::kWebhookId, header::kWebhookTimestamp, kSignatureHeader});
}

}  // namespace hooksim::protocol
