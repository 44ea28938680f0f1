// The engine tells observers about every publish (what the attempt log's publish records are made of): the
// event, its body as queued, and each queue it joined with its sequence number; deactivated subscriptions
// drop it and are not listed; a rejected publish reports nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "cli_test_util.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "protocol/envelope.h"
#include "sim/attempt_log.h"
#include "sim/log_reader.h"
#include "sim/sim_transport.h"
#include "storage/rocks_store.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;

struct Published {
  std::string event, body;
  TimePoint at;
  std::vector<std::pair<std::string, uint64_t>> queued;
  std::vector<std::string> dropped;
};

struct PublishRecorder : DeliveryObserver {
  void on_published(const PublishRecord& r) override {
    Published p{r.event->id, std::string(r.body), r.at, {}, {}};
    for (const auto& [sub, seq] : r.queued) p.queued.emplace_back(std::string(sub), seq);
    for (std::string_view sub : r.dropped) p.dropped.emplace_back(sub);
    seen.push_back(std::move(p));
  }
  bool wants_published() const override { return true; }
  std::vector<Published> seen;
};

Event event(const std::string& id, const std::string& vehicle) {
  Event e;
  e.id = id;
  e.type = "tracking";
  e.account = "acme";
  e.vehicle = vehicle;
  e.data = R"({"n":1})";
  return e;
}

TEST(PublishRecord, ListsEveryQueueWithItsSequenceAndTheBodyAndSkipsDeactivatedOnes) {
  testutil::TempDir dir;
  const TimePoint start = from_unix_ms(1'767'225'600'000);  // 2026-01-01
  VirtualScheduler clock(start);
  sim::SimTransport transport(clock, start, 1);
  auto store = storage::RocksQueueStore::open(dir.file("db"), {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  PublishRecorder rec;
  std::ostringstream log;
  sim::AttemptLogWriter writer(log, start);
  sim::ObserverFanout fanout({&rec, &writer});
  Engine engine(clock, **store, transport, &fanout, EngineOptions{.envelope = protocol::make_envelope});
  ASSERT_TRUE(engine.open().ok());

  SubscriptionConfig all{"all", {}, {}, RetryPolicy::frotcom()};
  SubscriptionConfig trucks{"trucks", {}, {}, RetryPolicy::frotcom()};
  trucks.filter.vehicles = {"v1"};
  SubscriptionConfig gone{"gone", {}, {}, RetryPolicy::frotcom()};
  gone.policy.immediate_retries = 0;
  gone.policy.delays = {};
  gone.policy.repeat = 1h;
  gone.policy.give_up_after = 1min;
  protocol::ReceiverBehaviour failing;
  failing.status = 503;
  transport.set_receiver("gone", failing);
  for (const auto& c : {all, trucks, gone}) ASSERT_TRUE(engine.add_subscription(c).ok());

  Event e1 = event("e1", "v1");
  ASSERT_TRUE(engine.publish({&e1, 1}).ok());
  ASSERT_EQ(rec.seen.size(), 1u);
  EXPECT_EQ(rec.seen[0].event, "e1");
  EXPECT_EQ(rec.seen[0].body, protocol::make_envelope(e1));
  EXPECT_EQ(rec.seen[0].at, start);
  EXPECT_EQ(rec.seen[0].queued,
            (std::vector<std::pair<std::string, uint64_t>>{{"all", 1}, {"trucks", 1}, {"gone", 1}}));
  EXPECT_TRUE(rec.seen[0].dropped.empty());

  clock.run_until(start + 2min);  // "gone" fails and is deactivated after 1 minute
  ASSERT_EQ(engine.find("gone")->state.state, SubState::kDeactivated);

  std::vector<Event> two = {event("e2", "v2"), event("e3", "v1")};
  ASSERT_TRUE(engine.publish(two).ok());
  ASSERT_EQ(rec.seen.size(), 3u);
  EXPECT_EQ(rec.seen[1].event, "e2");
  EXPECT_EQ(rec.seen[1].queued, (std::vector<std::pair<std::string, uint64_t>>{{"all", 2}}));
  EXPECT_EQ(rec.seen[2].event, "e3");
  EXPECT_EQ(rec.seen[2].queued, (std::vector<std::pair<std::string, uint64_t>>{{"all", 3}, {"trucks", 2}}));
  EXPECT_EQ(rec.seen[2].at, start + 2min);
  // The deactivated "gone" matched both and dropped them: named apart, for the report's accounting.
  EXPECT_EQ(rec.seen[1].dropped, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(rec.seen[2].dropped, (std::vector<std::string>{"gone"}));

  // A rejected publish (a duplicate id in one call) reports nothing.
  std::vector<Event> dup = {event("e4", "v1"), event("e4", "v1")};
  EXPECT_FALSE(engine.publish(dup).ok());
  EXPECT_EQ(rec.seen.size(), 3u);

  // The log line for e3: the subscriptions that dropped it; no body unless payloads were asked for.
  EXPECT_NE(
      log.str().find(
          R"({"kind":"publish","t_ms":120000,"event":"e3","subs":{"all":3,"trucks":2},"dropped":["gone"]})"
          "\n"),
      std::string::npos)
      << log.str();
}

TEST(PublishRecord, WithPayloadsTheLogCarriesTheBodyAsAJsonString) {
  std::ostringstream log;
  const TimePoint start = from_unix_ms(0);
  sim::AttemptLogWriter writer(log, start, /*payloads=*/true);
  Event e = event("e\"1", "v1");
  std::string body = protocol::make_envelope(e);
  std::pair<std::string_view, uint64_t> q[] = {{"a", 7}};
  writer.on_published({&e, body, start + 5s, q});
  auto rec = sim::parse_log_line(log.str().substr(0, log.str().size() - 1));
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->t_ms, 5000);
  EXPECT_EQ((*rec)->event, "e\"1");
  ASSERT_TRUE((*rec)->body.has_value());
  EXPECT_EQ(*(*rec)->body, body);
  EXPECT_EQ((*rec)->subs, (std::vector<std::pair<std::string, uint64_t>>{{"a", 7}}));
}

}  // namespace
}  // namespace hooksim
