// Suite 1: the retry policy and the delivery state machine.
//
//   policy/next_after_failure     one failure decision, walking a whole streak of the frotcom schedule
//   engine/failing_week           one subscription, one event, a receiver that always answers 503: 8 virtual
//                                 days (16 attempts, then deactivation at 7d). Time per iteration = wall
//                                 time per simulated week. Store open/close excluded; the _with_store_open
//                                 variant includes creating, opening, closing and removing the store.
//   engine/healthy_week           one subscription, an event every virtual minute for 7 days (10,080
//                                 publishes and deliveries); items_per_second = deliveries per wall second.
//   engine/*_mem_store            the same weeks on storage::MemoryQueueStore instead of RocksDB:
//                                 what the engine, scheduler and simulated transport cost on their own.
#include <benchmark/benchmark.h>

#include <chrono>

#include "bench/bench_util.h"
#include "engine/retry_policy.h"

namespace hooksim::bench {
namespace {

using namespace std::chrono_literals;

void BM_NextAfterFailure(benchmark::State& state) {
  const RetryPolicy policy = RetryPolicy::frotcom();
  TimePoint streak_start = kStart;
  TimePoint failed_at = kStart;
  uint32_t failures = 0;
  uint64_t streaks = 0;
  for (auto _ : state) {
    ++failures;
    std::optional<TimePoint> next = policy.next_after_failure(failures, streak_start, failed_at);
    benchmark::DoNotOptimize(next);
    if (next) {
      failed_at = *next;
    } else {  // gave up: start the next streak
      failures = 0;
      failed_at = streak_start;
      ++streaks;
    }
  }
  state.counters["decisions_per_streak"] = 16;  // 15 retries scheduled, then "deactivate"
  benchmark::DoNotOptimize(streaks);
}
BENCHMARK(BM_NextAfterFailure)->Name("policy/next_after_failure");

// Runs one simulated week of a permanently failing receiver in `world`; returns false when the engine did
// not do what the documentation says (16 attempts, one deactivation). Adds the wall time spent in the
// scheduler (the attempts and the deactivation, without registering and publishing) to `run_seconds`.
bool failing_week(SimWorld& world, double* run_seconds) {
  world.add_subscription("acme", 503);
  Event e = tracking_event(1, kStart);
  if (!world.engine->publish({&e, 1}).ok()) return false;
  auto t0 = std::chrono::steady_clock::now();
  world.scheduler.run_until(kStart + std::chrono::days(8));
  *run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return world.observer.attempts == 16 && world.observer.deactivations == 1 && world.observer.errors == 0;
}

template <StoreKind kKind>
void BM_FailingWeek(benchmark::State& state) {
  double run_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto world = std::make_unique<SimWorld>(kKind);
    state.ResumeTiming();
    bool ok = failing_week(*world, &run_seconds);
    state.PauseTiming();
    world.reset();
    state.ResumeTiming();
    if (!ok) {
      state.SkipWithError("the engine did not make 16 attempts and deactivate");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);  // items = simulated attempts
  // The same, counting only the scheduler run (16 attempts + deactivation), not registering and publishing.
  double iterations = static_cast<double>(state.iterations());
  state.counters["run_only_us"] = iterations > 0 ? run_seconds / iterations * 1e6 : 0;
  state.counters["run_only_attempts_per_s"] = run_seconds > 0 ? 16 * iterations / run_seconds : 0;
}
BENCHMARK(BM_FailingWeek<StoreKind::kRocks>)
    ->Name("engine/failing_week")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_FailingWeekWithStoreOpen(benchmark::State& state) {
  for (auto _ : state) {
    SimWorld world;
    double run_seconds = 0;
    if (!failing_week(world, &run_seconds)) {
      state.SkipWithError("the engine did not make 16 attempts and deactivate");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_FailingWeekWithStoreOpen)
    ->Name("engine/failing_week_with_store_open")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

constexpr uint64_t kMinutesPerWeek = 7 * 24 * 60;  // 10,080

template <StoreKind kKind>
void BM_HealthyWeek(benchmark::State& state) {
  uint64_t envelope_bytes = protocol::make_envelope(tracking_event(1, kStart)).size();
  for (auto _ : state) {
    state.PauseTiming();
    auto world = std::make_unique<SimWorld>(kKind);
    world->add_subscription("acme", 200);
    uint64_t published = 0;
    bool publish_ok = true;
    std::function<void()> tick = [&] {
      Event e = tracking_event(++published, world->scheduler.now());
      publish_ok &= world->engine->publish({&e, 1}).ok();
      if (published < kMinutesPerWeek) world->scheduler.schedule_at(world->scheduler.now() + 1min, tick);
    };
    world->scheduler.schedule_at(kStart, tick);
    state.ResumeTiming();

    world->scheduler.run_until(kStart + std::chrono::days(7));

    state.PauseTiming();
    bool ok = publish_ok && world->observer.delivered == kMinutesPerWeek &&
              world->observer.attempts == kMinutesPerWeek && world->observer.errors == 0;
    world.reset();
    state.ResumeTiming();
    if (!ok) {
      state.SkipWithError("the healthy week did not deliver 10080 events in 10080 attempts");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kMinutesPerWeek);  // items = deliveries (= attempts)
  state.counters["envelope_bytes"] = static_cast<double>(envelope_bytes);
}
// A fixed count: a week takes ~0.1 s, and a single timed iteration (what a small --benchmark_min_time
// gives) is too noisy to quote.
BENCHMARK(BM_HealthyWeek<StoreKind::kRocks>)
    ->Name("engine/healthy_week")
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_FailingWeek<StoreKind::kMemory>)
    ->Name("engine/failing_week_mem_store")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_HealthyWeek<StoreKind::kMemory>)
    ->Name("engine/healthy_week_mem_store")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace hooksim::bench
