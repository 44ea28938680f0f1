#include "protocol/shopify.h"

#include "engine/time.h"

namespace hooksim::protocol {

namespace {

class ShopifySigner final : public Signer {
 public:
  explicit ShopifySigner(std::string_view secret) : secret_(secret) {}

  void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
            const HeaderSink& add) const override {
    add(shopify_header::kWebhookId, event_id);
    add(shopify_header::kEventId, event_id);
    add(shopify_header::kTriggeredAt, format_utc(TimePoint(std::chrono::seconds(timestamp))));
    add(shopify_header::kHmac, shopify_signature(secret_, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t,
                   std::optional<Duration>) const override {
    auto signature = headers(shopify_header::kHmac);
    if (!signature || signature->empty()) return AuthCheck::kMissing;
    return constant_time_equal(*signature, shopify_signature(secret_, body)) ? AuthCheck::kOk
                                                                             : AuthCheck::kBad;
  }

 private:
  std::string secret_;
};

}  // namespace

std::string shopify_signature(std::string_view secret, std::string_view body) {
  return base64_encode(mac_bytes(hmac_sha256(secret, body)));
}

Result<std::unique_ptr<Signer>> shopify_signer(std::string_view secret) {
  if (secret.empty()) return Status::InvalidArgument("a shopify secret must not be empty");
  return std::unique_ptr<Signer>(std::make_unique<ShopifySigner>(secret));
}

}  // namespace hooksim::protocol
