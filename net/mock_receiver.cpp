#include "net/mock_receiver.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
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
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "protocol/delivery.h"
#include "protocol/json_input.h"

namespace hooksim::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------------------
// Script loading
// ---------------------------------------------------------------------------------------------------------
Result<protocol::ReceiverBehaviour> load_receiver_script(const std::string& path) {
  auto j = json_input::load_json_file(path);
  if (!j.ok()) return j.status();
  return protocol::parse_receiver_behaviour(*j, "", protocol::ReceiverContext::kServed);
}

// ---------------------------------------------------------------------------------------------------------
// Record lines and stats
// ---------------------------------------------------------------------------------------------------------
namespace {

// Appends `s` as a JSON string. Bytes >= 0x80 are escaped as \u00XX: HTTP field values are octets
// (obs-text is ISO-8859-1), and the record must stay valid UTF-8 whatever a client sends.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_optional(std::string& out, const std::optional<std::string>& s) {
  if (s) {
    append_json_string(out, *s);
  } else {
    out += "null";
  }
}

void append_optional(std::string& out, const std::optional<uint64_t>& n) {
  if (n) {
    fmt::format_to(std::back_inserter(out), "{}", *n);
  } else {
    out += "null";
  }
}

const char* action_name(RequestRecord::Action a) {
  switch (a) {
    case RequestRecord::Action::kAnswer:
      return "answer";
    case RequestRecord::Action::kTimeout:
      return "timeout";
    case RequestRecord::Action::kDrop:
      return "drop";
  }
  return "?";
}

const char* order_name(RequestRecord::Order o) {
  switch (o) {
    case RequestRecord::Order::kOk:
      return "ok";
    case RequestRecord::Order::kDuplicate:
      return "duplicate";
    case RequestRecord::Order::kGap:
      return "gap";
    case RequestRecord::Order::kOutOfOrder:
      return "out_of_order";
    case RequestRecord::Order::kNotApplicable:
      return "n/a";
  }
  return "?";
}

bool is_2xx(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

std::string RequestRecord::to_json_line() const {
  std::string out;
  out.reserve(256);
  fmt::format_to(std::back_inserter(out), "{{\"t_ms\":{},\"sub\":", t_ms);
  append_json_string(out, sub);
  out += ",\"event\":";
  append_optional(out, event);
  out += ",\"seq\":";
  append_optional(out, seq);
  out += ",\"attempt\":";
  append_optional(out, attempt);
  out += ",\"virtual_time\":";
  append_optional(out, virtual_time);
  fmt::format_to(std::back_inserter(out),
                 ",\"action\":\"{}\",\"status\":{},\"signature\":\"{}\",\"order\":\"{}\",\"bytes\":{}}}",
                 action_name(action), status, protocol::to_string(signature), order_name(order), bytes);
  if (body) {
    out.pop_back();
    out += ",\"body\":";
    append_json_string(out, *body);
    out += '}';
  }
  return out;
}

std::string ReceiverStats::to_json_line() const {
  return fmt::format(
      "{{\"requests\":{},\"answered_2xx\":{},\"answered_other\":{},\"timeouts\":{},\"drops\":{},"
      "\"duplicates\":{},\"order_violations\":{},\"bad_signatures\":{},\"connections\":{}}}",
      requests, answered_2xx, answered_other, timeouts, drops, duplicates, order_violations, bad_signatures,
      connections);
}

// ---------------------------------------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------------------------------------
namespace {

// Type-erased connection, so that stop() can reach every live connection whatever its stream type.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection on its own strand; a request waiting for its outcome is recorded as a timeout.
  virtual void post_abort() = 0;
};

// Accepted events of one subscription, for the order and duplicate checks.
struct SubscriptionOrder {
  std::optional<uint64_t> last_seq;
  std::unordered_set<std::string> accepted_ids;
  std::deque<std::string> id_fifo;  // accepted_ids in insertion order, to forget the oldest
  // The rate limit's token bucket (ReceiverOptions::rate_limit_per_minute).
  double tokens = -1;  // < 0: not started (a full bucket)
  std::chrono::steady_clock::time_point refilled;
};

constexpr size_t kRecordFlushBytes = 64 * 1024;
constexpr auto kRecordFlushInterval = std::chrono::seconds(1);

}  // namespace

namespace detail {

struct ReceiverState : std::enable_shared_from_this<ReceiverState> {
  ReceiverState(asio::io_context& context, ReceiverOptions o)
      : ioc(context),
        opts(std::move(o)),
        control(asio::make_strand(context)),
        acceptor(control),
        flush_timer(control),
        rng(opts.script.seed) {}

  ~ReceiverState() {
    if (record_file != nullptr) {
      write_record_locked();
      std::fclose(record_file);
    }
  }

  Status listen(const std::string& host_port);
  void accept();
  void schedule_flush();
  void stop();

  // The script's decision for a request; `virtual_time` is its virtual-time header, if any.
  protocol::ReceiverDecision decide(const std::optional<std::string>& virtual_time);
  // The signature / token check of a request.
  RequestRecord::Signature check_auth(const http::request<http::string_body>& req) const;
  // The status a misbehaviour switch answers instead of the script's 2xx, or 0 for none.
  int misbehave(const RequestRecord& r);
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
  std::unique_ptr<protocol::Signer> signer;               // of opts.secret
  protocol::AuthRequirements auth;                        // what check_auth() requires
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

  // Guarded by mu.
  mutable std::mutex mu;
  ReceiverStats stats;
  std::mt19937_64 rng;
  std::unordered_map<std::string, SubscriptionOrder> subs;
  std::FILE* record_file = nullptr;
  std::string record_buffer;
  std::string record_error;  // the first write error

 private:
  RequestRecord::Order classify_locked(const RequestRecord& r);
  void write_record_locked();
};

}  // namespace detail

using detail::ReceiverState;

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

  if (!opts.secret.empty()) {
    auto k = protocol::make_signer(opts.secret);
    if (!k.ok()) return Status::InvalidArgument("secret: " + k.status().message());
    signer = std::move(*k);
  }
  auth = {
      .signer = signer.get(),
      .timestamp_tolerance = opts.ignore_timestamps ? std::nullopt : std::optional(opts.timestamp_tolerance),
      .bearer_token = opts.token};

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

  if (!opts.record_path.empty()) {
    record_file = std::fopen(opts.record_path.c_str(), "w");
    if (record_file == nullptr)
      return Status::InvalidArgument(fmt::format("record file '{}': cannot open for writing: {}",
                                                 opts.record_path, std::strerror(errno)));
  }

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

  asio::post(control, [self = shared_from_this()] {
    self->accept();
    if (self->record_file != nullptr) self->schedule_flush();
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
      self->write_record_locked();
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

protocol::ReceiverDecision ReceiverState::decide(const std::optional<std::string>& virtual_time) {
  const protocol::ReceiverBehaviour& s = opts.script;
  std::optional<Duration> t;
  if (!s.windows.empty()) {
    switch (s.clock) {
      case protocol::ReceiverClock::kRelative:
        t = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
        break;
      case protocol::ReceiverClock::kWall:
        t = std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch());
        break;
      case protocol::ReceiverClock::kVirtual:
        if (virtual_time) {
          if (auto vt = parse_utc(*virtual_time); vt.ok()) t = *vt - s.start;
        }
        break;
    }
  }
  if (s.fail_rate <= 0.0) return s.decide(t, rng);  // draws nothing: no lock needed
  std::lock_guard lock(mu);
  return s.decide(t, rng);
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

// The parts of a request the record keeps (everything but the outcome).
RequestRecord describe(const http::request_header<>& h) {
  protocol::ReceivedDelivery d = protocol::parse_delivery_headers(lookup(h));
  RequestRecord r;
  if (d.subscription) {
    r.sub = std::move(*d.subscription);
  } else {
    std::string_view target(h.target().data(), h.target().size());
    r.sub = std::string(target.substr(0, target.find('?')));
  }
  r.event = std::move(d.event_id);
  r.seq = d.seq;
  r.attempt = d.attempt;
  r.virtual_time = std::move(d.virtual_time);
  return r;
}

}  // namespace

RequestRecord::Signature ReceiverState::check_auth(const http::request<http::string_body>& req) const {
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return protocol::check_delivery_auth(auth, lookup(req), req.body(), now);
}

int ReceiverState::misbehave(const RequestRecord& r) {
  if (!opts.fail_duplicates && !opts.reject_out_of_order && opts.rate_limit_per_minute == 0) return 0;
  std::lock_guard lock(mu);
  SubscriptionOrder& s = subs[r.sub];
  if (opts.rate_limit_per_minute > 0) {
    const auto capacity = static_cast<double>(opts.rate_limit_per_minute);
    auto now = std::chrono::steady_clock::now();
    if (s.tokens < 0) {
      s.tokens = capacity;
    } else {
      double minutes = std::chrono::duration<double, std::ratio<60>>(now - s.refilled).count();
      s.tokens = std::min(capacity, s.tokens + minutes * capacity);
    }
    s.refilled = now;
    if (s.tokens < 1) return 429;
    s.tokens -= 1;
  }
  bool duplicate = r.event && s.accepted_ids.contains(*r.event);
  if (opts.fail_duplicates && duplicate) return 500;
  if (opts.reject_out_of_order && !duplicate && r.seq && s.last_seq && *r.seq < *s.last_seq + 1) return 409;
  return 0;
}

RequestRecord::Order ReceiverState::classify_locked(const RequestRecord& r) {
  using Order = RequestRecord::Order;
  SubscriptionOrder& s = subs[r.sub];
  if (r.event && s.accepted_ids.contains(*r.event)) {
    ++stats.duplicates;
    return Order::kDuplicate;
  }
  if (r.event) {
    s.accepted_ids.insert(*r.event);
    s.id_fifo.push_back(*r.event);
    while (s.id_fifo.size() > opts.dedup_window) {
      s.accepted_ids.erase(s.id_fifo.front());
      s.id_fifo.pop_front();
    }
  }
  if (!r.seq) return Order::kNotApplicable;
  Order order = Order::kOk;
  if (s.last_seq && *r.seq != *s.last_seq + 1) {
    order = *r.seq > *s.last_seq + 1 ? Order::kGap : Order::kOutOfOrder;
    ++stats.order_violations;
  }
  s.last_seq = *r.seq;
  return order;
}

void ReceiverState::record(RequestRecord& r) {
  r.t_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
               .count();
  {
    std::lock_guard lock(mu);
    ++stats.requests;
    switch (r.action) {
      case RequestRecord::Action::kAnswer:
        ++(is_2xx(r.status) ? stats.answered_2xx : stats.answered_other);
        break;
      case RequestRecord::Action::kTimeout:
        ++stats.timeouts;
        break;
      case RequestRecord::Action::kDrop:
        ++stats.drops;
        break;
    }
    if (r.signature == RequestRecord::Signature::kBad || r.signature == RequestRecord::Signature::kMissing ||
        r.signature == RequestRecord::Signature::kStale)
      ++stats.bad_signatures;
    r.order = r.action == RequestRecord::Action::kAnswer && is_2xx(r.status)
                  ? classify_locked(r)
                  : RequestRecord::Order::kNotApplicable;
    if (record_file != nullptr) {
      record_buffer += r.to_json_line();
      record_buffer += '\n';
      if (record_buffer.size() >= kRecordFlushBytes) write_record_locked();
    }
  }
  if (opts.on_record) opts.on_record(r);
}

void ReceiverState::write_record_locked() {
  if (record_file == nullptr || record_buffer.empty()) return;
  size_t written = std::fwrite(record_buffer.data(), 1, record_buffer.size(), record_file);
  if ((written != record_buffer.size() || std::fflush(record_file) != 0) && record_error.empty())
    record_error = fmt::format("record file '{}': write failed: {}", opts.record_path, std::strerror(errno));
  record_buffer.clear();
}

Status ReceiverState::flush() {
  std::lock_guard lock(mu);
  write_record_locked();
  return record_error.empty() ? Status::OK() : Status::IOError(record_error);
}

// ---------------------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------------------
namespace {

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
    r.signature = state_->check_auth(req);
    bool bad =
        r.signature == RequestRecord::Signature::kBad || r.signature == RequestRecord::Signature::kMissing;
    bool rejected =
        (bad && !state_->opts.accept_bad_signatures) || r.signature == RequestRecord::Signature::kStale;
    protocol::ReceiverDecision d = state_->decide(r.virtual_time);
    if (d.action == Action::kAnswer && !rejected && is_2xx(d.status)) {
      if (int status = state_->misbehave(r); status != 0) d.status = status;
    }
    record_ = std::move(r);
    pending_ = true;
    switch (d.action) {
      case Action::kTimeout:
        return wait_for_client_close();
      case Action::kDrop:
      case Action::kError:  // not in a served behaviour (the parser refuses it); the nearest is a drop
        return after(d.latency, [this] { drop(); });
      case Action::kAnswer: {
        int status = rejected ? 401 : d.status;
        return after(d.latency, [this, status] { answer(status); });
      }
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
    respond(status, status == 401 ? (record_.signature == RequestRecord::Signature::kStale
                                         ? "webhook-timestamp outside the tolerance\n"
                                         : "signature or token check failed\n")
                                  : "");
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

}  // namespace hooksim::net
