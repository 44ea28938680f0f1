// What every libcurl transfer of hooksim shares, the sender's (CurlTransport) and the one-shot client's
// (HttpClient): the transfer settings of docs/wire-format.md and how a finished transfer is judged. One
// place, so that `hooksim check` and `hooksim status` reach a receiver exactly as the sender does.
// Internal to net/: no header of net/ includes it (scripts/check-layers.sh), so <curl/curl.h> reaches no
// folder outside net/.
#pragma once

#include <curl/curl.h>

#include <string>

#include "engine/subscription.h"
#include "net/transfer_settings.h"

namespace hooksim::net {

// curl_global_init, once per process; safe to call from any thread, any number of times. Every user of
// libcurl calls it before its first handle.
void curl_init_once();

// Sets on `easy`: `url`; http and https only; redirects never followed (a 3xx is an answer like any other);
// no signals; `timeout` for the whole transfer and the connect timeout (whole milliseconds, at least 1); the
// CA file or the system's CAs; certificate checks off only when `s.insecure`; `error_buffer`
// (CURL_ERROR_SIZE bytes) for libcurl's explanation of a failure.
// REQUIRES: url, s and error_buffer outlive the transfer.
void set_transfer_options(CURL* easy, const std::string& url, Duration timeout, const TransferSettings& s,
                          char* error_buffer);

// How the sender judges a transfer that ended with `code`, having read `status` (0: none) and, when
// `body_capped`, stopped reading an answer body longer than its cap: kNone when an answer arrived (a cut
// body does not matter once the status is in), otherwise timeout, connect, dns, tls, reset (the connection
// dropped before a complete answer), protocol (an answer that is not valid HTTP, e.g. a malformed status
// line or invalid chunked encoding; `error_text` is libcurl's explanation) or other. private_address is
// decided by the sender itself.
ErrorClass classify_curl_error(CURLcode code, long status = 0, bool body_capped = false,
                               const char* error_text = "");

}  // namespace hooksim::net
