#include "sim/compare_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <string_view>

#include "protocol/policy_json.h"
#include "sim/report_render.h"
#include "util/html.h"

namespace hooksim::sim {
namespace {

constexpr std::string_view kNone = "—";

// What the table says of the time rows.
constexpr char kTimesNote[] =
    "recovered at: the end of the receiver's last failing window (time since the start); recovery to "
    "drained: from then to the first moment the subscription is active with nothing queued; — : no such "
    "time in the run (docs/compare.md)";

// Beyond the run report's style: a policy's JSON wraps anywhere (it has no spaces).
constexpr char kExtraStyle[] =
    ".policy-json{text-align:left;white-space:normal;overflow-wrap:anywhere;max-width:820px}\n";

std::string when(const std::optional<int64_t>& ms) {
  return ms ? format_elapsed(Duration(*ms)) : std::string(kNone);
}

std::string span(const std::optional<int64_t>& ms) {
  return ms ? format_duration(Duration(*ms)) : std::string(kNone);
}

// The table's rows: a label and the cell of each policy.
struct Row {
  const char* label;
  std::vector<std::string> cells;
};

std::vector<Row> rows_of(const Comparison& c, size_t sub) {
  std::vector<Row> rows = {{"attempts", {}},
                           {"failed attempts", {}},
                           {"delivered", {}},
                           {"exhausted", {}},
                           {"discarded", {}},
                           {"deactivated at", {}},
                           {"receiver recovered at", {}},
                           {"recovery to drained", {}},
                           {"largest backlog", {}},
                           {"duplicates", {}}};
  for (const PolicyRun& run : c.runs) {
    const CompareMetrics& m = run.metrics[sub];
    const std::string cells[] = {std::to_string(m.attempts),    std::to_string(m.failed_attempts),
                                 std::to_string(m.delivered),   std::to_string(m.exhausted),
                                 std::to_string(m.discarded),   when(m.deactivated_at_ms),
                                 when(m.recovery_ms),           span(m.drain_ms),
                                 std::to_string(m.max_backlog), std::to_string(m.duplicates)};
    for (size_t r = 0; r < rows.size(); ++r) rows[r].cells.push_back(cells[r]);
  }
  return rows;
}

// Characters on screen: UTF-8 continuation bytes take no column.
size_t columns(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

std::string pad(std::string_view s, size_t width, bool left) {
  std::string fill(width > columns(s) ? width - columns(s) : 0, ' ');
  return left ? std::string(s) + fill : fill + std::string(s);
}

std::string policy_names(const Comparison& c) {
  std::string out;
  for (const PolicyRun& run : c.runs) out += (out.empty() ? "" : ", ") + run.name;
  return out;
}

// The backlog of subscription `sub` under every policy, as one Report whose "subscriptions" are the
// policies (named so in the legend, the lines and the markers).
Report overlay(const Comparison& c, size_t sub) {
  Report r;
  r.has_publish_records = true;
  if (c.runs.empty()) return r;
  r.bucket_ms = c.runs.front().series.bucket_ms;
  for (const PolicyRun& run : c.runs) {
    // Every run has the scenario's duration in its header and the same bucket count: the same buckets.
    assert(run.series.bucket_ms == r.bucket_ms);
    r.end_ms = std::max(r.end_ms, run.series.end_ms);
    const std::string& id = c.subscriptions[sub];
    auto it = std::find_if(run.series.subscriptions.begin(), run.series.subscriptions.end(),
                           [&](const SubscriptionReport& s) { return s.id == id; });
    SubscriptionReport line = it != run.series.subscriptions.end() ? *it : SubscriptionReport{};
    line.id = run.name;
    r.subscriptions.push_back(std::move(line));
    for (ReportMarker m : run.series.markers) {
      if (m.sub != id) continue;
      m.sub = run.name;
      r.markers.push_back(std::move(m));
    }
  }
  return r;
}

}  // namespace

std::string render_compare_text(const Comparison& c) {
  std::string out = fmt::format("scenario {} (seed {}, {}); policies: {}\n", c.scenario, c.seed,
                                format_duration(c.duration), policy_names(c));
  for (size_t i = 0; i < c.subscriptions.size(); ++i) {
    std::vector<Row> rows = rows_of(c, i);
    size_t label_w = columns(c.subscriptions[i]);
    for (const Row& row : rows) label_w = std::max(label_w, columns(row.label));
    std::vector<size_t> widths;
    for (size_t p = 0; p < c.runs.size(); ++p) {
      size_t w = columns(c.runs[p].name);
      for (const Row& row : rows) w = std::max(w, columns(row.cells[p]));
      widths.push_back(w);
    }
    out += "\n" + pad(c.subscriptions[i], label_w, true);
    for (size_t p = 0; p < c.runs.size(); ++p) out += "  " + pad(c.runs[p].name, widths[p], false);
    out += "\n";
    for (const Row& row : rows) {
      out += pad(row.label, label_w, true);
      for (size_t p = 0; p < c.runs.size(); ++p) out += "  " + pad(row.cells[p], widths[p], false);
      out += "\n";
    }
  }
  out += fmt::format("\n{}\n", kTimesNote);
  return out;
}

std::string render_compare_html(const Comparison& c, const std::string& title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += fmt::format("<title>{}</title><style>{}{}</style></head><body>\n", util::escape_html(title),
                     report_style(), kExtraStyle);
  out += fmt::format("<h1>{}</h1>\n", util::escape_html(title));
  out += fmt::format(
      "<p class=\"meta\">scenario {} &middot; seed {} &middot; {} &middot; every subscription under each "
      "policy in turn, nothing else changed</p>\n",
      util::escape_html(c.scenario), c.seed, format_duration(c.duration));
  out += "<h2>Policies</h2>\n<table id=\"policies\"><tr><th>policy</th><th>as JSON</th></tr>\n";
  for (const PolicyRun& run : c.runs)
    out += fmt::format("<tr><td>{}</td><td class=\"policy-json\"><code>{}</code></td></tr>\n",
                       util::escape_html(run.name), util::escape_html(policy_to_json(run.policy).dump()));
  out += "</table>\n";
  for (size_t i = 0; i < c.subscriptions.size(); ++i) {
    const std::string id = util::escape_html(c.subscriptions[i]);
    out += fmt::format("<h2>{}</h2>\n<table class=\"compare\" data-sub=\"{}\"><tr><th>metric</th>", id, id);
    for (const PolicyRun& run : c.runs) out += fmt::format("<th>{}</th>", util::escape_html(run.name));
    out += "</tr>\n";
    for (const Row& row : rows_of(c, i)) {
      out += fmt::format("<tr><td>{}</td>", row.label);
      for (const std::string& cell : row.cells) out += fmt::format("<td>{}</td>", util::escape_html(cell));
      out += "</tr>\n";
    }
    out +=
        "</table>\n<p class=\"meta\">Backlog (events queued and not yet delivered), one line per "
        "policy</p>\n";
    out += render_backlog_chart(overlay(c, i), "backlog-" + c.subscriptions[i]);
  }
  out += fmt::format("<p class=\"note\">{}.</p>\n</body></html>\n", util::escape_html(kTimesNote));
  return out;
}

}  // namespace hooksim::sim
