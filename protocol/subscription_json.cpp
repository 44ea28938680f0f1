#include "protocol/subscription_json.h"

#include "protocol/signing.h"

namespace hooksim::json_input {

void read_subscription_fields(Fields& f, SubscriptionConfig& c, const RetryPolicy& default_policy) {
  if (const json* v = f.get("filter")) {
    Fields ff(*v, f.path("filter"));
    c.filter.types = string_list(ff.get("types"), ff.path("types"));
    c.filter.accounts = string_list(ff.get("accounts"), ff.path("accounts"));
    c.filter.vehicles = string_list(ff.get("vehicles"), ff.path("vehicles"));
    ff.no_unknown();
  }
  const json* p = f.get("policy");
  c.policy = p ? policy(*p, f.path("policy")) : default_policy;
  if (const json* v = f.get("url")) {
    c.endpoint.url = string(*v, f.path("url"));
    std::string_view url = c.endpoint.url;
    if (!url.starts_with("http://") && !url.starts_with("https://"))
      fail(f.path("url"), fmt::format("'{}' must start with http:// or https://", url));
    std::string_view host = url.substr(url.find("//") + 2);
    if (host.empty() || host[0] == '/' || host[0] == ':' || host.find_first_of(" \t\r\n") != host.npos)
      fail(f.path("url"), fmt::format("'{}' has no host", url));
  }
  const json* secret = f.get("secret");
  const json* token = f.get("token");
  if (secret && token) fail(f.path("token"), "give either secret (signatures) or token (bearer), not both");
  if (secret) c.endpoint.secret = string(*secret, f.path("secret"));
  // The secret must fit the policy's scheme: a given secret is judged under the (new) policy, and so is a
  // kept one when only the policy changes (the error then names the policy's signature).
  if (!c.endpoint.secret.empty() && !token) {
    if (auto signer = protocol::make_signer(c.endpoint.secret, c.policy.signature); !signer.ok())
      fail(secret ? f.path("secret") : f.path("policy.signature"),
           secret ? signer.status().message()
                  : fmt::format("the subscription's secret does not fit the {} scheme: {}",
                                c.policy.signature, signer.status().message()));
  }
  if (token) {
    c.endpoint.token = string(*token, f.path("token"));
    if (Status st = validate_token(c.endpoint.token); !st.ok()) fail(f.path("token"), st.message());
  }
}

}  // namespace hooksim::json_input
