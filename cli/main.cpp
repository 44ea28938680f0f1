// hooksim command line. Thin: parses arguments, calls the library, maps errors to exit codes
// (0 success, 1 runtime failure, 2 bad usage or bad input).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "sim/runner.h"
#include "sim/scenario.h"

namespace {

int simulate(const std::string& scenario_path, const std::string& log_path, bool timeline,
             const std::string& data_dir) {
  auto scenario = hooksim::sim::load_scenario(scenario_path);
  if (!scenario.ok()) {
    std::cerr << "hooksim simulate: " << scenario.status().message() << "\n";
    return 2;
  }
  hooksim::sim::RunOptions options;
  options.data_dir = data_dir;
  std::ofstream log_file;
  if (log_path == "-") {
    options.log = &std::cout;
  } else if (!log_path.empty()) {
    log_file.open(log_path, std::ios::out | std::ios::trunc);
    if (!log_file) {
      std::cerr << "hooksim simulate: --log " << log_path << ": cannot open for writing\n";
      return 2;
    }
    options.log = &log_file;
  }
  if (timeline) options.timeline = &std::cerr;
  auto summary = hooksim::sim::run_simulation(*scenario, options);
  if (!summary.ok()) {
    std::cerr << "hooksim simulate: " << summary.status().message() << "\n";
    return summary.status().code() == hooksim::Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (log_file.is_open()) {
    log_file.close();
    if (!log_file) {
      std::cerr << "hooksim simulate: --log " << log_path << ": write failed\n";
      return 1;
    }
  }
  // With the log on stdout, the summary is one more JSON line, so stdout stays valid JSON Lines.
  std::cout << summary->to_json().dump(log_path == "-" ? -1 : 2) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hooksim: a webhook delivery engine and simulator (per-subscription FIFO, documented retry "
               "schedule, virtual time)"};
  app.set_version_flag("--version", std::string("hooksim ") + HOOKSIM_VERSION);
  app.require_subcommand(1);

  auto* sim = app.add_subcommand("simulate", "Run a scenario in virtual time and write the attempt log");
  std::string scenario_path, log_path, data_dir;
  bool timeline = false;
  sim->add_option("scenario", scenario_path, "Scenario file (JSON, see docs/scenario.md)")->required();
  sim->add_option("--log", log_path, "Write the attempt log (JSON Lines) to FILE, or to stdout with -");
  sim->add_flag("--timeline", timeline, "Print a human-readable timeline of the run on stderr");
  sim->add_option("--data", data_dir, "Keep the store in DIR (must be empty; default: a temporary directory)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*sim) return simulate(scenario_path, log_path, timeline, data_dir);
  return 2;
}
