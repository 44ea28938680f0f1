#include "protocol/stripe.h"

#include "protocol/delivery.h"

namespace hooksim::protocol {

namespace {

// The hex HMAC-SHA256 of "timestamp.body" under `secret`.
std::string stripe_mac(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  return hex_encode(mac_bytes(hmac_sha256(secret, message)));
}

class StripeSigner final : public Signer {
 public:
  explicit StripeSigner(std::string_view secret) : secret_(secret) {}

  void sign(std::string_view, int64_t timestamp, std::string_view body,
            const HeaderSink& add) const override {
    add(kStripeSignatureHeader, stripe_signature(secret_, timestamp, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t now,
                   std::optional<Duration> tolerance) const override {
    auto header = headers(kStripeSignatureHeader);
    if (!header || header->empty()) return AuthCheck::kMissing;
    std::optional<std::string_view> t;  // the last t= part, as Stripe's parser keeps the last one it reads
    bool any_v1 = false;
    for_each_key_value(*header, [&](std::string_view key, std::string_view value) {
      if (key == "t") t = value;
      any_v1 |= key == "v1";
    });
    auto timestamp = whole_number<int64_t>(t);
    if (!timestamp || !any_v1) return AuthCheck::kBad;
    std::string expected = stripe_mac(secret_, *t, body);
    bool match = false;  // every candidate is compared, so the time does not say which one matched
    for_each_key_value(*header, [&](std::string_view key, std::string_view value) {
      if (key == "v1") match |= constant_time_equal(value, expected);
    });
    return match ? timestamp_check(*timestamp, now, tolerance) : AuthCheck::kBad;
  }

 private:
  std::string secret_;
};

}  // namespace

std::string stripe_signature(std::string_view secret, int64_t timestamp, std::string_view body) {
  std::string t = std::to_string(timestamp);
  return "t=" + t + ",v1=" + stripe_mac(secret, t, body);
}

Result<std::unique_ptr<Signer>> stripe_signer(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (!secret.starts_with(kPrefix) || secret.size() == kPrefix.size())
    return Status::InvalidArgument("a stripe secret must be whsec_ followed by the rest of the key");
  return std::unique_ptr<Signer>(std::make_unique<StripeSigner>(secret));
}

}  // namespace hooksim::protocol
