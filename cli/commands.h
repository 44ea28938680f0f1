// Each hooksim subcommand registers itself on the app and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace hooksim::cli {

// Runs a parsed subcommand; returns the process exit code (0 ok, 1 runtime failure, 2 bad usage/input).
using Command = std::function<int()>;

Command add_simulate(CLI::App& app);
Command add_receiver(CLI::App& app);
Command add_run(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_status(CLI::App& app);
Command add_check(CLI::App& app);
Command add_report(CLI::App& app);
Command add_replay(CLI::App& app);

}  // namespace hooksim::cli
