// hooksim simulate SCENARIO and hooksim run SCENARIO: both run a scenario through the same engine; they
// differ in the clock and the transport (cli/scenario_run.h). Flags: README.md.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scenario_run.h"
#include "cli/temp_file.h"
#include "net/curl_transport.h"
#include "service/shards.h"
#include "sim/attempt_log.h"
#include "sim/progress.h"
#include "sim/report_render.h"
#include "sim/scenario.h"

namespace hooksim::cli {
namespace {

struct ScenarioArgs {
  std::string command;  // "simulate" or "run"
  std::string scenario_path, log_path, data_dir, report_path;
  bool timeline = false;
  bool log_payloads = false;
  double speed = 1.0;     // run
  double time_scale = 0;  // run: 0 skips idle time, else the clock's constant speed
  uint32_t threads = 1;   // run: shards
  net::CurlOptions curl;  // run
};

int scenario_command(ScenarioArgs& a) {
  const bool run = a.command == "run";
  auto scenario = sim::load_scenario(a.scenario_path);
  if (!scenario.ok()) return fail(a.command, scenario.status().message());
  // Refused before anything is written: a url under simulate, a literal private address under
  // run --refuse-private-addresses, a --data directory that is not empty.
  if (Status st =
          run ? check_run_fits(*scenario, a.data_dir, a.curl) : check_simulate_fits(*scenario, a.data_dir);
      !st.ok())
    return fail(a.command, st.message());
  if (run && (a.threads < 1 || a.threads > service::Shards::kMaxShards ||
              a.threads > scenario->subscriptions.size()))
    return fail(a.command,
                fmt::format("--threads {}: must be from 1 to {} and at most the number of subscriptions ({})",
                            a.threads, service::Shards::kMaxShards, scenario->subscriptions.size()));
  if (!a.curl.ca_file.empty() && !std::ifstream(a.curl.ca_file))
    return fail(a.command, "--ca-file " + a.curl.ca_file + ": cannot read the file");
  sim::RunOptions options;
  options.log_payloads = a.log_payloads;
  // The report is made from the log file afterwards; without a log file (none, or stdout) the log goes to a
  // temporary file first (copied to stdout after the run for --log -).
  std::ofstream report_file;
  std::optional<TempLog> temp_log;
  if (!a.report_path.empty()) {
    report_file.open(a.report_path, std::ios::out | std::ios::trunc);
    if (!report_file) return fail(a.command, "--report " + a.report_path + ": cannot open for writing");
    if (a.log_path.empty() || a.log_path == "-") {
      if (temp_log.emplace().path().empty())
        return fail(a.command, "--report: cannot create a temporary log file", 1);
    }
  }
  std::string log_file_path = temp_log ? temp_log->path() : a.log_path == "-" ? "" : a.log_path;
  std::ofstream log_file;
  if (!log_file_path.empty()) {
    log_file.open(log_file_path, std::ios::out | std::ios::trunc);
    if (!log_file) return fail(a.command, "--log " + a.log_path + ": cannot open for writing");
    options.log = &log_file;
  } else if (a.log_path == "-") {
    options.log = &std::cout;
  }
  if (options.log) {
    auto sha = sim::file_sha256(a.scenario_path);
    sim::RunHeader h{.command = a.command,
                     .scenario = a.scenario_path,
                     .scenario_sha256 = sha.ok() ? *sha : "",
                     .seed = scenario->seed,
                     .start = scenario->start,
                     .duration = scenario->duration,
                     .subscriptions = {},  // filled below
                     .payloads = a.log_payloads};
    for (const auto& s : scenario->subscriptions) h.subscriptions.push_back(s.config.id);
    sim::write_run_header(*options.log, h);
  }
  if (a.timeline) options.timeline = &std::cerr;
  // A progress line on a terminal, unless the timeline is using it.
  std::optional<sim::ProgressMeter> progress;
  if (!a.timeline && sim::progress_wanted(STDERR_FILENO)) {
    progress.emplace(std::cerr, scenario->start, scenario->duration);
    options.observers.push_back(&*progress);
  }
  // Skipping idle time, a receiver taken down by hand for a few seconds sees days of retries: say so.
  std::optional<SkippedIdleWatch> watch;
  if (run && a.time_scale == 0) options.observers.push_back(&watch.emplace(*scenario));
  auto summary = run ? a.time_scale > 0 ? run_scenario(*scenario, options, a.data_dir, a.time_scale, a.curl,
                                                       /*skip_idle=*/false, a.threads)
                                        : run_scenario(*scenario, options, a.data_dir, a.speed, a.curl,
                                                       /*skip_idle=*/true, a.threads)
                     : simulate_scenario(*scenario, options, a.data_dir);
  if (progress) progress->finish();
  if (watch && summary.ok())
    for (const std::string& line : watch->warnings()) std::cerr << "hooksim run: " << line << "\n";
  if (!summary.ok()) {
    discard(report_file, a.report_path);
    return fail(a.command, summary.status());
  }
  if (log_file.is_open()) {
    log_file.close();
    if (!log_file) return fail(a.command, "--log " + a.log_path + ": write failed", 1);
  }
  if (!a.report_path.empty()) {
    if (a.log_path == "-") {
      std::ifstream in(log_file_path, std::ios::binary);
      std::cout << in.rdbuf();
    }
    auto report = sim::build_report(log_file_path);
    if (!report.ok()) return fail(a.command, "--report: " + report.status().message(), 1);
    report_file << sim::render_html(*report, "hooksim " + a.command + " " + a.scenario_path);
    report_file.close();
    if (!report_file) return fail(a.command, "--report " + a.report_path + ": write failed", 1);
  }
  // With the log on stdout, the summary is one more JSON line, so stdout stays valid JSON Lines.
  std::cout << summary->to_json().dump(a.log_path == "-" ? -1 : 2) << std::endl;
  // simulate is deterministic, so a scenario's `expect` is checked there; under run a real receiver decides.
  if (a.command == "simulate" && scenario->expect) {
    auto missed = sim::check_expectations(*scenario->expect, *summary);
    if (!missed.empty()) {
      std::cerr << "hooksim simulate: " << missed.size() << " expectation(s) of " << a.scenario_path
                << " not met:\n";
      for (const std::string& line : missed) std::cerr << "  " << line << "\n";
      return 1;
    }
    const size_t n = sim::count_expectations(*scenario->expect);
    std::cerr << "expect: " << n << " of " << n << " met\n";
  }
  return 0;
}

void add_common(CLI::App* cmd, ScenarioArgs& args) {
  cmd->add_option("scenario", args.scenario_path, "Scenario file (JSON, see docs/scenario.md)")->required();
  cmd->add_option("--log", args.log_path, "Write the attempt log (JSON Lines) to FILE, or to stdout with -");
  cmd->add_flag("--timeline", args.timeline, "Print a human-readable timeline of the run on stderr");
  cmd->add_option(
      "--data", args.data_dir,
      "Keep the queues in a RocksDB store in DIR (must be empty; default: in memory, for the run only)");
  cmd->add_flag(
      "--log-payloads", args.log_payloads,
      "Record each event's delivery body in the log (what hooksim replay needs; makes the log larger)");
  cmd->add_option("--report", args.report_path,
                  "Write the HTML report of the run to FILE (see docs/report.md)");
}

}  // namespace

Command add_simulate(CLI::App& app) {
  auto args = std::make_shared<ScenarioArgs>();
  args->command = "simulate";
  auto* cmd = app.add_subcommand("simulate", "Run a scenario in virtual time against simulated receivers");
  add_common(cmd, *args);
  return [cmd, args]() { return *cmd ? scenario_command(*args) : -1; };
}

Command add_run(CLI::App& app) {
  auto args = std::make_shared<ScenarioArgs>();
  args->command = "run";
  auto* cmd = app.add_subcommand(
      "run",
      "Run a scenario with real HTTP requests to subscriptions that have a url, on an accelerated clock");
  add_common(cmd, *args);
  auto* speed =
      cmd->add_option("--speed", args->speed,
                      "Clock speed while requests are in flight (idle gaps are skipped anyway); default 1")
          ->check(CLI::Range(0.001, 1000000.0));
  cmd->add_option(
         "--time-scale", args->time_scale,
         fmt::format("Run the clock at a constant X times real time, without skipping idle gaps (3600: "
                     "a real second is a virtual hour), so a receiver down for S real seconds is down "
                     "S*X virtual seconds; attempt timeouts take at least {} ms of real time",
                     kTimeScaleTimeoutFloor.count()))
      ->check(CLI::Range(0.001, 1000000.0))
      ->excludes(speed);
  cmd->add_option("--threads", args->threads,
                  "Delivery threads (shards; subscriptions are spread over them by id, and their clocks skip "
                  "idle time together), from 1 to the number of subscriptions, at most 256; default 1");
  add_tls_flags(cmd, args->curl);
  add_connection_flags(cmd, args->curl, "a scenario url with such a literal IP is an error");
  return [cmd, args]() { return *cmd ? scenario_command(*args) : -1; };
}

}  // namespace hooksim::cli
