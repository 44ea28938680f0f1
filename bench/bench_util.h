// Helpers shared by the hooksim_bench suites: temporary store directories, a realistic event, the
// simulated-world wiring, memory readings, and the end-of-run summary hooks.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/clock.h"
#include "engine/delivery_observer.h"
#include "engine/engine.h"
#include "protocol/envelope.h"
#include "sim/sim_transport.h"
#include "storage/rocks_store.h"

namespace hooksim::bench {

// Virtual time of t = 0 in every simulated benchmark: 2026-01-01T00:00:00Z.
inline const TimePoint kStart = TimePoint(std::chrono::days(20454));

// A fresh directory under the system temporary directory, removed (with everything in it) on destruction.
// Aborts the process when it cannot be created: a benchmark without its store has nothing to measure.
class TempDir {
 public:
  explicit TempDir(const char* tag = "bench");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Opens a RocksQueueStore in `dir`; aborts with a message on error.
std::unique_ptr<storage::RocksQueueStore> open_store(const std::string& dir, bool sync);

// A tracking event whose JSON envelope (make_envelope) is about 300 bytes, like the platform's.
Event tracking_event(uint64_t n, TimePoint occurred_at);

// Counts what the engine reports; a store error is fatal for the benchmark that sees it.
struct CountingObserver final : DeliveryObserver {
  uint64_t attempts = 0;
  uint64_t delivered = 0;
  uint64_t deactivations = 0;
  uint64_t errors = 0;
  void on_attempt(const AttemptRecord& r) override {
    ++attempts;
    if (r.delivered()) ++delivered;
  }
  void on_lifecycle(const LifecycleRecord& r) override {
    if (r.kind == LifecycleRecord::Kind::kDeactivated) ++deactivations;
  }
  void on_error(std::string_view, const Status&) override { ++errors; }
};

enum class StoreKind {
  kRocks,   // RocksQueueStore in a temporary directory: what `hooksim simulate` runs
  kMemory,  // storage::MemoryQueueStore (what simulate uses): the engine's own cost, without storage
};

// What `hooksim simulate` wires: the real Engine and RocksQueueStore (in a temporary directory, opened with
// sync = false as the simulator does, unless `sync`), a VirtualScheduler and a SimTransport. Members are
// declared so that the engine goes first, then the store, then the transport and the scheduler.
struct SimWorld {
  TempDir dir{"sim"};
  VirtualScheduler scheduler{kStart};
  sim::SimTransport transport{scheduler, kStart, /*seed=*/1};
  std::unique_ptr<QueueStore> store;
  CountingObserver observer;
  std::unique_ptr<Engine> engine;

  // Opens the store and the engine.
  explicit SimWorld(StoreKind kind = StoreKind::kRocks, bool sync = false);
  ~SimWorld();
  // Adds subscription `id` (all events) whose simulated receiver always answers `status` after `latency`.
  void add_subscription(const std::string& id, int status, Duration latency = Duration(0));
};

// Resident set size of this process, in MiB.
double rss_mib();

// Registers a callback run once after all benchmarks (before exit): for fixtures that outlive one run and
// must be torn down while RocksDB's statics are still alive.
void at_teardown(std::function<void()> fn);
void run_teardowns();

}  // namespace hooksim::bench
