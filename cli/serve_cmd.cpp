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
  cmd->add_option("--data", options->data_dir, "Store directory (created when missing)")->required();
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
  return [cmd, options, retention]() {
    if (!*cmd) return -1;
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
