#include "check/http_probe.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "net/curl_transport.h"

namespace hooksim::check {

namespace {

constexpr size_t kMaxResponseBody = 64 * 1024;  // as the sender: stop reading after this much

struct Easy {
  Easy() : handle(curl_easy_init()) {}
  ~Easy() { curl_easy_cleanup(handle); }
  CURL* handle;
};

void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

long ms_long(Duration d) {
  return static_cast<long>(std::max<int64_t>(1, d.count()));
}

size_t discard_body(char*, size_t size, size_t n, void* received) {
  auto* total = static_cast<size_t*>(received);
  *total += size * n;
  return *total > kMaxResponseBody ? 0 : size * n;  // 0 stops the transfer (CURLE_WRITE_ERROR)
}

// Options every transfer of the probe shares.
void common_options(CURL* e, const ProbeOptions& o, char* errbuf) {
  curl_easy_setopt(e, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms_long(o.timeout));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms_long(std::min(o.timeout, o.connect_timeout)));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
  if (!o.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
}

ProbeAnswer failed(CURLcode code, const char* errbuf) {
  ProbeAnswer a;
  a.error = net::classify_curl_error(code);
  a.error_text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  return a;
}

// The facts the handshake of the current thread's inspect_tls() fills in; read by the OpenSSL info callback,
// which carries no user pointer of its own.
thread_local TlsFacts* t_facts = nullptr;

// At the end of each completed handshake: the negotiated protocol and the leaf certificate.
void on_tls_info(const SSL* ssl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_DONE) == 0 || t_facts == nullptr) return;
  TlsFacts& facts = *t_facts;
  facts.protocol = SSL_get_version(ssl);
  facts.protocol_version = SSL_version(ssl);
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), X509_free);
  if (!cert) return;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) == 1)
    facts.not_after = TimePoint(std::chrono::duration_cast<Duration>(std::chrono::seconds(timegm(&tm))));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  facts.subject = n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

// CURLOPT_SSL_CTX_FUNCTION: curl hands over its OpenSSL context before the handshake.
CURLcode watch_handshake(CURL*, void* ssl_ctx, void*) {
  SSL_CTX_set_info_callback(static_cast<SSL_CTX*>(ssl_ctx), &on_tls_info);
  return CURLE_OK;
}

// A handshake only (CONNECT_ONLY), verifying or not; fills `facts` when it completes.
CURLcode handshake(const ProbeOptions& o, bool verify, TlsFacts& facts, char* errbuf) {
  Easy easy;
  common_options(easy.handle, o, errbuf);
  curl_easy_setopt(easy.handle, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(easy.handle, CURLOPT_SSL_CTX_FUNCTION, &watch_handshake);
  if (!verify) {
    curl_easy_setopt(easy.handle, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy.handle, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  t_facts = &facts;
  CURLcode code = curl_easy_perform(easy.handle);
  t_facts = nullptr;
  return code;
}

}  // namespace

std::string ProbeAnswer::describe() const {
  if (error == ErrorClass::kNone) return std::to_string(status);
  return fmt::format("{}: {}", to_string(error), error_text);
}

HttpProbe::HttpProbe(ProbeOptions options) : options_(std::move(options)) {
  global_init();
  easy_ = curl_easy_init();
}

HttpProbe::~HttpProbe() {
  curl_easy_cleanup(static_cast<CURL*>(easy_));
}

ProbeAnswer HttpProbe::post(const std::string& body, const std::vector<std::string>& headers) {
  CURL* e = static_cast<CURL*>(easy_);
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "expect:");  // no 100-continue round trip, as the sender
  size_t received = 0;
  common_options(e, options_, errbuf);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &received);
  CURLcode code = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);

  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t total_us = 0;
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
  ProbeAnswer a;
  // An oversized answer body stops the transfer, but the status already arrived (as the sender counts it).
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && status > 0)) a = failed(code, errbuf);
  if (a.error == ErrorClass::kNone) a.status = static_cast<int>(status);
  a.latency_ms = static_cast<double>(total_us) / 1000.0;
  return a;
}

ProbeAnswer HttpProbe::reach() {
  global_init();
  Easy easy;
  char errbuf[CURL_ERROR_SIZE] = {};
  common_options(easy.handle, options_, errbuf);
  curl_easy_setopt(easy.handle, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(easy.handle, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(easy.handle, CURLOPT_SSL_VERIFYHOST, 0L);
  CURLcode code = curl_easy_perform(easy.handle);
  if (code != CURLE_OK) return failed(code, errbuf);
  return {};
}

TlsFacts HttpProbe::inspect_tls() {
  global_init();
  TlsFacts facts;
  char errbuf[CURL_ERROR_SIZE] = {};
  CURLcode code = handshake(options_, true, facts, errbuf);
  if (code == CURLE_OK) {
    facts.verified = true;
    return facts;
  }
  facts.verify_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  // Not trusted: look at the certificate anyway, to say what is wrong with it.
  char ignored[CURL_ERROR_SIZE] = {};
  (void)handshake(options_, false, facts, ignored);
  return facts;
}

}  // namespace hooksim::check
