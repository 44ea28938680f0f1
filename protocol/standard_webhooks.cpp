#include "protocol/standard_webhooks.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

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
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
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
  explicit StandardWebhooksSigner(std::string key) : key_(std::move(key)) {}

  void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
            const HeaderSink& add) const override {
    add(kSignatureHeader, protocol::sign(key_, event_id, timestamp, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t now,
                   std::optional<Duration> tolerance) const override {
    auto signature = headers(kSignatureHeader);
    if (!signature || signature->empty()) return AuthCheck::kMissing;
    auto timestamp = whole_number<int64_t>(headers(header::kWebhookTimestamp));
    if (!timestamp ||
        !protocol::verify(key_, headers(header::kWebhookId).value_or(""), *timestamp, body, *signature))
      return AuthCheck::kBad;
    if (tolerance) {
      int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(*tolerance).count();
      if (*timestamp < now - seconds || *timestamp > now + seconds) return AuthCheck::kStale;
    }
    return AuthCheck::kOk;
  }

 private:
  std::string key_;
};

}  // namespace

Result<std::unique_ptr<Signer>> standard_webhooks_signer(std::string_view secret) {
  auto key = signing_key(secret);
  if (!key.ok()) return key.status();
  return std::unique_ptr<Signer>(std::make_unique<StandardWebhooksSigner>(std::move(*key)));
}

}  // namespace hooksim::protocol
