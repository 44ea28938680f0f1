// hooksim compare SCENARIO --policies A,B,... [--json FILE|-] [--html FILE]: the scenario once per policy, as
// `hooksim simulate` runs it (sim/compare.h), and a side-by-side table per subscription (docs/compare.md).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/scenario_run.h"
#include "sim/compare.h"
#include "sim/compare_render.h"

namespace hooksim::cli {
namespace {

struct CompareArgs {
  std::string scenario_path, json_path, html_path;
  std::vector<std::string> policies;
};

// Opens `path` for --FLAG, unless it is empty or "-" (stdout); false when it cannot be opened.
bool open_output(std::ofstream& out, const std::string& path) {
  if (path.empty() || path == "-") return true;
  out.open(path, std::ios::out | std::ios::trunc);
  return static_cast<bool>(out);
}

int run_compare(const CompareArgs& a) {
  auto scenario = sim::load_scenario(a.scenario_path);
  if (!scenario.ok()) return fail("compare", scenario.status().message());
  if (Status st = check_simulate_fits(*scenario, ""); !st.ok()) return fail("compare", st.message());
  auto policies = sim::read_policy_list(a.policies);
  if (!policies.ok()) return fail("compare", policies.status());
  std::ofstream json, html;
  if (!open_output(json, a.json_path))
    return fail("compare", "--json " + a.json_path + ": cannot open for writing");
  if (!open_output(html, a.html_path)) {
    discard(json, a.json_path);
    return fail("compare", "--html " + a.html_path + ": cannot open for writing");
  }
  auto comparison = sim::compare_policies(
      *scenario, a.scenario_path, *policies,
      [](const sim::Scenario& sc, const sim::RunOptions& options) { return simulate_scenario(sc, options); });
  if (!comparison.ok()) {
    discard(json, a.json_path);
    discard(html, a.html_path);
    return fail("compare", comparison.status());
  }
  if (!a.json_path.empty()) {
    std::ostream& out = a.json_path == "-" ? std::cout : json;
    out << comparison->to_json().dump(2) << "\n" << std::flush;
    if (json.is_open()) {
      json.close();
      if (!json) return fail("compare", "--json " + a.json_path + ": write failed", 1);
    }
  }
  if (html.is_open()) {
    html << sim::render_compare_html(*comparison, "hooksim compare " + a.scenario_path);
    html.close();
    if (!html) return fail("compare", "--html " + a.html_path + ": write failed", 1);
  }
  // With the JSON on stdout, the table goes to stderr: stdout stays one JSON document.
  (a.json_path == "-" ? std::cerr : std::cout) << sim::render_compare_text(*comparison) << std::flush;
  return 0;
}

}  // namespace

Command add_compare(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Run a scenario once per retry policy, in virtual time, and compare per subscription what each "
      "made of it: attempts, deactivation, time to drain the backlog, ... (docs/compare.md)");
  cmd->add_option("scenario", args->scenario_path, "Scenario file (JSON, see docs/scenario.md)")->required();
  cmd->add_option(
         "--policies", args->policies,
         "Comma-separated policies, each a preset name (e.g. frotcom) or else the path of a JSON file "
         "holding a policy (as a scenario's policy); each replaces every subscription's policy for "
         "one run, in the order given")
      ->required()
      ->delimiter(',');
  cmd->add_option("--json", args->json_path,
                  "Write the comparison as JSON to FILE, or to stdout with - (the tables then go to stderr)");
  cmd->add_option("--html", args->html_path,
                  "Write a self-contained HTML page: the tables and each subscription's backlog per policy");
  return [cmd, args]() { return *cmd ? run_compare(*args) : -1; };
}

}  // namespace hooksim::cli
