// TransferSettings: how an HTTP client of hooksim connects and whom it trusts. Free of libcurl, so that the
// options of the sender (net/curl_transport.h) and of the one-shot client (net/http_client.h) can be named
// outside net/ without <curl/curl.h>.
#pragma once

#include <string>

#include "engine/time.h"

namespace hooksim::net {

// How a client connects and whom it trusts; the same for all of its transfers.
struct TransferSettings {
  Duration connect_timeout{5000};  // capped by each transfer's timeout
  std::string ca_file;             // trust these CAs (PEM) instead of the system's
  bool insecure = false;           // do not verify certificates (testing only)
};

}  // namespace hooksim::net
