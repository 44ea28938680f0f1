#include "cli/serve_run.h"

#include <fmt/format.h>

#include "cluster/node.h"
#include "protocol/envelope.h"
#include "service/api.h"
#include "service/attempt_history.h"
#include "service/metrics.h"
#include "service/publish_batcher.h"
#include "service/shards.h"

namespace hooksim::cli {

Service::Service(boost::asio::io_context& io, ServiceOptions options)
    : io_(io), options_(std::move(options)) {
  net::AsioSchedulerOptions so;
  so.wall_clock = true;  // the service runs on wall time: persisted times stay meaningful across restarts
  scheduler_ = std::make_unique<net::AsioScheduler>(io_, so);
  history_ = std::make_unique<service::AttemptHistory>(options_.attempts_kept);
  metrics_ = std::make_unique<service::Metrics>(*history_);
}

Service::~Service() = default;

Status Service::start() {
  if (!options_.cluster.nats.empty()) return start_cluster();
  auto store =
      storage::RocksQueueStore::open(options_.data_dir, {.sync = true,
                                                         .event_id_retention = options_.event_id_retention,
                                                         .file_system = options_.store_file_system});
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  shards_ = std::make_unique<service::Shards>(
      *store_,
      service::Shards::Options{
          .count = options_.threads,
          .curl = options_.curl,
          .engine = {.dedupe_event_ids = true, .envelope = protocol::make_envelope, .group_commit = true},
          .observer = metrics_.get(),
          .memory = [store = store_.get()] {
            storage::StoreMemory m = store->memory_usage();
            return service::BackendMemory{m.memtables, m.block_cache, m.table_readers};
          }});
  // The history is loaded before any shard delivers (and records an attempt).
  auto ids = shards_->load();
  if (!ids.ok()) return ids.status();
  HOOKSIM_RETURN_IF_ERROR(history_->persist_to(*store_, *scheduler_, *ids));
  HOOKSIM_RETURN_IF_ERROR(shards_->start());
  backend_ = shards_.get();
  return start_api();
}

// A cluster node: no store of its own (its queues are rebuilt from JetStream), the same API.
Status Service::start_cluster() {
  node_ = std::make_unique<cluster::Node>(io_, *scheduler_,
                                          cluster::NodeOptions{.nats = options_.cluster.nats,
                                                               .node = options_.cluster.node,
                                                               .url = {},
                                                               .shards = options_.cluster.shards,
                                                               .replicas = options_.cluster.replicas,
                                                               .lease_ttl = options_.cluster.lease_ttl,
                                                               .curl = options_.curl,
                                                               .observer = metrics_.get(),
                                                               .spill_dir = options_.data_dir});
  backend_ = node_.get();
  HOOKSIM_RETURN_IF_ERROR(start_api());
  node_->set_url(server_->url());
  return node_->start();
}

Status Service::start_api() {
  publishes_ = std::make_unique<service::PublishBatcher>(
      io_, [this](std::span<const Event> events, PublishResult* result) {
        return backend_->publish(events, result);
      });
  api_ = std::make_unique<service::Api>(
      *backend_, *scheduler_, *publishes_, *history_, *metrics_,
      service::ApiOptions{.admin_token = options_.admin_token,
                          .refuse_private_addresses = options_.curl.refuse_private_addresses});
  server_ = std::make_unique<net::HttpServer>(
      io_,
      net::HttpServerOptions{.body_limit = options_.body_limit,
                             .server_header = "hooksim",
                             .idle_timeout = std::chrono::seconds(60),
                             .max_connections = 4096,
                             .linger = std::chrono::seconds(5),
                             .single_thread = true},
      [this](net::HttpRequest&& req, net::HttpServer::Respond respond) {
        api_->handle(std::move(req), std::move(respond));
      },
      service::error_response(413, "too_large",
                              fmt::format("request body over {} bytes", options_.body_limit)));
  return server_->listen(options_.listen);
}

void Service::run() {
  scheduler_->run_until(TimePoint::max());
  // Each shard writes its last turn's successes: a clean stop repeats none of them. A cluster node also
  // hands its shards to the other nodes.
  if (shards_) shards_->stop();
  if (node_) node_->stop();
}

void Service::shutdown() {
  if (server_) server_->stop();
  scheduler_->stop();
}

}  // namespace hooksim::cli
