// HttpServer: the one HTTP/1.1 server skeleton on Boost.Beast, under `serve`'s API (service/) and the mock
// receiver (receiver/). It owns the plumbing — listening, accepting (with a back-off when out of file
// descriptors), plain or TLS connections, keep-alive, `expect: 100-continue`, the body limit, timeouts, a
// graceful close, stop() — and each side supplies only its policy: what to answer to a request.
//
// The policy is an HttpSession per connection (or, for a plain request/response API, one Handler). It gets
// each request as an HttpExchange and answers through it: respond() now or later (after a timer, or from
// another handler of the io_context), drop() the connection, or hang() (never answer).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

namespace hooksim::net {

// A listen address.
struct HostPort {
  std::string host;  // an IP address (IPv6 without brackets) or a name
  uint16_t port = 0;
};

// Parses "PORT" (meaning 127.0.0.1:PORT), "HOST:PORT" (an IPv4 address or a name) or "[IPv6]:PORT"; port 0
// means any free port. Nothing is resolved. InvalidArgument "listen address 'TEXT': ..." for anything else.
Result<HostPort> parse_host_port(std::string_view text);

// A request as read: method, target, headers and body.
using HttpMessage = boost::beast::http::request<boost::beast::http::string_body>;

// A request in the shape a JSON API needs (HttpServer::Handler).
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, e.g. "/v1/subscriptions/acme/attempts?limit=5"
  std::string authorization;
  std::string content_type;
  std::string body;
};

// An answer. It is sent in HTTP/1.1 (or, with HttpServerOptions::echo_version, in the request's version),
// with Content-Length, and closes the connection ("connection: close" in HTTP/1.1) when the request did not
// ask to keep it or the server is stopping.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";  // empty: no content-type header
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers
};

// Answers one request, exactly once (HttpServer::Handler).
using Respond = std::function<void(HttpResponse)>;

struct HttpServerOptions {
  // Larger request bodies (declared or read) go to HttpSession::on_too_large; the connection then closes.
  uint64_t body_limit = 10 * 1024 * 1024;
  // Sent as the `server` header of every response when not empty.
  std::string server_header{};
  // When > 0: a connection is closed when a request takes longer than this to arrive (counted from the end
  // of the previous exchange, so it also bounds idle keep-alive connections), or a response to be sent.
  Duration idle_timeout{0};
  // When > 0: connections accepted beyond this many are closed at once.
  size_t max_connections = 0;
  // After a response with "connection: close", how long to wait for the client to close its side (reading
  // and discarding what it still sends), so that unread request bytes do not turn the close into a reset
  // that destroys the response before the client has read it.
  Duration linger = std::chrono::seconds(2);
  // The io_context runs on one thread: connections run on it directly (no strands) and stop(), called on
  // that thread, acts at once. Otherwise every connection has its own strand and the io_context may run on
  // any number of threads.
  bool single_thread = false;
  // What stop() does to connections with a request in progress (not yet answered): when true they are
  // closed at once too and the request is abandoned (HttpSession::on_abandoned); when false the request is
  // answered (with "connection: close") and then the connection closes. A hanging request
  // (HttpExchange::hang()) is abandoned either way.
  bool stop_abandons = false;
  // Answer an HTTP/1.0 request in HTTP/1.0 (as the mock receiver always has) rather than in HTTP/1.1.
  bool echo_version = false;
  // Both set: serve HTTPS (TLS 1.2 or later) with this PEM certificate chain and PEM private key.
  std::string tls_cert_path{};
  std::string tls_key_path{};
};

namespace detail {
struct HttpServerState;  // http_server.cpp
}

// One request on a connection and the means to answer it: exactly one of respond(), drop() and hang(), now
// or later. Sessions get it as a shared pointer, which keeps the connection alive.
//
// REQUIRES for every method: called on the connection's executor — from the HttpSession callback that
// received the exchange or from an after() callback — or, on a single_thread server, from any handler run by
// the io_context.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  // The request. In HttpSession::on_too_large() only its header is complete.
  // REQUIRES: respond() has not been called (the next request replaces this one).
  virtual HttpMessage& request() = 0;
  // Sends `response`; then the connection reads the next request, or closes gracefully. Ignored when the
  // connection has already closed or the exchange hangs.
  virtual void respond(HttpResponse response) = 0;
  // Closes the connection without answering.
  virtual void drop() = 0;
  // Never answers: the connection stays open, reading and discarding whatever the client sends, until the
  // client closes it or HttpServer::stop() closes it (whatever HttpServerOptions::stop_abandons says); the
  // exchange is then abandoned (HttpSession::on_abandoned).
  virtual void hang() = 0;
  // Runs `then` with this exchange on the connection's executor after `delay`, or at once (inline) when
  // `delay` is not positive. Not run when the connection closes first (the exchange is then abandoned).
  // One delay at a time per connection.
  virtual void after(Duration delay, std::function<void(HttpExchange&)> then) = 0;

 private:
  friend struct detail::HttpServerState;
  // HttpServer::stop() reached this connection (from any thread).
  virtual void stop() = 0;
  // respond() from any thread: on the connection's executor (HttpServer::Handler's Respond).
  virtual void respond_from_any_thread(HttpResponse response) = 0;
};

// The policy of one connection: what to answer. Created by the server's SessionFactory for each accepted
// connection and destroyed with it; its callbacks run on the connection's executor, one request at a time.
class HttpSession {
 public:
  virtual ~HttpSession() = default;
  // A complete request. Answer it through `exchange`.
  virtual void on_request(std::shared_ptr<HttpExchange> exchange) = 0;
  // A request whose body is over HttpServerOptions::body_limit (declared in Content-Length or found while
  // reading): `exchange->request()` has its header only. Answer it (typically 413); the connection then
  // closes gracefully whatever the answer says.
  virtual void on_too_large(std::shared_ptr<HttpExchange> exchange) = 0;
  // The connection closed while a request was neither answered nor dropped: the client closed it during
  // hang(), or stop() closed it (during hang(), or with HttpServerOptions::stop_abandons). Called at most
  // once per request, before the socket is closed.
  virtual void on_abandoned() {}
};

class HttpServer {
 public:
  // Makes the session of a newly accepted connection. Called on the server's accepting executor; must not
  // block.
  using SessionFactory = std::function<std::unique_ptr<HttpSession>()>;
  using Respond = net::Respond;
  // Handles one request of a plain request/response API: must call `respond` exactly once, now or later,
  // from any thread (the response is written on the connection's executor).
  using Handler = std::function<void(HttpRequest&&, Respond)>;

  // Does not touch the network; call listen(). `io` must outlive every handler the server posts to it.
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, SessionFactory factory);
  // A server for a plain request/response API: every request goes to `handler`; a body over the limit is
  // answered `too_large`.
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, Handler handler, HttpResponse too_large);
  // stop(). Connections and handlers still queued on the io_context keep what they need alive.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host_port` (parse_host_port(); a name is resolved, its first address used), loads the TLS
  // certificate and key when configured, runs `ready` (when given) and starts accepting on the io_context.
  // InvalidArgument for a bad address or TLS file, IOError when binding fails; an error from `ready` is
  // returned as is, and nothing is accepted.
  // REQUIRES: listen() has not been called before.
  Status listen(const std::string& host_port, const std::function<Status()>& ready = nullptr);

  // The bound port. REQUIRES: listen() returned OK.
  uint16_t port() const;
  // "http://HOST:PORT" or "https://HOST:PORT" of the bound address (IPv6 in brackets). REQUIRES: listen()
  // returned OK.
  std::string url() const;

  // Stops accepting and closes the connections waiting for a request or hanging; connections with a request
  // in progress finish it or are closed too (HttpServerOptions::stop_abandons). Idempotent; safe before
  // listen(). On a single_thread server called on the io_context's thread, this is done before it returns;
  // otherwise it is posted to the io_context.
  void stop();

 private:
  std::shared_ptr<detail::HttpServerState> state_;
};

}  // namespace hooksim::net
