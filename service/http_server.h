// HttpServer: a small HTTP/1.1 server on Boost.Beast for the service API.
//
// One io_context thread; keep-alive; each request goes to a handler that answers through a callback,
// now or later (the publish path answers after its group commit). Bodies above `body_limit` get 413.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/status.h"

namespace hooksim::service {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/subscriptions/acme/attempts?limit=5"
  std::string authorization;
  std::string content_type;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers
};

class HttpServer {
 public:
  using Respond = std::function<void(HttpResponse)>;
  // Handles one request; must call `respond` exactly once (possibly later, on the io_context's thread).
  using Handler = std::function<void(HttpRequest&&, Respond)>;

  HttpServer(boost::asio::io_context& io, Handler handler, size_t body_limit);
  ~HttpServer();

  // Binds "host:port" (port 0: any free port) and starts accepting. InvalidArgument for a malformed
  // address, IOError when it cannot bind.
  Status listen(const std::string& host_port);
  uint16_t port() const;

  // Stops accepting and closes idle connections; requests in progress finish first.
  void stop();

  struct State;  // shared with the connections (http_server.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace hooksim::service
