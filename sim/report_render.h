// `hooksim report`, second half: a Report (report_series.h) drawn as a self-contained HTML page or as plain
// text. Rendering only: everything shown was computed by the ReportBuilder.
#pragma once

#include <string>
#include <string_view>

#include "sim/report_series.h"

namespace hooksim::sim {

// The self-contained HTML page: inline CSS and SVG, no scripts, no external references.
std::string render_html(const Report& report, const std::string& title);

// The page's stylesheet (the inside of its <style> element), for other pages drawn in the same style
// (`hooksim bench --html`).
std::string_view report_style();

// The backlog chart of the page, with its legend above it: one line per entry of report.subscriptions (in
// their order and colours), the lifecycle markers dashed across, the svg element's id being `svg_id`. For
// other pages that draw backlogs in the same way (`hooksim compare --html` draws one per subscription, a
// line per policy).
std::string render_backlog_chart(const Report& report, std::string_view svg_id);

// The plain-text summary: one line about the run, a table per subscription, the lifecycle changes.
std::string render_text(const Report& report);

}  // namespace hooksim::sim
