// hooksim serve --data DIR: the engine as a service (cli/serve_run.h). Flags: docs/api.md.
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/serve_run.h"
#include "service/shards.h"

namespace hooksim::cli {
namespace {

int serve(ServiceOptions options) {
  if (const char* env = std::getenv("HOOKSIM_ADMIN_TOKEN"); env && options.admin_token.empty())
    options.admin_token = env;
  boost::asio::io_context io;
  Service svc(io, options);
  if (Status st = svc.start(); !st.ok()) return fail("serve", st);
  std::cout << "listening on " << svc.url() << std::endl;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) svc.shutdown();
  });
  svc.run();
  std::cerr << "hooksim serve: stopped\n";
  return 0;
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto options = std::make_shared<ServiceOptions>();
  auto* cmd =
      app.add_subcommand("serve", "Run the delivery engine as a service with an HTTP API (docs/api.md)");
  cmd->add_option("--data", options->data_dir,
                  "Store directory (created when missing); required unless --cluster (then: where the "
                  "in-memory queues may spill, default $TMPDIR)");
  cmd->add_option("--listen", options->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any)");
  cmd->add_option("--admin-token", options->admin_token,
                  "Require 'Authorization: Bearer TOKEN' on every API call (or set HOOKSIM_ADMIN_TOKEN)");
  add_tls_flags(cmd, options->curl);
  add_connection_flags(cmd, options->curl, "subscription URLs with such a literal IP are rejected");
  options->threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, service::Shards::kMaxShards);
  cmd->add_option(
      "--threads", options->threads,
      "Delivery threads (shards; subscriptions are spread over them by id), 1 to 256 (default: the "
      "number of cores, " +
          std::to_string(options->threads) + " here)");
  auto retention = std::make_shared<std::string>(format_duration(options->event_id_retention));
  cmd->add_option("--event-id-retention", *retention,
                  "How long a published event id is remembered as a duplicate, e.g. 7d or 36h (default " +
                      *retention + "; 0: for ever)");
  // Cluster mode (docs/cluster.md).
  cmd->add_option("--cluster", options->cluster.nats,
                  "Run as one node of a cluster on these NATS JetStream servers, e.g. "
                  "nats://127.0.0.1:4222,nats://127.0.0.1:4223 (docs/cluster.md)");
  cmd->add_option("--node", options->cluster.node, "With --cluster: this node's name, unique in the cluster");
  cmd->add_option(
         "--shards", options->cluster.shards,
         "With --cluster: shards the subscriptions are hashed into, the same on every node, 1 to 1024")
      ->capture_default_str();
  cmd->add_option("--replicas", options->cluster.replicas,
                  "With --cluster: copies JetStream keeps of the events and state, 1 to 5 (at most the NATS "
                  "servers)")
      ->capture_default_str();
  auto lease_ttl = std::make_shared<std::string>(format_duration(options->cluster.lease_ttl));
  cmd->add_option("--lease-ttl", *lease_ttl,
                  "With --cluster: a shard's lease lasts this long after its last renewal; a dead node's "
                  "shards move after it (default " +
                      *lease_ttl + ")");
  return [cmd, options, retention, lease_ttl]() {
    if (!*cmd) return -1;
    if (options->cluster.nats.empty() && options->data_dir.empty())
      return fail("serve", "--data: required (or --cluster)");
    if (!options->cluster.nats.empty() && options->cluster.node.empty())
      return fail("serve", "--node: required with --cluster");
    auto ttl = parse_duration(*lease_ttl);
    if (!ttl.ok()) return fail("serve", "--lease-ttl: " + ttl.status().message());
    options->cluster.lease_ttl = *ttl;
    if (options->threads < 1 || options->threads > service::Shards::kMaxShards)
      return fail("serve", fmt::format("--threads: must be from 1 to {} (got {})",
                                       service::Shards::kMaxShards, options->threads));
    auto d = parse_duration(*retention);
    if (!d.ok()) return fail("serve", "--event-id-retention: " + d.status().message());
    options->event_id_retention = *d;
    return serve(*options);
  };
}

}  // namespace hooksim::cli
