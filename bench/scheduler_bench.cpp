// Suite 2: the VirtualScheduler with 1M timers pending.
//
//   scheduler/schedule_fire_1M_pending    schedule one timer at now + U[0, 1 day), then run the earliest
//                                         pending timer: the pending count stays at 1M, virtual time moves on
//   scheduler/schedule_cancel_1M_pending  schedule one timer at now + U[0, 1 day) and cancel it
//
// Each fixture is built once (1M timers take a while to schedule) and kept across runs; the counters report
// the pending count, the process RSS at the end of the run and its growth during the run. Cancellation is
// lazy (the heap entry stays until it reaches the top), so the cancel benchmark's RSS grows with its
// iteration count.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "bench/bench_util.h"

namespace hooksim::bench {
namespace {

constexpr size_t kPending = 1'000'000;
constexpr int64_t kSpanMs = 24 * 3600 * 1000;  // timers fall within a day of now

struct PendingTimers {
  VirtualScheduler scheduler{kStart};
  std::vector<Duration> delays;  // a ring of pre-drawn delays, so the RNG stays out of the loop
  size_t next = 0;
  uint64_t fired = 0;

  PendingTimers() {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> dist(0, kSpanMs - 1);
    delays.resize(1 << 16);
    for (auto& d : delays) d = Duration(dist(rng));
    for (size_t i = 0; i < kPending; ++i) schedule();
  }
  Duration delay() { return delays[next++ & (delays.size() - 1)]; }
  TimerId schedule() {
    return scheduler.schedule_at(scheduler.now() + delay(), [this] { ++fired; });
  }
};

PendingTimers& fire_fixture() {
  static auto* f = new PendingTimers();
  return *f;
}
PendingTimers& cancel_fixture() {
  static auto* f = new PendingTimers();
  return *f;
}

void BM_ScheduleFire(benchmark::State& state) {
  PendingTimers& f = fire_fixture();
  double rss_before = rss_mib();
  for (auto _ : state) {
    f.schedule();
    f.scheduler.run_next();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["pending"] = static_cast<double>(f.scheduler.pending());
  state.counters["rss_MiB"] = rss_mib();
  state.counters["rss_growth_MiB"] = rss_mib() - rss_before;
}
BENCHMARK(BM_ScheduleFire)->Name("scheduler/schedule_fire_1M_pending");

void BM_ScheduleCancel(benchmark::State& state) {
  PendingTimers& f = cancel_fixture();
  double rss_before = rss_mib();
  for (auto _ : state) {
    TimerId id = f.schedule();
    f.scheduler.cancel(id);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["pending"] = static_cast<double>(f.scheduler.pending());
  state.counters["rss_MiB"] = rss_mib();
  state.counters["rss_growth_MiB"] = rss_mib() - rss_before;
}
BENCHMARK(BM_ScheduleCancel)->Name("scheduler/schedule_cancel_1M_pending");

}  // namespace
}  // namespace hooksim::bench
