// The three renderings of a check report: terminal lines, the JSON report (docs/check.md) and a
// self-contained HTML page.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include "check/check.h"
#include "protocol/standard_webhooks.h"
#include "util/html.h"
#include "util/plural.h"
#include "util/split.h"

namespace hooksim::check {

namespace {

using ojson = nlohmann::ordered_json;

std::map<Verdict, int> counts(const Report& report) {
  std::map<Verdict, int> n;  // 0 for a verdict no check got
  for (const auto& r : report.results) ++n[r.verdict];
  return n;
}

}  // namespace

std::string format_line(const CheckResult& r) {
  return fmt::format("{}  {:<22} {}. {}", verdict_label(r.verdict), r.name, r.figure, r.advice);
}

std::string coloured_label(Verdict v) {
  static constexpr const char* kSgr[] = {"32", "33", "1;31", "90"};  // PASS, WARN, FAIL, SKIP
  return fmt::format("\x1b[{}m{}\x1b[0m", kSgr[static_cast<int>(v)], verdict_label(v));
}

std::string format_terminal(const CheckResult& r, size_t width, bool colour) {
  width = std::max<size_t>(width, 20);
  // The head is format_line()'s: the label (4), two spaces, the name padded to 22, a space.
  std::string line = fmt::format("{}  {:<22} ", verdict_label(r.verdict), r.name);
  size_t indent = line.size() + 20 <= width ? line.size() : 4;  // too narrow for the column: a small indent
  std::string text = r.figure + ".";
  if (r.verdict == Verdict::kWarn || r.verdict == Verdict::kFail) text += " " + r.advice;

  std::vector<std::string> lines;
  bool fresh = true;  // no word on `line` yet
  auto next_line = [&] {
    lines.push_back(line);
    line.assign(indent, ' ');
    fresh = true;
  };
  if (line.size() > width) {
    line.resize(width);
    next_line();
  }
  util::for_each_part(text, ' ', [&](std::string_view word) {
    while (!word.empty()) {
      if (line.size() + (fresh ? 0 : 1) + word.size() <= width) {
        line += fresh ? "" : " ";
        line += word;
        fresh = false;
        return;
      }
      if (!fresh) {
        next_line();
        continue;
      }
      size_t fit = width - line.size();  // a word longer than a whole line: cut it
      line += word.substr(0, fit);
      word.remove_prefix(fit);
      next_line();
    }
  });
  if (!fresh) lines.push_back(line);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i == 0 ? "" : "\n") + lines[i];
  if (colour) out.replace(0, 4, coloured_label(r.verdict));
  return out;
}

std::string report_json(const Report& report) {
  auto n = counts(report);
  ojson checks = ojson::array();
  for (const auto& r : report.results) {
    ojson probes = ojson::array();
    for (const auto& p : r.probes) {
      probes.push_back({{"what", p.what},
                        {"expected", p.expected},
                        {"status", p.status},
                        {"error", p.error.empty() ? ojson(nullptr) : ojson(p.error)},
                        {"latency_ms", p.latency_ms},
                        {"met", p.met}});
    }
    checks.push_back({{"name", r.name},
                      {"title", r.title},
                      {"verdict", verdict_name(r.verdict)},
                      {"figure", r.figure},
                      {"advice", r.advice},
                      {"duration_ms", r.duration_ms},
                      {"measurements", ojson::parse(r.measurements.dump())},
                      {"probes", std::move(probes)}});
  }
  ojson doc = {{"schema", "hooksim-check/1"},
               {"hooksim_version", HOOKSIM_VERSION},
               {"url", report.url},
               {"auth", report.auth},
               {"signature", report.auth == "secret" ? ojson(report.scheme) : ojson(nullptr)},
               {"timeout_ms", report.timeout.count()},
               {"started_at", format_utc(report.started_at)},
               {"duration_ms", report.duration_ms},
               {"verdict", verdict_name(report.overall())},
               {"exit_code", report.exit_code()},
               {"counts",
                {{"pass", n[Verdict::kPass]},
                 {"warn", n[Verdict::kWarn]},
                 {"fail", n[Verdict::kFail]},
                 {"skip", n[Verdict::kSkip]}}},
               {"checks", std::move(checks)}};
  return doc.dump(2) + "\n";
}

namespace {

// `s` as XML text or a quoted attribute value: escaped, and without the control characters XML 1.0 forbids
// (libcurl's reasons are copied into figures).
std::string xml(std::string_view s) {
  std::string clean;
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') clean += c;
  return util::escape_html(clean);
}

}  // namespace

std::string report_junit(const Report& report) {
  auto n = counts(report);
  std::string suite = fmt::format(
      "  <testsuite name=\"hooksim check {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
      "time=\"{:.3f}\" timestamp=\"{}\">\n",
      xml(report.url), report.results.size(), n[Verdict::kFail], n[Verdict::kSkip],
      report.duration_ms / 1000.0, format_utc(report.started_at));
  for (const auto& r : report.results) {
    suite += fmt::format("    <testcase classname=\"hooksim.check\" name=\"{}\" time=\"{:.3f}\"", xml(r.name),
                         r.duration_ms / 1000.0);
    if (r.verdict == Verdict::kFail)
      suite +=
          fmt::format(">\n      <failure message=\"{}\" type=\"FAIL\">{}. {}</failure>\n    </testcase>\n",
                      xml(r.figure), xml(r.figure), xml(r.advice));
    else if (r.verdict == Verdict::kSkip)
      suite += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", xml(r.figure));
    else if (r.verdict == Verdict::kWarn)
      suite += fmt::format(">\n      <system-out>WARN: {}. {}</system-out>\n    </testcase>\n", xml(r.figure),
                           xml(r.advice));
    else
      suite += "/>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"hooksim check\" tests=\"{}\" "
      "failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\">\n{}  </testsuite>\n</testsuites>\n",
      report.results.size(), n[Verdict::kFail], n[Verdict::kSkip], report.duration_ms / 1000.0, suite);
}

std::string report_html(const Report& report) {
  auto n = counts(report);
  Verdict overall = report.overall();
  std::string out = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
)";
  out += fmt::format("<title>Webhook receiver check: {}</title>\n", util::escape_html(report.url));
  out += R"(<style>
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2733; margin: 0; background: #f5f7fa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
p { margin: 8px 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; background: #e8ecf1; padding: 1px 4px; border-radius: 3px; }
.meta { border-collapse: collapse; margin: 12px 0; }
.meta td { padding: 2px 16px 2px 0; vertical-align: top; }
.meta td:first-child { color: #5b6775; }
.overall { font-size: 18px; padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #dde3ea; border-left-width: 6px; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
.card h3 { margin: 0; font-size: 16px; }
.card .figure { font-weight: 600; margin: 6px 0; }
.card .advice { color: #3d4a58; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-weight: 700; font-size: 12px; color: #fff; border-radius: 4px; padding: 2px 6px; margin-right: 8px; }
.pass { border-left-color: #1f8a4c; } .badge.pass, .overall.pass { background: #1f8a4c; color: #fff; }
.warn { border-left-color: #c27c0e; } .badge.warn, .overall.warn { background: #c27c0e; color: #fff; }
.fail { border-left-color: #c62828; } .badge.fail, .overall.fail { background: #c62828; color: #fff; }
.skip { border-left-color: #8a94a0; } .badge.skip, .overall.skip { background: #8a94a0; color: #fff; }
details { margin-top: 8px; }
summary { cursor: pointer; color: #2d5d9f; }
table.probes { border-collapse: collapse; width: 100%; margin-top: 6px; font-size: 13px; }
table.probes th, table.probes td { text-align: left; border-bottom: 1px solid #e6eaef; padding: 4px 8px 4px 0; vertical-align: top; }
td.bad { color: #c62828; font-weight: 600; }
.legend td { padding: 2px 12px 2px 0; }
footer { color: #5b6775; font-size: 13px; margin-top: 32px; }
</style>
</head>
<body>
<main>
<h1>Webhook receiver check</h1>
<p>This report was made by <b>hooksim check</b>. It sent test webhook deliveries to the address below, built
exactly like the platform's real ones (a JSON event in the body; Standard Webhooks headers
<code>webhook-id</code>, <code>webhook-timestamp</code> and <code>)";
  out += protocol::kSignatureHeader;
  out += R"(</code>, or a bearer token),
and judged each answer the way the platform's sender does: <b>only an HTTP 2xx answer counts as delivered</b>;
anything else, or no answer within the timeout, is a failure that is retried and holds up every later event.
Some checks deliberately send bad requests (a forged signature, an old timestamp) that a secure receiver must
refuse.</p>
)";
  out += "<table class=\"meta\">\n";
  out +=
      fmt::format("<tr><td>Receiver URL</td><td><code>{}</code></td></tr>\n", util::escape_html(report.url));
  out += fmt::format("<tr><td>Checked at</td><td>{}</td></tr>\n", format_utc(report.started_at));
  std::string auth =
      report.auth == "secret" && report.scheme == protocol::kDefaultSignatureScheme
          ? "signed with the receiver's whsec_ secret (Standard Webhooks)"
      : report.auth == "secret"
          ? fmt::format("signed with the receiver's secret as {} signs (docs/policies.md)", report.scheme)
      : report.auth == "token" ? "bearer token"
                               : "none given (signature checks skipped)";
  out += fmt::format("<tr><td>Authentication</td><td>{}</td></tr>\n", util::escape_html(auth));
  out += fmt::format("<tr><td>Attempt timeout</td><td>{}</td></tr>\n", format_duration(report.timeout));
  out += report.duration_ms < 1000
             ? fmt::format("<tr><td>Run time</td><td>{:.0f} ms</td></tr>\n", report.duration_ms)
             : fmt::format("<tr><td>Run time</td><td>{:.1f} s</td></tr>\n", report.duration_ms / 1000.0);
  out += "</table>\n";

  std::string headline = overall == Verdict::kFail   ? "Not ready: at least one check failed."
                         : overall == Verdict::kWarn ? "Ready, with warnings worth fixing."
                                                     : "Ready: every check passed.";
  out += fmt::format("<div class=\"overall {}\"><b>{}</b> {} passed, {}, {} failed, {} skipped.</div>\n",
                     verdict_name(overall), headline, n[Verdict::kPass],
                     util::counted("warning", n[Verdict::kWarn]), n[Verdict::kFail], n[Verdict::kSkip]);
  out += R"(<table class="legend">
<tr><td><span class="badge pass">PASS</span></td><td>the receiver behaves as the delivery contract needs</td></tr>
<tr><td><span class="badge warn">WARN</span></td><td>works today, but close to a limit or against a recommendation</td></tr>
<tr><td><span class="badge fail">FAIL</span></td><td>events would be lost, delayed or forged: fix before going live</td></tr>
<tr><td><span class="badge skip">SKIP</span></td><td>not applicable with the options given (see the line)</td></tr>
</table>
<h2>Checks</h2>
)";
  for (const auto& r : report.results) {
    const char* v = verdict_name(r.verdict);
    out += fmt::format("<section class=\"card {}\" id=\"{}\">\n", v, util::escape_html(r.name));
    out += fmt::format("<h3><span class=\"badge {}\">{}</span>{} <code>{}</code></h3>\n", v,
                       verdict_label(r.verdict), util::escape_html(r.title), util::escape_html(r.name));
    out += fmt::format("<div class=\"figure\">{}</div>\n", util::escape_html(r.figure));
    out += fmt::format("<div class=\"advice\"><b>Why it matters, how to fix:</b> {}</div>\n",
                       util::escape_html(r.advice));
    if (!r.probes.empty()) {
      out += fmt::format("<details><summary>Requests sent ({} listed)</summary>\n", r.probes.size());
      out +=
          "<table class=\"probes\"><tr><th>request</th><th>expected</th><th>answer</th><th>time</th></tr>\n";
      for (const auto& p : r.probes) {
        out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.2f} ms</td></tr>\n",
                           util::escape_html(p.what), util::escape_html(p.expected), p.met ? "" : "bad",
                           util::escape_html(p.answer()), p.latency_ms);
      }
      out += "</table></details>\n";
    }
    out += "</section>\n";
  }
  out += fmt::format(
      "<footer>Generated by hooksim {} (<code>hooksim check</code>). Each check, what it sends and what "
      "passes, is described in hooksim's docs/check.md; the same results are available as JSON with "
      "<code>--json</code>.</footer>\n</main>\n</body>\n</html>\n",
      HOOKSIM_VERSION);
  return out;
}

}  // namespace hooksim::check
