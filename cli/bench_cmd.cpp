// hooksim bench URL: benchmark a receiver with N subscriptions, open-loop arrivals and the delivery rules of
// every other command (cli/bench_run.h). Flags, output and exit codes: docs/bench.md.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/bench_html.h"
#include "cli/bench_run.h"
#include "cli/commands.h"
#include "sim/progress.h"

namespace hooksim::cli {
namespace {

struct BenchArgs {
  BenchOptions options;
  std::string rate = "max";
  std::string duration = "30s";
  std::string drain = "5s";
  std::string json_path;
  std::string html_path;
};

// Opens `path` for writing, when given; "" when it is not, else the error message.
std::string open_output(std::ofstream& out, const std::string& flag, const std::string& path) {
  if (path.empty()) return "";
  out.open(path, std::ios::out | std::ios::trunc);
  return out ? "" : fmt::format("{} {}: cannot open for writing", flag, path);
}

int bench(BenchArgs& a) {
  BenchOptions& o = a.options;
  if (a.rate == "max") {
    o.rate.reset();
  } else {
    size_t used = 0;
    double rate = 0;
    try {
      rate = std::stod(a.rate, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != a.rate.size())
      return fail("bench", fmt::format("--rate {}: must be a number of events per second, or max", a.rate));
    o.rate = rate;
  }
  auto duration = parse_duration(a.duration);
  if (!duration.ok()) return fail("bench", "--duration " + a.duration + ": " + duration.status().message());
  o.duration = *duration;
  auto drain = parse_duration(a.drain);
  if (!drain.ok()) return fail("bench", "--drain " + a.drain + ": " + drain.status().message());
  o.drain = *drain;
  if (Status st = check_bench_options(o); !st.ok()) return fail("bench", st);
  if (!o.curl.ca_file.empty() && !std::ifstream(o.curl.ca_file))
    return fail("bench", "--ca-file " + o.curl.ca_file + ": cannot read the file");
  std::ofstream json_file, html_file;
  for (const std::string& error :
       {open_output(json_file, "--json", a.json_path), open_output(html_file, "--html", a.html_path)}) {
    if (!error.empty()) return fail("bench", error);
  }
  if (sim::progress_wanted(STDERR_FILENO)) o.progress = &std::cerr;

  auto result = run_bench(o);
  if (!result.ok()) {
    discard(json_file, a.json_path);
    discard(html_file, a.html_path);
    return fail("bench", result.status());
  }
  const BenchResult& r = *result;
  std::string json = r.to_json().dump(2);
  std::cout << json << std::endl;
  if (json_file.is_open()) {
    json_file << json << "\n";
    json_file.close();
    if (!json_file) return fail("bench", "--json " + a.json_path + ": write failed", 1);
  }
  if (html_file.is_open()) {
    html_file << render_bench_html(r, "hooksim bench " + r.url);
    html_file.close();
    if (!html_file) return fail("bench", "--html " + a.html_path + ": write failed", 1);
  }
  double mean_ms = r.latency_us.count() ? static_cast<double>(r.latency_us.sum()) /
                                              static_cast<double>(r.latency_us.count()) / 1000.0
                                        : 0.0;
  std::cerr << fmt::format(
      "hooksim bench: {:.1f} deliveries/s; FIFO ordering allows {:.1f}/s ({} subscriptions / mean response "
      "{:.3f} ms)\n",
      r.rate_per_second(), r.fifo_bound_per_second(), r.subscriptions, mean_ms);
  int rc = 0;
  if (!r.store_errors.empty()) {
    std::cerr << "hooksim bench: engine error: " << r.store_errors.front() << "\n";
    rc = 1;
  }
  if (!r.balanced()) {
    std::cerr << fmt::format(
        "hooksim bench: the run does not balance: published {} != delivered {} + queued {} + in flight {} + "
        "discarded {}\n",
        r.published, r.delivered, r.queued, r.in_flight, r.discarded);
    rc = 1;
  }
  return rc;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Benchmark a receiver: N subscriptions to URL, open-loop arrivals, FIFO delivery with retries");
  BenchOptions& o = args->options;
  cmd->add_option("url", o.url, "The receiver: subscription i posts to URL/sub-000i (docs/bench.md)")
      ->required();
  cmd->add_option("--subscriptions", o.subscriptions, "Number of subscriptions, each FIFO; default 100")
      ->check(CLI::Range(1, 10000));
  cmd->add_option(
      "--rate", args->rate,
      "Events per second in total, spread round-robin, published on a timer whatever the receiver "
      "does; or max: keep every subscription's queue full (default)");
  cmd->add_option("--duration", args->duration, "How long events are published (real time); default 30s");
  cmd->add_option("--drain", args->drain,
                  "After that, how long at most the run waits for the queues to empty; default 5s");
  cmd->add_option("--secret", o.secret, "Sign deliveries with this Standard Webhooks secret (whsec_...)");
  cmd->add_option("--token", o.token, "Send \"authorization: Bearer TOKEN\" with each delivery");
  cmd->add_option("--threads", o.threads,
                  "Sender threads (shards), each delivering its share of the subscriptions and of the rate; "
                  "default 1");
  cmd->add_option("--json", args->json_path, "Also write the JSON result to FILE");
  cmd->add_option("--html", args->html_path,
                  "Write a self-contained HTML page with the throughput and latency charts to FILE");
  add_tls_flags(cmd, o.curl);
  return [cmd, args]() { return *cmd ? bench(*args) : -1; };
}

}  // namespace hooksim::cli
