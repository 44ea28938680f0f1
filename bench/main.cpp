// hooksim_bench: the micro suites (policy and state machine, virtual scheduler, storage, signing).
//
// Google Benchmark's usual flags apply (--benchmark_filter, --benchmark_min_time, --benchmark_out, ...).
// With the default console output, a summary follows the table: the ratios the targets are stated
// in (store vs raw RocksDB enqueue, simulated attempts per second, wall time per simulated week, ack cost
// as the queue head advances), each read from runs of this same invocation.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "bench/bench_util.h"

namespace {

struct Measured {
  double seconds_per_iteration = 0;  // real time
  double items_per_second = 0;
  std::map<std::string, double> counters;
};

// The console reporter, remembering each run for the summary.
class SummaryReporter final : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      Measured m;
      m.seconds_per_iteration = r.real_accumulated_time / static_cast<double>(r.iterations);
      for (const auto& [name, counter] : r.counters) m.counters[name] = counter.value;
      m.items_per_second = m.counters["items_per_second"];
      results_[r.benchmark_name()].push_back(m);  // one per repetition
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    auto& out = GetOutputStream();
    std::string text;
    auto line = [&](const std::string& s) { text += s + "\n"; };

    line("\nSummary (targets from issue 6)");
    for (int n : {1, 100, 1000}) {
      const Measured* paired = find(fmt::format("storage/durable_enqueue/paired/batch:{}", n));
      if (paired == nullptr || !paired->counters.count("store_vs_raw")) continue;
      const auto& c = paired->counters;
      double ratio = c.at("store_vs_raw");
      line(
          fmt::format("  durable enqueue, batch {:>4} (paired): store {:>9.0f}/s  raw RocksDB {:>9.0f}/s  "
                      "store/raw {:.2f} "
                      "(target >= 0.70: {}); engine publish {:.0f}/s, publish/raw {:.2f}",
                      n, c.at("store_per_s"), c.at("raw_per_s"), ratio, ratio >= 0.7 ? "met" : "MISSED",
                      c.at("publish_per_s"), c.at("publish_vs_raw")));
    }
    if (const Measured* m = find("engine/healthy_week"))
      line(fmt::format(
          "  simulated attempts/s, healthy week (publish + deliver): {:.0f}/s (target >= 1,000,000/s: {}); "
          "one week = {:.1f} ms",
          m->items_per_second, m->items_per_second >= 1e6 ? "met" : "MISSED",
          m->seconds_per_iteration * 1e3));
    if (const Measured* m = find("engine/failing_week")) {
      line(
          fmt::format("  simulated attempts/s, failing week: {:.0f}/s (target >= 1,000,000/s: {}); "
                      "wall time per simulated week {:.3f} ms (store open excluded)",
                      m->items_per_second, m->items_per_second >= 1e6 ? "met" : "MISSED",
                      m->seconds_per_iteration * 1e3));
      double run_rate =
          m->counters.count("run_only_attempts_per_s") ? m->counters.at("run_only_attempts_per_s") : 0;
      line(fmt::format(
          "    of which the scheduler run (16 attempts + deactivation): {:.1f} us = {:.0f} attempts/s ({})",
          m->counters.count("run_only_us") ? m->counters.at("run_only_us") : 0.0, run_rate,
          run_rate >= 1e6 ? "met" : "MISSED"));
    }
    for (const char* name : {"engine/healthy_week_mem_store", "engine/failing_week_mem_store"})
      if (const Measured* m = find(name))
        line(fmt::format("  {} (no RocksDB): {:.0f} attempts/s", name, m->items_per_second));
    if (const Measured* m = find("engine/failing_week_with_store_open"))
      line(fmt::format("  failing week including store create/open/close/remove: {:.1f} ms (under 1 s: {})",
                       m->seconds_per_iteration * 1e3, m->seconds_per_iteration < 1.0 ? "yes" : "NO"));
    for (const char* family : {"storage/ack_1M_queue", "storage/ack_read_next_1M_queue"}) {
      const Measured* first = find(fmt::format("{}/phase:0", family));
      const Measured* last = find(fmt::format("{}/phase:9", family));
      if (first && last)
        line(fmt::format("  {}: {:.2f} us/ack at head 1..100k, {:.2f} us/ack at head 900k..1M (x{:.2f})",
                         family, first->seconds_per_iteration * 1e6, last->seconds_per_iteration * 1e6,
                         last->seconds_per_iteration / first->seconds_per_iteration));
    }
    if (const std::vector<Measured>* runs = find_all("storage/restart_100k_subs_1M_queued")) {
      std::string times;
      double worst = 0;
      for (const Measured& m : *runs) {
        times += fmt::format("{}{:.2f} s", times.empty() ? "" : ", ", m.seconds_per_iteration);
        worst = std::max(worst, m.seconds_per_iteration);
      }
      line(fmt::format("  restart to first delivery, 100k subscriptions x 10 queued: {} (target < 2 s: {})",
                       times, worst < 2.0 ? "met" : "MISSED"));
    }
    if (text.find('\n', text.find("Summary")) + 1 < text.size())
      out << text << std::flush;  // not just the header
  }

 private:
  const Measured* find(const std::string& prefix) const {
    // Names carry suffixes such as "/real_time"; match the start.
    const std::vector<Measured>* all = find_all(prefix);
    return all ? &all->back() : nullptr;  // with repetitions: the last one
  }
  const std::vector<Measured>* find_all(const std::string& prefix) const {
    for (const auto& [name, runs] : results_)
      if (name == prefix || name.rfind(prefix + "/", 0) == 0) return &runs;
    return nullptr;
  }
  std::map<std::string, std::vector<Measured>> results_;
};

bool wants_other_format(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--benchmark_format=", 19) == 0 && std::strcmp(a + 19, "console") != 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  bool other_format = wants_other_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (other_format) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    SummaryReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color
                                                   : benchmark::ConsoleReporter::OO_None);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  hooksim::bench::run_teardowns();
  benchmark::Shutdown();
  return 0;
}
