#include "protocol/github.h"

namespace hooksim::protocol {

namespace {

class GithubSigner final : public Signer {
 public:
  explicit GithubSigner(std::string_view secret) : secret_(secret) {}

  void sign(std::string_view event_id, int64_t, std::string_view body, const HeaderSink& add) const override {
    add(github_header::kDelivery, event_id);
    add(github_header::kSignatureSha1, "sha1=" + hex_encode(mac_bytes(hmac_sha1(secret_, body))));
    add(github_header::kSignature, github_signature(secret_, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t,
                   std::optional<Duration>) const override {
    auto signature = headers(github_header::kSignature);
    if (!signature || signature->empty()) return AuthCheck::kMissing;
    return constant_time_equal(*signature, github_signature(secret_, body)) ? AuthCheck::kOk
                                                                            : AuthCheck::kBad;
  }

 private:
  std::string secret_;
};

}  // namespace

std::string github_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hex_encode(mac_bytes(hmac_sha256(secret, body)));
}

Result<std::unique_ptr<Signer>> github_signer(std::string_view secret) {
  if (secret.empty()) return Status::InvalidArgument("a github secret must not be empty");
  return std::unique_ptr<Signer>(std::make_unique<GithubSigner>(secret));
}

}  // namespace hooksim::protocol
