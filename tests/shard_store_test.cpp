// cluster::ShardStore (cluster/shard_store.h): the progress a cluster node writes for each subscription of a
// shard it owns, and the queue a new owner rebuilds from it. No NATS here: the writer is a test double.
#include "cluster/shard_store.h"

#include <gtest/gtest.h>

#include <vector>

#include "cluster/wire.h"

namespace hooksim::cluster {
namespace {

TEST(ShardProgress, EncodesAndDecodesEveryField) {
  Progress p;
  p.acked = 41;
  p.head_seq = 7;
  p.head_attempts = 3;
  p.backlog = 2;
  p.order = 42;
  p.state.state = SubState::kRetrying;
  p.state.streak_start = from_unix_ms(1'700'000'000'000);
  p.state.streak_failures = 5;
  p.state.next_attempt = from_unix_ms(1'700'000'300'000);
  p.state.delivered = 6;
  auto back = decode_progress(encode_progress(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->acked, 41u);
  EXPECT_EQ(back->head_seq, 7u);
  EXPECT_EQ(back->head_attempts, 3u);
  EXPECT_EQ(back->backlog, 2u);
  EXPECT_EQ(back->order, 42u);
  EXPECT_EQ(back->state, p.state);
  EXPECT_EQ(decode_progress("short").status().code(), Status::Code::kCorruption);
}

// A change forwarded to a subscription's owner comes back as the subscription's state, or as the owner's
// error with its code (the HTTP status the asking node answers).
TEST(ShardWire, AdminAnswersKeepTheStateOrTheErrorCode) {
  AdminAnswer a;
  a.state.state = SubState::kRetrying;
  a.state.streak_start = from_unix_ms(1'700'000'000'000);
  a.state.streak_failures = 2;
  a.in_flight_count = 1;
  a.oldest_queued = from_unix_ms(1'700'000'000'123);
  auto back = decode_admin_answer(encode_admin_answer(a));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->state, a.state);
  EXPECT_EQ(back->in_flight_count, 1u);
  EXPECT_EQ(back->oldest_queued, a.oldest_queued);
  a.oldest_queued.reset();
  back = decode_admin_answer(encode_admin_answer(a));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->oldest_queued.has_value());
  for (const Status& error : {Status::InvalidArgument("i"), Status::NotFound("n"), Status::AlreadyExists("a"),
                              Status::FailedPrecondition("subscription 'x' is active, not deactivated"),
                              Status::IOError("try again"), Status::Corruption("c")}) {
    auto e = decode_admin_answer(encode_admin_answer(Result<AdminAnswer>(error)));
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.status().code(), error.code());
    EXPECT_EQ(e.status().message(), error.message());
  }
  EXPECT_EQ(decode_admin_answer("").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(decode_admin_answer("S12").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(decode_admin_answer("E\x7fx").status().code(), Status::Code::kCorruption);
}

// Subscription ids and node names are NATS keys and subject tokens in a cluster: no '.' at either end, no
// empty token.
TEST(ShardWire, KeysRefuseWhatNatsRefuses) {
  for (const char* ok : {"a", "a.b", "A-b_c.9"}) EXPECT_TRUE(validate_key("id", ok).ok()) << ok;
  for (const char* bad : {"", ".a", "a.", "a..b", "a b", "a*"}) {
    Status st = validate_key("id", bad);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find(std::string("'") + bad + "'"), std::string::npos) << st.message();
  }
}

class ShardStoreTest : public ::testing::Test {
 protected:
  ShardStore store_{[this](std::span<const std::pair<std::string, Progress>> p) {
                      written_.insert(written_.end(), p.begin(), p.end());
                      return Status::OK();
                    },
                    storage::MemoryStoreOptions{}};
  std::vector<std::pair<std::string, Progress>> written_;
};

TEST_F(ShardStoreTest, ARestoredQueueContinuesTheOldOwnersNumbersAndProgressFollowsItsHead) {
  SubscriptionConfig c;
  c.id = "s";
  Progress old;
  old.acked = 10;  // done with the stream up to 10
  old.head_seq = 5;
  old.head_attempts = 2;  // its head was tried twice
  old.state.state = SubState::kRetrying;
  old.state.streak_failures = 2;
  // The new owner's replay found two of its events past 10: stream sequences 12 and 15.
  auto batch = store_.new_batch();
  store_.restore(1, c, old, 2, *batch);
  const QueueSlot a{1, 5}, b{1, 6};
  store_.set_position(12);
  batch->enqueue_many({&a, 1}, from_unix_ms(1), "e12", "{}");
  store_.set_position(15);
  batch->enqueue_many({&b, 1}, from_unix_ms(2), "e15", "{}");
  ASSERT_TRUE(store_.write(*batch, Durability::kSynced).ok());
  EXPECT_TRUE(written_.empty()) << "a restore is not progress";

  auto loaded = store_.load_subscriptions();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  const DeliveryState& st = (*loaded)[0].state;
  EXPECT_EQ(st.head_seq, 5u);
  EXPECT_EQ(st.next_seq, 7u);
  EXPECT_EQ(st.attempted, (std::vector<std::pair<uint64_t, uint32_t>>{{5, 2}}));
  EXPECT_EQ(st.state, SubState::kRetrying);
  auto head = store_.read_event(1, 5);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->id, "e12");

  // The head is delivered: its state and removal are written together, and the progress says the
  // stream is done up to just before the next queued event (15), whose number is 6.
  DeliveryState after = st;
  after.state = SubState::kActive;
  after.head_seq = 6;
  after.attempted.clear();
  auto done = store_.new_batch();
  done->remove(1, 5);
  done->put_state(1, after);
  store_.set_position(20);
  ASSERT_TRUE(store_.write(*done, Durability::kBuffered).ok());
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0].first, "s");
  EXPECT_EQ(written_[0].second.acked, 14u);
  EXPECT_EQ(written_[0].second.head_seq, 6u);
  EXPECT_EQ(written_[0].second.backlog, 1u);

  // The last one too: an empty queue is done with everything consumed so far (20), and the next event
  // it takes will be number 7.
  after.head_seq = 7;
  auto last = store_.new_batch();
  last->remove(1, 6);
  last->put_state(1, after);
  ASSERT_TRUE(store_.write(*last, Durability::kBuffered).ok());
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(written_[1].second.acked, 20u);
  EXPECT_EQ(written_[1].second.head_seq, 7u);
  EXPECT_EQ(written_[1].second.backlog, 0u);
}

TEST_F(ShardStoreTest, AFailedProgressWriteFailsTheWrite) {
  ShardStore failing([](auto) { return Status::IOError("NATS unreachable"); }, storage::MemoryStoreOptions{});
  SubscriptionConfig c;
  c.id = "s";
  auto batch = failing.new_batch();
  batch->put_config(1, c);
  batch->put_state(1, DeliveryState{});
  Status st = failing.write(*batch, Durability::kSynced);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(st.message(), "NATS unreachable");
}

}  // namespace
}  // namespace hooksim::cluster
