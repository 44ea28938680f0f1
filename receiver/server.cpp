#include "receiver/server.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
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
#include <type_traits>
#include <unordered_map>

#include "receiver/behaviour.h"

namespace hooksim::receiver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Type-erased connection, so that stop() can reach every live connection whatever its stream type.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection on its own strand; a request waiting for its outcome is recorded as a timeout.
  virtual void post_abort() = 0;
};

constexpr auto kRecordFlushInterval = std::chrono::seconds(1);

}  // namespace

struct ReceiverState : std::enable_shared_from_this<ReceiverState> {
  ReceiverState(asio::io_context& context, ReceiverOptions o)
      : ioc(context),
        opts(std::move(o)),
        behaviour(opts.script),
        control(asio::make_strand(context)),
        acceptor(control),
        flush_timer(control) {}

  Status listen(const std::string& host_port);
  void accept();
  void schedule_flush();
  void stop();

  // The status to answer to `r` (authenticated) when the behaviour answers `scripted`: 401 when the checks
  // reject it, a misbehaviour's status, or `scripted`.
  int answer_status(const RequestRecord& r, int scripted);
  // Completes `r` (t_ms, order), counts it, appends it to the record and calls on_record.
  void record(RequestRecord& r);
  Status flush();

  void add_connection(Connection* c, std::weak_ptr<Connection> w) {
    std::lock_guard lock(connections_mu);
    connections.emplace(c, std::move(w));
  }
  void remove_connection(Connection* c) {
    std::lock_guard lock(connections_mu);
    connections.erase(c);
  }

  asio::io_context& ioc;
  const ReceiverOptions opts;
  ServedBehaviour behaviour;
  std::unique_ptr<Verifier> verifier;                     // set by listen()
  std::unique_ptr<asio::ssl::context> tls;                // set when serving HTTPS
  asio::strand<asio::io_context::executor_type> control;  // runs the acceptor, the flush timer and stop
  tcp::acceptor acceptor;
  asio::steady_timer flush_timer;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> stopping{false};
  uint16_t port = 0;
  std::string url;

  std::mutex connections_mu;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;

  // Guarded by mu: the counters, the verifier's per-subscription state and the record file.
  mutable std::mutex mu;
  ReceiverStats stats;
  RecordFile record_file;
};

namespace {

// Splits "host:port", "[v6]:port" or "port".
Status split_host_port(const std::string& text, std::string& host, uint16_t& port) {
  std::string port_text;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    host = "127.0.0.1";
    port_text = text;
  } else if (text.starts_with("[")) {
    size_t close = text.find("]:");
    if (close == std::string::npos)
      return Status::InvalidArgument(fmt::format("listen address '{}': expected [IPv6]:PORT", text));
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Status::InvalidArgument(fmt::format("listen address '{}': expected HOST:PORT", text));
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535)
    return Status::InvalidArgument(
        fmt::format("listen address '{}': port must be a number from 0 to 65535", text));
  port = static_cast<uint16_t>(value);
  return Status::OK();
}

}  // namespace

Status ReceiverState::listen(const std::string& host_port) {
  std::string host;
  uint16_t wanted_port = 0;
  HOOKSIM_RETURN_IF_ERROR(split_host_port(host_port, host, wanted_port));
  beast::error_code ec;
  tcp::endpoint endpoint;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, wanted_port);
  } else {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(wanted_port), ec);
    if (ec || results.empty())
      return Status::InvalidArgument(fmt::format("listen address '{}': cannot resolve '{}': {}", host_port,
                                                 host, ec ? ec.message() : "no address"));
    endpoint = results.begin()->endpoint();
  }

  auto v = Verifier::make(opts);
  if (!v.ok()) return v.status();
  verifier = std::move(*v);

  if (!opts.tls_cert_path.empty() || !opts.tls_key_path.empty()) {
    if (opts.tls_cert_path.empty() || opts.tls_key_path.empty())
      return Status::InvalidArgument("TLS needs both a certificate and a private key");
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
    tls->use_certificate_chain_file(opts.tls_cert_path, ec);
    if (ec)
      return Status::InvalidArgument(
          fmt::format("TLS certificate '{}': cannot load: {}", opts.tls_cert_path, ec.message()));
    tls->use_private_key_file(opts.tls_key_path, asio::ssl::context::pem, ec);
    if (ec)
      return Status::InvalidArgument(
          fmt::format("TLS key '{}': cannot load: {}", opts.tls_key_path, ec.message()));
    if (SSL_CTX_check_private_key(tls->native_handle()) != 1)
      return Status::InvalidArgument(fmt::format("TLS key '{}': does not match the certificate '{}'",
                                                 opts.tls_key_path, opts.tls_cert_path));
  }

  if (!opts.record_path.empty()) HOOKSIM_RETURN_IF_ERROR(record_file.open(opts.record_path));

  auto fail = [&](const char* what) {
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
  started = std::chrono::steady_clock::now();
  behaviour.start(started);

  asio::post(control, [self = shared_from_this()] {
    self->accept();
    if (self->record_file.is_open()) self->schedule_flush();
  });
  return Status::OK();
}

void ReceiverState::schedule_flush() {
  if (stopping) return;
  flush_timer.expires_after(kRecordFlushInterval);
  flush_timer.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->stopping) return;
    {
      std::lock_guard lock(self->mu);
      self->record_file.write();
    }
    self->schedule_flush();
  });
}

void ReceiverState::stop() {
  if (stopping.exchange(true)) return;
  asio::post(control, [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor.close(ec);
    self->flush_timer.cancel();
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(self->connections_mu);
      for (auto& [ptr, weak] : self->connections)
        if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->post_abort();
  });
}

int ReceiverState::answer_status(const RequestRecord& r, int scripted) {
  if (verifier->rejects(r.signature)) return 401;
  if (!is_2xx(scripted) || !verifier->misbehaves()) return scripted;
  std::lock_guard lock(mu);
  int status = verifier->misbehaviour(r, std::chrono::steady_clock::now());
  return status != 0 ? status : scripted;
}

void ReceiverState::record(RequestRecord& r) {
  r.t_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
               .count();
  {
    std::lock_guard lock(mu);
    if (r.action == RequestRecord::Action::kAnswer && is_2xx(r.status)) r.order = verifier->accept(r);
    stats.count(r);
    if (record_file.is_open()) record_file.append(r);
  }
  if (opts.on_record) opts.on_record(r);
}

Status ReceiverState::flush() {
  std::lock_guard lock(mu);
  return record_file.flush();
}

namespace {

template <typename Int>
std::optional<Int> parse_int(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view header(const http::request_header<>& h, std::string_view name) {
  auto it = h.find(beast::string_view(name.data(), name.size()));
  return it == h.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

// A request's headers, for protocol's readers.
protocol::HeaderLookup lookup(const http::request_header<>& h) {
  return [&h](std::string_view name) -> std::optional<std::string_view> {
    auto it = h.find(beast::string_view(name.data(), name.size()));
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
}

RequestRecord describe(const http::request_header<>& h) {
  return RequestRecord::describe(lookup(h), std::string_view(h.target().data(), h.target().size()));
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";
// How long a closing connection waits for the client to close its side after our last response, so that
// unread request bytes do not turn our close into a reset that destroys the response.
constexpr auto kLingerTimeout = std::chrono::seconds(2);

// One HTTP/1.1 connection, plain (beast::tcp_stream) or TLS (beast::ssl_stream<beast::tcp_stream>). Every
// handler runs on the connection's strand (the executor of its socket), so no member needs a lock.
//
// A request moves through: read header -> (100 Continue) -> read body -> decide -> answer now, answer after
// the latency timer, drop, or wait for the client to close (timeout). Exactly one record is written per
// request that was read, when its outcome is known; `pending_` says one is still owed.
template <typename Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... StreamArgs>
  Session(std::shared_ptr<ReceiverState> state, StreamArgs&&... args)
      : state_(std::move(state)),
        stream_(std::forward<StreamArgs>(args)...),
        timer_(stream_.get_executor()) {}

  ~Session() override { state_->remove_connection(this); }

  void start() {
    state_->add_connection(this, this->weak_from_this());
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close_now();
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

  void post_abort() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->abort(); });
  }

 private:
  using Action = protocol::ReceiverAction;

  void read_request() {
    if (closed_ || state_->stopping) return close_now();
    parser_.emplace();
    parser_->body_limit(state_->opts.body_limit);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::body_limit) return too_large();
    if (ec) return close_now();  // the client closed, a reset, a malformed request, or stop()
    if (parser_->is_done()) return on_request();
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      asio::async_write(stream_, asio::buffer(k100Continue.data(), k100Continue.size()),
                        [self = this->shared_from_this()](beast::error_code ec2, size_t) {
                          if (ec2) return self->close_now();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec == http::error::body_limit) return self->too_large();
                       if (ec) return self->close_now();
                       self->on_request();
                     });
  }

  void on_request() {
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    RequestRecord r = describe(req);
    r.bytes = req.body().size();
    if (state_->opts.record_bodies) r.body = req.body();
    if (state_->opts.on_request) state_->opts.on_request(r);
    if (req.method() != http::verb::post) {
      r.status = 405;
      state_->record(r);
      return respond(405, "only POST is accepted\n");
    }
    r.signature = state_->verifier->authenticate(lookup(req), req.body(), unix_seconds_now());
    protocol::ReceiverDecision d = state_->behaviour.decide(r.virtual_time);
    if (d.action == Action::kAnswer) d.status = state_->answer_status(r, d.status);
    record_ = std::move(r);
    pending_ = true;
    switch (d.action) {
      case Action::kTimeout:
        return wait_for_client_close();
      case Action::kDrop:
      case Action::kError:  // not in a served behaviour (the parser refuses it); the nearest is a drop
        return after(d.latency, [this] { drop(); });
      case Action::kAnswer:
        return after(d.latency, [this, status = d.status] { answer(status); });
    }
  }

  // Runs `then` on this connection's strand after `latency`, at once when it is zero.
  template <typename F>
  void after(Duration latency, F then) {
    if (latency.count() <= 0) return then();
    timer_.expires_after(latency);
    timer_.async_wait([self = this->shared_from_this(), then](beast::error_code ec) {
      if (ec || self->closed_) return;
      then();
    });
  }

  void answer(int status) {
    if (!pending_) return;
    pending_ = false;
    record_.action = RequestRecord::Action::kAnswer;
    record_.status = status;
    state_->record(record_);
    respond(status, status == 401 ? Verifier::rejection_reason(record_.signature) : "");
  }

  void drop() {
    if (pending_) {
      pending_ = false;
      record_.action = RequestRecord::Action::kDrop;
      state_->record(record_);
    }
    close_now();
  }

  // Reads and discards whatever the client sends until it closes: the request is never answered.
  void wait_for_client_close() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec && !self->closed_) return self->wait_for_client_close();
                              self->abandon();
                            });
  }

  // Records a request that never got its outcome as a timeout (status 0).
  void abandon() {
    if (pending_) {
      pending_ = false;
      record_.action = RequestRecord::Action::kTimeout;
      record_.status = 0;
      state_->record(record_);
    }
    close_now();
  }

  void abort() { abandon(); }

  void too_large() {
    const auto& h = parser_->get();
    RequestRecord r = describe(h);
    // The declared size (parser_->content_length() is not available when the header itself was refused).
    r.bytes = parse_int<uint64_t>(header(h, "content-length")).value_or(0);
    if (state_->opts.on_request) state_->opts.on_request(r);
    r.status = 413;
    version_ = h.version();
    keep_alive_ = false;
    state_->record(r);
    respond(413, "body too large\n");
  }

  void respond(int status, std::string_view body) {
    response_ = {};
    response_.version(version_ == 10 ? 10 : 11);
    response_.result(static_cast<unsigned>(status));
    if (status == 405) response_.set(http::field::allow, "POST");
    if (!body.empty()) {
      response_.set(http::field::content_type, "text/plain");
      response_.body().assign(body.data(), body.size());
    }
    response_.keep_alive(keep_alive_ && !state_->stopping);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close_now();
      if (!self->response_.keep_alive()) return self->graceful_close();
      self->read_request();
    });
  }

  // After a response with "connection: close": end our side cleanly, then wait (bounded) for the client's.
  void graceful_close() {
    if (closed_) return;
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.expires_after(kLingerTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_now(); });
    } else {
      beast::error_code ec;
      lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
      linger();
    }
  }

  void linger() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (!ec && !self->closed_) return self->linger();
                              self->close_now();
                            });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::get_lowest_layer(stream_).close();
  }

  std::shared_ptr<ReceiverState> state_;
  Stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::array<char, 4096> discard_;
  RequestRecord record_;  // the current request's record while pending_
  bool pending_ = false;
  bool closed_ = false;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

void ReceiverState::accept() {
  acceptor.async_accept(
      asio::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (self->stopping || ec == asio::error::operation_aborted) return;
        if (!ec) {
          {
            std::lock_guard lock(self->mu);
            ++self->stats.connections;
          }
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          try {
            if (self->tls) {
              auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                  self, std::move(socket), *self->tls);
              s->start();
            } else {
              auto s = std::make_shared<Session<beast::tcp_stream>>(self, std::move(socket));
              s->start();
            }
          } catch (const std::exception&) {
            // Out of memory or an SSL object that cannot be created: this connection is lost, the server goes
            // on.
          }
        }
        self->accept();
      });
}

// ---------------------------------------------------------------------------------------------------------
// MockReceiver
// ---------------------------------------------------------------------------------------------------------

MockReceiver::MockReceiver(asio::io_context& ioc, ReceiverOptions options)
    : state_(std::make_shared<ReceiverState>(ioc, std::move(options))) {}

MockReceiver::~MockReceiver() {
  state_->stop();
  (void)state_->flush();
}

Status MockReceiver::listen(const std::string& host_port) {
  try {
    return state_->listen(host_port);
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("cannot listen on {}: {}", host_port, e.what()));
  }
}

uint16_t MockReceiver::port() const {
  return state_->port;
}

std::string MockReceiver::url() const {
  return state_->url;
}

void MockReceiver::stop() {
  state_->stop();
}

ReceiverStats MockReceiver::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

Status MockReceiver::flush() {
  return state_->flush();
}

}  // namespace hooksim::receiver
