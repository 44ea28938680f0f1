// The engine test fixture: the real Engine over the real RocksDB store, a VirtualScheduler and simulated
// receivers, with a Recorder of everything the engine reports. Shared by the engine's test files.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/engine.h"
#include "protocol/envelope.h"
#include "sim/sim_transport.h"
#include "storage/rocks_store.h"

namespace hooksim::testing_engine {

using namespace std::chrono_literals;
using std::chrono::days;

const TimePoint kStart = TimePoint(days(20454));  // 2026-01-01

// Records everything the engine reports.
struct Recorder : DeliveryObserver {
  struct Attempt {
    std::string sub, event;
    uint64_t seq;
    uint32_t attempt;
    bool probe;
    Duration t;  // start, relative to kStart
    bool delivered;
    ErrorClass error;
    int status = 0;
    bool exhausted = false;
    std::optional<Duration> next;  // next_attempt, relative to kStart
  };
  struct Lifecycle {
    LifecycleRecord::Kind kind;
    std::string sub;
    Duration t;
    uint64_t discarded;
  };
  void on_attempt(const AttemptRecord& r) override {
    attempts.push_back({std::string(r.sub), std::string(r.event_id), r.seq, r.attempt, r.probe,
                        r.started - kStart, r.delivered(), r.error, r.status, r.exhausted,
                        r.next_attempt ? std::optional<Duration>(*r.next_attempt - kStart) : std::nullopt});
  }
  void on_lifecycle(const LifecycleRecord& r) override {
    lifecycle.push_back({r.kind, std::string(r.sub), r.at - kStart, r.discarded});
  }
  void on_error(std::string_view sub, const Status& st) override {
    ADD_FAILURE() << "engine reported a store error for " << sub << ": " << st.message();
  }

  std::vector<Duration> times(const std::string& sub) const {
    std::vector<Duration> out;
    for (const auto& a : attempts)
      if (a.sub == sub) out.push_back(a.t);
    return out;
  }
  std::vector<uint64_t> delivered_seqs(const std::string& sub) const {
    std::vector<uint64_t> out;
    for (const auto& a : attempts)
      if (a.sub == sub && a.delivered) out.push_back(a.seq);
    return out;
  }
  std::vector<Attempt> attempts;
  std::vector<Lifecycle> lifecycle;
};

// One engine over a store in a fresh directory, with simulated receivers, in virtual time.
class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : transport_(scheduler_, kStart, /*seed=*/1) {
    dir_ = std::filesystem::temp_directory_path() /
           ("hooksim-engine-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open();
  }
  ~EngineTest() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open() {
    auto store = storage::RocksQueueStore::open(dir_.string(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(scheduler_, *store_, transport_, &rec_, options_);
    Status st = engine_->open();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  // A crash and recovery: the engine vanishes with its timers and attempts in flight; the store reopens.
  void restart() {
    engine_.reset();
    store_.reset();
    open();
  }

  void add(const std::string& id, protocol::ReceiverBehaviour receiver,
           RetryPolicy policy = RetryPolicy::frotcom(), Filter filter = {}) {
    SubscriptionConfig c;
    c.id = id;
    c.filter = std::move(filter);
    c.policy = std::move(policy);
    ASSERT_TRUE(engine_->add_subscription(c).ok());
    transport_.set_receiver(id, std::move(receiver));
  }

  void publish(const std::string& id, const std::string& type = "tracking", const std::string& account = "a1",
               const std::string& vehicle = "v1") {
    Event e{id, type, account, vehicle, scheduler_.now(), "{}"};
    Status st = engine_->publish({&e, 1});
    ASSERT_TRUE(st.ok()) << st.message();
  }
  // Publishes `n` events ev1..evn, one every `every`, starting now, running the scheduler in between.
  void publish_series(int n, Duration every, int first = 1) {
    for (int i = first; i < first + n; ++i) {
      publish("ev" + std::to_string(i));
      scheduler_.run_until(scheduler_.now() + every);
    }
  }
  void run_until(Duration t) { scheduler_.run_until(kStart + t); }
  const DeliveryState& state(const std::string& id) { return engine_->find(id)->state; }

  static protocol::ReceiverBehaviour always(int status, Duration latency = 0ms) {
    protocol::ReceiverBehaviour m;
    m.status = status;
    m.latency = latency;
    return m;
  }
  static protocol::ReceiverBehaviour outage(Duration from, Duration until, int status = 503,
                                            Duration latency = 0ms) {
    protocol::ReceiverBehaviour m = always(200, latency);
    m.windows.push_back({from, until, protocol::ReceiverAction::kAnswer, status, ErrorClass::kNone,
                         std::nullopt, std::nullopt});
    return m;
  }

  std::filesystem::path dir_;
  VirtualScheduler scheduler_{kStart};
  sim::SimTransport transport_;
  Recorder rec_;
  std::unique_ptr<storage::RocksQueueStore> store_;
  std::unique_ptr<Engine> engine_;
  EngineOptions options_{.envelope = protocol::make_envelope};
};

}  // namespace hooksim::testing_engine
