// hooksim report LOG.jsonl [--html FILE]: the plain-text summary of a run on stdout and, with --html, the
// self-contained HTML report (docs/report.md).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "sim/report_render.h"

namespace hooksim::cli {
namespace {

struct ReportArgs {
  std::string log_path, html_path;
};

int run_report(const ReportArgs& a) {
  std::ofstream html;
  if (!a.html_path.empty()) {
    html.open(a.html_path, std::ios::out | std::ios::trunc);
    if (!html) return fail("report", "--html " + a.html_path + ": cannot open for writing");
  }
  auto report = sim::build_report(a.log_path);
  if (!report.ok()) {
    discard(html, a.html_path);
    return fail("report", report.status());
  }
  if (html.is_open()) {
    html << sim::render_html(*report, "hooksim report: " + a.log_path);
    html.close();
    if (!html) return fail("report", "--html " + a.html_path + ": write failed", 1);
  }
  std::cout << sim::render_text(*report) << std::flush;
  return 0;
}

}  // namespace

Command add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd =
      app.add_subcommand("report", "Summarize an attempt log; --html writes a self-contained HTML report");
  cmd->add_option("log", args->log_path, "Attempt log (JSON Lines, see docs/attempt-log.md)")->required();
  cmd->add_option("--html", args->html_path, "Write the HTML report (inline SVG charts) to FILE");
  return [cmd, args]() { return *cmd ? run_report(*args) : -1; };
}

}  // namespace hooksim::cli
