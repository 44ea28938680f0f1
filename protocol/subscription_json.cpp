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
    if (Status st = validate_url(c.endpoint.url); !st.ok()) fail(f.path("url"), st.message());
  }
  const json* secret = f.get("secret");
  const json* token = f.get("token");
  if (secret && token) fail(f.path("token"), "give either secret (signatures) or token (bearer), not both");
  if (secret) {
    c.endpoint.secret = string(*secret, f.path("secret"));
    if (Status st = validate_secret(c.endpoint.secret); !st.ok()) fail(f.path("secret"), st.message());
  }
  if (token) {
    c.endpoint.token = string(*token, f.path("token"));
    if (Status st = validate_token(c.endpoint.token); !st.ok()) fail(f.path("token"), st.message());
  }
}

Status validate_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return Status::InvalidArgument(fmt::format("'{}' must start with http:// or https://", url));
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':' ||
      rest.find_first_of(" \t\r\n") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("'{}' has no host", url));
  return Status::OK();
}

Status validate_secret(std::string_view secret) {
  auto key = protocol::make_signer(secret);
  return key.ok() ? Status::OK() : key.status();
}

}  // namespace hooksim::json_input
