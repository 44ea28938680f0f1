#include "tests/support/http_request.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace hooksim::harness {
namespace {

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct ChunkedSource {
  const std::string* body;
  size_t offset = 0;
};

size_t read_chunk(char* buffer, size_t size, size_t n, void* user) {
  auto* src = static_cast<ChunkedSource*>(user);
  size_t len = std::min(size * n, std::min<size_t>(src->body->size() - src->offset, 64 * 1024));
  std::memcpy(buffer, src->body->data() + src->offset, len);
  src->offset += len;
  return len;
}

// Keeps the header lines of the last answer (a 100 Continue's are replaced by the final answer's).
size_t collect_header(char* buffer, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(buffer, size * n);
  if (line.starts_with("HTTP/")) headers->clear();
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t start = line.find_first_not_of(' ', colon + 1);
    size_t end = line.find_last_not_of("\r\n");
    (*headers)[name] = start == std::string::npos || end < start ? "" : line.substr(start, end - start + 1);
  }
  return size * n;
}

}  // namespace

Reply http(const std::string& method, const std::string& url, const std::optional<std::string>& body,
           const HttpOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Reply reply;
  CURL* c = curl_easy_init();
  curl_slist* headers = nullptr;
  ChunkedSource source{body ? &*body : nullptr};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply.headers);
  if (!options.authorization.empty())
    headers = curl_slist_append(headers, ("Authorization: " + options.authorization).c_str());
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, options.expect_continue ? "Expect: 100-continue" : "Expect:");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (options.chunked) {
      headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
      curl_easy_setopt(c, CURLOPT_READFUNCTION, read_chunk);
      curl_easy_setopt(c, CURLOPT_READDATA, &source);
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    char* ct = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != nullptr) reply.content_type = ct;
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return reply;
}

}  // namespace hooksim::harness
