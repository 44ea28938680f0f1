// hooksim command line. Thin: each subcommand (cli/*_cmd.cpp) parses its arguments and calls the library.
// Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "hooksim: a webhook delivery engine and simulator (per-subscription FIFO, the documented "
      "retry schedule, virtual time)"};
  app.set_version_flag("--version", std::string("hooksim ") + HOOKSIM_VERSION);
  app.require_subcommand(1);
  // A usage error names its command, as every other error does: "hooksim replay: --target is required".
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    std::string command = "hooksim";
    for (const CLI::App* sub : a->get_subcommands()) command += " " + sub->get_name();
    return command + ": " + CLI::FailureMessage::simple(a, e);
  });
  std::vector<hooksim::cli::Command> commands = {
      hooksim::cli::add_simulate(app), hooksim::cli::add_receiver(app), hooksim::cli::add_run(app),
      hooksim::cli::add_serve(app),    hooksim::cli::add_status(app),   hooksim::cli::add_check(app),
      hooksim::cli::add_report(app),   hooksim::cli::add_replay(app),   hooksim::cli::add_init(app),
      hooksim::cli::add_schedule(app), hooksim::cli::add_secret(app),   hooksim::cli::add_bench(app),
      hooksim::cli::add_compare(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (auto& run : commands) {
    int rc = run();
    if (rc >= 0) return rc;
  }
  return 2;
}
