#include "sim/report_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "util/html.h"
#include "util/plural.h"

namespace hooksim::sim {

namespace {

// "2d 03:15:00.000"
std::string when(int64_t ms) {
  return format_elapsed(Duration(ms));
}

// The totals over every subscription.
struct Totals {
  uint64_t attempts = 0, failed = 0, published = 0, delivered = 0, queued = 0, discarded = 0, dropped = 0;
  uint64_t exhausted = 0;  // dropped after their last attempt (max_attempts)
};
Totals totals(const Report& r) {
  Totals t;
  for (const auto& s : r.subscriptions) {
    t.attempts += s.attempts;
    t.failed += s.failed_attempts;
    t.published += s.published;
    t.delivered += s.delivered;
    t.queued += static_cast<uint64_t>(std::max<int64_t>(s.backlog, 0));
    t.discarded += s.discarded;
    t.dropped += s.dropped_inactive;
    t.exhausted += s.exhausted;
  }
  return t;
}

// The run's totals in one line: "2 subscriptions, 5 events published, 8 attempts (3 failed), 5 delivered,
// 2 discarded, 0 queued, 0 dropped while deactivated".
std::string totals_line(const Report& r, const Totals& t) {
  return fmt::format(
      "{}, {} published, {} ({} failed), {} delivered, {} discarded, {} queued, {} dropped while "
      "deactivated",
      util::counted("subscription", r.subscriptions.size()), util::counted("event", r.events_published),
      util::counted("attempt", t.attempts), t.failed, t.delivered, t.discarded, t.queued, t.dropped);
}

// Where every published event went, once per subscription it matched (fan-out): the sum adds up. Events
// exhausted (a policy's max_attempts) are a term of their own, shown only when there are any, so that a
// report without them reads as before.
std::string accounting_line(const Report& r, const Totals& t) {
  const std::string exhausted = t.exhausted > 0 ? fmt::format(" + {} exhausted", t.exhausted) : "";
  return fmt::format(
      "every event accounted for, once per subscription it matched: {} = {} delivered + {} "
      "queued + {} discarded + {} dropped while deactivated{}; {} matched no subscription",
      t.published, t.delivered, t.queued, t.discarded, t.dropped, exhausted,
      util::counted("event", r.events_unmatched));
}

// What the lag columns cover, and what the age columns add.
constexpr char kLagNote[] =
    "lag: from publish to delivery, of delivered events only; oldest queued: the age, at the end of the run, "
    "of the oldest event still queued; oldest discarded: the largest age of an event when a deactivation "
    "discarded it";

// An age (publish to now, or to a discard) like a lag: whole seconds from a minute on; "-" when none.
std::string age_text(const std::optional<int64_t>& ms) {
  if (!ms) return "-";
  return format_duration(Duration(*ms >= 60'000 ? *ms / 1000 * 1000 : *ms));
}

// A lag in the duration syntax; from a minute on, whole seconds (percentiles there are within 0.2 % anyway).
std::string lag_text(const LagHistogram& h, double q) {
  if (h.count() == 0) return "-";
  int64_t ms = q >= 1.0 ? h.max() : h.percentile(q);
  return format_duration(Duration(ms >= 60'000 ? ms / 1000 * 1000 : ms));
}

constexpr std::array<const char*, 10> kSubColors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                                    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"};
constexpr std::array<const char*, kOutcomeCount> kOutcomeColors = {
    "#2e9d4f", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#555555", "#17becf"};

const char* sub_color(size_t i) {
  return kSubColors[i % kSubColors.size()];
}

// Tick spacing for a time axis of `span` ms: the smallest of a fixed list giving at most 8 ticks.
int64_t tick_step(int64_t span) {
  static constexpr int64_t kSteps[] = {1'000,      5'000,      15'000,     60'000,      300'000,
                                       900'000,    1'800'000,  3'600'000,  7'200'000,   10'800'000,
                                       21'600'000, 43'200'000, 86'400'000, 172'800'000, 604'800'000};
  for (int64_t s : kSteps)
    if (span / s <= 8) return s;
  return (span / 8 / 604'800'000 + 1) * 604'800'000;
}

// Both charts share one time axis: the same plot area (left margin wide enough for the lane labels), so a
// moment is at the same x in each.
struct Plot {
  double left = 160, right = 20, top = 16, width = 1000;
  int64_t end_ms = 1;
  double plot_w() const { return width - left - right; }
  double x(int64_t t) const {
    return left +
           plot_w() * static_cast<double>(std::clamp<int64_t>(t, 0, end_ms)) / static_cast<double>(end_ms);
  }
};

std::string time_axis(const Plot& p, double y_top, double y_bottom) {
  std::string out;
  int64_t step = tick_step(p.end_ms);
  for (int64_t t = 0; t <= p.end_ms; t += step) {
    double x = p.x(t);
    out += fmt::format(R"(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)", x, y_top, x,
                       y_bottom);
    out += fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)", x,
                       y_bottom + 14, format_elapsed_minutes(Duration(t)));
  }
  return out;
}

// Dashed vertical lines at the lifecycle changes (only the restarts with `restarts_only`).
std::string marker_lines(const Report& r, const Plot& p, double y_top, double y_bottom,
                         bool restarts_only = false) {
  std::string out;
  for (const ReportMarker& m : r.markers) {
    if (restarts_only && m.kind != ReportMarker::Kind::kRestart) continue;
    double x = p.x(m.t_ms);
    std::string label = m.kind == ReportMarker::Kind::kRestart
                            ? fmt::format("restart at {}", when(m.t_ms))
                            : fmt::format("{} {} at {}{}", m.sub, to_string(m.kind), when(m.t_ms),
                                          m.kind == ReportMarker::Kind::kDeactivated
                                              ? fmt::format(" ({} discarded)", m.discarded)
                                              : "");
    out += fmt::format(
        R"(<line class="marker {}" data-sub="{}" data-t-ms="{}" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"><title>{}</title></line>)",
        to_string(m.kind), util::escape_html(m.sub), m.t_ms, x, y_top, x, y_bottom, util::escape_html(label));
  }
  return out;
}

std::string backlog_chart(const Report& r, std::string_view svg_id) {
  Plot p;
  p.end_ms = r.end_ms;
  const double height = 280, plot_h = height - p.top - 40;
  int64_t ymax = 1;
  for (const auto& s : r.subscriptions) ymax = std::max(ymax, s.max_backlog);
  auto y = [&](int64_t v) {
    return p.top + plot_h * (1.0 - static_cast<double>(v) / static_cast<double>(ymax));
  };

  std::string out = fmt::format(
      R"(<svg id="{2}" xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="backlog per subscription over time">)",
      p.width, height, util::escape_html(svg_id));
  out += time_axis(p, p.top, p.top + plot_h);
  for (int64_t v : {int64_t{0}, ymax / 2, ymax}) {
    out += fmt::format(R"(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)", p.left,
                       y(v), p.width - p.right, y(v));
    out += fmt::format(R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)", p.left - 6,
                       y(v) + 4, v);
  }
  if (r.has_publish_records) {
    for (size_t i = 0; i < r.subscriptions.size(); ++i) {
      const SubscriptionReport& s = r.subscriptions[i];
      std::string d = fmt::format("M{:.1f},{:.1f}", p.x(0), y(0));
      int64_t carry = 0, drawn = 0;
      for (size_t b = 0; b < s.buckets.size(); ++b) {
        int64_t from = static_cast<int64_t>(b) * r.bucket_ms;
        if (from >= r.end_ms) break;
        const ReportBucket& k = s.buckets[b];
        int64_t v = k.touched ? k.max_backlog : carry;
        if (v != drawn) {
          d += fmt::format("H{:.1f}V{:.1f}", p.x(from), y(v));
          drawn = v;
        }
        if (k.touched) {
          // The bucket's end value carries on; show a drop within the bucket at its end.
          if (k.last_backlog != v) {
            d += fmt::format("H{:.1f}V{:.1f}", p.x(from + r.bucket_ms), y(k.last_backlog));
            drawn = k.last_backlog;
          }
          carry = k.last_backlog;
        }
      }
      d += fmt::format("H{:.1f}", p.x(r.end_ms));
      out += fmt::format(
          R"(<path class="backlog" data-sub="{}" data-max="{}" d="{}" fill="none" stroke="{}" stroke-width="1.5"><title>{}: backlog, max {}</title></path>)",
          util::escape_html(s.id), s.max_backlog, d, sub_color(i), util::escape_html(s.id), s.max_backlog);
    }
  } else {
    out += fmt::format(
        R"(<text class="note" x="{:.1f}" y="{:.1f}" text-anchor="middle">This log has no publish records: the backlog is unknown.</text>)",
        p.left + p.plot_w() / 2, p.top + plot_h / 2);
  }
  out += marker_lines(r, p, p.top, p.top + plot_h);
  out += "</svg>";
  return out;
}

std::string attempts_chart(const Report& r) {
  Plot p;
  p.end_ms = r.end_ms;
  const double lane = 26;
  double height = p.top + lane * static_cast<double>(std::max<size_t>(r.subscriptions.size(), 1)) + 24;
  double bottom = height - 24;
  std::string out = fmt::format(
      R"(<svg id="attempts" xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="attempts per subscription over time, by outcome">)",
      p.width, height);
  out += time_axis(p, p.top, bottom);
  for (size_t i = 0; i < r.subscriptions.size(); ++i) {
    const SubscriptionReport& s = r.subscriptions[i];
    double y0 = p.top + lane * static_cast<double>(i);
    out += fmt::format(R"(<g class="lane" data-sub="{}">)", util::escape_html(s.id));
    out +=
        fmt::format(R"(<text class="lane-label" x="{:.1f}" y="{:.1f}" text-anchor="end" fill="{}">{}</text>)",
                    p.left - 8, y0 + 17, sub_color(i), util::escape_html(s.id));
    out += fmt::format(R"(<line class="lane-rule" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)", p.left,
                       y0 + lane, p.width - p.right, y0 + lane);
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      // Runs of consecutive buckets with attempts of this outcome become one mark.
      double row_y = o == 0 ? y0 + 3 : y0 + 13;
      double row_h = o == 0 ? 8 : 10;
      for (size_t b = 0; b < s.buckets.size(); ++b) {
        if (s.buckets[b].attempts[o] == 0) continue;
        size_t e = b;
        uint64_t n = 0;
        while (e < s.buckets.size() && s.buckets[e].attempts[o] > 0) n += s.buckets[e++].attempts[o];
        int64_t from = static_cast<int64_t>(b) * r.bucket_ms, to = static_cast<int64_t>(e) * r.bucket_ms;
        double x0 = p.x(from), x1 = std::max(p.x(to), x0 + 1.5);
        out += fmt::format(
            R"(<rect class="mark o-{}" data-n="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.0f}" fill="{}"><title>{}: {} {} attempt{} from {} to {}</title></rect>)",
            outcome_name(o), n, x0, row_y, x1 - x0, row_h, kOutcomeColors[o], util::escape_html(s.id), n,
            outcome_name(o), n == 1 ? "" : "s", when(from), when(std::min(to, r.end_ms)));
        b = e;  // bucket e has none (or is past the end): the loop's ++b steps over it
      }
    }
    for (const ReportMarker& m : r.markers) {
      if (m.sub != s.id) continue;
      double x = p.x(m.t_ms);
      out += fmt::format(
          R"(<path class="lane-marker {}" data-t-ms="{}" d="M{:.1f},{:.1f}l-5,-6h10z"><title>{} {} at {}</title></path>)",
          to_string(m.kind), m.t_ms, x, y0 + lane - 1, util::escape_html(s.id), to_string(m.kind),
          when(m.t_ms));
    }
    out += "</g>";
  }
  out += marker_lines(r, p, p.top, bottom, /*restarts_only=*/true);
  out += "</svg>";
  return out;
}

constexpr char kStyle[] = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 6px}
.meta{color:#555;margin:0 0 12px}
svg{display:block;background:#fafafa;border:1px solid #ddd}
.grid{stroke:#e3e3e3;stroke-width:1} .lane-rule{stroke:#e3e3e3}
.tick{font-size:11px;fill:#666} .lane-label{font-size:12px} .note{font-size:13px;fill:#888}
.marker{stroke-width:1.5;stroke-dasharray:4 3} .marker.deactivated{stroke:#d62728}
.marker.reactivated{stroke:#2e9d4f} .marker.restart{stroke:#555}
.lane-marker.deactivated{fill:#d62728} .lane-marker.reactivated{fill:#2e9d4f}
.legend span{display:inline-block;margin-right:14px} .legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;margin-top:6px;font-size:13px} th,td{padding:3px 8px;white-space:nowrap;border-bottom:1px solid #e3e3e3;text-align:right}
th:first-child,td:first-child{text-align:left}
)";

}  // namespace

std::string_view report_style() {
  return kStyle;
}

std::string render_backlog_chart(const Report& r, std::string_view svg_id) {
  std::string out = "<p class=\"legend\">";
  for (size_t i = 0; i < r.subscriptions.size(); ++i)
    out += fmt::format(R"(<span><i style="background:{}"></i>{}</span>)", sub_color(i),
                       util::escape_html(r.subscriptions[i].id));
  out +=
      "<span>dashed: <b style=\"color:#d62728\">deactivated</b>, <b style=\"color:#2e9d4f\">reactivated</b>, "
      "<b style=\"color:#555\">restart</b></span></p>\n";
  return out + backlog_chart(r, svg_id) + "\n";
}

std::string render_html(const Report& r, const std::string& title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += fmt::format("<title>{}</title><style>{}</style></head><body>\n", util::escape_html(title), kStyle);
  out += fmt::format("<h1>{}</h1>\n", util::escape_html(title));
  std::string meta;
  if (r.run) {
    meta =
        fmt::format("{} {} &middot; seed {} &middot; start {} &middot; ", util::escape_html(r.run->command),
                    util::escape_html(r.run->scenario), r.run->seed, format_utc(r.run->start));
  }
  Totals t = totals(r);
  meta += fmt::format(
      "{} shown &middot; {} &middot; {} published &middot; {} ({} failed) &middot; {} delivered &middot; {} "
      "discarded &middot; {} queued &middot; {} dropped while deactivated &middot; one chart column = {}",
      format_duration(Duration(r.end_ms)), util::counted("subscription", r.subscriptions.size()),
      util::counted("event", r.events_published), util::counted("attempt", t.attempts), t.failed, t.delivered,
      t.discarded, t.queued, t.dropped, format_duration(Duration(r.bucket_ms)));
  out += fmt::format("<p class=\"meta\">{}</p>\n", meta);
  if (r.has_publish_records)
    out += fmt::format("<p class=\"meta\" id=\"accounting\">{}</p>\n", accounting_line(r, t));

  out += "<h2>Backlog per subscription</h2>\n" + render_backlog_chart(r, "backlog");

  out += "<h2>Attempts by outcome</h2>\n<p class=\"legend\">";
  for (size_t o = 0; o < kOutcomeCount; ++o)
    out += fmt::format(R"(<span><i style="background:{}"></i>{}</span>)", kOutcomeColors[o], outcome_name(o));
  out += "</p>\n" + attempts_chart(r) + "\n";

  out +=
      "<h2>Delivery lag (publish to delivery) and totals</h2>\n<table id=\"subscriptions\"><tr>"
      "<th>subscription</th><th>published</th><th>delivered</th><th>queued</th><th>discarded</th>"
      "<th>dropped while deactivated</th><th>attempts</th><th>failed</th><th>max backlog</th><th>lag p50</th>"
      "<th>p90</th><th>p99</th><th>max</th><th>oldest queued</th><th>oldest discarded</th>"
      "<th>deactivations</th><th>reactivations</th></tr>\n";
  for (const auto& s : r.subscriptions) {
    const bool known = r.has_publish_records;
    out += fmt::format(
        "<tr data-sub=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        util::escape_html(s.id), util::escape_html(s.id), s.published, s.delivered,
        known ? std::to_string(s.backlog) : "-", s.discarded, s.dropped_inactive, s.attempts,
        s.failed_attempts, known ? std::to_string(s.max_backlog) : "-", lag_text(s.lag, 0.5),
        lag_text(s.lag, 0.9), lag_text(s.lag, 0.99), lag_text(s.lag, 1.0), age_text(s.oldest_queued_ms),
        age_text(s.oldest_discarded_ms), s.deactivations, s.reactivations);
  }
  out += fmt::format("</table>\n<p class=\"note\">{}.</p>\n", kLagNote);

  out += "<h2>Deactivations, reactivations, restarts</h2>\n";
  if (r.markers.empty()) {
    out += "<p>None.</p>\n";
  } else {
    out +=
        "<table id=\"lifecycle\">"
        "<tr><th>when</th><th>what</th><th>subscription</th><th>discarded</th></tr>\n";
    constexpr size_t kMaxRows = 500;
    for (size_t i = 0; i < r.markers.size() && i < kMaxRows; ++i) {
      const ReportMarker& m = r.markers[i];
      out += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         to_string(m.kind), when(m.t_ms), to_string(m.kind), util::escape_html(m.sub),
                         m.kind == ReportMarker::Kind::kDeactivated ? std::to_string(m.discarded) : "");
    }
    out += "</table>\n";
    if (r.markers.size() > kMaxRows)
      out += fmt::format("<p>... and {} more.</p>\n", r.markers.size() - kMaxRows);
  }
  out += "</body></html>\n";
  return out;
}

std::string render_text(const Report& r) {
  std::string out;
  Totals t = totals(r);
  if (r.run)
    out += fmt::format("run: {} {} (seed {}), {} from {}\n", r.run->command, r.run->scenario, r.run->seed,
                       format_duration(r.run->duration), format_utc(r.run->start));
  out += totals_line(r, t) + "\n";
  if (r.has_publish_records)
    out += accounting_line(r, t) + "\n";
  else
    out += "the log has no publish records: backlog and lag are not known\n";
  size_t w = 12;
  for (const auto& s : r.subscriptions) w = std::max(w, s.id.size());
  constexpr std::string_view kRow =
      "{:<{}}  {:>9} {:>9} {:>6} {:>9} {:>7}  {:>8} {:>6} {:>11}  {:>10} {:>10} {:>10} {:>10}  {:>13} {:>16} "
      " {}\n";
  out += fmt::format(kRow, "subscription", w, "published", "delivered", "queued", "discarded", "dropped",
                     "attempts", "failed", "max backlog", "lag p50", "p90", "p99", "max", "oldest queued",
                     "oldest discarded", "deactivations");
  for (const auto& s : r.subscriptions) {
    const bool known = r.has_publish_records;
    out += fmt::format(kRow, s.id, w, s.published, s.delivered, known ? std::to_string(s.backlog) : "-",
                       s.discarded, s.dropped_inactive, s.attempts, s.failed_attempts,
                       known ? std::to_string(s.max_backlog) : "-", lag_text(s.lag, 0.5),
                       lag_text(s.lag, 0.9), lag_text(s.lag, 0.99), lag_text(s.lag, 1.0),
                       age_text(s.oldest_queued_ms), age_text(s.oldest_discarded_ms), s.deactivations);
  }
  out += std::string(kLagNote) + "; dropped: published while deactivated\n";
  for (const ReportMarker& m : r.markers) {
    out += fmt::format(
        "{}  {}{}{}\n", when(m.t_ms), to_string(m.kind), m.sub.empty() ? "" : " " + m.sub,
        m.kind == ReportMarker::Kind::kDeactivated ? fmt::format(" ({} discarded)", m.discarded) : "");
  }
  return out;
}

}  // namespace hooksim::sim
