#include "protocol/hook0.h"

#include <fmt/format.h>

#include <initializer_list>

#include "protocol/delivery.h"

namespace hooksim::protocol {

namespace {

// The headers hooksim's Hook0 signature covers, sorted, as its `h` part.
constexpr std::string_view kCovered = "content-type x-event-id";

// The hex HMAC-SHA256 of the parts joined by ".".
std::string mac_of(std::string_view secret, std::initializer_list<std::string_view> parts) {
  std::string message;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) message += '.';
    first = false;
    message.append(p);
  }
  return hex_encode(mac_bytes(hmac_sha256(secret, message)));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

class Hook0Signer final : public Signer {
 public:
  explicit Hook0Signer(std::string_view secret) : secret_(secret) {}

  void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
            const HeaderSink& add) const override {
    add(hook0_header::kEventId, event_id);
    add(hook0_header::kSignature, hook0_signature(secret_, event_id, timestamp, body));
  }

  AuthCheck verify(const HeaderLookup& headers, std::string_view body, int64_t now,
                   std::optional<Duration> tolerance) const override {
    auto header = headers(hook0_header::kSignature);
    if (!header || header->empty()) return AuthCheck::kMissing;
    std::optional<std::string_view> t, h, v0, v1;
    for_each_key_value(*header, [&](std::string_view key, std::string_view value) {
      if (key == "t") t = value;
      if (key == "h") h = value;
      if (key == "v0") v0 = value;
      if (key == "v1") v1 = value;
    });
    auto timestamp = whole_number<int64_t>(t);
    if (!timestamp || (!v0 && !v1)) return AuthCheck::kBad;
    std::string expected;
    if (v1) {  // the stronger scheme when both are offered, as Hook0's clients do
      // The covered names, lower case, and their values in the same order; a name the request lacks, or an
      // empty one, refuses the request (signing over an absent value would let a header be dropped).
      std::string names = lower(h.value_or("")), values;
      bool refused = false, first = true;
      if (!names.empty()) {
        util::for_each_part(names, ' ', [&](std::string_view name) {
          auto value = name.empty() ? std::nullopt : headers(name);
          refused |= !value;
          if (!first) values += '.';
          first = false;
          values.append(value.value_or(""));
        });
      }
      if (refused) return AuthCheck::kBad;
      expected = mac_of(secret_, {*t, names, values, body});
    } else {
      expected = mac_of(secret_, {*t, body});
    }
    bool match = constant_time_equal(lower(v1 ? *v1 : *v0), expected);
    return match ? timestamp_check(*timestamp, now, tolerance) : AuthCheck::kBad;
  }

 private:
  std::string secret_;
};

}  // namespace

std::string hook0_signature(std::string_view secret, std::string_view event_id, int64_t timestamp,
                            std::string_view body) {
  std::string t = std::to_string(timestamp);
  // The covered values in kCovered's order: content-type, x-event-id.
  std::string values = std::string(kJsonContentType).append(".").append(event_id);
  return fmt::format("t={},h={},v1={}", t, kCovered, mac_of(secret, {t, kCovered, values, body}));
}

Result<std::unique_ptr<Signer>> hook0_signer(std::string_view secret) {
  if (secret.empty()) return Status::InvalidArgument("a hook0 secret must not be empty");
  return std::unique_ptr<Signer>(std::make_unique<Hook0Signer>(secret));
}

}  // namespace hooksim::protocol
