// HttpProbe: the HTTP client of `hooksim check`. One libcurl easy handle, one request at a time, with full
// control of the headers, so a probe can send exactly what a check needs (a forged signature, a stale
// timestamp) — the sender's own transport (net/curl_transport.h) always signs correctly.
//
// It mirrors the sender's transfer settings (docs/wire-format.md): POST, redirects never followed (a 3xx is
// an answer like any other), http and https only, a total timeout per request, the response body discarded
// after 64 KiB, the connection kept alive between requests, the system's CAs or a CA file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim::check {

struct ProbeOptions {
  std::string url;                 // http:// or https://
  Duration timeout{10000};         // total time allowed per request (as the sender's attempt timeout)
  Duration connect_timeout{5000};  // capped by `timeout`
  std::string ca_file;             // trust these CAs (PEM) instead of the system's
};

// What came back for one request.
struct ProbeAnswer {
  int status = 0;                        // HTTP status; 0 when no answer arrived
  ErrorClass error = ErrorClass::kNone;  // kNone when an answer (any status) arrived
  std::string error_text;                // libcurl's explanation when error != kNone
  double latency_ms = 0;  // from the start of the request to the complete answer (or the error)

  bool answered() const { return error == ErrorClass::kNone && status > 0; }
  bool is_2xx() const { return answered() && status >= 200 && status < 300; }
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

class HttpProbe {
 public:
  explicit HttpProbe(ProbeOptions options);
  ~HttpProbe();
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  // POSTs `body` with `headers` ("name: value" lines) plus what libcurl adds for the sender too (host,
  // accept, content-length; no expect). Blocks until the answer, an error or the timeout.
  ProbeAnswer post(const std::string& body, const std::vector<std::string>& headers);

  // Opens a TCP connection (and, for https, a TLS handshake that does not verify the certificate) and closes
  // it. kNone when the endpoint can be reached; kDns / kConnect / kTimeout (and libcurl's reason) when not.
  ProbeAnswer reach();

  // For https URLs: a verifying handshake (as the sender's), then, when it fails, a non-verifying one to
  // describe the certificate anyway. No HTTP request is sent.
  TlsFacts inspect_tls();

 private:
  void* easy_;  // CURL*
  ProbeOptions options_;
};

}  // namespace hooksim::check
