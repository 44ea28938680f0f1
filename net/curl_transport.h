// CurlTransport: real HTTP(S) delivery on libcurl's multi interface, driven by a Boost.Asio io_context.
//
// curl_multi_socket_action with socket and timer callbacks; Asio owns the sockets (curl opens and closes
// them through CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION) and waits on them; no thread per request
// and no polling loop. Connections are kept alive and reused, capped per host; redirects are never followed
// (a 3xx is a failure); each attempt has a connect and a total timeout; response bodies are discarded
// (reading stops after `max_response_body` bytes). Sockets curl opens for itself (the threaded resolver's
// wake-up socket pair) are watched too, through a duplicate descriptor, so a name resolves as soon as the
// resolver thread is done rather than at curl's next poll timeout.
//
// Failures are classified (engine ErrorClass) by net::classify_curl_error (net/curl_easy.h), plus
// private_address (refuse_private_addresses).
//
// The request is POST <url>; its body is the envelope the engine queued and its headers are built by
// protocol::build_delivery_headers (docs/wire-format.md), signed when the transfer starts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/clock.h"
#include "engine/transport.h"
#include "net/transfer_settings.h"
#include "protocol/signing.h"

// libcurl's multi handle, declared without <curl/curl.h>: CURLM is `struct Curl_multi` with CURL_STRICTER
// and `void` without, and a Curl_multi* converts to either.
struct Curl_multi;

namespace hooksim::net {

// The transfer settings (connect timeout, CA file, insecure) and the sender's own.
struct CurlOptions : TransferSettings {
  // Requests in progress per host (URL authority); more wait in a FIFO, outside curl, and their timeout
  // starts when they get a connection. Also CURLMOPT_MAX_HOST_CONNECTIONS.
  long max_host_connections = 64;
  size_t max_response_body = 64 * 1024;
  double speed = 1.0;  // the scheduler's clock speed: timeouts are divided by it
  // The least real time an attempt's timeout may take once divided by `speed` (0: no floor). A real HTTP
  // attempt needs real milliseconds whatever the clock's speed; `run --time-scale` sets it.
  Duration min_real_timeout{0};
  // Refuse to connect to private, loopback and link-local addresses (net/address_policy.h). Checked on the
  // address each connection is actually opened to, after name resolution; a refused attempt fails with
  // ErrorClass::kPrivateAddress and nothing is sent.
  bool refuse_private_addresses = false;
};

class CurlTransport final : public Transport {
 public:
  // `clock` measures latencies (on the engine's clock). Both references must outlive the transport.
  CurlTransport(boost::asio::io_context& io, const Scheduler& clock, CurlOptions options);
  // Abandons every transfer in flight (their `done` never runs) and closes all connections.
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Starts the request. REQUIRES: request.subscription->endpoint.url is an http(s) URL; a secret, if set,
  // is one that protocol::make_signer() accepts for the policy's signature scheme (another one fails the
  // attempt with error kOther).
  AttemptHandle send(const DeliveryRequest& request, Done done) override;
  void cancel(AttemptHandle handle) override;

  // Number of attempts in flight (including those waiting for a connection slot).
  size_t in_flight() const { return transfers_.size(); }

 private:
  struct Transfer;
  struct Socket;
  struct Host {
    long active = 0;                    // transfers of this host in curl
    std::deque<AttemptHandle> waiting;  // in send() order; cancelled ones are skipped when reached
  };
  struct Callbacks;  // libcurl's callbacks (curl_transport.cpp)

  bool adopt(int fd, int descriptor);
  void watch(const std::shared_ptr<Socket>& socket);
  void socket_action(int fd, int events);
  void check_finished();
  void finish(Transfer* t, int curl_code);
  void dispatch(Transfer* t);
  void release(const std::string& host);
  void recycle(void* easy);

  boost::asio::io_context& io_;
  const Scheduler& clock_;
  CurlOptions options_;
  Curl_multi* multi_ = nullptr;
  // curl's one timer. curl moves it on nearly every socket action; moving the Asio timer each time was a
  // timerfd_settime system call each, on serve's hot path (the end-to-end section of bench/README.md). So
  // an armed timer that is earlier than curl's new time is left alone, and
  // when it fires early it moves itself to `timer_due_` instead of calling curl (curl reports a time only
  // when it changes, so it must not be dropped).
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_due_;  // the time curl asked for last
  bool timer_armed_ = false;
  void arm_timer(std::chrono::steady_clock::time_point at);
  std::unordered_map<int, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<AttemptHandle, std::unique_ptr<Transfer>> transfers_;
  std::unordered_map<std::string, Host> hosts_;  // hosts with transfers in curl or waiting
  // By "<scheme>\0<secret>" (the subscription's policy.signature and secret), each made once.
  std::unordered_map<std::string, std::unique_ptr<protocol::Signer>> signers_;
  AttemptHandle next_handle_ = 1;
  // Easy handles of finished transfers, kept for the next ones: making and freeing one per attempt was a
  // large share of the allocations on serve's hot path (bench/README.md, "sender efficiency"). Every
  // transfer sets the same options on it again, so nothing of an earlier request carries over.
  std::vector<void*> idle_easy_;
};

}  // namespace hooksim::net
