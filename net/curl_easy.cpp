#include "net/curl_easy.h"

#include <algorithm>
#include <cstring>

namespace hooksim::net {

namespace {

long whole_ms(Duration d) {
  return static_cast<long>(std::max<int64_t>(1, d.count()));
}

}  // namespace

void curl_init_once() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

void set_transfer_options(CURL* e, const std::string& url, Duration timeout, const TransferSettings& s,
                          char* error_buffer) {
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, whole_ms(timeout));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, whole_ms(std::min(timeout, s.connect_timeout)));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  if (!s.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, s.ca_file.c_str());
  if (s.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

ErrorClass classify_curl_error(CURLcode code, long status, bool body_capped, const char* error_text) {
  switch (code) {
    case CURLE_OK:
      return ErrorClass::kNone;
    case CURLE_WRITE_ERROR:
      // Reading stopped at the cap, after a complete status line: an answer.
      return body_capped && status > 0 ? ErrorClass::kNone : ErrorClass::kOther;
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorClass::kTimeout;
    case CURLE_COULDNT_CONNECT:
      return ErrorClass::kConnect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return ErrorClass::kDns;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      return ErrorClass::kTls;
    case CURLE_RECV_ERROR:
      // curl reports an invalid chunked body as a receive error ("... in chunked-encoding"): the
      // connection did not drop, the receiver sent something that is not HTTP.
      return std::strstr(error_text, "chunk") != nullptr ? ErrorClass::kProtocol : ErrorClass::kReset;
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ErrorClass::kReset;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return ErrorClass::kProtocol;
    default:
      return ErrorClass::kOther;
  }
}

}  // namespace hooksim::net
