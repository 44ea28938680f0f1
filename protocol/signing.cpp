#include "protocol/signing.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "protocol/github.h"
#include "protocol/hook0.h"
#include "protocol/shopify.h"
#include "protocol/standard_webhooks.h"
#include "protocol/stripe.h"
#include "protocol/svix.h"

namespace hooksim::protocol {

const char* to_string(AuthCheck a) {
  static constexpr const char* kNames[] = {"unchecked", "ok", "stale", "bad", "missing"};
  return kNames[static_cast<int>(a)];
}

AuthCheck worse(AuthCheck a, AuthCheck b) {
  return std::max(a, b);
}

namespace {

using SignerFactory = Result<std::unique_ptr<Signer>> (*)(std::string_view secret);

struct Scheme {
  std::string_view name;
  SignerFactory make;
  bool whsec_base64;  // its secrets are "whsec_" + base64 (else: "whsec_" + anything, or any string)
  bool whsec;         // its secrets start with "whsec_"
  bool signs_timestamp;
};

constexpr Scheme kSchemes[] = {
    {kDefaultSignatureScheme, standard_webhooks_signer, true, true, true},
    {"svix", svix_signer, true, true, true},
    {"stripe", stripe_signer, false, true, true},
    {"github", github_signer, false, false, false},
    {"shopify", shopify_signer, false, false, false},
    {"hook0", hook0_signer, false, false, true},
};

const Scheme* find_scheme(std::string_view name) {
  for (const Scheme& s : kSchemes)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& signature_schemes() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Scheme& s : kSchemes) v.emplace_back(s.name);
    return v;
  }();
  return names;
}

Result<std::unique_ptr<Signer>> make_signer(std::string_view secret, std::string_view scheme) {
  const Scheme* s = find_scheme(scheme);
  if (s == nullptr) return Status::InvalidArgument(fmt::format("unknown signature scheme '{}'", scheme));
  return s->make(secret);
}

bool signs_timestamp(std::string_view scheme) {
  const Scheme* s = find_scheme(scheme);
  return s == nullptr || s->signs_timestamp;
}

std::string random_secret(std::string_view scheme) {
  const Scheme* s = find_scheme(scheme);
  if (s != nullptr && s->whsec_base64) return "whsec_" + base64_encode(random_hex(48));
  return (s != nullptr && s->whsec ? "whsec_" : "") + random_hex(32);
}

AuthCheck timestamp_check(int64_t timestamp, int64_t now, std::optional<Duration> tolerance) {
  if (!tolerance) return AuthCheck::kOk;
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(*tolerance).count();
  return timestamp < now - seconds || timestamp > now + seconds ? AuthCheck::kStale : AuthCheck::kOk;
}

namespace {
template <size_t N>
std::array<char, N> hmac(const EVP_MD* md, std::string_view key, std::string_view message) {
  std::array<char, N> mac{};
  unsigned int mac_len = N;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), reinterpret_cast<unsigned char*>(mac.data()), &mac_len);
  return mac;
}
}  // namespace

std::array<char, 32> hmac_sha256(std::string_view key, std::string_view message) {
  return hmac<32>(EVP_sha256(), key, message);
}

std::array<char, 20> hmac_sha1(std::string_view key, std::string_view message) {
  return hmac<20>(EVP_sha1(), key, message);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64: length is not a multiple of 4");
  size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  constexpr std::string_view kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.substr(0, text.size() - pad).find_first_not_of(kDigits) != std::string_view::npos)
    return Status::InvalidArgument("base64: invalid character");
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("base64: cannot decode");
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex(size_t digits) {
  std::string bytes((digits + 1) / 2, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    std::fprintf(stderr, "hooksim: cannot generate random ids: OpenSSL's RAND_bytes failed (%s)\n",
                 ERR_error_string(ERR_get_error(), nullptr));
    std::abort();
  }
  std::string out = hex_encode(bytes);
  out.resize(digits);
  return out;
}

}  // namespace hooksim::protocol
