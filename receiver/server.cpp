#include "receiver/server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http.hpp>
#include <mutex>

#include "net/http_server.h"
#include "protocol/delivery.h"
#include "protocol/retry_after.h"
#include "receiver/behaviour.h"

namespace hooksim::receiver {

namespace asio = boost::asio;
namespace http = boost::beast::http;

// What every connection of a receiver shares: the options, the behaviour, the checks, the counters and the
// record file.
struct ReceiverState : std::enable_shared_from_this<ReceiverState> {
  static constexpr auto kRecordFlushInterval = std::chrono::seconds(1);

  ReceiverState(asio::io_context& context, ReceiverOptions o)
      : opts(std::move(o)),
        behaviour(opts.script),
        control(asio::make_strand(context)),
        flush_timer(control) {}

  void schedule_flush() {
    if (stopping) return;
    flush_timer.expires_after(kRecordFlushInterval);
    flush_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      {
        std::lock_guard lock(self->mu);
        self->record_file.write();
      }
      self->schedule_flush();
    });
  }

  void stop() {
    if (stopping.exchange(true)) return;
    asio::post(control, [self = shared_from_this()] { self->flush_timer.cancel(); });
  }

  // The status to answer to `r` (authenticated) when the behaviour answers `scripted`: 401 when the checks
  // reject it, else a misbehaviour's status, else `scripted`.
  int answer_status(const RequestRecord& r, int scripted) {
    if (verifier->rejects(r.signature)) return 401;
    if (!is_2xx(scripted) || !verifier->misbehaves()) return scripted;
    std::lock_guard lock(mu);
    int status = verifier->misbehaviour(r, std::chrono::steady_clock::now());
    return status != 0 ? status : scripted;
  }

  // Completes `r` (t_ms, order), counts it, appends it to the record and calls on_record.
  void record(RequestRecord& r) {
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

  const ReceiverOptions opts;
  ServedBehaviour behaviour;
  std::unique_ptr<Verifier> verifier;                     // set by MockReceiver::listen()
  asio::strand<asio::io_context::executor_type> control;  // runs the flush timer
  asio::steady_timer flush_timer;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> stopping{false};

  // Guarded by mu: the counters, the verifier's per-subscription state and the record file.
  mutable std::mutex mu;
  ReceiverStats stats;
  RecordFile record_file;
};

namespace {

// A request's headers, for protocol's readers.
protocol::HeaderLookup lookup(const http::request_header<>& h) {
  return [&h](std::string_view name) -> std::optional<std::string_view> {
    auto it = h.find(boost::beast::string_view(name.data(), name.size()));
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  };
}

std::string_view target(const http::request_header<>& h) {
  return {h.target().data(), h.target().size()};
}

// The declared Content-Length, 0 when absent or not a number.
uint64_t declared_length(const http::request_header<>& h) {
  auto text = h[http::field::content_length];
  return protocol::whole_number<uint64_t>(std::string_view(text.data(), text.size())).value_or(0);
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The receiver's policy on one connection: decides, records and answers each request. Exactly one record is
// written per request read, when its outcome is known (answered, dropped, or abandoned: a timeout).
class Session final : public net::HttpSession {
 public:
  explicit Session(std::shared_ptr<ReceiverState> state) : state_(std::move(state)) {}

  void on_request(std::shared_ptr<net::HttpExchange> x) override {
    using protocol::ReceiverAction;
    const ReceiverOptions& opts = state_->opts;
    net::HttpMessage& req = x->request();
    protocol::HeaderLookup headers = lookup(req);
    RequestRecord r = RequestRecord::describe(headers, target(req));
    r.bytes = req.body().size();
    if (opts.record_bodies) r.body = req.body();
    if (opts.on_request) opts.on_request(r);
    if (req.method() != http::verb::post) {
      r.status = 405;
      state_->record(r);
      return x->respond({405, "text/plain", "only POST is accepted\n", {{"Allow", "POST"}}});
    }
    r.signature = state_->verifier->authenticate(headers, req.body(), unix_seconds_now());
    protocol::ReceiverDecision d = state_->behaviour.decide(r.virtual_time);
    record_ = std::move(r);
    switch (d.action) {
      case ReceiverAction::kTimeout:
        return x->hang();
      case ReceiverAction::kDrop:
      case ReceiverAction::kError:  // never in a served behaviour (its parser refuses it); nearest: a drop
        return x->after(d.latency,
                        [this](net::HttpExchange& e) { finish(e, RequestRecord::Action::kDrop, 0); });
      case ReceiverAction::kAnswer: {
        int status = state_->answer_status(record_, d.status);
        return x->after(d.latency, [this, status, retry_after = d.retry_after](net::HttpExchange& e) {
          finish(e, RequestRecord::Action::kAnswer, status, retry_after);
        });
      }
    }
  }

  void on_too_large(std::shared_ptr<net::HttpExchange> x) override {
    const net::HttpMessage& h = x->request();
    RequestRecord r = RequestRecord::describe(lookup(h), target(h));
    r.bytes = declared_length(h);
    if (state_->opts.on_request) state_->opts.on_request(r);
    r.status = 413;
    state_->record(r);
    x->respond({413, "text/plain", "body too large\n", {}});
  }

  // Never answered: the client gave up during a timeout window, or the receiver stopped first.
  void on_abandoned() override {
    record_.action = RequestRecord::Action::kTimeout;
    record_.status = 0;
    state_->record(record_);
  }

 private:
  // `retry_after`: the behaviour's Retry-After, sent (as whole seconds) with an answer that is not 2xx.
  void finish(net::HttpExchange& x, RequestRecord::Action action, int status,
              std::optional<Duration> retry_after = std::nullopt) {
    record_.action = action;
    record_.status = status;
    state_->record(record_);
    if (action == RequestRecord::Action::kDrop) return x.drop();
    if (status == 401)
      return x.respond({401, "text/plain", std::string(Verifier::rejection_reason(record_.signature)), {}});
    if (retry_after && !is_2xx(status)) {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*retry_after).count();
      return x.respond(
          {status, "", "", {{std::string(protocol::kRetryAfterHeader), std::to_string(seconds)}}});
    }
    x.respond({status, "", "", {}});
  }

  std::shared_ptr<ReceiverState> state_;
  RequestRecord record_;  // the current request's record while its outcome is pending
};

}  // namespace

MockReceiver::MockReceiver(asio::io_context& ioc, ReceiverOptions options)
    : state_(std::make_shared<ReceiverState>(ioc, std::move(options))),
      server_(std::make_unique<net::HttpServer>(
          ioc,
          net::HttpServerOptions{.body_limit = state_->opts.body_limit,
                                 .stop_abandons = true,  // a request waiting for its answer is a timeout
                                 .echo_version = true,
                                 .tls_cert_path = state_->opts.tls_cert_path,
                                 .tls_key_path = state_->opts.tls_key_path},
          [state = state_] {
            {
              std::lock_guard lock(state->mu);
              ++state->stats.connections;
            }
            return std::make_unique<Session>(state);
          })) {}

MockReceiver::~MockReceiver() {
  stop();
  (void)flush();
}

Status MockReceiver::listen(const std::string& host_port) {
  auto verifier = Verifier::make(state_->opts);
  if (!verifier.ok()) return verifier.status();
  state_->verifier = std::move(*verifier);
  // Once the address is bound, before the first connection is accepted.
  return server_->listen(host_port, [this] {
    ReceiverState& s = *state_;
    if (!s.opts.record_path.empty()) HOOKSIM_RETURN_IF_ERROR(s.record_file.open(s.opts.record_path));
    s.started = std::chrono::steady_clock::now();
    s.behaviour.start(s.started);
    if (s.record_file.is_open()) asio::post(s.control, [self = state_] { self->schedule_flush(); });
    return Status::OK();
  });
}

uint16_t MockReceiver::port() const {
  return server_->port();
}

std::string MockReceiver::url() const {
  return server_->url();
}

void MockReceiver::stop() {
  state_->stop();
  server_->stop();
}

ReceiverStats MockReceiver::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

Status MockReceiver::flush() {
  std::lock_guard lock(state_->mu);
  return state_->record_file.flush();
}

}  // namespace hooksim::receiver
