// The tests' HTTP client: one request on a new connection, with full control of the method, the body (plain,
// chunked, with or without Expect: 100-continue) and the Authorization header, for talking to `hooksim serve`
// and to mock receivers the way a misbehaving client might. libcurl stays in the .cpp.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

namespace hooksim::harness {

struct Reply {
  long status = 0;  // 0: no answer (connection refused or reset, the server died, ...; see `error`)
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // of the final answer, by lower-case name
  std::string error;                           // curl's error, if any
  nlohmann::json j() const { return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

inline std::ostream& operator<<(std::ostream& os, const Reply& r) {
  return os << r.status << " " << r.body.substr(0, 500) << (r.error.empty() ? "" : " (" + r.error + ")");
}

struct HttpOptions {
  std::string authorization;     // the Authorization header's value; none when empty
  bool expect_continue = false;  // send "Expect: 100-continue" with a body (curl waits for the answer first)
  bool chunked = false;          // send the body with Transfer-Encoding: chunked
};

// One request on a new connection, 60 s at most. A body is sent with POST and PATCH (and any method given
// one), as application/json.
Reply http(const std::string& method, const std::string& url,
           const std::optional<std::string>& body = std::nullopt, const HttpOptions& options = {});

}  // namespace hooksim::harness
