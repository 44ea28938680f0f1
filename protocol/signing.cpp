#include "protocol/signing.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "protocol/standard_webhooks.h"

namespace hooksim::protocol {

const char* to_string(AuthCheck a) {
  static constexpr const char* kNames[] = {"unchecked", "ok", "stale", "bad", "missing"};
  return kNames[static_cast<int>(a)];
}

AuthCheck worse(AuthCheck a, AuthCheck b) {
  return std::max(a, b);
}

Result<std::unique_ptr<Signer>> make_signer(std::string_view secret) {
  return standard_webhooks_signer(secret);
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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string bytes((digits + 1) / 2, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    std::fprintf(stderr, "hooksim: cannot generate random ids: OpenSSL's RAND_bytes failed (%s)\n",
                 ERR_error_string(ERR_get_error(), nullptr));
    std::abort();
  }
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  out.resize(digits);
  return out;
}

}  // namespace hooksim::protocol
