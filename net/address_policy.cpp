#include "net/address_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace hooksim::net {

namespace {

// IPv4 in host byte order.
bool private_v4(uint32_t a) {
  struct Range {
    uint32_t net;
    int bits;
  };
  static constexpr std::array<Range, 10> kRanges = {{
      {0x00000000, 8},   // 0.0.0.0/8 "this network"
      {0x0A000000, 8},   // 10/8
      {0x64400000, 10},  // 100.64/10 shared address space (CGNAT)
      {0x7F000000, 8},   // 127/8 loopback
      {0xA9FE0000, 16},  // 169.254/16 link-local (cloud metadata services live here)
      {0xAC100000, 12},  // 172.16/12
      {0xC0000000, 24},  // 192.0.0/24 IETF protocol assignments
      {0xC0A80000, 16},  // 192.168/16
      {0xC6120000, 15},  // 198.18/15 benchmarking
      {0xE0000000, 3},   // 224/4 multicast, 240/4 reserved, 255.255.255.255
  }};
  for (const Range& r : kRanges) {
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((a & mask) == r.net) return true;
  }
  return false;
}

bool private_v6(const in6_addr& a) {
  const uint8_t* b = a.s6_addr;
  auto v4_at_12 = [&] {
    return (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
  };
  static constexpr uint8_t kZero10[10] = {};
  if (std::memcmp(b, kZero10, 10) == 0) {
    if (b[10] == 0xff && b[11] == 0xff) return private_v4(v4_at_12());  // ::ffff:a.b.c.d (mapped)
    if (b[10] == 0 && b[11] == 0) return true;  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  }
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96
  if (std::memcmp(b, kNat64, 12) == 0) return private_v4(v4_at_12());
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return true;                           // ff00::/8 multicast
  return false;
}

}  // namespace

bool is_private_address(const sockaddr* address) {
  if (address->sa_family == AF_INET)
    return private_v4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  if (address->sa_family == AF_INET6)
    return private_v6(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return true;  // anything else (unix sockets, ...) is not a public Internet address
}

std::optional<bool> is_private_address(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) return private_v4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);  // a zone id: link-local anyway
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) return private_v6(v6);
  return std::nullopt;
}

Status check_url_host_not_private(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return Status::InvalidArgument(fmt::format("'{}' is not a valid URL", url));
  char* host_raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &host_raw, 0) != CURLUE_OK || host_raw == nullptr)
    return Status::InvalidArgument(fmt::format("'{}' has no host", url));
  std::string host(host_raw);
  curl_free(host_raw);
  // libcurl normalises numeric forms (http://2130706433/, http://0x7f.1/) to dotted quads here.
  std::optional<bool> priv = is_private_address(host);
  if (priv && *priv)
    return Status::InvalidArgument(fmt::format(
        "host '{}' is a private or loopback address, refused by --refuse-private-addresses", host));
  return Status::OK();
}

}  // namespace hooksim::net
