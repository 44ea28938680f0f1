// hooksim check URL: runs the receiver conformance suite (check/check.h) and prints one line per check as it
// finishes, then a summary line. Exit codes: 0 nothing failed, 1 a check failed, 2 bad usage or the URL
// cannot be reached. Flags and reports: docs/check.md.
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>

#include "check/check.h"
#include "cli/commands.h"
#include "util/plural.h"

namespace hooksim::cli {
namespace {

struct CheckArgs {
  check::CheckOptions options;  // the flags that need no conversion go here directly
  std::string json_path, html_path, junit_path;
  std::string timeout = "10s";
  std::string drain_bound = "1h";
  int64_t backlog = 200;
  int64_t daily_events = 100000;
  int64_t payload_size = 256 * 1024;
};

// The width of the terminal stdout is, or 0 when stdout is not a terminal (then the output is plain lines,
// as documented, whatever the environment says).
size_t terminal_width() {
  if (::isatty(STDOUT_FILENO) == 0) return 0;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  const char* columns = std::getenv("COLUMNS");
  return columns != nullptr && std::atoi(columns) > 0 ? static_cast<size_t>(std::atoi(columns)) : 80;
}

// Opens `path` for writing now, when given, so a bad path is reported before anything is sent.
bool open_output(std::ofstream& out, const std::string& path) {
  if (!path.empty()) out.open(path, std::ios::trunc);
  return path.empty() || out;
}

int check(CheckArgs& a) {
  check::CheckOptions& o = a.options;
  auto timeout = parse_duration(a.timeout);
  if (!timeout.ok()) return fail("check", "--timeout: " + timeout.status().message());
  o.timeout = *timeout;
  auto bound = parse_duration(a.drain_bound);
  if (!bound.ok()) return fail("check", "--drain-bound: " + bound.status().message());
  o.drain_bound = *bound;
  if (a.backlog < 1) return fail("check", "--backlog: must be from 1 to 100000 events");
  if (a.daily_events < 1) return fail("check", "--daily-events: must be at least 1");
  if (a.payload_size < 1) return fail("check", "--payload-size: must be from 1024 to 8388608 bytes");
  o.backlog_events = static_cast<uint64_t>(a.backlog);
  o.daily_events = static_cast<uint64_t>(a.daily_events);
  o.payload_size = static_cast<uint64_t>(a.payload_size);
  if (Status st = check::validate(o); !st.ok()) return fail("check", st.message());
  if (!o.ca_file.empty() && !std::ifstream(o.ca_file))
    return fail("check", fmt::format("--ca-file: cannot read '{}'", o.ca_file));

  std::ofstream json_out, html_out, junit_out;
  bool json_opened = open_output(json_out, a.json_path), html_opened = open_output(html_out, a.html_path);
  bool junit_opened = open_output(junit_out, a.junit_path);
  if (!html_opened) return fail("check", fmt::format("--html: cannot open '{}' for writing", a.html_path));
  if (!json_opened) return fail("check", fmt::format("--json: cannot open '{}' for writing", a.json_path));
  if (!junit_opened) return fail("check", fmt::format("--junit: cannot open '{}' for writing", a.junit_path));

  // On a terminal: coloured and wrapped to its width (NO_COLOR: wrapped only); elsewhere the plain lines.
  size_t width = terminal_width();
  bool colour = width > 0 && std::getenv("NO_COLOR") == nullptr;
  o.on_result = [width, colour](const check::CheckResult& r) {
    std::cout << (width > 0 ? check::format_terminal(r, width, colour) : check::format_line(r)) << std::endl;
  };
  auto report = check::run_checks(o);
  if (!report.ok()) {  // unreachable: exit 2, as documented, and no half-written report files
    discard(json_out, a.json_path);
    discard(html_out, a.html_path);
    discard(junit_out, a.junit_path);
    return fail("check", report.status().message());
  }

  int n[4] = {};
  for (const auto& r : report->results) ++n[static_cast<int>(r.verdict)];
  std::cout << fmt::format("{}: {} passed, {}, {} failed, {} skipped",
                           colour ? check::coloured_label(report->overall())
                                  : std::string(check::verdict_label(report->overall())),
                           n[0], util::counted("warning", n[1]), n[2], n[3])
            << std::endl;
  if (json_out.is_open()) json_out << check::report_json(*report);
  if (html_out.is_open()) html_out << check::report_html(*report);
  if (junit_out.is_open()) junit_out << check::report_junit(*report);
  if ((json_out.is_open() && !json_out.flush()) || (html_out.is_open() && !html_out.flush()) ||
      (junit_out.is_open() && !junit_out.flush()))
    return fail("check", "cannot write the report file");
  return report->exit_code();
}

}  // namespace

Command add_check(CLI::App& app) {
  auto args = std::make_shared<CheckArgs>();
  auto* cmd =
      app.add_subcommand("check", "Test a webhook receiver against the delivery contract (exit 0/1/2)");
  cmd->add_option("URL", args->options.url, "The receiver's webhook URL (http:// or https://)")->required();
  auto* secret =
      cmd->add_option("--secret", args->options.secret,
                      "Sign deliveries with this secret (whsec_... for Standard Webhooks; see --scheme)");
  add_scheme_flag(cmd, args->options.scheme, "Sign deliveries");
  auto* token = cmd->add_option("--token", args->options.token,
                                "Send 'authorization: Bearer TOKEN' instead of signing");
  secret->excludes(token);
  cmd->add_option("--timeout", args->timeout, "The sender's attempt timeout (e.g. 10s, 200ms)")
      ->capture_default_str();
  cmd->add_option("--json", args->json_path, "Write the JSON report to FILE (schema in docs/check.md)");
  cmd->add_option("--html", args->html_path, "Write a self-contained HTML report to FILE");
  cmd->add_option("--junit", args->junit_path, "Write a JUnit XML report to FILE (one test case per check)");
  cmd->add_option("--only", args->options.only,
                  "Run only these checks (comma-separated names, see docs/check.md)")
      ->delimiter(',');
  cmd->add_option("--ca-file", args->options.ca_file,
                  "Trust the CAs in this PEM file instead of the system's");
  cmd->add_option("--backlog", args->backlog, "backlog_drain: events sent back to back")
      ->capture_default_str();
  cmd->add_option("--daily-events", args->daily_events, "backlog_drain: events in one day's backlog")
      ->capture_default_str();
  cmd->add_option("--drain-bound", args->drain_bound,
                  "backlog_drain: WARN when a day's backlog drains slower")
      ->capture_default_str();
  cmd->add_option("--payload-size", args->payload_size,
                  "large_payload: the largest payload expected, in bytes")
      ->capture_default_str();
  return [cmd, args]() { return *cmd ? check(*args) : -1; };
}

}  // namespace hooksim::cli
