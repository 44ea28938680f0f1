// `hooksim compare`, drawn: a Comparison (compare.h) as a side-by-side text table per subscription, or as a
// self-contained HTML page with the same tables and, per subscription, the backlog of every policy overlaid
// (the run report's chart, report_render.h). Rendering only: every figure was computed by compare_policies.
#pragma once

#include <string>

#include "sim/compare.h"

namespace hooksim::sim {

// One line about the scenario and the policies, then per subscription a table: a row per metric, a column
// per policy (in the order given), "—" where a time does not exist; a closing note defines the times.
std::string render_compare_text(const Comparison& comparison);

// The self-contained HTML page (inline CSS and SVG, no scripts, no external references): the policies with
// their JSON, then per subscription its table (<table class="compare" data-sub=ID>) and its backlog chart
// (<svg id="backlog-ID">, one <path class="backlog" data-sub=POLICY> per policy).
std::string render_compare_html(const Comparison& comparison, const std::string& title);

}  // namespace hooksim::sim
