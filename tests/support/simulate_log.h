// The attempt log of a scenario under `hooksim simulate` (cli::simulate_scenario, the command's own code),
// for tests that assert what a policy makes of a scenario written inline as JSON.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/scenario_run.h"
#include "sim/scenario.h"

namespace hooksim::testutil {

// The attempt log (JSON lines) of `scenario`; its summary in `*summary` when given. A scenario that does
// not parse or run is a test failure, and gives "".
inline std::string simulate_log(const nlohmann::json& scenario, sim::Summary* summary = nullptr) {
  auto sc = sim::parse_scenario(scenario);
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  if (!sc.ok()) return "";
  std::ostringstream log;
  sim::RunOptions options;
  options.log = &log;
  auto run = cli::simulate_scenario(*sc, options);
  EXPECT_TRUE(run.ok()) << run.status().message();
  if (!run.ok()) return "";
  if (summary != nullptr) *summary = std::move(*run);
  return log.str();
}

}  // namespace hooksim::testutil
