// MemoryQueueStore against RocksQueueStore: the same random batches are written to both, and everything the
// QueueStore contract lets the engine observe must agree after every batch; emptied, neither keeps a body.
// And the engine on the memory store: an event's body is held once, queued and in flight.
#include "storage/memory_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
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

// Built field by field: designated initializers that leave fields out warn under -Wextra.
AttemptResult answered(int status) {
  AttemptResult r;
  r.status = status;
  r.error = ErrorClass::kNone;
  r.latency = Duration(1);
  return r;
}

SubscriptionConfig subscription(std::string id, Filter filter = {},
                                RetryPolicy policy = RetryPolicy::frotcom()) {
  SubscriptionConfig c;
  c.id = std::move(id);
  c.endpoint.url = "http://x/";
  c.filter = std::move(filter);
  c.policy = std::move(policy);
  return c;
}

Event event(std::string id, std::string type, std::string data) {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

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

// The same random walk for a store with `options`.
void agrees_with_rocks_on_random_batches(const MemoryStoreOptions& options) {
  testutil::TempDir dir;
  auto rocks_or = RocksQueueStore::open(dir.file("db"), StoreOptions{.sync = false});
  ASSERT_TRUE(rocks_or.ok()) << rocks_or.status().message();
  auto& rocks = **rocks_or;
  MemoryQueueStore mem(options);

  constexpr uint64_t kKeys = 4;
  std::mt19937_64 rng(20261129);
  std::map<uint64_t, uint64_t> next_seq;  // per key: the next sequence number to enqueue (never reused)
  std::vector<std::string> ids;
  uint64_t max_seq = 0;
  size_t max_spilled = 0;
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
    max_spilled = std::max(max_spilled, mem.blocks_spilled());  // before the reads bring them back
    expect_same(mem, rocks, kKeys, max_seq, ids, step);
    if (::testing::Test::HasFatalFailure()) return;
  }
  if (options.memory_budget == 0) {
    EXPECT_GT(max_spilled, 0u);
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
  EXPECT_EQ(mem.blocks_spilled(), 0u);
}

TEST(MemoryQueueStore, AgreesWithRocksQueueStoreOnRandomBatches) {
  agrees_with_rocks_on_random_batches({});
}

// Tiny blocks and no memory budget: every full block behind a queue's head spills, and is read back.
TEST(MemoryQueueStore, AgreesWithRocksQueueStoreOnRandomBatchesWhenSpilling) {
  testutil::TempDir dir;
  agrees_with_rocks_on_random_batches({.memory_budget = 0, .block_bytes = 128, .spill_dir = dir.path()});
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
  for (int i = 0; i < 20; ++i) {
    SubscriptionConfig config;
    config.id = "s" + std::to_string(i);
    config.endpoint.url = "http://x/";
    ASSERT_TRUE(engine.add_subscription(config).ok());
  }
  std::vector<Event> events(2);
  for (int i = 0; i < 2; ++i) {
    events[i].id = "ev-" + std::to_string(i + 1);
    events[i].type = "t";
    events[i].data = "[" + std::to_string(i + 1) + "]";
  }
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
  for (auto& [body, done] : first) done(answered(200));
  EXPECT_EQ(store.count_bodies(), 1u);
  ASSERT_EQ(transport.held.size(), 20u);
  EXPECT_EQ(first[0].first.use_count(), 20);  // only the attempts of the first round still hold it
  for (auto& [body, done] : transport.held) {
    EXPECT_EQ(body.get(), transport.held[0].first.get());
    done(answered(200));
  }
  EXPECT_EQ(store.count_bodies(), 0u);
}

// Answers attempts when told, and remembers which subscription each was for.
class AnsweringTransport final : public Transport {
 public:
  struct Held {
    std::string sub;
    std::shared_ptr<const std::string> body;
    Done done;
  };
  AttemptHandle send(const DeliveryRequest& r, Done done) override {
    held.push_back({r.subscription->id, r.body_owner, std::move(done)});
    return ++sent;
  }
  void cancel(AttemptHandle) override {}
  // Answers every attempt held, and those they lead to, with status(sub); returns the bodies answered.
  std::vector<std::string> answer_all(const std::function<int(const std::string&)>& status) {
    std::vector<std::string> bodies;
    while (!held.empty()) {
      Held h = std::move(held.front());
      held.erase(held.begin());
      bodies.push_back(*h.body);
      h.done(answered(status(h.sub)));
    }
    return bodies;
  }
  std::vector<Held> held;
  AttemptHandle sent = 0;
};

std::string body_of(int i) {
  return fmt::format("{{\"n\":{},\"pad\":\"{}\"}}", i, std::string(40 + i % 7, 'x'));
}

uint64_t key_of(MemoryQueueStore& store, const std::string& id) {
  auto subs = store.load_subscriptions();
  for (const auto& s : *subs)
    if (s.config.id == id) return s.key;
  return 0;
}

// A backlog past the budget goes to the spill file behind the head, and comes back whole and in order,
// block by block, as the head reaches it; once drained, nothing is left in memory or on disk.
TEST(MemoryQueueStore, ABacklogPastTheBudgetSpillsAndComesBackInOrder) {
  testutil::TempDir dir;
  MemoryQueueStore store({.memory_budget = 0, .block_bytes = 1024, .spill_dir = dir.path()});
  constexpr uint64_t kEvents = 2000;
  for (uint64_t seq = 1; seq <= kEvents;) {
    auto batch = store.new_batch();
    for (int i = 0; i < 100; ++i, ++seq)
      batch->enqueue(7, seq, TimePoint(Duration(seq)), "e" + std::to_string(seq), body_of(int(seq)));
    ASSERT_TRUE(store.write(*batch, Durability::kSynced).ok());
  }
  EXPECT_EQ(store.count_queued(7), kEvents);
  EXPECT_EQ(store.count_bodies(), kEvents);
  EXPECT_GT(store.blocks_spilled(), 100u);
  EXPECT_LE(store.block_bytes_in_memory(), 2u * 1024);  // the head's block and the tail's
  for (uint64_t seq = 1; seq <= kEvents; ++seq) {
    auto e = store.read_event(7, seq);
    ASSERT_TRUE(e.ok()) << seq << ": " << e.status().message();
    EXPECT_EQ(e->id, "e" + std::to_string(seq));
    EXPECT_EQ(*e->body, body_of(int(seq)));
    EXPECT_EQ(e->enqueued_at, TimePoint(Duration(seq)));
    auto batch = store.new_batch();
    batch->remove(7, seq, e->body_ref);
    ASSERT_TRUE(store.write(*batch, Durability::kBuffered).ok());
    ASSERT_LE(store.block_bytes_in_memory(), 3u * 1024) << seq;  // read back one block at a time
  }
  EXPECT_EQ(store.count_queued(7), 0u);
  EXPECT_EQ(store.count_bodies(), 0u);
  EXPECT_EQ(store.blocks_spilled(), 0u);
}

// Where no spill file can be made, the queue keeps everything in memory and works the same.
TEST(MemoryQueueStore, WithoutASpillFileEverythingStaysInMemory) {
  testutil::TempDir dir;
  MemoryQueueStore store({.memory_budget = 0, .block_bytes = 1024, .spill_dir = dir.file("absent")});
  auto batch = store.new_batch();
  for (uint64_t seq = 1; seq <= 500; ++seq)
    batch->enqueue(1, seq, TimePoint{}, "e" + std::to_string(seq), body_of(int(seq)));
  ASSERT_TRUE(store.write(*batch, Durability::kSynced).ok());
  EXPECT_EQ(store.blocks_spilled(), 0u);
  EXPECT_GT(store.block_bytes_in_memory(), 20u * 1024);
  for (uint64_t seq = 1; seq <= 500; seq += 37) EXPECT_EQ(*store.read_event(1, seq)->body, body_of(int(seq)));
}

// The engine on a spilling store: a backlog that spilled is delivered in order with its bodies after the
// engine is dropped and reopened on the same store (a scenario's restart); the store keeps no state of
// its own to rebuild, so nothing but the queues and states is read back.
TEST(MemoryQueueStore, ASpilledBacklogIsDeliveredInOrderAfterARestart) {
  testutil::TempDir dir;
  MemoryQueueStore store({.memory_budget = 0, .block_bytes = 1024, .spill_dir = dir.path()});
  VirtualScheduler clock(TimePoint{});
  AnsweringTransport transport;
  std::vector<std::string> expected;
  {
    Engine engine(clock, store, transport, nullptr, {.envelope = protocol::make_envelope});
    ASSERT_TRUE(engine.open().ok());
    ASSERT_TRUE(engine.add_subscription(subscription("a")).ok());
    for (int i = 1; i <= 300; ++i) {
      Event e = event("ev-" + std::to_string(i), "t", body_of(i));
      expected.push_back(protocol::make_envelope(e));
      ASSERT_TRUE(engine.publish({&e, 1}).ok());
    }
    EXPECT_GT(store.blocks_spilled(), 10u);
  }  // the attempt in flight is lost with the engine
  transport.held.clear();
  Engine engine(clock, store, transport, nullptr, {.envelope = protocol::make_envelope});
  ASSERT_TRUE(engine.open().ok());
  clock.run_until(clock.now() + Duration(1000));
  EXPECT_EQ(transport.answer_all([](const std::string&) { return 200; }), expected);
  EXPECT_EQ(store.count_bodies(), 0u);
  EXPECT_EQ(store.blocks_spilled(), 0u);
}

// A deactivation discards the backlog, spilled blocks (never read back) and shared bodies included; the
// subscription that still holds the shared bodies keeps them until it delivers them.
TEST(MemoryQueueStore, ADeactivationDiscardsASpilledBacklogAndReleasesSharedBodies) {
  testutil::TempDir dir;
  MemoryQueueStore store({.memory_budget = 0, .block_bytes = 1024, .spill_dir = dir.path()});
  VirtualScheduler clock(TimePoint{});
  AnsweringTransport transport;
  Engine engine(clock, store, transport, nullptr, {.envelope = protocol::make_envelope});
  ASSERT_TRUE(engine.open().ok());
  RetryPolicy quick;
  quick.immediate_retries = 0;
  quick.delays = {std::chrono::seconds(10)};
  quick.repeat = std::chrono::seconds(10);
  quick.give_up_after = std::chrono::minutes(1);
  ASSERT_TRUE(engine.add_subscription(subscription("down", {}, quick)).ok());
  ASSERT_TRUE(
      engine.add_subscription(subscription("up", Filter{.types = {"both"}, .accounts = {}, .vehicles = {}}))
          .ok());
  for (int i = 1; i <= 300; ++i) {  // 200 for "down" alone, then 100 for both
    Event e = event("ev-" + std::to_string(i), i <= 200 ? "solo" : "both", body_of(i));
    ASSERT_TRUE(engine.publish({&e, 1}).ok());
  }
  EXPECT_GT(store.blocks_spilled(), 5u);
  EXPECT_EQ(store.count_bodies(), 300u);
  auto status = [](const std::string& sub) { return sub == "down" ? 503 : 0; };  // "up" times out
  for (int s = 0; s < 120; s += 5) {
    transport.answer_all(status);
    clock.run_until(TimePoint(std::chrono::seconds(s)));
  }
  ASSERT_EQ(engine.find("down")->state.state, SubState::kDeactivated);
  EXPECT_EQ(engine.find("down")->state.discarded, 300u);
  EXPECT_EQ(store.count_queued(key_of(store, "down")), 0u);
  EXPECT_EQ(store.blocks_spilled(), 0u);
  EXPECT_EQ(store.count_bodies(), 100u);  // the shared bodies "up" still has to deliver
  for (int h = 1; h <= 48 && engine.find("up")->state.delivered < 100; ++h) {
    transport.answer_all([](const std::string&) { return 200; });
    clock.run_until(TimePoint(std::chrono::hours(h)));
  }
  EXPECT_EQ(engine.find("up")->state.delivered, 100u);
  EXPECT_EQ(store.count_bodies(), 0u);
}

}  // namespace
}  // namespace hooksim::storage
