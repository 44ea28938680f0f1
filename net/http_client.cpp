#include "net/http_client.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "net/curl_easy.h"

namespace hooksim::net {

namespace {

constexpr const char* kCannotInit = "cannot initialise libcurl";

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

TransferSettings settings(const HttpClientOptions& o, bool verify = true) {
  return {.connect_timeout = o.connect_timeout, .ca_file = o.ca_file, .insecure = !verify};
}

// Where an answer body goes: counted always, kept when asked, cut at the cap.
struct BodySink {
  std::string* kept;  // null: discard
  size_t cap;
  size_t received = 0;
  bool capped = false;
};

size_t on_body(char* data, size_t size, size_t n, void* sink_ptr) {
  auto* sink = static_cast<BodySink*>(sink_ptr);
  sink->received += size * n;
  if (sink->received > sink->cap) {
    sink->capped = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR)
  }
  if (sink->kept != nullptr) sink->kept->append(data, size * n);
  return size * n;
}

// The answer of a transfer that ended with `code` having read `status` (classify_curl_error).
HttpAnswer answer(CURLcode code, long status, bool capped, const char* errbuf) {
  HttpAnswer a;
  a.error = classify_curl_error(code, status, capped, errbuf);
  if (a.error == ErrorClass::kNone) {
    a.status = static_cast<int>(status);
  } else {
    a.error_text = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
  }
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

// A connection of its own and, for https, a handshake (verifying or not), then nothing (CONNECT_ONLY);
// fills `facts` when a handshake completes. The answer has no status: kNone when the connection (and
// handshake) succeeded.
HttpAnswer handshake(const std::string& url, const HttpClientOptions& o, bool verify, TlsFacts& facts) {
  char errbuf[CURL_ERROR_SIZE] = {};
  Easy easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return answer(CURLE_FAILED_INIT, 0, false, kCannotInit);
  TransferSettings s = settings(o, verify);
  set_transfer_options(easy.get(), url, o.timeout, s, errbuf);
  curl_easy_setopt(easy.get(), CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(easy.get(), CURLOPT_SSL_CTX_FUNCTION, &watch_handshake);
  t_facts = &facts;
  CURLcode code = curl_easy_perform(easy.get());
  t_facts = nullptr;
  return answer(code, 0, false, errbuf);
}

}  // namespace

std::string HttpAnswer::describe() const {
  if (error == ErrorClass::kNone) return std::to_string(status);
  return fmt::format("{}: {}", to_string(error), error_text);
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  curl_init_once();
  easy_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(static_cast<CURL*>(easy_));
}

HttpAnswer HttpClient::get(const std::string& url, const std::vector<std::string>& headers) {
  return perform(url, nullptr, headers);
}

HttpAnswer HttpClient::post(const std::string& url, std::string_view body,
                            const std::vector<std::string>& headers) {
  return perform(url, &body, headers);
}

HttpAnswer HttpClient::perform(const std::string& url, const std::string_view* body,
                               const std::vector<std::string>& headers) {
  CURL* e = static_cast<CURL*>(easy_);
  if (e == nullptr) return answer(CURLE_FAILED_INIT, 0, false, kCannotInit);
  curl_easy_reset(e);  // the options of the last request go; its live connection stays
  std::string body_read;
  char errbuf[CURL_ERROR_SIZE] = {};
  TransferSettings s = settings(options_);
  set_transfer_options(e, url, options_.timeout, s, errbuf);
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  if (body != nullptr) {
    list = curl_slist_append(list, "expect:");  // no 100-continue round trip, as the sender
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  BodySink sink{.kept = options_.keep_body ? &body_read : nullptr, .cap = options_.max_response_body};
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
  CURLcode code = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);

  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_off_t total_us = 0;
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
  HttpAnswer a = answer(code, status, sink.capped, errbuf);
  a.body = std::move(body_read);
  a.latency_ms = static_cast<double>(total_us) / 1000.0;
  return a;
}

HttpAnswer HttpClient::reach(const std::string& url) {
  TlsFacts ignored;
  return handshake(url, options_, /*verify=*/false, ignored);
}

TlsFacts HttpClient::inspect_tls(const std::string& url) {
  TlsFacts facts;
  HttpAnswer verifying = handshake(url, options_, /*verify=*/true, facts);
  facts.verified = verifying.error == ErrorClass::kNone;
  facts.verify_error = verifying.error_text;
  // Not trusted: look at the certificate anyway, to say what is wrong with it.
  if (!facts.verified) (void)handshake(url, options_, /*verify=*/false, facts);
  return facts;
}

}  // namespace hooksim::net
