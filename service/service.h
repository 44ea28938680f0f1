// Service: `hooksim serve`. The engine as a long-running service on the system clock: a JSON API to manage
// subscriptions and publish events, real HTTP delivery, a status view (API, Prometheus metrics, a web
// page) and crash safety (every acknowledged publish is in the fsynced WAL; a restart resumes).
//
// Everything runs on one io_context thread: the HTTP server, the engine, curl and the timers.
// The API is documented in docs/api.md.
#pragma once

#include <boost/asio/io_context.hpp>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "engine/delivery_observer.h"
#include "engine/engine.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "net/http_server.h"
#include "storage/rocks_store.h"

namespace hooksim::service {

using net::HttpRequest;
using net::HttpResponse;
using net::HttpServer;

struct ServiceOptions {
  std::string data_dir;                   // the RocksDB store (created when missing)
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  std::string admin_token;                // when set, every /v1 and /metrics request needs "Bearer <token>"
  net::CurlOptions curl;
  size_t body_limit = 4 * 1024 * 1024;  // larger request bodies get 413
  size_t attempts_kept = 1000;          // per subscription, for /attempts
  Duration event_id_retention =
      std::chrono::days(7);  // how long a published id counts as a duplicate; 0: for ever
  std::shared_ptr<rocksdb::FileSystem> store_file_system;  // null: the default (StoreOptions::file_system)
};

class Service final : public DeliveryObserver {
 public:
  Service(boost::asio::io_context& io, ServiceOptions options);
  ~Service() override;

  // Opens the store, resumes every subscription and starts listening. IOError / InvalidArgument.
  Status start();
  // The bound port (after start()).
  uint16_t port() const { return server_->port(); }
  // "http://HOST:PORT" of the bound address (after start()).
  std::string url() const { return server_->url(); }
  // Runs until shutdown() is called (from a signal handler on the io_context).
  void run();
  // Stops accepting requests and ends run(); attempts in flight are abandoned (they will be made again
  // after a restart) and the store is closed by the destructor.
  void shutdown();

  // DeliveryObserver: attempt history and metrics.
  void on_attempt(const AttemptRecord& r) override;
  void on_lifecycle(const LifecycleRecord& r) override;
  void on_error(std::string_view sub, const Status& st) override;

 private:
  struct PendingPublish;
  struct AttemptEntry {
    TimePoint started;
    std::string event;
    uint64_t seq;
    uint32_t attempt;
    bool probe;
    int status;
    ErrorClass error;
    Duration latency;
  };

  void handle(HttpRequest&& req, HttpServer::Respond respond);
  HttpResponse route(const HttpRequest& req, const std::string& path, const std::string& query);
  void publish(const HttpRequest& req, HttpServer::Respond respond);
  void flush_publishes();
  HttpResponse create_subscription(const std::string& body);
  HttpResponse patch_subscription(const std::string& id, const std::string& body);
  // InvalidArgument (to be answered 400 with field `url`) when --refuse-private-addresses refuses the URL.
  Status check_url_allowed(const std::string& url) const;
  HttpResponse subscription_json(const std::string& id, int status_code);
  HttpResponse status_json(const std::string& id);
  HttpResponse attempts_json(const std::string& id, const std::string& query);
  HttpResponse list_subscriptions();
  HttpResponse metrics();

  boost::asio::io_context& io_;
  ServiceOptions options_;
  std::unique_ptr<net::AsioScheduler> scheduler_;
  std::unique_ptr<net::CurlTransport> transport_;
  std::unique_ptr<storage::RocksQueueStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpServer> server_;

  std::vector<PendingPublish> pending_;
  bool flush_posted_ = false;
  uint64_t next_generated_id_ = 0;
  std::string id_prefix_;

  std::map<std::string, std::deque<AttemptEntry>, std::less<>> attempts_;
  // Metrics since start.
  uint64_t published_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t delivered_ = 0;
  uint64_t deactivations_ = 0;
  uint64_t store_errors_ = 0;
  std::map<std::string, uint64_t> failed_by_class_;
  std::vector<uint64_t> lag_buckets_;  // publish-to-delivery lag, cumulative per bound in kLagBounds
  double lag_sum_seconds_ = 0;
  uint64_t lag_count_ = 0;
};

}  // namespace hooksim::service
