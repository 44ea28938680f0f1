// A mock webhook receiver: an HTTP(S) server on Boost.Beast that answers deliveries the way a script says,
// checks their signatures or bearer tokens, tracks per-subscription order and records every request.
//
// It is what `hooksim receiver` runs (docs/receiver.md) and the target of the throughput benchmark, so the
// request path is asynchronous and never blocks a thread: latency is an Asio timer, a "timeout" answer is a
// connection left open. The server runs on a caller-owned io_context; run that context on one or more
// threads. Every connection has its own strand, so any number of threads is safe.
//
// Typical use:
//   boost::asio::io_context ioc;
//   net::MockReceiver receiver(ioc, options);
//   if (Status st = receiver.listen("127.0.0.1:0"); !st.ok()) ...
//   std::thread t([&] { ioc.run(); });
//   ...                                  // send requests to receiver.url()
//   receiver.stop();                     // from any thread; run() returns once every connection is closed
//   t.join();
//   Status flushed = receiver.flush();   // the record file is complete
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"
#include "protocol/receiver_behaviour.h"
#include "protocol/signing.h"

namespace boost::asio {
class io_context;
}

namespace hooksim::net {

namespace detail {
struct ReceiverState;  // the shared state of a MockReceiver and its connections (mock_receiver.cpp)
}  // namespace detail

// Reads a script file (docs/receiver.md): protocol::parse_receiver_behaviour() in the served context plus
// file and JSON syntax errors (all InvalidArgument).
Result<protocol::ReceiverBehaviour> load_receiver_script(const std::string& path);

// What happened to one request; one line of the record file (docs/receiver.md, "Record").
struct RequestRecord {
  enum class Action { kAnswer, kTimeout, kDrop };
  // kStale: the signature matches but webhook-timestamp is outside the tolerance (ReceiverOptions).
  using Signature = protocol::AuthCheck;
  enum class Order { kOk, kDuplicate, kGap, kOutOfOrder, kNotApplicable };

  int64_t t_ms = 0;                         // wall milliseconds since the receiver started, at the outcome
  std::string sub;                          // hooksim-subscription, else the request path
  std::optional<std::string> event;         // webhook-id
  std::optional<uint64_t> seq;              // hooksim-sequence
  std::optional<uint64_t> attempt;          // hooksim-attempt
  std::optional<std::string> virtual_time;  // hooksim-virtual-time, as sent
  Action action = Action::kAnswer;
  int status = 0;  // the status answered; 0 unless action == kAnswer
  Signature signature = Signature::kUnchecked;
  Order order = Order::kNotApplicable;  // kNotApplicable unless answered 2xx
  uint64_t bytes = 0;                   // body size (for a 413 the declared Content-Length, 0 if chunked)
  std::optional<std::string> body;      // the body itself, only with ReceiverOptions::record_bodies

  // The record line, without the newline: {"t_ms":..,"sub":..,...} with fields in the order above; absent
  // optionals are null, except `body`, which appears only when recorded.
  std::string to_json_line() const;
};

// Counters since listen(). requests == answered_2xx + answered_other + timeouts + drops.
struct ReceiverStats {
  uint64_t connections = 0;  // connections accepted
  uint64_t requests = 0;     // requests with an outcome (one record line each)
  uint64_t answered_2xx = 0;
  uint64_t answered_other = 0;    // 401, 405, 413 and scripted non-2xx answers
  uint64_t timeouts = 0;          // never answered: a timeout window, or pending when the receiver stopped
  uint64_t drops = 0;             // connection closed without an answer by a drop window
  uint64_t duplicates = 0;        // 2xx answers to an event id already answered 2xx for the subscription
  uint64_t order_violations = 0;  // 2xx answers whose sequence was a gap or out of order
  uint64_t bad_signatures = 0;    // requests whose signature or token was bad, missing or stale

  // {"requests":..,"answered_2xx":..,"answered_other":..,"timeouts":..,"drops":..,"duplicates":..,
  //  "order_violations":..,"bad_signatures":..,"connections":..} on one line.
  std::string to_json_line() const;
};

struct ReceiverOptions {
  // How to answer (a served behaviour: protocol::ReceiverContext::kServed). A request is matched against
  // the windows at its arrival time on the behaviour's clock; under the virtual clock a request without a
  // valid virtual-time header matches no window. The fail_rate draws come from one mt19937_64 seeded with
  // `seed`. Default: always 200 after 0ms.
  protocol::ReceiverBehaviour script;
  // A Standard Webhooks secret ("whsec_..."). When set, every request's signature is verified against its
  // event id, timestamp and body (protocol/standard_webhooks.h); a missing or wrong one is answered 401.
  std::string secret;
  // When set, every request must carry "authorization: Bearer <token>"; otherwise it is answered 401.
  std::string token;
  // With a secret, a webhook-timestamp further than this from the wall clock (either way) is answered 401
  // and recorded as "stale" (Standard Webhooks replay protection), even when the signature matches.
  Duration timestamp_tolerance = std::chrono::minutes(5);

  // Misbehaviours, to test a sender or `hooksim check` against a receiver that gets things wrong. Each
  // applies only to a request the script answers with a 2xx and whose signature or token check passed.
  //
  // Answer as the script says even when the signature or token check fails (still recorded and counted).
  bool accept_bad_signatures = false;
  // Do not check webhook-timestamp against timestamp_tolerance (stale and future requests are accepted).
  bool ignore_timestamps = false;
  // Answer 500 to a webhook-id already answered 2xx for the subscription (instead of 2xx again).
  bool fail_duplicates = false;
  // Answer 409 to a sequence number lower than the last accepted one + 1 that is not a duplicate (an older
  // event after a newer one, as after a live probe).
  bool reject_out_of_order = false;
  // When > 0: at most this many requests per subscription per minute (a token bucket holding up to this
  // many, refilled evenly over a minute); requests beyond it are answered 429.
  uint64_t rate_limit_per_minute = 0;
  // When set, one JSON line per request is written to this file (truncated at listen()). Writes are
  // buffered: flushed every second, whenever 64 KiB are pending, and by flush().
  std::string record_path;
  // Both set: serve HTTPS (TLS 1.2 or later) with this PEM certificate chain and PEM private key.
  std::string tls_cert_path;
  std::string tls_key_path;
  // Larger bodies are answered 413 and the connection is closed.
  uint64_t body_limit = 10 * 1024 * 1024;
  // Keep each request's body in its record (RequestRecord::body, and "body" in the record file), e.g. to
  // check what `hooksim replay` sends. Off by default: bodies can be large.
  bool record_bodies = false;
  // Accepted event ids remembered per subscription for duplicate detection (oldest forgotten first);
  // bounds memory under a long benchmark. Sequence checks are unaffected.
  size_t dedup_window = 100000;
  // Called once per request as soon as it has been read, before its outcome is decided, with the record so
  // far (request fields only; t_ms 0). Runs on the thread running that connection's handlers, without any
  // internal lock held; must not block. May be empty.
  std::function<void(const RequestRecord&)> on_request;
  // Called once per request with its complete record, after it was appended to the record buffer, on the
  // same terms as on_request. May be empty.
  std::function<void(const RequestRecord&)> on_record;
};

// The server. All methods may be called from any thread unless stated otherwise.
class MockReceiver {
 public:
  // Does not touch the network; call listen(). `ioc` must outlive every handler this receiver posts to it.
  MockReceiver(boost::asio::io_context& ioc, ReceiverOptions options);
  // Closes the listening socket and every connection (as stop()) and flushes the record file. Handlers
  // still queued on the io_context keep the shared state alive and finish harmlessly.
  ~MockReceiver();

  MockReceiver(const MockReceiver&) = delete;
  MockReceiver& operator=(const MockReceiver&) = delete;

  // Binds `host_port` ("127.0.0.1:8080", "localhost:0", "[::1]:0", or just a port, meaning 127.0.0.1),
  // opens the record file, loads the TLS certificate and key when configured, and starts accepting on the
  // io_context (nothing happens until it runs). Port 0 picks a free port; see port().
  // Returns InvalidArgument for a bad address, secret, record path or TLS file, IOError when binding fails.
  // REQUIRES: listen() has not been called before.
  Status listen(const std::string& host_port);

  // The bound port. REQUIRES: listen() returned OK.
  uint16_t port() const;
  // "http://HOST:PORT" or "https://HOST:PORT" (IPv6 hosts in brackets). REQUIRES: listen() returned OK.
  std::string url() const;

  // Stops accepting and closes every connection; a request still waiting for its answer (latency or a
  // timeout window) is recorded as a timeout. Returns at once; the work is done on the io_context, after
  // which this receiver holds no pending handler (so run() returns when nothing else is queued).
  // Idempotent. Safe to call before listen().
  void stop();

  // A snapshot of the counters.
  ReceiverStats stats() const;

  // Writes the buffered record lines to the record file. OK without a record file. Returns IOError if any
  // write to the record file has failed so far.
  Status flush();

 private:
  // Shared with the connections and pending handlers, so that it outlives whichever finishes last.
  std::shared_ptr<detail::ReceiverState> state_;
};

}  // namespace hooksim::net
