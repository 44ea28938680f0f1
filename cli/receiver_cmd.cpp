// hooksim receiver: runs receiver::MockReceiver until SIGINT or SIGTERM. stdout: one line "listening on URL"
// (flushed at once, so a script can read the port); with --follow one line per request as its outcome is
// known (RequestRecord::follow_line, flushed at once); at exit the counters as one JSON line. Flags:
// docs/receiver.md.
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "engine/time.h"
#include "protocol/delivery.h"
#include "protocol/signing.h"
#include "receiver/behaviour.h"
#include "receiver/server.h"

namespace hooksim::cli {
namespace {

struct ReceiverArgs {
  receiver::ReceiverOptions options;  // the flags that need no conversion go here directly
  std::string listen = "127.0.0.1:0";
  std::string script_path;
  int threads = 1;
  int64_t rate_limit = 0;
  std::string latency;  // overrides the script's latency when set
  int64_t body_limit = 10 * 1024 * 1024;
  bool follow = false;  // print a line per request on stdout
};

int receiver(ReceiverArgs& a) {
  receiver::ReceiverOptions& options = a.options;
  if (!a.script_path.empty()) {
    auto script = receiver::load_script(a.script_path);
    if (!script.ok()) return fail("receiver script", script.status().message());
    options.script = std::move(*script);
  }
  if (a.threads < 1 || a.threads > 256) return fail("receiver", "--threads: must be from 1 to 256");
  if (options.tls_cert_path.empty() != options.tls_key_path.empty())
    return fail("receiver", "--tls-cert and --tls-key go together");
  if (!options.secret.empty()) {
    if (auto key = protocol::make_signer(options.secret, options.scheme); !key.ok())
      return fail("receiver", "--secret: " + key.status().message());
  }
  if (a.rate_limit < 0) return fail("receiver", "--rate-limit: must be 0 (none) or more requests per minute");
  options.rate_limit_per_minute = static_cast<uint64_t>(a.rate_limit);
  if (!a.latency.empty()) {
    auto latency = parse_duration(a.latency);
    if (!latency.ok()) return fail("receiver", "--latency: " + latency.status().message());
    options.script.latency = *latency;
  }
  if (a.body_limit < 1) return fail("receiver", "--body-limit: must be at least 1 byte");
  options.body_limit = static_cast<uint64_t>(a.body_limit);
  if (options.record_bodies && options.record_path.empty())
    return fail("receiver", "--record-bodies: needs --record FILE (the bodies go in the record)");
  // --follow: a line per request. The handlers may run on several threads (--threads): one line at a time.
  auto follow_mutex = std::make_shared<std::mutex>();
  if (a.follow) {
    options.on_record = [follow_mutex](const receiver::RequestRecord& r) {
      std::string time = format_utc(std::chrono::floor<Duration>(std::chrono::system_clock::now()));
      std::string line = r.follow_line(time.substr(11)) + "\n";  // "09:14:03.512Z ..."
      std::lock_guard lock(*follow_mutex);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
    };
  }

  boost::asio::io_context ioc(a.threads);
  receiver::MockReceiver server(ioc, std::move(options));
  if (Status st = server.listen(a.listen); !st.ok()) return fail("receiver", st);  // bad address: 2; taken: 1
  std::cout << "listening on " << server.url() << std::endl;

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&server](const boost::system::error_code& ec, int) {
    if (!ec) server.stop();
  });

  auto run = [&ioc] {
    try {
      ioc.run();
    } catch (const std::exception& e) {
      std::cerr << "hooksim receiver: " << e.what() << "\n";
      std::_Exit(1);
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < a.threads; ++i) workers.emplace_back(run);
  run();
  for (auto& t : workers) t.join();

  Status flushed = server.flush();
  std::cout << server.stats().to_json_line() << std::endl;
  return flushed.ok() ? 0 : fail("receiver", flushed.message(), 1);
}

}  // namespace

Command add_receiver(CLI::App& app) {
  auto args = std::make_shared<ReceiverArgs>();
  auto* cmd = app.add_subcommand("receiver", "Run a mock webhook receiver (HTTP/HTTPS) until SIGINT/SIGTERM");
  cmd->add_option("--listen", args->listen,
                  "Address to listen on: HOST:PORT, [IPv6]:PORT or PORT (127.0.0.1)")
      ->capture_default_str();
  cmd->add_option("--script", args->script_path, "How to answer: a JSON script (see docs/receiver.md)");
  cmd->add_option("--secret", args->options.secret,
                  "Verify signatures with this secret (whsec_... for Standard Webhooks; see --scheme)");
  add_scheme_flag(cmd, args->options.scheme, "Verify --secret's signatures");
  cmd->add_option("--token", args->options.token, "Require 'authorization: Bearer TOKEN'");
  cmd->add_option("--record", args->options.record_path, "Write one JSON line per request to FILE");
  cmd->add_option("--tls-cert", args->options.tls_cert_path,
                  "Serve HTTPS with this PEM certificate chain (needs --tls-key)");
  cmd->add_option("--tls-key", args->options.tls_key_path, "PEM private key of --tls-cert");
  cmd->add_option("--threads", args->threads, "Threads running the server")->capture_default_str();
  cmd->add_flag("--accept-bad-signatures", args->options.accept_bad_signatures,
                "Answer as scripted even when the signature or token check fails (still recorded)");
  cmd->add_flag("--ignore-timestamps", args->options.ignore_timestamps,
                "Accept signed requests whose webhook-timestamp is more than 5 minutes off");
  cmd->add_flag("--fail-duplicates", args->options.fail_duplicates,
                "Answer 500 to a webhook-id already accepted for the subscription");
  cmd->add_flag("--reject-out-of-order", args->options.reject_out_of_order,
                fmt::format("Answer 409 to an older {} after a newer one", protocol::header::kSequence));
  cmd->add_option("--rate-limit", args->rate_limit,
                  "At most N requests per subscription per minute; more are answered 429 (0: no limit)");
  cmd->add_option("--latency", args->latency, "Answer after this long (overrides the script's latency)");
  cmd->add_option("--body-limit", args->body_limit, "Answer 413 to bodies larger than BYTES")
      ->capture_default_str();
  cmd->add_flag("--follow", args->follow,
                "Print one line per request on stdout as its outcome is known (time, subscription, "
                "sequence, attempt, signature, answer, order, event)");
  cmd->add_flag("--record-bodies", args->options.record_bodies,
                "Keep each request's body in the record file (field \"body\"; needs --record)");
  return [cmd, args]() { return *cmd ? receiver(*args) : -1; };
}

}  // namespace hooksim::cli
