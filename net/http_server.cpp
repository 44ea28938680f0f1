#include "net/http_server.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace hooksim::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<HostPort> parse_host_port(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    out.host = "127.0.0.1";
    port_text = text;
  } else if (text.starts_with("[")) {
    size_t close = text.find("]:");
    if (close == std::string_view::npos || close == 1)  // no host: "[]:PORT"
      return Status::InvalidArgument(fmt::format("listen address '{}': expected [IPv6]:PORT", text));
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return Status::InvalidArgument(fmt::format("listen address '{}': expected HOST:PORT", text));
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535)
    return Status::InvalidArgument(
        fmt::format("listen address '{}': port must be a number from 0 to 65535", text));
  out.port = static_cast<uint16_t>(value);
  return out;
}

namespace detail {

struct HttpServerState : std::enable_shared_from_this<HttpServerState> {
  HttpServerState(asio::io_context& context, HttpServerOptions o, HttpServer::SessionFactory f)
      : io(context),
        options(std::move(o)),
        factory(std::move(f)),
        control(executor_for_one()),
        acceptor(control),
        backoff(control) {}

  // An executor for one connection (or the acceptor): its own strand, unless the io_context runs on one
  // thread only.
  asio::any_io_executor executor_for_one() {
    if (options.single_thread) return io.get_executor();
    return asio::make_strand(io);
  }

  Status listen(const std::string& host_port, const std::function<Status()>& ready);
  Status load_tls();
  void accept();
  void start_connection(tcp::socket socket);
  static void stop(HttpExchange& connection) { connection.stop(); }
  static void respond(HttpExchange& connection, HttpResponse r) {
    connection.respond_from_any_thread(std::move(r));
  }

  void add(HttpExchange* c, std::weak_ptr<HttpExchange> w) {
    std::lock_guard lock(connections_mu);
    connections.emplace(c, std::move(w));
  }
  void remove(HttpExchange* c) {
    std::lock_guard lock(connections_mu);
    connections.erase(c);
  }

  asio::io_context& io;
  const HttpServerOptions options;
  const HttpServer::SessionFactory factory;
  asio::any_io_executor control;  // runs the acceptor, the back-off timer and stop()
  tcp::acceptor acceptor;
  asio::steady_timer backoff;               // after a failed accept (e.g. out of file descriptors)
  std::unique_ptr<asio::ssl::context> tls;  // set when serving HTTPS
  std::atomic<bool> stopping{false};
  uint16_t port = 0;
  std::string url;

  std::mutex connections_mu;
  std::unordered_map<HttpExchange*, std::weak_ptr<HttpExchange>> connections;
};

}  // namespace detail

using detail::HttpServerState;

namespace {

constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";

// One HTTP/1.1 connection, plain (beast::tcp_stream) or TLS (beast::ssl_stream<beast::tcp_stream>). Every
// handler runs on the connection's executor (the executor of its socket), so no member needs a lock.
//
// A request moves through: read header -> (100 Continue) -> read body -> the session's on_request (or
// on_too_large) -> respond, drop or hang, at once or later -> write -> read the next request, or close
// gracefully. `outstanding_` says the session owes the current request an answer.
template <typename Stream>
class Connection final : public HttpExchange, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... StreamArgs>
  Connection(std::shared_ptr<HttpServerState> server, std::unique_ptr<HttpSession> session,
             StreamArgs&&... args)
      : server_(std::move(server)),
        session_(std::move(session)),
        stream_(std::forward<StreamArgs>(args)...),
        timer_(stream_.get_executor()) {}

  using std::enable_shared_from_this<Connection>::shared_from_this;

  ~Connection() override { server_->remove(this); }

  void start() {
    server_->add(this, this->weak_from_this());
    if constexpr (kTls) {
      arm_idle_timeout();
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close_now();
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

  HttpMessage& request() override { return parser_->get(); }

  void respond(HttpResponse r) override {
    if (closed_ || !outstanding_ || hung_) return;
    outstanding_ = false;
    response_ = {};
    response_.version(version_ == 10 && server_->options.echo_version ? 10 : 11);
    response_.result(static_cast<unsigned>(r.status));
    const HttpServerOptions& o = server_->options;
    if (!o.server_header.empty()) response_.set(http::field::server, o.server_header);
    if (!r.content_type.empty()) response_.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    response_.body() = std::move(r.body);
    response_.keep_alive(keep_alive_ && !server_->stopping);
    response_.prepare_payload();
    reading_ = false;
    arm_idle_timeout();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close_now();
      if (!self->response_.keep_alive()) return self->graceful_close();
      self->read_request();
    });
  }

  void drop() override {
    outstanding_ = false;
    close_now();
  }

  void hang() override {
    if (closed_) return;
    hung_ = true;
    beast::get_lowest_layer(stream_).expires_never();
    discard_until_close();
  }

  void after(Duration delay, std::function<void(HttpExchange&)> then) override {
    if (closed_) return;
    if (delay.count() <= 0) return then(*this);
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), then = std::move(then)](beast::error_code ec) {
      if (ec || self->closed_) return;
      then(*self);
    });
  }

  void stop() override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_ || self->hung_ || self->server_->options.stop_abandons) self->close_now();
    });
  }

  void respond_from_any_thread(HttpResponse r) override {
    asio::dispatch(stream_.get_executor(),
                   [self = shared_from_this(), r = std::move(r)]() mutable { self->respond(std::move(r)); });
  }

 private:
  void arm_idle_timeout() {
    if (server_->options.idle_timeout.count() > 0)
      beast::get_lowest_layer(stream_).expires_after(server_->options.idle_timeout);
  }

  void read_request() {
    if (closed_ || server_->stopping) return close_now();
    reading_ = true;
    arm_idle_timeout();  // an idle or trickling client does not hold a socket for ever
    parser_.emplace();
    parser_->body_limit(server_->options.body_limit);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::body_limit) return to_session(true);
    if (ec) return close_now();  // the client closed, a reset, a malformed request, a timeout or stop()
    if (parser_->is_done()) return to_session(false);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      asio::async_write(stream_, asio::buffer(k100Continue.data(), k100Continue.size()),
                        [self = shared_from_this()](beast::error_code ec2, size_t) {
                          if (ec2) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::body_limit) return self->to_session(true);
      if (ec) return self->close_now();
      self->to_session(false);
    });
  }

  // Hands the request (when `too_large`, its header only) to the session, which now owes it an answer.
  void to_session(bool too_large) {
    reading_ = false;
    outstanding_ = true;
    keep_alive_ = !too_large && parser_->get().keep_alive();
    version_ = parser_->get().version();
    if (too_large) return session_->on_too_large(shared_from_this());
    session_->on_request(shared_from_this());
  }

  // Reads and discards whatever the client sends until it closes (or stop() closes the connection).
  void discard_until_close() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec && !self->closed_) return self->discard_until_close();
                              self->close_now();
                            });
  }

  // After a response with "connection: close": end our side cleanly, then wait (bounded) for the client's.
  void graceful_close() {
    if (closed_) return;
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_after(server_->options.linger);
    if constexpr (kTls) {
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ignored;
      lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
      discard_until_close();
    }
  }

  // Closes the socket; a request still owed an answer is abandoned first.
  void close_now() {
    if (closed_) return;
    if (outstanding_) {
      outstanding_ = false;
      session_->on_abandoned();
    }
    closed_ = true;
    timer_.cancel();
    beast::get_lowest_layer(stream_).close();
  }

  std::shared_ptr<HttpServerState> server_;
  std::unique_ptr<HttpSession> session_;
  Stream stream_;
  asio::steady_timer timer_;  // HttpExchange::after()
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::array<char, 4096> discard_;
  bool reading_ = true;       // waiting for a request (stop() closes such a connection)
  bool outstanding_ = false;  // the session owes the current request an answer
  bool hung_ = false;         // the current request hangs (stop() closes such a connection)
  bool closed_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

// The session of a plain request/response API (HttpServer::Handler).
struct HandlerPolicy {
  HttpServer::Handler handler;
  HttpResponse too_large;
};

class HandlerSession final : public HttpSession {
 public:
  explicit HandlerSession(std::shared_ptr<const HandlerPolicy> policy) : policy_(std::move(policy)) {}

  void on_request(std::shared_ptr<HttpExchange> exchange) override {
    HttpMessage& m = exchange->request();
    HttpRequest request;
    request.method = std::string(m.method_string());
    request.target = std::string(m.target());
    request.authorization = std::string(m[http::field::authorization]);
    request.content_type = std::string(m[http::field::content_type]);
    request.body = std::move(m.body());
    policy_->handler(std::move(request),
                     [exchange](HttpResponse r) { HttpServerState::respond(*exchange, std::move(r)); });
  }

  void on_too_large(std::shared_ptr<HttpExchange> exchange) override {
    exchange->respond(policy_->too_large);
  }

 private:
  std::shared_ptr<const HandlerPolicy> policy_;
};

}  // namespace

Status HttpServerState::load_tls() {
  if (options.tls_cert_path.empty() || options.tls_key_path.empty())
    return Status::InvalidArgument("TLS needs both a certificate and a private key");
  beast::error_code ec;
  tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::single_dh_use, ec);
  SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
  tls->use_certificate_chain_file(options.tls_cert_path, ec);
  if (ec)
    return Status::InvalidArgument(
        fmt::format("TLS certificate '{}': cannot load: {}", options.tls_cert_path, ec.message()));
  tls->use_private_key_file(options.tls_key_path, asio::ssl::context::pem, ec);
  if (ec)
    return Status::InvalidArgument(
        fmt::format("TLS key '{}': cannot load: {}", options.tls_key_path, ec.message()));
  if (SSL_CTX_check_private_key(tls->native_handle()) != 1)
    return Status::InvalidArgument(fmt::format("TLS key '{}': does not match the certificate '{}'",
                                               options.tls_key_path, options.tls_cert_path));
  return Status::OK();
}

Status HttpServerState::listen(const std::string& host_port, const std::function<Status()>& ready) {
  auto where = parse_host_port(host_port);
  if (!where.ok()) return where.status();
  beast::error_code ec;
  auto resolved = tcp::resolver(io).resolve(where->host, std::to_string(where->port), ec);  // or IP as is
  if (ec || resolved.empty())
    return Status::InvalidArgument(fmt::format("listen address '{}': cannot resolve '{}': {}", host_port,
                                               where->host, ec ? ec.message() : "no address"));
  tcp::endpoint endpoint = resolved.begin()->endpoint();
  if (!options.tls_cert_path.empty() || !options.tls_key_path.empty()) HOOKSIM_RETURN_IF_ERROR(load_tls());

  auto fail = [&](const char* what) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return Status::IOError(fmt::format("cannot listen on {}: {}: {}", host_port, what, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return fail("open");
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec)) return fail("reuse_address");
  if (acceptor.bind(endpoint, ec)) return fail("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen");
  tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return fail("local_endpoint");
  port = bound.port();
  std::string shown = bound.address().to_string();
  if (bound.address().is_v6()) shown = "[" + shown + "]";
  url = fmt::format("{}://{}:{}", tls ? "https" : "http", shown, port);

  if (ready) {
    if (Status st = ready(); !st.ok()) {
      acceptor.close(ec);
      return st;
    }
  }
  asio::post(control, [self = shared_from_this()] { self->accept(); });
  return Status::OK();
}

void HttpServerState::accept() {
  acceptor.async_accept(executor_for_one(),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (self->stopping || ec == asio::error::operation_aborted) return;
                          if (ec) {
                            // Typically out of file descriptors: retrying at once would spin; wait for
                            // connections to close.
                            self->backoff.expires_after(std::chrono::milliseconds(100));
                            self->backoff.async_wait([self](beast::error_code) {
                              if (!self->stopping) self->accept();
                            });
                            return;
                          }
                          self->start_connection(std::move(socket));
                          self->accept();
                        });
}

void HttpServerState::start_connection(tcp::socket socket) {
  if (options.max_connections > 0) {
    std::lock_guard lock(connections_mu);
    if (connections.size() >= options.max_connections) return;  // the socket closes as it goes out of scope
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  try {
    std::unique_ptr<HttpSession> session = factory();
    if (tls) {
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          shared_from_this(), std::move(session), std::move(socket), *tls)
          ->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(shared_from_this(), std::move(session),
                                                      std::move(socket))
          ->start();
    }
  } catch (const std::exception&) {
    // Out of memory or an SSL object that cannot be created: this connection is lost, the server goes on.
  }
}

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, SessionFactory factory)
    : state_(std::make_shared<HttpServerState>(io, std::move(options), std::move(factory))) {}

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, Handler handler,
                       HttpResponse too_large)
    : HttpServer(io, std::move(options),
                 [policy = std::make_shared<const HandlerPolicy>(
                      HandlerPolicy{std::move(handler), std::move(too_large)})] {
                   return std::make_unique<HandlerSession>(policy);
                 }) {}

HttpServer::~HttpServer() {
  stop();
}

Status HttpServer::listen(const std::string& host_port, const std::function<Status()>& ready) {
  try {
    return state_->listen(host_port, ready);
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("cannot listen on {}: {}", host_port, e.what()));
  }
}

uint16_t HttpServer::port() const {
  return state_->port;
}

std::string HttpServer::url() const {
  return state_->url;
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  asio::dispatch(state_->control, [s = state_] {
    beast::error_code ec;
    s->acceptor.close(ec);
    s->backoff.cancel();
    std::vector<std::shared_ptr<HttpExchange>> live;
    {
      std::lock_guard lock(s->connections_mu);
      for (auto& [ptr, weak] : s->connections)
        if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) HttpServerState::stop(*c);
  });
}

}  // namespace hooksim::net
