// MemoryQueueStore against RocksQueueStore: the same random batches are written to both, and everything the
// QueueStore contract lets the engine observe must agree after every batch; emptied, neither keeps a body.
// And the engine on the memory store: an event's body is held once, queued and in flight.
#include "storage/memory_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "engine/clock.h"
#include "engine/engine.h"
#include "protocol/envelope.h"
#include "storage/rocks_store.h"
#include "tests/cli_test_util.h"

namespace hooksim::storage {
namespace {

// Applies the same operations to two batches.
struct BothBatches {
  std::unique_ptr<StoreBatch> mem, rocks;
  template <typename F>
  void each(F f) {
    f(*mem);
    f(*rocks);
  }
};

void expect_same(MemoryQueueStore& mem, RocksQueueStore& rocks, uint64_t max_key, uint64_t max_seq,
                 const std::vector<std::string>& ids, int step) {
  for (uint64_t key = 1; key <= max_key; ++key) {
    EXPECT_EQ(mem.count_queued(key), *rocks.count_queued(key)) << "key " << key << " step " << step;
    for (uint64_t seq = 0; seq <= max_seq + 1; ++seq) {
      auto a = mem.read_event(key, seq);
      auto b = rocks.read_event(key, seq);
      ASSERT_EQ(a.ok(), b.ok()) << "(" << key << "," << seq << ") step " << step;
      if (!a.ok()) {
        EXPECT_EQ(a.status().code(), Status::Code::kNotFound);
        continue;
      }
      EXPECT_EQ(a->id, b->id);
      EXPECT_EQ(*a->body, *b->body);
      EXPECT_EQ(a->enqueued_at, b->enqueued_at);
    }
  }
  auto sa = mem.load_subscriptions();
  auto sb = rocks.load_subscriptions();
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_EQ(sa->size(), sb->size()) << "step " << step;
  for (size_t i = 0; i < sa->size(); ++i) {
    EXPECT_EQ((*sa)[i].key, (*sb)[i].key);
    EXPECT_EQ((*sa)[i].config, (*sb)[i].config);
    EXPECT_EQ((*sa)[i].state, (*sb)[i].state);
  }
  std::vector<std::string_view> views(ids.begin(), ids.end());
  EXPECT_EQ(*mem.find_event_ids(views), *rocks.find_event_ids(views)) << "step " << step;
}

TEST(MemoryQueueStore, AgreesWithRocksQueueStoreOnRandomBatches) {
  testutil::TempDir dir;
  auto rocks_or = RocksQueueStore::open(dir.file("db"), StoreOptions{.sync = false});
  ASSERT_TRUE(rocks_or.ok()) << rocks_or.status().message();
  auto& rocks = **rocks_or;
  MemoryQueueStore mem;

  constexpr uint64_t kKeys = 4;
  std::mt19937_64 rng(20261129);
  std::map<uint64_t, uint64_t> next_seq;  // per key: the next sequence number to enqueue (never reused)
  std::vector<std::string> ids;
  uint64_t max_seq = 0;
  for (int step = 0; step < 300; ++step) {
    BothBatches b{mem.new_batch(), rocks.new_batch()};
    int ops = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < ops; ++i) {
      uint64_t key = 1 + rng() % kKeys;
      uint64_t& next = next_seq.try_emplace(key, 1).first->second;
      switch (rng() % 9) {
        case 0:
        case 1:
        case 2: {  // enqueue, sometimes skipping a number (a discarded publish never uses one)
          uint64_t seq = next + (rng() % 5 == 0 ? 1 : 0);
          next = seq + 1;
          max_seq = std::max(max_seq, seq);
          std::string id = "evt-" + std::to_string(key) + "-" + std::to_string(seq);
          std::string body(rng() % 40, static_cast<char>('a' + seq % 26));
          TimePoint at{Duration(static_cast<int64_t>(rng() % 1'000'000))};
          b.each([&](StoreBatch& sb) { sb.enqueue(key, seq, at, id, body); });
          break;
        }
        case 3: {  // remove one (head, middle or absent)
          uint64_t seq = rng() % (next + 1);
          b.each([&](StoreBatch& sb) { sb.remove(key, seq); });
          break;
        }
        case 4: {  // remove a range, possibly empty or beyond the tail
          uint64_t first = rng() % (next + 2), end = first + rng() % 6;
          b.each([&](StoreBatch& sb) { sb.remove_range(key, first, end); });
          break;
        }
        case 5: {
          DeliveryState st;
          st.head_seq = 1 + rng() % 3;
          st.next_seq = st.head_seq + rng() % 5;
          st.delivered = rng() % 100;
          b.each([&](StoreBatch& sb) { sb.put_state(key, st); });
          SubscriptionConfig c;
          c.id = "sub-" + std::to_string(key);
          c.endpoint.url = "http://127.0.0.1:1/" + std::to_string(rng() % 10);
          b.each([&](StoreBatch& sb) { sb.put_config(key, c); });
          break;
        }
        case 6: {
          std::string id = "id-" + std::to_string(rng() % 50);
          ids.push_back(id);
          ids.push_back(id + "-never");
          b.each([&](StoreBatch& sb) { sb.remember_event_id(id, TimePoint{}); });
          break;
        }
        case 7:
          if (rng() % 4 == 0) b.each([&](StoreBatch& sb) { sb.erase_subscription(key); });
          break;
        case 8: {  // one event to several queues: its body is shared
          std::vector<QueueSlot> slots;
          for (uint64_t k = 1; k <= kKeys; ++k) {
            if (rng() % 2 != 0) continue;
            uint64_t& n = next_seq.try_emplace(k, 1).first->second;
            slots.push_back({k, n});
            max_seq = std::max(max_seq, n++);
          }
          std::string id = "shared-" + std::to_string(step) + "-" + std::to_string(i);
          std::string body(rng() % 40, static_cast<char>('A' + step % 26));
          b.each([&](StoreBatch& sb) { sb.enqueue_many(slots, TimePoint{}, id, body); });
          break;
        }
      }
    }
    ASSERT_EQ(b.mem->size() == 0, b.rocks->size() == 0);  // counts differ (RocksDB splits an erase in three)
    ASSERT_TRUE(mem.write(*b.mem, Durability::kBuffered).ok());
    ASSERT_TRUE(rocks.write(*b.rocks, Durability::kBuffered).ok());
    expect_same(mem, rocks, kKeys, max_seq, ids, step);
    if (HasFatalFailure()) return;
  }
  // The random walk must have exercised what it claims to: queues that grew, holes, and removals.
  uint64_t queued = 0;
  for (uint64_t key = 1; key <= kKeys; ++key) queued += mem.count_queued(key);
  EXPECT_GT(max_seq, 50u);
  EXPECT_GT(queued, 0u);
  EXPECT_GT(mem.count_bodies(), 0u);
  EXPECT_GT(rocks.count_bodies()->bodies, 0u);
  // Emptied, half by ranges and half one entry at a time (without the body reference): no body is left.
  BothBatches drain{mem.new_batch(), rocks.new_batch()};
  for (uint64_t key = 1; key <= kKeys; ++key) {
    if (key % 2 == 0) {
      drain.each([&](StoreBatch& sb) { sb.remove_range(key, 0, max_seq + 1); });
    } else {
      for (uint64_t seq = 0; seq <= max_seq; ++seq) drain.each([&](StoreBatch& sb) { sb.remove(key, seq); });
    }
  }
  ASSERT_TRUE(mem.write(*drain.mem, Durability::kBuffered).ok());
  ASSERT_TRUE(rocks.write(*drain.rocks, Durability::kBuffered).ok());
  EXPECT_EQ(mem.count_bodies(), 0u);
  auto left = rocks.count_bodies();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->bodies, 0u);
  EXPECT_EQ(left->refs, 0u);
  EXPECT_EQ(left->in_memory, 0u);
}

// A sink that keeps the body of every attempt in flight, as CurlTransport does, and answers when told.
class HoldingTransport final : public Transport {
 public:
  AttemptHandle send(const DeliveryRequest& r, Done done) override {
    held.push_back({r.body_owner, std::move(done)});
    return held.size();
  }
  void cancel(AttemptHandle) override {}
  std::vector<std::pair<std::shared_ptr<const std::string>, Done>> held;
};

TEST(MemoryQueueStore, AnEventForManySubscriptionsIsHeldOnceQueuedAndInFlight) {
  MemoryQueueStore store;
  VirtualScheduler clock(TimePoint{});
  HoldingTransport transport;
  Engine engine(clock, store, transport, nullptr, {.envelope = protocol::make_envelope});
  ASSERT_TRUE(engine.open().ok());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(
        engine.add_subscription({.id = "s" + std::to_string(i), .endpoint = {.url = "http://x/"}}).ok());
  std::vector<Event> events = {{.id = "ev-1", .type = "t", .data = "[1]"},
                               {.id = "ev-2", .type = "t", .data = "[2]"}};
  ASSERT_TRUE(engine.publish(events).ok());
  EXPECT_EQ(store.count_bodies(), 2u);
  ASSERT_EQ(transport.held.size(), 20u);
  for (const auto& [body, done] : transport.held) {
    ASSERT_NE(body, nullptr);
    EXPECT_EQ(body.get(), transport.held[0].first.get());
  }
  // Acknowledged everywhere: the first body is gone from the store; the second is in flight, once.
  auto first = std::move(transport.held);
  transport.held.clear();
  for (auto& [body, done] : first) done({200, ErrorClass::kNone, Duration(1)});
  EXPECT_EQ(store.count_bodies(), 1u);
  ASSERT_EQ(transport.held.size(), 20u);
  EXPECT_EQ(first[0].first.use_count(), 20);  // only the attempts of the first round still hold it
  for (auto& [body, done] : transport.held) {
    EXPECT_EQ(body.get(), transport.held[0].first.get());
    done({200, ErrorClass::kNone, Duration(1)});
  }
  EXPECT_EQ(store.count_bodies(), 0u);
}

}  // namespace
}  // namespace hooksim::storage
