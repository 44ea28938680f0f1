// The wiring of `hooksim serve`: the engine as a long-running service on the system clock: a JSON API to
// manage subscriptions and publish events, real HTTP delivery, a status view (API, Prometheus metrics, a web
// page) and crash safety (every acknowledged publish is in the fsynced WAL; a restart resumes).
//
// Service builds the store, the shards (service/shards.h: each an event-loop thread with its engine, curl
// multi and timers), the API with its group commit and observers, and the HTTP server, in that order. The
// HTTP server, the API and its timers run on the io_context given to the Service (the thread that calls
// run()); deliveries run on the shards' threads. The API is documented in docs/api.md; its parts are in
// service/ (api.h, shards.h, publish_batcher.h, metrics.h and attempt_history.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "net/http_server.h"
#include "storage/rocks_store.h"

namespace hooksim::cluster {
class Node;
}  // namespace hooksim::cluster

namespace hooksim::service {
class Api;
class Backend;
class AttemptHistory;
class Metrics;
class PublishBatcher;
class Shards;
}  // namespace hooksim::service

namespace hooksim::cli {

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
  size_t threads = 1;  // shards (delivery threads), 1 .. service::Shards::kMaxShards
  // --cluster: one node of a cluster on NATS JetStream (docs/cluster.md) instead of a RocksDB store; the
  // options of cluster::NodeOptions the command line sets.
  struct Cluster {
    std::string nats;  // empty: not a cluster
    std::string node;
    size_t shards = 16;
    int replicas = 1;
    Duration lease_ttl = std::chrono::seconds(5);
  } cluster;
};

class Service final {
 public:
  Service(boost::asio::io_context& io, ServiceOptions options);
  ~Service();

  // Opens the store, resumes every subscription and starts listening. IOError / InvalidArgument.
  Status start();
  // The bound port (after start()).
  uint16_t port() const { return server_->port(); }
  // "http://HOST:PORT" of the bound address (after start()).
  std::string url() const { return server_->url(); }
  // Runs the API until shutdown() is called (from a signal handler on the io_context), then stops the
  // shards.
  void run();
  // Stops accepting requests and ends run(); attempts in flight are abandoned (they will be made again
  // after a restart) and the store is closed by the destructor.
  void shutdown();

 private:
  Status start_cluster();
  Status start_api();  // the publish batcher, the API and the HTTP server, on backend_

  boost::asio::io_context& io_;
  ServiceOptions options_;
  // Destroyed in reverse order: the server first, the shards (whose engines abandon their attempts in
  // flight) before the observers and the store they use.
  std::unique_ptr<net::AsioScheduler> scheduler_;  // the API's clock and the history's timer
  std::unique_ptr<storage::RocksQueueStore> store_;
  std::unique_ptr<service::AttemptHistory> history_;
  std::unique_ptr<service::Metrics> metrics_;
  std::unique_ptr<service::Shards> shards_;  // a single serve's engines
  std::unique_ptr<cluster::Node> node_;      // or a cluster node's
  service::Backend* backend_ = nullptr;      // whichever of the two
  std::unique_ptr<service::PublishBatcher> publishes_;
  std::unique_ptr<service::Api> api_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace hooksim::cli
