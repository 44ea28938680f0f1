// HttpClient: a blocking HTTP client, one request at a time: `hooksim check`, `hooksim status` and the
// benchmark's load generator. The sender's own deliveries go through CurlTransport.
//
// It reaches a server as the sender does (net/curl_easy.h): http and https only, redirects never followed
// (a 3xx is an answer like any other), a total and a connect timeout per request, the system's CAs or a CA
// file, failures classified as the sender classifies them. One libcurl easy handle is reused, so the
// connection is kept alive between requests. The request's headers are exactly the ones given plus what
// libcurl adds for the sender too (host, accept, content-length; no expect).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/subscription.h"
#include "engine/time.h"
#include "engine/transport.h"

namespace hooksim::net {

struct HttpClientOptions {
  Duration timeout{10000};         // total time allowed per request
  Duration connect_timeout{5000};  // capped by `timeout`
  std::string ca_file{};           // trust these CAs (PEM) instead of the system's
  // Reading an answer body stops after this many bytes (as the sender's); the status still counts.
  size_t max_response_body = 64 * 1024;
  bool keep_body = false;  // keep the body read in HttpAnswer::body; otherwise it is discarded
};

// What came back for one request.
struct HttpAnswer {
  int status = 0;                        // HTTP status; 0 when no answer arrived
  ErrorClass error = ErrorClass::kNone;  // kNone when an answer (any status) arrived
  std::string error_text;                // libcurl's explanation when error != kNone
  std::string body;                      // with keep_body: the body, up to max_response_body bytes
  double latency_ms = 0;  // from the start of the request to the complete answer (or the error)

  bool answered() const { return error == ErrorClass::kNone && status > 0; }
  bool is_2xx() const { return answered() && hooksim::is_2xx(status); }
  bool is_4xx() const { return answered() && status >= 400 && status < 500; }
  // "200", "401", or the error class and libcurl's reason ("timeout: Operation timed out after 200 ms ...").
  std::string describe() const;
};

// The TLS facts of an https endpoint, from a handshake that verifies the certificate like the sender.
struct TlsFacts {
  bool verified = false;     // the chain is trusted and the certificate is valid now for the host
  std::string verify_error;  // libcurl's reason when !verified (e.g. "certificate has expired")
  std::string protocol;      // negotiated version, e.g. "TLSv1.3"; empty when no handshake completed
  int protocol_version = 0;  // its wire value: 0x0303 = TLS 1.2, 0x0304 = TLS 1.3; 0 when unknown
  std::optional<TimePoint> not_after;  // the leaf certificate's expiry, when a certificate was seen
  std::string subject;                 // the leaf certificate's subject, e.g. "CN=localhost"
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GETs `url` (http:// or https://) with `headers` ("name: value" lines). Blocks until the answer, an
  // error or the timeout.
  HttpAnswer get(const std::string& url, const std::vector<std::string>& headers = {});
  // POSTs `body` to `url` with `headers`, as get().
  HttpAnswer post(const std::string& url, std::string_view body,
                  const std::vector<std::string>& headers = {});

  // Opens a TCP connection to `url`'s host (and, for https, a TLS handshake that does not verify the
  // certificate) and closes it. kNone when the endpoint can be reached; kDns / kConnect / kTimeout (and
  // libcurl's reason) when not.
  HttpAnswer reach(const std::string& url);

  // For an https `url`: a verifying handshake (as the sender's), then, when it fails, a non-verifying one to
  // describe the certificate anyway. No HTTP request is sent.
  TlsFacts inspect_tls(const std::string& url);

 private:
  HttpAnswer perform(const std::string& url, const std::string_view* body,
                     const std::vector<std::string>& headers);

  void* easy_;  // CURL*, kept out of this header
  HttpClientOptions options_;
};

}  // namespace hooksim::net
