// Which receiver addresses a service may connect to when it refuses private addresses
// (`hooksim serve --refuse-private-addresses`): a guard against webhooks aimed at the sender's own network
// (SSRF). The check is applied twice: to a literal IP in a subscription URL when the subscription is created
// or changed (a clear 400), and to every address CurlTransport actually connects to, after name resolution
// (so a name that resolves, or is re-bound, to a private address is refused too).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace hooksim::net {

// True for addresses that are not public unicast Internet addresses: IPv4 0/8, 10/8, 100.64/10, 127/8,
// 169.254/16, 172.16/12, 192.0.0/24, 192.168/16, 198.18/15, 224/4 and above (multicast, reserved,
// broadcast); IPv6 ::, ::1, fc00::/7, fe80::/10, ff00::/8, and IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
// and NAT64 (64:ff9b::/96) addresses whose IPv4 part is private by the IPv4 rules.
bool is_private_address(const sockaddr* address);
// The same for an address in text form; nullopt when `text` is not an IP address.
std::optional<bool> is_private_address(std::string_view text);

// When the host of `url` (http or https) is a literal IP address (in any form libcurl accepts: dotted,
// bracketed IPv6, `2130706433`, `0x7f.1`) that is private, says so in a message meant for the `url` field;
// OK otherwise. Names (`localhost` included) are not resolved here: they are checked on the address
// connected to. InvalidArgument also when the URL cannot be parsed.
Status check_url_host_not_private(const std::string& url);

}  // namespace hooksim::net
