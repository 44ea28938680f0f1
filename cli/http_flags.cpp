// The flags shared by the commands that send HTTP requests to receivers (run, serve, replay), and the signing
// scheme flag of check and receiver.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "net/curl_transport.h"
#include "protocol/signing.h"

namespace hooksim::cli {

void add_tls_flags(CLI::App* cmd, net::CurlOptions& curl) {
  cmd->add_option("--ca-file", curl.ca_file, "Trust the CA certificates in this PEM file");
  cmd->add_flag("--insecure", curl.insecure, "Do not verify receivers' TLS certificates (testing only)");
}

void add_scheme_flag(CLI::App* cmd, std::string& scheme, const std::string& what) {
  cmd->add_option("--scheme", scheme,
                  fmt::format("{} as this sender does: {} (docs/policies.md, Signatures)", what,
                              fmt::join(protocol::signature_schemes(), ", ")))
      ->check(CLI::IsMember(protocol::signature_schemes()))
      ->capture_default_str();
}

void add_connection_flags(CLI::App* cmd, net::CurlOptions& curl, const std::string& literal_ip) {
  cmd->add_option("--max-host-connections", curl.max_host_connections,
                  "Connections kept open per receiver host; default 64")
      ->check(CLI::Range(1, 10000));
  cmd->add_flag("--refuse-private-addresses", curl.refuse_private_addresses,
                "Refuse receivers on private, loopback or link-local addresses (checked on the address "
                "connected to, after DNS); " +
                    literal_ip);
}

}  // namespace hooksim::cli
