// Api: the HTTP API of `hooksim serve` (docs/api.md) and the status page at GET / (docs/status.md).
//
// Routing, the admin-token check and the handlers: subscriptions (list, create, read, patch, delete), their
// status, recent attempts, reactivation and retry now, /metrics, /status (a cluster's only), and POST
// /v1/events, whose events it validates and hands to the PublishBatcher. Every refusal is
// {"error":{"code","field","message"}} with the status code docs/api.md gives; a known path with the wrong
// method is 405 with an Allow header. Single-threaded: handle() runs on the API's io_context thread, as does
// everything it calls; it reaches the engines only through its Backend (service/backend.h): Shards, which
// runs each call on the shard's own thread and waits for it, or a cluster node.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "engine/clock.h"
#include "engine/engine.h"
#include "net/http_server.h"
#include "service/attempt_history.h"
#include "service/backend.h"
#include "service/metrics.h"
#include "service/publish_batcher.h"

namespace hooksim::service {

using net::HttpRequest;
using net::HttpResponse;
using net::HttpServer;

// An error answer: {"error":{"code","field","message"}} (docs/api.md); a `message` of the form
// "field: reason" is split into the two, otherwise the field is "".
HttpResponse error_response(int status, const std::string& code, const std::string& message);

struct ApiOptions {
  std::string admin_token;                // when set, every request but GET / needs "Bearer <token>"
  bool refuse_private_addresses = false;  // refuse subscription URLs whose host is a private address literal
};

class Api {
 public:
  // Keeps references to all of them; they must outlive the Api. `clock` gives generated defaults (an event's
  // occurred_at) and ages.
  Api(Backend& backend, const Scheduler& clock, PublishBatcher& publishes, AttemptHistory& history,
      Metrics& metrics, ApiOptions options);

  // Answers `req` through `respond`, exactly once: at once, or for POST /v1/events after its group commit
  // (and for …/reactivate and …/retry when the backend has answered).
  // Does not throw: an unexpected exception is logged to stderr and answered 500.
  void handle(HttpRequest&& req, HttpServer::Respond respond);

 private:
  HttpResponse route(const HttpRequest& req, const std::string& path, const std::string& query);
  void publish(const HttpRequest& req, HttpServer::Respond respond);
  void change(const std::string& id, bool reactivate, HttpServer::Respond respond);
  HttpResponse create_subscription(const std::string& body);
  HttpResponse patch_subscription(const std::string& id, const std::string& body);
  // InvalidArgument (answered 400 with field `url`) when --refuse-private-addresses refuses the URL.
  Status check_url_allowed(const std::string& url) const;
  HttpResponse subscription_json(const SubscriptionSnapshot& s, int status_code);
  HttpResponse status_json(const std::string& id);
  HttpResponse status_json(const SubscriptionSnapshot& s);
  // The subscription with its oldest queued event, or the answer when it cannot be read (404, 503).
  std::variant<SubscriptionSnapshot, HttpResponse> snapshot(const std::string& id);
  HttpResponse attempts_json(const std::string& id, const std::string& query);
  HttpResponse list_subscriptions();
  // GET /status: the backend's status_json(); 404 as an unknown route when it has none.
  HttpResponse backend_status(const HttpRequest& req, const std::string& path);

  Backend& backend_;
  const Scheduler& clock_;
  PublishBatcher& publishes_;
  AttemptHistory& history_;
  Metrics& metrics_;
  ApiOptions options_;
  std::string id_prefix_;  // of generated event ids: random per process start
  uint64_t next_generated_id_ = 0;
};

}  // namespace hooksim::service
