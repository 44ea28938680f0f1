#include "service/http_server.h"

#include <fmt/format.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <set>

namespace hooksim::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
class Connection;
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr size_t kMaxConnections = 4096;
}  // namespace

struct HttpServer::State {
  State(asio::io_context& io, Handler h, size_t limit)
      : io(io), acceptor(io), backoff(io), handler(std::move(h)), body_limit(limit) {}
  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;  // after a failed accept (e.g. out of file descriptors)
  Handler handler;
  size_t body_limit;
  bool stopped = false;
  std::set<Connection*> connections;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<HttpServer::State> state, tcp::socket socket)
      : state_(std::move(state)), stream_(std::move(socket)) {}

  void start() {
    state_->connections.insert(this);
    read();
  }
  ~Connection() { state_->connections.erase(this); }

  // Closes the connection if it is waiting for a request.
  void close_if_idle() {
    if (!busy_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.close();
    }
  }

 private:
  void read() {
    stream_.expires_after(kIdleTimeout);  // an idle or trickling client does not hold a socket forever
    parser_.emplace();
    parser_->body_limit(state_->body_limit);
    busy_ = false;
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      HttpResponse r{
          413,
          "application/json",
          fmt::format(
              R"({{"error":{{"code":"too_large","field":"","message":"request body over {} bytes"}}}})",
              state_->body_limit),
          {}};
      keep_alive_ = false;
      busy_ = true;
      write(std::move(r));
      return;
    }
    if (ec) return;  // closed or malformed: drop the connection
    busy_ = true;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.authorization = std::string(req[http::field::authorization]);
    request.content_type = std::string(req[http::field::content_type]);
    request.body = std::move(req.body());
    // The callback keeps the connection alive until the answer is written.
    state_->handler(std::move(request),
                    [self = shared_from_this()](HttpResponse r) { self->write(std::move(r)); });
  }

  void write(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "hooksim");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !state_->stopped);
    res->prepare_payload();
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec) return;
      if (!res->keep_alive()) {
        self->linger();
        return;
      }
      self->read();
    });
  }

  // Closes gracefully: stop sending, then read and discard what the client still sends (the rest of an
  // oversized body) until it closes, so that closing with unread data does not reset the connection
  // before the client has read our answer.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->linger_more();
    });
  }
  void linger_more() {
    stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->linger_more();
    });
  }

  std::shared_ptr<HttpServer::State> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool busy_ = false;
  std::array<char, 16384> drain_;
};

void accept(const std::shared_ptr<HttpServer::State>& state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped) return;
    if (ec) {
      // Typically out of file descriptors: retrying at once would spin; wait for connections to close.
      state->backoff.expires_after(std::chrono::milliseconds(100));
      state->backoff.async_wait([state](beast::error_code) {
        if (!state->stopped) accept(state);
      });
      return;
    }
    if (state->connections.size() < kMaxConnections) {
      std::make_shared<Connection>(state, std::move(socket))->start();
    }  // else: the socket closes as it goes out of scope
    accept(state);
  });
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, Handler handler, size_t body_limit)
    : state_(std::make_shared<State>(io, std::move(handler), body_limit)) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::listen(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos)
    return Status::InvalidArgument(fmt::format("--listen {}: expected HOST:PORT", host_port));
  std::string host = host_port.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto port_text = std::string_view(host_port).substr(colon + 1);
  auto [p, pec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (pec != std::errc() || p != port_text.data() + port_text.size() || port > 65535)
    return Status::InvalidArgument(fmt::format("--listen {}: bad port", host_port));
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return Status::InvalidArgument(fmt::format("--listen {}: '{}' is not an IP address", host_port, host));
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  auto& a = state_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError(fmt::format("--listen {}: {}", host_port, ec.message()));
  accept(state_);
  return Status::OK();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

void HttpServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ec;
  state_->acceptor.close(ec);
  state_->backoff.cancel();
  for (Connection* c : std::set<Connection*>(state_->connections)) c->close_if_idle();
}

}  // namespace hooksim::service
