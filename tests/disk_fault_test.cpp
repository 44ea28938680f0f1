// Disk faults: RocksDB's own file writes fail (tests/support/disk_faults.h, a rocksdb::FileSystemWrapper) as
// on a full disk. The store reports the cause, applies nothing of a failed batch, and writes again once the
// disk has room; the engine keeps its memory and the disk in step.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>

#include "engine/clock.h"
#include "engine/engine.h"
#include "protocol/envelope.h"
#include "sim/sim_transport.h"
#include "storage/rocks_store.h"
#include "tests/support/disk_faults.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;

const TimePoint kStart = TimePoint(std::chrono::days(20454));  // 2026-01-01

// Repeats `op` until it succeeds (RocksDB recovers from a full disk by itself, checking for room every 5
// seconds: until then writes keep failing, and each failure must leave nothing behind). Returns its last
// status.
template <typename Op>
Status until_ok(Op op) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  Status st = op();
  while (!st.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    st = op();
  }
  return st;
}

class DiskFaultTest : public ::testing::Test {
 protected:
  DiskFaultTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("hooksim-disk-fault-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  ~DiskFaultTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<storage::RocksQueueStore> open(bool with_faults) {
    storage::StoreOptions o;
    o.sync = true;
    if (with_faults) o.file_system = faults_->file_system();
    auto store = storage::RocksQueueStore::open(dir_.string(), o);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::filesystem::path dir_;
  std::shared_ptr<storage::DiskFaults> faults_ = std::make_shared<storage::DiskFaults>();
};

Status enqueue(QueueStore& store, uint64_t seq, const std::string& id) {
  auto batch = store.new_batch();
  batch->enqueue(1, seq, kStart, id, "{\"id\":\"" + id + "\"}");
  DeliveryState st;
  st.next_seq = seq + 1;
  batch->put_state(1, st);
  return store.write(*batch, Durability::kSynced);
}

TEST_F(DiskFaultTest, FullDiskFailsTheWriteNamingTheCauseAndAppliesNothing) {
  auto store = open(true);
  ASSERT_TRUE(store);
  ASSERT_TRUE(enqueue(*store, 1, "e1").ok());

  faults_->set_full(true);
  Status st = enqueue(*store, 2, "e2");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("write batch"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
  EXPECT_GT(faults_->failures(), 0u);
  // Still full: still refused, with the cause. Reads keep working.
  EXPECT_EQ(enqueue(*store, 2, "e2").code(), Status::Code::kIOError);
  auto e1 = store->read_event(1, 1);
  ASSERT_TRUE(e1.ok()) << e1.status().message();
  EXPECT_EQ(e1->id, "e1");
  EXPECT_EQ(store->read_event(1, 2).status().code(), Status::Code::kNotFound);
}

TEST_F(DiskFaultTest, WritesWorkAgainOnceTheDiskHasRoomWithoutARestart) {
  auto store = open(true);
  ASSERT_TRUE(store);
  ASSERT_TRUE(enqueue(*store, 1, "e1").ok());
  faults_->set_full(true);
  ASSERT_FALSE(enqueue(*store, 2, "lost").ok());
  faults_->set_full(false);
  Status st = until_ok([&] { return enqueue(*store, 2, "e2"); });
  ASSERT_TRUE(st.ok()) << st.message();

  // After a restart on the same directory: what was acknowledged, and nothing of the failed write.
  store.reset();
  store = open(false);
  ASSERT_TRUE(store);
  auto n = store->count_queued(1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(store->read_event(1, 1)->id, "e1");
  EXPECT_EQ(store->read_event(1, 2)->id, "e2");
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok());
}

protocol::ReceiverBehaviour answers_after(Duration latency) {
  protocol::ReceiverBehaviour m;
  m.latency = latency;
  return m;
}

// The engine over a store whose disk fills and empties, in virtual time with a simulated receiver.
class EngineDiskFaultTest : public DiskFaultTest, public DeliveryObserver {
 protected:
  EngineDiskFaultTest() { reopen(true); }
  ~EngineDiskFaultTest() override {
    engine_.reset();
    store_.reset();
  }
  void reopen(bool with_faults) {
    engine_.reset();
    store_.reset();
    store_ = open(with_faults);
    ASSERT_TRUE(store_);
    engine_ = std::make_unique<Engine>(scheduler_, *store_, transport_, this,
                                       EngineOptions{.envelope = protocol::make_envelope});
    Status st = engine_->open();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  Status publish(const std::string& id) {
    Event e{id, "tracking", "a1", "v1", scheduler_.now(), "{}"};
    return engine_->publish({&e, 1});
  }
  void run_for(Duration d) { scheduler_.run_until(scheduler_.now() + d); }
  // Subscription "acme" (the default policy), its receiver answering after 1 s.
  void add_acme() {
    SubscriptionConfig c;
    c.id = "acme";
    ASSERT_TRUE(engine_->add_subscription(c).ok());
    transport_.set_receiver("acme", answers_after(1s));
  }

  void on_attempt(const AttemptRecord& r) override {
    if (r.delivered()) delivered_.push_back(std::string(r.event_id));
  }
  void on_lifecycle(const LifecycleRecord&) override {}
  void on_error(std::string_view, const Status& st) override { errors_.push_back(st.message()); }

  VirtualScheduler scheduler_{kStart};
  sim::SimTransport transport_{scheduler_, kStart, /*seed=*/1};
  std::unique_ptr<storage::RocksQueueStore> store_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::string> delivered_;
  std::vector<std::string> errors_;
};

TEST_F(EngineDiskFaultTest, PublishOnAFullDiskFailsAndLeavesNoTrace) {
  ASSERT_NO_FATAL_FAILURE(add_acme());
  ASSERT_TRUE(publish("e1").ok());

  faults_->set_full(true);
  Status st = publish("e2");
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
  EXPECT_EQ(engine_->find("acme")->state.next_seq, 2u);  // no sequence number used up
  faults_->set_full(false);
  Status again = until_ok([&] { return publish("e3"); });
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(engine_->find("acme")->state.next_seq, 3u);
  run_for(1min);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"e1", "e3"}));
  EXPECT_EQ(engine_->find("acme")->state.head_seq, 3u);
  EXPECT_TRUE(errors_.empty());
}

// A delivery whose acknowledgement cannot be written (the known gap: the queue entry stayed on disk below
// the head once a later state write succeeded, never delivered and never removed).
TEST_F(EngineDiskFaultTest, FailedAckWriteIsReportedAndTheEntryIsRemovedByTheNextWrite) {
  ASSERT_NO_FATAL_FAILURE(add_acme());
  ASSERT_TRUE(publish("e1").ok());
  ASSERT_TRUE(publish("e2").ok());
  faults_->set_full(true);  // while e1 is in flight: its ack, then e2's, cannot be written
  run_for(1min);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"e1", "e2"}));
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_NE(errors_[0].find("No space left on device"), std::string::npos) << errors_[0];
  EXPECT_EQ(*store_->count_queued(1), 2u);  // still on disk, as is the old head

  faults_->set_full(false);
  Status st = until_ok([&] { return publish("e3"); });  // the next state write carries the removals
  ASSERT_TRUE(st.ok()) << st.message();
  run_for(1min);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(errors_.size(), 2u);
  EXPECT_EQ(*store_->count_queued(1), 0u);

  reopen(false);
  EXPECT_EQ(engine_->find("acme")->state.head_seq, 4u);
  EXPECT_EQ(engine_->find("acme")->state.backlog(), 0u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
  run_for(1min);
  EXPECT_EQ(delivered_.size(), 3u);
}

// A crash while acknowledgements could not be written: the state on disk is the old one, its events are
// still queued, and they are delivered again (at least once), in order.
TEST_F(EngineDiskFaultTest, CrashBeforeTheAckIsWrittenRedeliversInOrder) {
  ASSERT_NO_FATAL_FAILURE(add_acme());
  ASSERT_TRUE(publish("e1").ok());
  ASSERT_TRUE(publish("e2").ok());
  faults_->set_full(true);
  run_for(1min);
  ASSERT_EQ(delivered_.size(), 2u);
  faults_->set_full(false);
  reopen(false);
  run_for(1min);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"e1", "e2", "e1", "e2"}));
  EXPECT_EQ(*store_->count_queued(1), 0u);
  EXPECT_EQ(engine_->find("acme")->state.head_seq, 3u);
}

}  // namespace
}  // namespace hooksim
