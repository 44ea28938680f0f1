#include "protocol/svix.h"

#include "protocol/standard_webhooks.h"

namespace hooksim::protocol {

Result<std::unique_ptr<Signer>> svix_signer(std::string_view secret) {
  auto key = signing_key(secret);
  if (!key.ok()) return key.status();
  return standard_webhooks_signer(std::move(*key),
                                  {svix_header::kId, svix_header::kTimestamp, svix_header::kSignature, true});
}

}  // namespace hooksim::protocol
