// Placeholder: `hooksim receiver` is being written.
#include "cli/commands.h"
namespace hooksim::cli {
Command add_receiver(CLI::App& app) {
  auto* cmd = app.add_subcommand("receiver", "A mock webhook receiver (not yet implemented)");
  return [cmd]() { return *cmd ? 1 : -1; };
}
}  // namespace hooksim::cli
