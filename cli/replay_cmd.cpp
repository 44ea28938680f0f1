// hooksim replay LOG.jsonl --target URL: re-sends a recorded run's attempts to a receiver (docs/replay.md):
// the plan comes from the log, the pacing from sim::Replayer, the requests from the same CurlTransport as
// every delivery.
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "protocol/signing.h"
#include "sim/progress.h"
#include "sim/replay.h"

namespace hooksim::cli {
namespace {

struct ReplayArgs {
  std::string log_path, target, only, sub, secret, token, timeout = "10s";
  double speed = 86400;
  net::CurlOptions curl;
};

std::string describe(ErrorClass error, int status) {
  if (error == ErrorClass::kNone && is_2xx(status)) return fmt::format("delivered {}", status);
  if (error == ErrorClass::kNone || error == ErrorClass::kStatus) return fmt::format("failed {}", status);
  return fmt::format("failed {}", to_string(error));
}

int run_replay(const ReplayArgs& a) {
  if (!a.target.starts_with("http://") && !a.target.starts_with("https://"))
    return fail("replay", fmt::format("--target {}: must be an http:// or https:// URL", a.target));
  if (!a.secret.empty() && !a.token.empty()) return fail("replay", "--secret and --token: give at most one");
  if (!a.secret.empty()) {
    if (auto key = protocol::make_signer(a.secret); !key.ok())
      return fail("replay", "--secret: " + key.status().message());
  }
  if (!a.token.empty()) {
    if (Status st = validate_token(a.token); !st.ok()) return fail("replay", "--token: " + st.message());
  }
  auto timeout = parse_duration(a.timeout);
  if (!timeout.ok() || timeout->count() <= 0)
    return fail("replay", fmt::format("--timeout {}: must be a positive duration like 10s", a.timeout));
  if (!a.curl.ca_file.empty() && !std::ifstream(a.curl.ca_file))
    return fail("replay", fmt::format("--ca-file {}: cannot read the file", a.curl.ca_file));

  sim::ReplayFilter filter;
  filter.sub = a.sub;
  if (a.only == "failed") filter.only = sim::ReplayFilter::Only::kFailed;
  if (a.only == "delivered") filter.only = sim::ReplayFilter::Only::kDelivered;
  auto plan = sim::load_replay_plan(a.log_path, filter);
  if (!plan.ok()) return fail("replay", plan.status());

  boost::asio::io_context io;
  net::AsioSchedulerOptions so;
  so.start = plan->start;
  net::AsioScheduler scheduler(io, so);
  net::CurlTransport curl(io, scheduler, a.curl);
  sim::Replayer replayer(scheduler, curl, {a.target, a.secret, a.token, *timeout}, a.speed);
  // On a terminal, a progress line: the recorded time reached and the attempts answered (redrawn on each
  // answer, at most four times a second); nothing otherwise, so the output stays the same.
  std::optional<sim::ProgressMeter> progress;
  if (!plan->items.empty() && sim::progress_wanted(STDERR_FILENO)) {
    progress.emplace(std::cerr, plan->start, Duration(plan->items.back().t_ms),
                     std::chrono::steady_clock::now, std::chrono::milliseconds(250), /*check_every=*/1);
    progress->count_sent_of(plan->items.size());
    replayer.set_observer(&*progress);
  }
  replayer.start(*plan, [&] { scheduler.stop(); });
  scheduler.run_until(plan->start + std::chrono::hours(24 * 365 * 100));
  if (progress) progress->finish();

  uint64_t delivered = 0, same = 0;
  nlohmann::ordered_json changed = nlohmann::ordered_json::array();
  uint64_t changed_count = 0;
  for (const sim::ReplayOutcome& o : replayer.outcomes()) {
    const sim::ReplayItem& it = plan->items[o.item];
    bool was = it.recorded_error == ErrorClass::kNone;
    if (o.delivered()) ++delivered;
    if (was == o.delivered()) {
      ++same;
      continue;
    }
    if (++changed_count > 20) continue;
    changed.push_back(
        {{"sub", it.sub},
         {"event", it.event},
         {"seq", it.seq},
         {"attempt", it.attempt},
         {"recorded", describe(it.recorded_error, it.recorded_status)},
         {"replayed", describe(o.delivered() ? ErrorClass::kNone : o.result.error, o.result.status)}});
  }
  nlohmann::ordered_json out = {{"sent", replayer.outcomes().size()},
                                {"delivered", delivered},
                                {"failed", replayer.outcomes().size() - delivered},
                                {"same_outcome", same},
                                {"changed_outcome", changed_count},
                                {"changes", changed}};  // the first 20
  std::cout << out.dump(2) << std::endl;
  return 0;
}

}  // namespace

Command add_replay(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand(
      "replay", "Re-send a recorded run's attempts to a receiver (log written with --log-payloads)");
  cmd->add_option("log", args->log_path, "Attempt log written with --log-payloads (docs/attempt-log.md)")
      ->required();
  cmd->add_option("--target", args->target, "Receiver URL (http or https) every request goes to")->required();
  cmd->add_option("--speed", args->speed,
                  "Divide the recorded gaps between attempts by N; default 86400 (a recorded day per second)")
      ->check(CLI::Range(0.001, 1e12));
  cmd->add_option("--only", args->only, "Only the attempts recorded as failed, or as delivered")
      ->check(CLI::IsMember({"failed", "delivered"}));
  cmd->add_option("--sub", args->sub, "Only this subscription's attempts");
  cmd->add_option("--secret", args->secret, "Sign requests with this Standard Webhooks secret (whsec_...)");
  cmd->add_option("--token", args->token, "Send authorization: Bearer TOKEN instead");
  cmd->add_option("--timeout", args->timeout, "Time allowed per request; default 10s");
  add_tls_flags(cmd, args->curl);
  return [cmd, args]() { return *cmd ? run_replay(*args) : -1; };
}

}  // namespace hooksim::cli
