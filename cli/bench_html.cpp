#include "cli/bench_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "sim/report_render.h"
#include "util/html.h"

namespace hooksim::cli {
namespace {

constexpr double kWidth = 1000, kHeight = 280, kLeft = 70, kRight = 20, kTop = 16, kBottom = 40;

// A "nice" upper end for an axis whose data reach `max`: 1, 2 or 5 times a power of ten.
double axis_top(double max) {
  if (max <= 0) return 1;
  double p = std::pow(10.0, std::floor(std::log10(max)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= max) return m * p;
  return 10 * p;
}

// A bar chart: one bar per (label, value), with `unit` in each bar's tooltip; `id` names the svg.
std::string bar_chart(const std::string& id, const std::string& aria,
                      const std::vector<std::pair<std::string, double>>& bars, const std::string& unit,
                      size_t label_every) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  const double top = axis_top(max);
  auto y = [&](double v) { return kTop + plot_h * (1.0 - v / top); };
  std::string out = fmt::format(
      R"(<svg id="{0}" xmlns="http://www.w3.org/2000/svg" width="{1}" height="{2}" viewBox="0 0 {1} {2}" role="img" aria-label="{3}">)",
      id, kWidth, kHeight, util::escape_html(aria));
  for (double v : {0.0, top / 2, top}) {
    out += fmt::format(R"(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)", kLeft, y(v),
                       kWidth - kRight, y(v));
    out += fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{:g}</text>)", kLeft - 6,
                       y(v) + 4, v);
  }
  const double slot = plot_w / static_cast<double>(std::max<size_t>(bars.size(), 1));
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& [label, v] = bars[i];
    double x = kLeft + slot * static_cast<double>(i);
    out += fmt::format(
        R"(<rect class="bar" data-value="{:g}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#1f77b4"><title>{}: {:g} {}</title></rect>)",
        v, x + slot * 0.1, y(v), std::max(slot * 0.8, 1.0), kTop + plot_h - y(v), util::escape_html(label), v,
        util::escape_html(unit));
    if (i % label_every == 0)
      out += fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)",
                         x + slot / 2, kTop + plot_h + 14, util::escape_html(label));
  }
  if (bars.empty())
    out += fmt::format(
        R"(<text class="note" x="{:.1f}" y="{:.1f}" text-anchor="middle">Nothing to show.</text>)",
        kLeft + plot_w / 2, kTop + plot_h / 2);
  return out + "</svg>\n";
}

}  // namespace

std::string render_bench_html(const BenchResult& r, const std::string& title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += fmt::format("<title>{}</title><style>{}</style></head><body>\n", util::escape_html(title),
                     sim::report_style());
  out += fmt::format("<h1>{}</h1>\n", util::escape_html(title));
  out += fmt::format(
      "<p class=\"meta\">{} subscriptions &middot; rate {} &middot; {} s published, drained in {} s &middot; "
      "<b>{:.1f} deliveries/s</b>; FIFO ordering allows {:.1f}/s (N / mean response time)</p>\n",
      r.subscriptions, r.rate ? fmt::format("{:g}/s", *r.rate) : "max",
      static_cast<double>(r.duration.count()) / 1000, static_cast<double>(r.drained.count()) / 1000,
      r.rate_per_second(), r.fifo_bound_per_second());

  std::vector<std::pair<std::string, double>> seconds;
  for (size_t i = 0; i < r.deliveries_per_second.size(); ++i)
    seconds.emplace_back(fmt::format("{}s", i), static_cast<double>(r.deliveries_per_second[i]));
  out += "<h2>Deliveries per second</h2>\n";
  out += bar_chart("throughput", "deliveries in each second of the run", seconds, "deliveries",
                   std::max<size_t>(1, (seconds.size() + 9) / 10));

  std::vector<std::pair<std::string, double>> quantiles;
  for (auto [name, q] :
       {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1.0}}) {
    int64_t us = q >= 1.0 ? r.latency_us.max() : r.latency_us.percentile(q);
    quantiles.emplace_back(name, static_cast<double>(us) / 1000.0);
  }
  out += fmt::format("<h2>Response time (ms), {} attempts</h2>\n", r.latency_us.count());
  out += bar_chart("latency", "response time quantiles in milliseconds", quantiles, "ms", 1);

  out +=
      "<h2>Balance and failures</h2>\n<table id=\"balance\"><tr><th>published</th><th>delivered</th>"
      "<th>queued</th><th>in flight</th><th>discarded</th><th>balanced</th><th>attempts</th><th>retries</th>"
      "</tr>\n";
  out += fmt::format(
      "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n"
      "</table>\n",
      r.published, r.delivered, r.queued, r.in_flight, r.discarded, r.balanced() ? "yes" : "NO", r.attempts,
      r.retries);
  std::string rows;
  for (size_t c = 1; c < r.failures.size(); ++c)
    if (r.failures[c] > 0)
      rows += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", to_string(static_cast<ErrorClass>(c)),
                          r.failures[c]);
  out += rows.empty() ? "<p>No failed attempts.</p>\n"
                      : "<table id=\"failures\"><tr><th>failure class</th><th>failed attempts</th></tr>\n" +
                            rows + "</table>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace hooksim::cli
