// hooksim simulate SCENARIO [--log FILE|-] [--timeline] [--data DIR]
// hooksim run SCENARIO [--log FILE|-] [--timeline] [--data DIR] [--speed N] [--ca-file PEM] [--insecure] ...
// Both run a scenario through the same engine; they differ in the clock and the transport.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace hooksim::cli {
namespace {

struct ScenarioArgs {
  std::string command;  // "simulate" or "run"
  std::string scenario_path, log_path, data_dir;
  bool timeline = false;
  sim::RunOptions options;
};

int run_scenario(ScenarioArgs& a) {
  const std::string me = "hooksim " + a.command + ": ";
  auto scenario = sim::load_scenario(a.scenario_path);
  if (!scenario.ok()) {
    std::cerr << me << scenario.status().message() << "\n";
    return 2;
  }
  if (!a.options.curl.ca_file.empty() && !std::ifstream(a.options.curl.ca_file)) {
    std::cerr << me << "--ca-file " << a.options.curl.ca_file << ": cannot read the file\n";
    return 2;
  }
  sim::RunOptions& options = a.options;
  options.data_dir = a.data_dir;
  std::ofstream log_file;
  if (a.log_path == "-") {
    options.log = &std::cout;
  } else if (!a.log_path.empty()) {
    log_file.open(a.log_path, std::ios::out | std::ios::trunc);
    if (!log_file) {
      std::cerr << me << "--log " << a.log_path << ": cannot open for writing\n";
      return 2;
    }
    options.log = &log_file;
  }
  if (a.timeline) options.timeline = &std::cerr;
  auto summary = sim::run_simulation(*scenario, options);
  if (!summary.ok()) {
    std::cerr << me << summary.status().message() << "\n";
    return summary.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (log_file.is_open()) {
    log_file.close();
    if (!log_file) {
      std::cerr << me << "--log " << a.log_path << ": write failed\n";
      return 1;
    }
  }
  // With the log on stdout, the summary is one more JSON line, so stdout stays valid JSON Lines.
  std::cout << summary->to_json().dump(a.log_path == "-" ? -1 : 2) << std::endl;
  // simulate is deterministic, so a scenario's `expect` is checked there; under run a real receiver decides.
  if (a.command == "simulate" && scenario->expect) {
    auto missed = sim::check_expectations(*scenario->expect, *summary);
    if (!missed.empty()) {
      std::cerr << me << missed.size() << " expectation(s) of " << a.scenario_path << " not met:\n";
      for (const std::string& line : missed) std::cerr << "  " << line << "\n";
      return 1;
    }
  }
  return 0;
}

void add_common(CLI::App* cmd, ScenarioArgs& args) {
  cmd->add_option("scenario", args.scenario_path, "Scenario file (JSON, see docs/scenario.md)")->required();
  cmd->add_option("--log", args.log_path, "Write the attempt log (JSON Lines) to FILE, or to stdout with -");
  cmd->add_flag("--timeline", args.timeline, "Print a human-readable timeline of the run on stderr");
  cmd->add_option("--data", args.data_dir, "Keep the queues in a RocksDB store in DIR (must be empty; default: in memory, for the run only)");
}

}  // namespace

Command add_simulate(CLI::App& app) {
  auto args = std::make_shared<ScenarioArgs>();
  args->command = "simulate";
  auto* cmd = app.add_subcommand("simulate", "Run a scenario in virtual time against simulated receivers");
  add_common(cmd, *args);
  return [cmd, args]() { return *cmd ? run_scenario(*args) : -1; };
}

Command add_run(CLI::App& app) {
  auto args = std::make_shared<ScenarioArgs>();
  args->command = "run";
  args->options.clock = sim::RunOptions::Clock::kAccelerated;
  auto* cmd = app.add_subcommand(
      "run", "Run a scenario with real HTTP requests to subscriptions that have a url, on an accelerated clock");
  add_common(cmd, *args);
  cmd->add_option("--speed", args->options.speed,
                  "Clock speed while requests are in flight (idle gaps are skipped anyway); default 1")
      ->check(CLI::Range(0.001, 1000000.0));
  cmd->add_option("--ca-file", args->options.curl.ca_file, "Trust the CA certificates in this PEM file");
  cmd->add_flag("--insecure", args->options.curl.insecure, "Do not verify TLS certificates (testing only)");
  cmd->add_option("--max-host-connections", args->options.curl.max_host_connections,
                  "Connections kept open per receiver host; default 64")
      ->check(CLI::Range(1, 10000));
  return [cmd, args]() { return *cmd ? run_scenario(*args) : -1; };
}

}  // namespace hooksim::cli
