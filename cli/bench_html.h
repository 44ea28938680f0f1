// `hooksim bench --html FILE`: a bench's result as a self-contained page (inline CSS and SVG, no scripts, no
// external references) in the run report's style: the deliveries of each second, the response-time
// quantiles, the balance and the failures.
#pragma once

#include <string>

#include "cli/bench_run.h"

namespace hooksim::cli {

// The page for `r`, headed by `title` (escaped).
std::string render_bench_html(const BenchResult& r, const std::string& title);

}  // namespace hooksim::cli
