// Fuzzes every signature scheme's parser (protocol/signing.h and the scheme files): the input picks a scheme
// and gives a secret, one value for every header the receiver looks up, and a body. verify() must give a
// verdict without crashing whatever the header says; and a delivery the scheme signs itself must verify as
// kOk, and not once its body changes.
//
// Input: byte 0 picks the scheme; the rest is "secret\nheader value\nbody" (missing parts are empty).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "protocol/delivery.h"
#include "protocol/signing.h"

using namespace hooksim;
using namespace hooksim::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& schemes = signature_schemes();
  const std::string& scheme = schemes[data[0] % schemes.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  auto cut = [&rest]() {
    size_t nl = rest.find('\n');
    std::string_view part = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return part;
  };
  std::string_view secret = cut(), value = cut(), body = rest;
  auto signer = make_signer(secret, scheme);
  if (!signer.ok()) return 0;

  // Any header value, under every name: the parsers must cope.
  const HeaderLookup any = [value](std::string_view) -> std::optional<std::string_view> { return value; };
  (void)(*signer)->verify(any, body, 1800000000, std::chrono::minutes(5));

  // Its own signature, on a delivery built as the sender builds one, verifies; another body does not.
  std::map<std::string, std::string, std::less<>> headers;
  build_delivery_headers({.event_id = value, .timestamp = 1800000000}, {.signer = signer->get()}, body,
                         [&](std::string_view n, std::string_view v) { headers[std::string(n)] = v; });
  const HeaderLookup own = [&headers](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  };
  // The id travels in a header: an id the header cannot carry (Standard Webhooks' id is signed) is left out.
  bool header_safe = value.find_first_of("\r\n") == std::string_view::npos;
  if (header_safe && (*signer)->verify(own, body, 1800000000, std::chrono::minutes(5)) != AuthCheck::kOk)
    __builtin_trap();
  if ((*signer)->verify(own, std::string(body) + "x", 1800000000, std::nullopt) == AuthCheck::kOk)
    __builtin_trap();
  return 0;
}
