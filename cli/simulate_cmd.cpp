// hooksim simulate SCENARIO [--log FILE|-] [--timeline] [--data DIR]
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "sim/runner.h"
#include "sim/scenario.h"

namespace hooksim::cli {
namespace {

struct SimulateArgs {
  std::string scenario_path, log_path, data_dir;
  bool timeline = false;
};

int simulate(const SimulateArgs& a) {
  auto scenario = sim::load_scenario(a.scenario_path);
  if (!scenario.ok()) {
    std::cerr << "hooksim simulate: " << scenario.status().message() << "\n";
    return 2;
  }
  sim::RunOptions options;
  options.data_dir = a.data_dir;
  std::ofstream log_file;
  if (a.log_path == "-") {
    options.log = &std::cout;
  } else if (!a.log_path.empty()) {
    log_file.open(a.log_path, std::ios::out | std::ios::trunc);
    if (!log_file) {
      std::cerr << "hooksim simulate: --log " << a.log_path << ": cannot open for writing\n";
      return 2;
    }
    options.log = &log_file;
  }
  if (a.timeline) options.timeline = &std::cerr;
  auto summary = sim::run_simulation(*scenario, options);
  if (!summary.ok()) {
    std::cerr << "hooksim simulate: " << summary.status().message() << "\n";
    return summary.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (log_file.is_open()) {
    log_file.close();
    if (!log_file) {
      std::cerr << "hooksim simulate: --log " << a.log_path << ": write failed\n";
      return 1;
    }
  }
  // With the log on stdout, the summary is one more JSON line, so stdout stays valid JSON Lines.
  std::cout << summary->to_json().dump(a.log_path == "-" ? -1 : 2) << std::endl;
  return 0;
}

}  // namespace

Command add_simulate(CLI::App& app) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand("simulate", "Run a scenario in virtual time and write the attempt log");
  cmd->add_option("scenario", args->scenario_path, "Scenario file (JSON, see docs/scenario.md)")->required();
  cmd->add_option("--log", args->log_path, "Write the attempt log (JSON Lines) to FILE, or to stdout with -");
  cmd->add_flag("--timeline", args->timeline, "Print a human-readable timeline of the run on stderr");
  cmd->add_option("--data", args->data_dir, "Keep the store in DIR (must be empty; default: a temporary directory)");
  return [cmd, args]() { return *cmd ? simulate(*args) : -1; };
}

}  // namespace hooksim::cli
