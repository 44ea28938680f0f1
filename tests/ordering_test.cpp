// The policy's `ordering` (docs/policies.md): `unordered` with a `concurrency`, on the virtual clock over
// the real RocksDB store. A scripted receiver answers per event, so that one event can fail while the
// others succeed: each test asserts the exact attempts that must come out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "cli/scenario_run.h"
#include "protocol/policy_json.h"
#include "sim/attempt_log.h"
#include "sim/scenario.h"
#include "storage/record_codec.h"
#include "tests/engine_fixture.h"
#include "tests/support/simulate_log.h"

namespace hooksim {
namespace {

using namespace testing_engine;
using ::testing::ElementsAre;
using json = nlohmann::json;

// Answers every attempt after `latency` with the status `answer` gives for (event id, attempt number, start
// time relative to kStart).
class ScriptedTransport final : public Transport {
 public:
  using Answer = std::function<int(const std::string& event, uint32_t attempt, Duration t)>;
  ScriptedTransport(Scheduler& scheduler, Answer answer, Duration latency)
      : scheduler_(scheduler), answer_(std::move(answer)), latency_(latency) {}
  AttemptHandle send(const DeliveryRequest& request, Done done) override {
    int status = answer_(std::string(request.event_id), request.attempt, scheduler_.now() - kStart);
    ++sent_;
    Duration latency = latency_;
    return scheduler_.schedule_at(scheduler_.now() + latency_, [done = std::move(done), status, latency] {
      done({.status = status, .error = ErrorClass::kNone, .latency = latency, .retry_after = std::nullopt});
    });
  }
  void cancel(AttemptHandle handle) override { scheduler_.cancel(handle); }
  size_t sent_ = 0;

 private:
  Scheduler& scheduler_;
  Answer answer_;
  Duration latency_;
};

RetryPolicy unordered(uint32_t concurrency, std::vector<Duration> delays = {1min, 5min, 30min}) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.ordering = Ordering::kUnordered;
  p.concurrency = concurrency;
  p.immediate_retries = 0;
  p.delays = std::move(delays);
  p.repeat = std::chrono::hours(1);
  return p;
}

class OrderingTest : public EngineTest {
 protected:
  ~OrderingTest() override { engine_.reset(); }  // before scripted_, which its attempts in flight use

  // Replaces the fixture's engine by one over a ScriptedTransport (same store, scheduler and recorder).
  void script(ScriptedTransport::Answer answer, Duration latency = 0ms) {
    engine_.reset();
    scripted_ = std::make_unique<ScriptedTransport>(scheduler_, std::move(answer), latency);
    reopen();
  }
  void reopen() {
    engine_ = std::make_unique<Engine>(scheduler_, *store_, *scripted_, &rec_, options_);
    Status st = engine_->open();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  void restart_scripted() {
    engine_.reset();
    store_.reset();
    auto store = storage::RocksQueueStore::open(dir_.string(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    reopen();
  }
  void add_sub(const std::string& id, const RetryPolicy& policy) {
    SubscriptionConfig c;
    c.id = id;
    c.policy = policy;
    ASSERT_TRUE(engine_->add_subscription(c).ok());
  }
  // (event, attempt, start) of every attempt, in the order they ended.
  std::vector<std::tuple<std::string, uint32_t, Duration>> attempts() const {
    std::vector<std::tuple<std::string, uint32_t, Duration>> out;
    for (const auto& a : rec_.attempts) out.emplace_back(a.event, a.attempt, a.t);
    return out;
  }
  std::unique_ptr<ScriptedTransport> scripted_;
};

using A = std::tuple<std::string, uint32_t, Duration>;

TEST_F(OrderingTest, AFailingEventDoesNotBlockTheOthersAndIsRetriedOnItsOwnSchedule) {
  // ev2 fails until 10m; everything else succeeds. With FIFO ev3 would wait behind ev2.
  script([](const std::string& ev, uint32_t, Duration t) { return ev == "ev2" && t < 10min ? 503 : 200; });
  add_sub("acme", unordered(1));
  publish("ev1");
  publish("ev2");
  publish("ev3");
  run_until(1h);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev3", 1, 0ms}, A{"ev2", 2, 1min},
                                      A{"ev2", 3, 6min}, A{"ev2", 4, 36min}));
  EXPECT_EQ(rec_.delivered_seqs("acme"), (std::vector<uint64_t>{1, 3, 2}));
  // ev2's failures planned its own retries: 1m after its first failure, then 5m, then 30m.
  EXPECT_EQ(rec_.attempts[1].next, 1min);
  EXPECT_EQ(rec_.attempts[3].next, 6min);
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.backlog(), 0u);
  EXPECT_EQ(st.delivered, 3u);
  EXPECT_EQ(st.state, SubState::kActive);
  EXPECT_TRUE(st.retry_at.empty());
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(OrderingTest, FifoBlocksBehindTheFailingEvent) {
  // The same receiver with the policy's FIFO ordering: the control of the test above.
  script([](const std::string& ev, uint32_t, Duration t) { return ev == "ev2" && t < 10min ? 503 : 200; });
  RetryPolicy p = unordered(1);
  p.ordering = Ordering::kFifo;
  add_sub("acme", p);
  publish("ev1");
  publish("ev2");
  publish("ev3");
  run_until(1h);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev2", 2, 1min},
                                      A{"ev2", 3, 6min}, A{"ev2", 4, 36min}, A{"ev3", 1, 36min}));
}

TEST_F(OrderingTest, ConcurrencyBoundsTheAttemptsInFlight) {
  script([](const std::string&, uint32_t, Duration) { return 200; }, 100ms);
  add_sub("acme", unordered(3));
  for (int i = 1; i <= 7; ++i) publish("ev" + std::to_string(i));
  EXPECT_EQ(engine_->find("acme")->in_flight_count, 3u);
  EXPECT_EQ(scripted_->sent_, 3u);
  run_until(1s);
  std::vector<Duration> starts = rec_.times("acme");
  EXPECT_THAT(starts, ElementsAre(0ms, 0ms, 0ms, 100ms, 100ms, 100ms, 200ms));
  EXPECT_EQ(state("acme").delivered, 7u);
  EXPECT_EQ(engine_->find("acme")->in_flight_count, 0u);
}

TEST_F(OrderingTest, FailingEventsDoNotTakeSlotsWhileTheyWait) {
  // Concurrency 1: ev1 and ev2 fail for a while; ev3..ev5 go at once, each after the one before.
  script([](const std::string& ev, uint32_t, Duration t) {
    return (ev == "ev1" || ev == "ev2") && t < 2min ? 500 : 200;
  });
  add_sub("acme", unordered(1));
  for (int i = 1; i <= 5; ++i) publish("ev" + std::to_string(i));
  run_until(10min);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev3", 1, 0ms}, A{"ev4", 1, 0ms},
                                      A{"ev5", 1, 0ms}, A{"ev1", 2, 1min}, A{"ev2", 2, 1min},
                                      A{"ev1", 3, 6min}, A{"ev2", 3, 6min}));
  EXPECT_EQ(state("acme").delivered, 5u);
}

TEST_F(OrderingTest, MaxAttemptsExhaustsOneEventWhileTheOthersAreDelivered) {
  script([](const std::string& ev, uint32_t, Duration) { return ev == "ev1" ? 503 : 200; });
  RetryPolicy p = unordered(2);
  p.max_attempts = 3;
  add_sub("acme", p);
  publish("ev1");
  publish("ev2");
  run_until(1h);
  EXPECT_THAT(attempts(),
              ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev1", 2, 1min}, A{"ev1", 3, 6min}));
  EXPECT_TRUE(rec_.attempts[3].exhausted);
  EXPECT_EQ(rec_.attempts[3].next, std::nullopt);
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.exhausted, 1u);
  EXPECT_EQ(st.delivered, 1u);
  EXPECT_EQ(st.backlog(), 0u);
  // ev2's success (at 0) came after ev1's first failure: it ended that streak; ev1's later failures began
  // another, which only a success ends.
  EXPECT_EQ(st.state, SubState::kRetrying);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(OrderingTest, GiveUpAfterDeactivatesDiscardingEverythingAndAbandoningEveryAttemptInFlight) {
  // A receiver that fails everything, slowly (each answer after 1m); 2 in flight; a retry 3m after each
  // failure; give up 8m30s after the streak began.
  script([](const std::string&, uint32_t, Duration) { return 503; }, 1min);
  RetryPolicy p = unordered(2, {3min});
  p.repeat = 3min;
  p.give_up_after = 8min + 30s;
  add_sub("acme", p);
  for (int i = 1; i <= 4; ++i) publish("ev" + std::to_string(i));
  run_until(1h);
  // ev1, ev2: 0-1m, 4m-5m, 8m-9m (then 12m, after the deadline: none). ev3, ev4: 1m-2m, 5m-6m, and from
  // 9m, in flight at the deadline (streak start 1m + 8m30s = 9m30s): abandoned.
  std::vector<Duration> starts = rec_.times("acme");
  EXPECT_THAT(starts, ElementsAre(0ms, 0ms, 1min, 1min, 4min, 4min, 5min, 5min, 8min, 8min, 9min, 9min));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 9min + 30s);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 4u);
  ASSERT_EQ(rec_.attempts.size(), 12u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(rec_.attempts[i].error, i >= 10 ? ErrorClass::kAbandoned : ErrorClass::kStatus) << i;
  EXPECT_EQ(rec_.attempts[10].event, "ev3");
  EXPECT_EQ(rec_.attempts[11].event, "ev4");
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.state, SubState::kDeactivated);
  EXPECT_EQ(st.backlog(), 0u);
  EXPECT_TRUE(st.retry_at.empty());
  EXPECT_EQ(st.attempts, 12u);
  EXPECT_EQ(engine_->find("acme")->in_flight_count, 0u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(OrderingTest, AnEventWithNoRetryBeforeTheDeadlineGoesWhenASuccessEndsTheStreak) {
  // ev1 fails at 0; its next delay (1h) falls after the 30m deadline, so it waits without a retry. ev2,
  // published at 10m, succeeds: the streak ends and ev1 goes at once (and succeeds: the receiver is back).
  script([](const std::string& ev, uint32_t, Duration t) { return ev == "ev1" && t < 5min ? 503 : 200; });
  RetryPolicy p = unordered(1, {1h});
  p.give_up_after = 30min;
  add_sub("acme", p);
  publish("ev1");
  run_until(10min);
  ASSERT_EQ(state("acme").retry_at.size(), 1u);
  EXPECT_EQ(state("acme").retry_at[0].second, std::nullopt);
  EXPECT_EQ(rec_.attempts[0].next, std::nullopt);
  publish("ev2");
  run_until(1h);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 10min}, A{"ev1", 2, 10min}));
  EXPECT_TRUE(rec_.lifecycle.empty());
  EXPECT_EQ(state("acme").delivered, 2u);
}

TEST_F(OrderingTest, ARestartResumesEachEventsRetryAtItsPlannedTime) {
  script([](const std::string& ev, uint32_t, Duration t) { return ev == "ev1" && t < 20min ? 503 : 200; },
         1s);
  add_sub("acme", unordered(2));
  publish("ev1");
  publish("ev2");
  run_until(30s);  // ev1 failed at 1s (retry due at 1m1s); ev2 delivered at 1s
  ASSERT_EQ(state("acme").retry_at.size(), 1u);
  EXPECT_EQ(state("acme").retry_at[0].second, kStart + 1min + 1s);
  publish("ev3");
  restart_scripted();  // ev3 in flight: sent again at once; ev1's retry kept
  run_until(1h);
  EXPECT_THAT(attempts(),
              ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev3", 1, 30s}, A{"ev1", 2, 1min + 1s},
                          A{"ev1", 3, 6min + 2s}, A{"ev1", 4, 36min + 3s}));
  EXPECT_EQ(state("acme").delivered, 3u);
  EXPECT_TRUE(state("acme").retry_at.empty());
}

TEST_F(OrderingTest, RetryNowMakesEveryWaitingEventDue) {
  script([](const std::string&, uint32_t, Duration t) { return t < 2min ? 503 : 200; });
  add_sub("acme", unordered(4));
  publish("ev1");
  publish("ev2");
  run_until(30s);
  EXPECT_EQ(state("acme").retry_at.size(), 2u);
  run_until(3min);  // both retried at 1m, failed again; next at 6m
  ASSERT_TRUE(engine_->retry_now("acme").ok());
  run_until(4min);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 0ms}, A{"ev1", 2, 1min},
                                      A{"ev2", 2, 1min}, A{"ev1", 3, 3min}, A{"ev2", 3, 3min}));
  EXPECT_EQ(state("acme").delivered, 2u);
  Status again = engine_->retry_now("acme");
  EXPECT_EQ(again.code(), Status::Code::kFailedPrecondition) << again.message();
}

TEST_F(OrderingTest, TheOrderingChangesOnlyWithAnEmptyQueue) {
  script([](const std::string&, uint32_t, Duration) { return 503; });
  add_sub("acme", unordered(1));
  publish("ev1");
  run_until(10s);
  SubscriptionConfig c = engine_->find("acme")->config;
  c.policy.ordering = Ordering::kFifo;
  c.policy.concurrency = 1;
  Status st = engine_->update_subscription(c);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(st.message(), ::testing::HasSubstr("policy.ordering"));
  EXPECT_EQ(engine_->find("acme")->config.policy.ordering, Ordering::kUnordered);
  // A larger concurrency applies at once.
  publish("ev2");
  publish("ev3");
  c = engine_->find("acme")->config;
  c.policy.concurrency = 5;
  ASSERT_TRUE(engine_->update_subscription(c).ok());
}

TEST_F(OrderingTest, NoEventGoesMoreThanTheWindowPastTheOldestQueued) {
  // ev1 fails until 10m (retried at 1m, 6m, then delivered at 36m); the others succeed at once. Past
  // kUnorderedWindow events beyond ev1 nothing is sent, so the state's list of events delivered ahead of it
  // stays bounded; once ev1 leaves the queue the rest go.
  script([](const std::string& ev, uint32_t, Duration t) { return ev == "ev1" && t < 10min ? 503 : 200; });
  add_sub("acme", unordered(1));
  const uint64_t n = Engine::kUnorderedWindow + 5;
  for (uint64_t i = 1; i <= n; ++i) publish("ev" + std::to_string(i));
  run_until(30min);
  const DeliveryState& st = state("acme");
  EXPECT_EQ(st.head_seq, 1u);
  EXPECT_EQ(st.delivered_ahead.size(), Engine::kUnorderedWindow - 1);  // seqs 2 .. window
  EXPECT_EQ(st.backlog(), 6u);                                         // ev1, and the 5 past the window
  EXPECT_EQ(st.delivered, Engine::kUnorderedWindow - 1);
  run_until(1h);
  EXPECT_EQ(state("acme").delivered, n);
  EXPECT_EQ(state("acme").backlog(), 0u);
  EXPECT_TRUE(state("acme").delivered_ahead.empty());
  // The last 5 went at 36m, after ev1.
  for (size_t i = rec_.attempts.size() - 5; i < rec_.attempts.size(); ++i)
    EXPECT_EQ(rec_.attempts[i].t, 36min) << rec_.attempts[i].event;
}

TEST_F(OrderingTest, SwitchingToFifoDuringAStreakStartsTheNextEventsScheduleAfresh) {
  // Unordered, ev1 is exhausted after 2 attempts (0, 1m): the queue is empty but the streak goes on.
  script([](const std::string& ev, uint32_t, Duration) { return ev == "ev1" ? 503 : 200; });
  RetryPolicy p = unordered(1);
  p.max_attempts = 2;
  add_sub("acme", p);
  publish("ev1");
  run_until(1h);
  ASSERT_EQ(state("acme").exhausted, 1u);
  ASSERT_EQ(state("acme").state, SubState::kRetrying);
  SubscriptionConfig c = engine_->find("acme")->config;
  c.policy.ordering = Ordering::kFifo;
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  restart_scripted();  // what was written says so too
  run_until(2h);
  publish("ev2");  // sent at once, not held behind a schedule that counted ev1's failures
  run_until(3h);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev1", 2, 1min}, A{"ev2", 1, 2h}));
  EXPECT_EQ(state("acme").delivered, 1u);
}

TEST_F(OrderingTest, NothingIsSentAfterTheDeadlineWhenAPolicyChangeMovesItIntoThePast) {
  // Each answer takes 10m. ev1 fails (0-10m: the streak begins at 10m), its retry is due at 11m but waits
  // for the slot ev2 holds (10m-20m). At 12m the policy gives up after 1m (the deadline, 11m, has passed)
  // and allows 2 in flight: the subscription is deactivated at once; ev1 is not sent.
  script([](const std::string& ev, uint32_t, Duration) { return ev == "ev1" ? 503 : 200; }, 10min);
  add_sub("acme", unordered(1));
  publish("ev1");
  publish("ev2");
  run_until(12min);
  SubscriptionConfig c = engine_->find("acme")->config;
  c.policy.give_up_after = 1min;
  c.policy.concurrency = 2;
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  run_until(1h);
  EXPECT_THAT(attempts(), ElementsAre(A{"ev1", 1, 0ms}, A{"ev2", 1, 10min}));
  EXPECT_EQ(rec_.attempts[1].error, ErrorClass::kAbandoned);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 12min);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 2u);
}

TEST(OrderingScenario, SimulateMakesNoOrderClaimForAnUnorderedSubscription) {
  // A receiver down from 10m to 2h, an event every 5m: unordered, events published during the outage are
  // delivered as their own retries come, out of publish order. simulate's audit must not call that a
  // violation; with FIFO the same scenario delivers in order.
  auto run = [](const char* ordering) {
    json scenario = json::parse(R"({"seed": 1, "duration": "1d",
        "subscriptions": [{"id": "a", "receiver": {"windows": [{"from": "10m", "until": "2h", "status": 503}]}}],
        "events": [{"every": "5m", "until": "3h", "type": "tracking"}]})");
    scenario["policy"] = {{"ordering", ordering}, {"immediate_retries", 0}, {"delays", {"7m", "31m"}}};
    sim::Summary summary;
    const std::string log = testutil::simulate_log(scenario, &summary);
    // Deliveries whose seq is below one delivered before.
    size_t reordered = 0;
    uint64_t highest = 0;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      if (j["kind"] != "attempt" || j["outcome"] != "delivered") continue;
      uint64_t seq = j["seq"];
      reordered += seq < highest;
      highest = std::max(highest, seq);
    }
    return std::make_pair(summary.order_violations, reordered);
  };
  auto [unordered_violations, unordered_reordered] = run("unordered");
  EXPECT_GT(unordered_reordered, 0u);
  EXPECT_EQ(unordered_violations, 0u);
  auto [fifo_violations, fifo_reordered] = run("fifo");
  EXPECT_EQ(fifo_reordered, 0u);
  EXPECT_EQ(fifo_violations, 0u);
}

TEST(OrderingScenario, TheAuditCountsAnUnorderedEventDeliveredTwice) {
  sim::DeliveryAudit audit;
  audit.set_unordered("a");
  AttemptRecord r;
  r.sub = "a";
  r.status = 200;
  for (uint64_t seq : {3, 1, 2}) {
    r.seq = seq;
    audit.on_attempt(r);
  }
  EXPECT_EQ(audit.order_violations, 0u);
  r.seq = 1;
  audit.on_attempt(r);
  EXPECT_EQ(audit.order_violations, 1u);
}

TEST(OrderingPolicy, JsonFieldsAndTheirErrors) {
  auto p = parse_policy(json::parse(R"({"ordering":"unordered","concurrency":8})"), "policy");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->ordering, Ordering::kUnordered);
  EXPECT_EQ(p->concurrency, 8u);
  EXPECT_EQ(policy_to_json(*p)["ordering"], "unordered");
  EXPECT_EQ(policy_to_json(*p)["concurrency"], 8);
  auto back = parse_policy(json::parse(policy_to_json(*p).dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
  // The default and frotcom: FIFO, and their JSON does not mention it.
  EXPECT_FALSE(policy_to_json(RetryPolicy::frotcom()).contains("ordering"));
  EXPECT_EQ(parse_policy(json::parse(R"({"ordering":"fifo"})"), "policy")->ordering, Ordering::kFifo);
  struct Bad {
    const char* text;
    const char* message;
  };
  for (const Bad& bad : std::vector<Bad>{
           {R"({"ordering":"random"})", "policy.ordering: must be \"fifo\" or \"unordered\""},
           {R"({"ordering":"unordered","concurrency":0})",
            "policy.concurrency: must be a whole number from 1 to 1000"},
           {R"({"ordering":"unordered","concurrency":1001})",
            "policy.concurrency: must be a whole number from 1 to 1000"},
           {R"({"concurrency":4})", "policy.concurrency: needs \"ordering\": \"unordered\""},
           {R"({"ordering":"unordered","probe":"live"})",
            "policy.probe: \"live\" needs \"ordering\": \"fifo\""},
       }) {
    auto r = parse_policy(json::parse(bad.text), "policy");
    ASSERT_FALSE(r.ok()) << bad.text;
    EXPECT_THAT(r.status().message(), ::testing::StartsWith(bad.message)) << bad.text;
  }
}

TEST(OrderingPolicy, TheStateKeepsEachEventsRetryAndOlderRecordsReadWithout) {
  DeliveryState s;
  s.head_seq = 3;
  s.next_seq = 9;
  s.streak_start = kStart;
  s.retry_at = {{4, kStart + 1min}, {7, std::nullopt}};
  auto back = storage::decode_state(storage::encode_state(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, s);
  DeliveryState fifo = s;
  fifo.retry_at.clear();
  std::string bytes = storage::encode_state(fifo);
  EXPECT_EQ(*storage::decode_state(bytes), fifo);
  // A retry list out of order, or of an event outside the queue, is damage.
  s.retry_at = {{9, kStart}};
  EXPECT_FALSE(storage::decode_state(storage::encode_state(s)).ok());
  // A retry list out of order is damage.
  s.retry_at = {{7, std::nullopt}, {4, kStart}};
  EXPECT_FALSE(storage::decode_state(storage::encode_state(s)).ok());
}

}  // namespace
}  // namespace hooksim
