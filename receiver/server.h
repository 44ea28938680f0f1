// A mock webhook receiver: an HTTP(S) server that answers deliveries the way a script says, checks their
// signatures or bearer tokens, tracks per-subscription order and records every request.
//
// It is what `hooksim receiver` runs (docs/receiver.md) and the target of the throughput benchmark, so the
// request path is asynchronous and never blocks a thread: latency is an Asio timer, a "timeout" answer is a
// connection left open. The server runs on a caller-owned io_context; run that context on one or more
// threads. Every connection has its own strand, so any number of threads is safe.
//
// Its parts: the behaviour on its clock (receiver/behaviour.h), the checks (receiver/verify.h), the records
// (receiver/record.h); the HTTP plumbing is net/http_server.h.
//
// Typical use:
//   boost::asio::io_context ioc;
//   receiver::MockReceiver receiver(ioc, options);
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
#include <string>

#include "engine/status.h"
#include "protocol/receiver_behaviour.h"
#include "receiver/record.h"
#include "receiver/verify.h"

namespace boost::asio {
class io_context;
}

namespace hooksim::net {
class HttpServer;
}

namespace hooksim::receiver {

struct ReceiverOptions : Checks {
  // How to answer (a served behaviour: protocol::ReceiverContext::kServed, e.g. from load_script()). A
  // request is matched against the windows at its arrival time on the behaviour's clock
  // (receiver/behaviour.h). Default: always 200 after 0ms.
  protocol::ReceiverBehaviour script;
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
  // Called once per request as soon as it has been read, before its outcome is decided, with the record so
  // far (request fields only; t_ms 0). Runs on the thread running that connection's handlers, without any
  // internal lock held; must not block. May be empty.
  std::function<void(const RequestRecord&)> on_request;
  // Called once per request with its complete record, after it was appended to the record buffer, on the
  // same terms as on_request. May be empty.
  std::function<void(const RequestRecord&)> on_record;
};

struct ReceiverState;  // shared by a MockReceiver and its connections (server.cpp)

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
  std::shared_ptr<ReceiverState> state_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace hooksim::receiver
