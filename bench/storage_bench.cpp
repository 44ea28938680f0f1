// Suite 3: storage, on this machine's disk (the system temporary directory).
//
// Durable enqueue, same run, same value size, same batch size, same fsync setting:
//   storage/durable_enqueue/store/batch:N        RocksQueueStore (StoreOptions{.sync = true}): new_batch,
//                                                enqueue x N, write(kSynced)
//   storage/durable_enqueue/raw_rocksdb/batch:N  rocksdb::WriteBatch with N Puts of the same key and value
//                                                sizes, DB::Write with WriteOptions{.sync = true}
//   storage/durable_enqueue/engine_publish/batch:N  Engine::publish of N events to one subscription
//                                                (envelope, queue entries and state in one synced batch)
//   storage/durable_enqueue/paired/batch:N       the three above interleaved batch by batch, each timed:
//                                                the ratios store / raw and publish / raw as counters
// The summary at the end of the run prints the ratios per batch size, from the paired runs.
//
// Ack under a long-lived queue: one subscription with 1M queued events; each phase acknowledges the next
// 100k heads in order, as the engine does after a 2xx (SingleDelete of the head + put_state, kBuffered):
//   storage/ack_1M_queue/phase:K                 acks K*100k .. K*100k + 99,999
//   storage/ack_read_next_1M_queue/phase:K       the same plus read_event() of the new head (what the
//                                                engine does before the next attempt)
// A cost that grows with K is the price of the tombstones left behind the head.
//
// Restart: storage/restart_100k_subs_1M_queued: reopen a store with 100k subscriptions x 10 queued events,
// Engine::open() (loads every subscription and starts its head attempt) and run the first delivery; three
// repetitions of one restart each.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "bench/bench_util.h"
#include "storage/record_codec.h"

namespace hooksim::bench {
namespace {

const std::string kEventId = "evt_0000000000000001";

const std::string& body() {
  static const std::string b = protocol::make_envelope(tracking_event(1, kStart));
  return b;
}

// --- durable enqueue ---------------------------------------------------------------------------------

// Each writer owns its database in a temporary directory and writes one synced batch of `batch_size`
// queue entries per call.

// Through the engine's store: new_batch, enqueue x N, write(kSynced), StoreOptions{.sync = true}.
class StoreWriter {
 public:
  explicit StoreWriter(size_t batch_size) : batch_size_(batch_size), store_(open_store(dir_.path(), true)) {}
  Status write_batch() {
    auto batch = store_->new_batch();
    for (size_t i = 0; i < batch_size_; ++i) batch->enqueue(1, seq_++, kStart, kEventId, body());
    return store_->write(*batch, Durability::kSynced);
  }

 private:
  size_t batch_size_;
  TempDir dir_{"enqueue-store"};
  std::unique_ptr<storage::RocksQueueStore> store_;
  uint64_t seq_ = 1;
};

// Raw RocksDB: a WriteBatch of N Puts with the store's key (16 bytes: key | seq, big-endian) and value size,
// DB::Write with sync = true; the same DB options as RocksQueueStore::open except the column families.
class RawWriter {
 public:
  explicit RawWriter(size_t batch_size)
      : batch_size_(batch_size), value_(storage::encode_queued_event(kEventId, kStart, body())) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.IncreaseParallelism(2);
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir_.path() + "/raw", &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "hooksim_bench: %s\n", s.ToString().c_str());
      std::abort();
    }
    db_.reset(raw);
    options_.sync = true;
  }
  ~RawWriter() { db_->Close().PermitUncheckedError(); }
  Status write_batch() {
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < batch_size_; ++i) {
      char key[16];
      uint64_t k = 1, q = seq_++;
      for (int b = 0; b < 8; ++b) {
        key[7 - b] = static_cast<char>(k >> (8 * b));
        key[15 - b] = static_cast<char>(q >> (8 * b));
      }
      batch.Put(rocksdb::Slice(key, sizeof key), value_).PermitUncheckedError();
    }
    rocksdb::Status s = db_->Write(options_, &batch);
    return s.ok() ? Status::OK() : Status::IOError(s.ToString());
  }
  size_t value_size() const { return value_.size(); }

 private:
  size_t batch_size_;
  std::string value_;
  TempDir dir_{"enqueue-raw"};
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions options_;
  uint64_t seq_ = 1;
};

// Engine::publish of N events to one subscription (envelopes, queue entries and the state in one synced
// batch). The scheduler is never run: the first publish starts an attempt that never completes, so every
// later publish only queues and this measures publishing alone.
class PublishWriter {
 public:
  explicit PublishWriter(size_t batch_size) : world_(StoreKind::kRocks, /*sync=*/true) {
    world_.add_subscription("acme", 200);
    for (size_t i = 0; i < batch_size; ++i) events_.push_back(tracking_event(i + 1, kStart));
  }
  Status write_batch() { return world_.engine->publish(events_); }

 private:
  SimWorld world_;
  std::vector<Event> events_;
};

template <class Writer>
void BM_Enqueue(benchmark::State& state) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  Writer writer(batch_size);
  for (auto _ : state) {
    Status st = writer.write_batch();
    if (!st.ok()) {
      state.SkipWithError(st.message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
}

// The three writers on the same disk at the same moments: each iteration writes one batch with each, in a
// rotating order, and times each write. The counters are entries per second of each writer and the ratios
// store / raw and publish / raw; disk weather (other processes' fsyncs) hits all three alike, which separate
// runs cannot promise. Iteration time is the sum of the three writes.
void BM_EnqueuePaired(benchmark::State& state) {
  const size_t batch_size = static_cast<size_t>(state.range(0));
  StoreWriter store(batch_size);
  RawWriter raw(batch_size);
  PublishWriter publish(batch_size);
  double seconds[3] = {0, 0, 0};
  uint64_t round = 0;
  for (auto _ : state) {
    for (int k = 0; k < 3; ++k) {
      int which = static_cast<int>((round + k) % 3);
      auto t0 = std::chrono::steady_clock::now();
      Status st = which == 0 ? store.write_batch() : which == 1 ? raw.write_batch() : publish.write_batch();
      seconds[which] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!st.ok()) state.SkipWithError(st.message().c_str());
    }
    ++round;
  }
  double entries = static_cast<double>(state.iterations()) * static_cast<double>(batch_size);
  if (entries == 0) return;
  state.counters["store_per_s"] = entries / seconds[0];
  state.counters["raw_per_s"] = entries / seconds[1];
  state.counters["publish_per_s"] = entries / seconds[2];
  state.counters["store_vs_raw"] = seconds[1] / seconds[0];
  state.counters["publish_vs_raw"] = seconds[1] / seconds[2];
  state.counters["value_bytes"] = static_cast<double>(raw.value_size());
}

[[maybe_unused]] const bool kEnqueueRegistered = [] {
  using Fn = void (*)(benchmark::State&);
  const std::pair<const char*, Fn> variants[] = {
      {"storage/durable_enqueue/store", BM_Enqueue<StoreWriter>},
      {"storage/durable_enqueue/raw_rocksdb", BM_Enqueue<RawWriter>},
      {"storage/durable_enqueue/engine_publish", BM_Enqueue<PublishWriter>},
      {"storage/durable_enqueue/paired", BM_EnqueuePaired},
  };
  for (int64_t n : {1, 100, 1000}) {
    for (const auto& [name, fn] : variants)
      benchmark::RegisterBenchmark(name, fn)->ArgName("batch")->Arg(n)->UseRealTime()->Unit(
          benchmark::kMicrosecond);
  }
  return true;
}();

// --- ack under a long-lived queue --------------------------------------------------------------------

constexpr uint64_t kQueueLength = 1'000'000;
constexpr uint64_t kPhase = 100'000;

// One subscription (key 1) whose queue holds 1M events, acknowledged head first across phases.
struct LongQueue {
  TempDir dir{"ack"};
  std::unique_ptr<storage::RocksQueueStore> store;
  DeliveryState st;

  LongQueue() {
    store = open_store(dir.path(), /*sync=*/true);
    // Filled in buffered batches of 1000 (the fill is not what is measured).
    for (uint64_t seq = 1; seq <= kQueueLength;) {
      auto batch = store->new_batch();
      for (int i = 0; i < 1000 && seq <= kQueueLength; ++i)
        batch->enqueue(1, seq++, kStart, kEventId, body());
      if (!store->write(*batch, Durability::kBuffered).ok()) std::abort();
    }
    st.next_seq = kQueueLength + 1;
    auto batch = store->new_batch();
    batch->put_state(1, st);
    if (!store->write(*batch, Durability::kSynced).ok()) std::abort();
  }

  // Acknowledges the head as Engine::on_delivered does.
  Status ack() {
    uint64_t seq = st.head_seq;
    ++st.head_seq;
    ++st.delivered;
    ++st.attempts;
    st.last_attempt = kStart;
    st.last_status = 200;
    auto batch = store->new_batch();
    batch->remove(1, seq);
    batch->put_state(1, st);
    return store->write(*batch, Durability::kBuffered);
  }
};

template <bool kReadNext>
void BM_Ack(benchmark::State& state) {
  static LongQueue* q = [] {
    auto* p = new LongQueue();
    at_teardown([p] { delete p; });
    return p;
  }();
  // Catch up (untimed) when phases were filtered out or a run stopped early.
  const uint64_t first = 1 + static_cast<uint64_t>(state.range(0)) * kPhase;
  while (q->st.head_seq < first) {
    if (!q->ack().ok()) std::abort();
  }
  for (auto _ : state) {
    Status st = q->ack();
    if (st.ok() && kReadNext && q->st.head_seq <= kQueueLength) {
      auto next = q->store->read_event(1, q->st.head_seq);
      st = next.status();
      benchmark::DoNotOptimize(next);
    }
    if (!st.ok()) {
      state.SkipWithError(st.message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["head_from"] = static_cast<double>(first);
}

[[maybe_unused]] const bool kAckRegistered = [] {
  auto* ack = benchmark::RegisterBenchmark("storage/ack_1M_queue", BM_Ack<false>);
  auto* ack_read = benchmark::RegisterBenchmark("storage/ack_read_next_1M_queue", BM_Ack<true>);
  for (auto* b : {ack, ack_read}) {
    b->ArgName("phase")->DenseRange(0, kQueueLength / kPhase - 1)->Iterations(kPhase)->UseRealTime();
    b->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

// --- restart -----------------------------------------------------------------------------------------

constexpr uint64_t kRestartSubs = 100'000;
constexpr uint64_t kEventsPerSub = 10;

// A store directory holding 100k subscriptions with 10 queued events each, written once.
struct BigStore {
  TempDir dir{"restart"};
  BigStore() {
    auto store = open_store(dir.path(), /*sync=*/true);
    const std::string value_body = body();
    for (uint64_t key = 1; key <= kRestartSubs;) {
      auto batch = store->new_batch();
      for (int n = 0; n < 100 && key <= kRestartSubs; ++n, ++key) {
        SubscriptionConfig c;
        c.id = fmt::format("sub-{:06}", key);
        DeliveryState st;
        st.next_seq = kEventsPerSub + 1;
        batch->put_config(key, c);
        batch->put_state(key, st);
        for (uint64_t seq = 1; seq <= kEventsPerSub; ++seq)
          batch->enqueue(key, seq, kStart, kEventId, value_body);
      }
      if (!store->write(*batch, Durability::kBuffered).ok()) std::abort();
    }
  }
};

void BM_Restart(benchmark::State& state) {
  static BigStore* big = [] {
    auto* p = new BigStore();
    at_teardown([p] { delete p; });
    return p;
  }();
  for (auto _ : state) {
    VirtualScheduler scheduler(kStart);
    sim::SimTransport transport(scheduler, kStart, 1);
    CountingObserver observer;
    auto store = open_store(big->dir.path(), /*sync=*/true);
    auto engine = std::make_unique<Engine>(scheduler, *store, transport, &observer,
                                           EngineOptions{.envelope = protocol::make_envelope});
    Status st = engine->open();
    scheduler.run_next();  // the first delivery completes
    bool ok = st.ok() && observer.delivered == 1 && engine->subscription_ids().size() == kRestartSubs;
    state.PauseTiming();
    state.counters["attempts_started"] = static_cast<double>(scheduler.pending() + observer.attempts);
    engine.reset();  // as a crash would: nothing is written
    store.reset();
    state.ResumeTiming();
    if (!ok) {
      state.SkipWithError("restart did not load 100k subscriptions and deliver");
      break;
    }
  }
}
// One restart per repetition: the first replays the WAL left by the fill (up to a memtable's worth, as after
// a crash of a busy service); the later ones find an almost empty WAL.
BENCHMARK(BM_Restart)
    ->Name("storage/restart_100k_subs_1M_queued")
    ->Iterations(1)
    ->Repetitions(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hooksim::bench
