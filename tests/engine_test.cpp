// The delivery state machine driven through simulated time: the real Engine, the real RocksDB store,
// a VirtualScheduler and simulated receivers.
#include "engine/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "engine/clock.h"
#include "protocol/envelope.h"
#include "sim/sim_transport.h"
#include "storage/rocks_store.h"
#include "tests/engine_fixture.h"

namespace hooksim {
namespace {

using namespace testing_engine;

using namespace std::chrono_literals;
using std::chrono::days;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

const std::vector<Duration> kSixteenAttempts = {
    0ms,        0ms,        0ms,         0ms,         5min,        20min,        55min,        1h + 55min,
    4h + 25min, 9h + 25min, 19h + 55min, 40h + 55min, 88h + 55min, 112h + 55min, 136h + 55min, 160h + 55min};

TEST_F(EngineTest, PermanentOutageMakesSixteenAttemptsAndDeactivatesAtSevenDays) {
  add("acme", always(503));
  publish("ev1");
  run_until(days(8));

  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(kSixteenAttempts));
  for (size_t i = 0; i < rec_.attempts.size(); ++i) {
    EXPECT_EQ(rec_.attempts[i].attempt, i + 1);
    EXPECT_EQ(rec_.attempts[i].seq, 1u);
    EXPECT_FALSE(rec_.attempts[i].delivered);
    EXPECT_EQ(rec_.attempts[i].error, ErrorClass::kStatus);
  }
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].kind, LifecycleRecord::Kind::kDeactivated);
  EXPECT_EQ(rec_.lifecycle[0].t, 168h);
  EXPECT_EQ(rec_.lifecycle[0].discarded, 1u);
  EXPECT_EQ(state("acme").state, SubState::kDeactivated);
  EXPECT_EQ(state("acme").backlog(), 0u);
  EXPECT_EQ(state("acme").discarded, 1u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(EngineTest, DelaysCountFromTheEndOfTheFailedAttempt) {
  // Each failed attempt takes 2s, so every delay starts 2s after the attempt began; the streak starts at
  // the end of the first failure (t0 = 2s) and deactivation is at t0 + 7d.
  add("acme", always(500, 2s));
  publish("ev1");
  run_until(days(8));
  std::vector<Duration> expected;
  Duration end = 0ms;
  RetryPolicy p = RetryPolicy::frotcom();
  for (uint32_t n = 1;; ++n) {
    expected.push_back(end);
    end += 2s;  // the attempt's latency
    Duration next = end + p.delay_after_failure(n);
    if (next >= 2s + days(7)) break;
    end = next;
  }
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(expected));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 2s + days(7));
}

TEST_F(EngineTest, OutageThenRecoveryDrainsTheBacklogInOrderWithoutGapsOrDuplicates) {
  add("acme", outage(1h, 3h, 503, 10ms));
  publish_series(300, 1min);  // 5 hours of events, one a minute
  run_until(days(1));

  std::vector<uint64_t> expected(300);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAreArray(expected));
  // The head was blocked from 1h: the first attempt in the outage failed, then the schedule ran until an
  // attempt after 3h succeeded. No event other than the blocked head was attempted during the outage.
  for (const auto& a : rec_.attempts) {
    if (!a.delivered) {
      EXPECT_EQ(a.seq, 61u);
    }
  }
  EXPECT_EQ(state("acme").state, SubState::kActive);
  EXPECT_EQ(state("acme").backlog(), 0u);
  EXPECT_EQ(state("acme").delivered, 300u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(EngineTest, ASuccessEndsTheStreakAndTheNextFailureStartsANewOne) {
  add("acme", outage(0ms, 1s, 503));
  publish("ev1");  // fails 4 times at t=0, then succeeds at 5m
  run_until(10min);
  publish("ev2");
  run_until(20min);
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 10min));
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 2));
  EXPECT_FALSE(state("acme").streak_start.has_value());
  EXPECT_EQ(state("acme").streak_failures, 0u);
}

TEST_F(EngineTest, EventsPublishedDuringAStreakWaitBehindTheHead) {
  add("acme", outage(0ms, 30min, 503));
  publish("ev1");
  run_until(1min);
  publish("ev2");
  publish("ev3");
  run_until(2h);
  // ev2 and ev3 were never attempted before ev1 succeeded (at 55m, the first attempt after the outage).
  std::vector<std::pair<uint64_t, Duration>> got;
  for (const auto& a : rec_.attempts) got.emplace_back(a.seq, a.t);
  EXPECT_THAT(got, ElementsAre(std::pair{1ull, 0ms}, std::pair{1ull, 0ms}, std::pair{1ull, 0ms},
                               std::pair{1ull, 0ms}, std::pair{1ull, 5min}, std::pair{1ull, 20min},
                               std::pair{1ull, 55min}, std::pair{2ull, 55min}, std::pair{3ull, 55min}));
}

TEST_F(EngineTest, EveryKindOfFailureBlocksTheQueue) {
  protocol::ReceiverBehaviour m = always(200);
  using protocol::ReceiverAction;
  m.windows.push_back({0ms, 1ms, ReceiverAction::kTimeout, 0, ErrorClass::kNone, std::nullopt, std::nullopt});
  m.windows.push_back(
      {1ms, 20s, ReceiverAction::kError, 0, ErrorClass::kConnect, std::nullopt, std::nullopt});  // refused
  m.windows.push_back(
      {20s, 4min, ReceiverAction::kAnswer, 301, ErrorClass::kNone, std::nullopt, std::nullopt});  // redirect
  add("acme", m);
  publish("ev1");
  run_until(1h);
  ASSERT_GE(rec_.attempts.size(), 5u);
  EXPECT_EQ(rec_.attempts[0].error, ErrorClass::kTimeout);
  EXPECT_EQ(rec_.attempts[1].t, 10s);  // the timed-out attempt ended after the 10s attempt timeout
  EXPECT_EQ(rec_.attempts[1].error, ErrorClass::kConnect);
  EXPECT_EQ(rec_.attempts[3].error, ErrorClass::kConnect);
  EXPECT_EQ(rec_.attempts[4].t, 10s + 5min);
  EXPECT_TRUE(rec_.attempts[4].delivered);
}

TEST_F(EngineTest, LiveProbeSendsTheNewestEventThenDrainsOldestFirst) {
  RetryPolicy live = RetryPolicy::frotcom();
  live.probe = ProbeMode::kLive;
  add("acme", outage(0ms, 50min, 503), live);
  publish("ev1");  // fails at 0 (4 times); scheduled retries at 5m, 20m, 55m
  run_until(1min);
  publish("ev2");
  publish("ev3");
  run_until(10min);
  publish("ev4");
  run_until(2h);

  std::vector<std::tuple<uint64_t, Duration, bool, bool>> got;  // seq, t, probe, delivered
  for (const auto& a : rec_.attempts) got.emplace_back(a.seq, a.t, a.probe, a.delivered);
  EXPECT_THAT(got, ElementsAre(
                       // the first failure and the 3 immediate retries carry the head
                       std::tuple{1ull, 0ms, false, false}, std::tuple{1ull, 0ms, false, false},
                       std::tuple{1ull, 0ms, false, false}, std::tuple{1ull, 0ms, false, false},
                       // scheduled retries carry the newest event queued at the time
                       std::tuple{3ull, 5min, true, false}, std::tuple{4ull, 20min, true, false},
                       std::tuple{4ull, 55min, true, true},
                       // then the backlog drains oldest-first, and the probe is not sent again
                       std::tuple{1ull, 55min, false, true}, std::tuple{2ull, 55min, false, true},
                       std::tuple{3ull, 55min, false, true}));
  // Attempt numbers are per event: ev1 had 4 attempts before, so its delivery is attempt 5.
  EXPECT_EQ(rec_.attempts[7].attempt, 5u);
  EXPECT_EQ(rec_.attempts[6].attempt, 2u);  // ev4's second attempt
  EXPECT_EQ(rec_.attempts[9].attempt, 2u);  // ev3 was probed once at 5m
  EXPECT_EQ(state("acme").backlog(), 0u);
  EXPECT_TRUE(state("acme").delivered_ahead.empty());
  EXPECT_EQ(state("acme").head_seq, 5u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(EngineTest, DeactivationDiscardsTheBacklogAndLaterEventsAreDropped) {
  add("acme", always(503));
  publish_series(10, 1min);
  run_until(days(7) + 1h);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, days(7));
  EXPECT_EQ(rec_.lifecycle[0].discarded, 10u);
  publish("late1");
  publish("late2");
  run_until(days(8));
  EXPECT_EQ(state("acme").dropped_inactive, 2u);
  EXPECT_EQ(state("acme").backlog(), 0u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
  EXPECT_EQ(rec_.attempts.size(), kSixteenAttempts.size());  // nothing attempted after deactivation
}

TEST_F(EngineTest, ReactivationStartsEmptyAndActive) {
  add("acme", outage(0ms, days(7) + 1h, 503));
  publish("ev1");
  publish("ev2");
  run_until(days(7) + 2h);
  ASSERT_EQ(state("acme").state, SubState::kDeactivated);
  EXPECT_EQ(engine_->reactivate("acme").code(), Status::Code::kOk);
  EXPECT_EQ(engine_->reactivate("acme").code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(engine_->reactivate("nope").code(), Status::Code::kNotFound);
  EXPECT_EQ(state("acme").state, SubState::kActive);
  EXPECT_EQ(state("acme").backlog(), 0u);
  size_t before = rec_.attempts.size();
  publish("ev3");
  run_until(days(7) + 3h);
  ASSERT_EQ(rec_.attempts.size(), before + 1);
  EXPECT_TRUE(rec_.attempts.back().delivered);
  EXPECT_EQ(rec_.attempts.back().event, "ev3");
  EXPECT_EQ(rec_.attempts.back().seq, 3u);  // sequence numbers keep counting
  EXPECT_EQ(rec_.lifecycle.back().kind, LifecycleRecord::Kind::kReactivated);
}

TEST_F(EngineTest, FiltersRouteEachEventToEveryMatchingSubscription) {
  add("all", always(200));
  add("tracking", always(200), RetryPolicy::frotcom(), Filter{{"tracking"}, {}, {}});
  add("acct-b", always(200), RetryPolicy::frotcom(), Filter{{}, {"b"}, {}});
  add("b-v2-msg", always(200), RetryPolicy::frotcom(), Filter{{"message", "tracking"}, {"b"}, {"v2"}});
  publish("e1", "tracking", "a", "v1");
  publish("e2", "message", "b", "v2");
  publish("e3", "tracking", "b", "v2");
  publish("e4", "driving_time", "b", "v3");
  run_until(1s);
  auto events = [&](const std::string& sub) {
    std::vector<std::string> out;
    for (const auto& a : rec_.attempts)
      if (a.sub == sub) out.push_back(a.event);
    return out;
  };
  EXPECT_THAT(events("all"), ElementsAre("e1", "e2", "e3", "e4"));
  EXPECT_THAT(events("tracking"), ElementsAre("e1", "e3"));
  EXPECT_THAT(events("acct-b"), ElementsAre("e2", "e3", "e4"));
  EXPECT_THAT(events("b-v2-msg"), ElementsAre("e2", "e3"));
  EXPECT_THAT(rec_.delivered_seqs("acct-b"), ElementsAre(1, 2, 3));  // sequence numbers are per subscription
}

TEST_F(EngineTest, RestartInTheMiddleOfABackoffContinuesTheSchedule) {
  add("acme", always(503));
  publish("ev1");
  run_until(30min);  // 6 attempts made; the next is due at 55m
  restart();
  run_until(3h);
  restart();
  run_until(days(8));
  EXPECT_THAT(rec_.times("acme"), ElementsAreArray(kSixteenAttempts));
  std::vector<uint32_t> numbers;
  for (const auto& a : rec_.attempts) numbers.push_back(a.attempt);
  EXPECT_THAT(numbers, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, days(7));  // the pending deactivation kept its time
}

TEST_F(EngineTest, RestartKeepsQueuesInOrder) {
  add("acme", outage(0ms, 2h, 503, 5ms));
  publish_series(50, 1min);
  restart();
  publish_series(50, 1min, 51);
  run_until(6h);
  std::vector<uint64_t> expected(100);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAreArray(expected));
}

TEST_F(EngineTest, AnAttemptInFlightAtACrashIsMadeAgainAfterRestart) {
  add("acme", always(200, 2s));
  publish("ev1");
  run_until(1s);  // the attempt is in flight
  restart();      // its answer is lost with the process
  run_until(1min);
  ASSERT_EQ(rec_.attempts.size(), 1u);
  EXPECT_TRUE(rec_.attempts[0].delivered);
  EXPECT_EQ(rec_.attempts[0].t, 1s);  // re-sent at once when the engine came back
  EXPECT_EQ(rec_.attempts[0].event, "ev1");
}

TEST_F(EngineTest, ARetryInFlightAtACrashIsMadeAgainEvenIfAPublishWroteTheStateMeanwhile) {
  add("acme", outage(0ms, 10min, 503, 5s));
  publish("ev1");   // fails 0-5s, then immediate retries until 20s; the 5m retry runs 320s-325s
  run_until(322s);  // that retry is in flight
  publish("ev2");   // writes the subscription's state
  run_until(323s);
  restart();  // the retry's answer is lost with the process
  run_until(2h);
  std::vector<Duration> times = rec_.times("acme");
  ASSERT_GE(times.size(), 6u);
  EXPECT_EQ(times[4], 323s);  // the lost retry was made again at once
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 2));
}

// A clock that runs a retry timer late (the accelerated clock fires timers after their time) must not send
// after the deadline, and the deadline timer that is still pending must not deactivate a second time.
class LateScheduler final : public Scheduler {
 public:
  explicit LateScheduler(VirtualScheduler& inner) : inner_(inner) {}
  TimePoint now() const override { return inner_.now(); }
  TimerId schedule_at(TimePoint at, std::function<void()> fn) override {
    return inner_.schedule_at(at + late_, std::move(fn));
  }
  bool cancel(TimerId id) override { return inner_.cancel(id); }
  Duration late_{0};

 private:
  VirtualScheduler& inner_;
};

TEST_F(EngineTest, ALateRetryTimerAfterTheDeadlineDeactivatesOnceAndSendsNothing) {
  engine_.reset();
  LateScheduler late(scheduler_);
  engine_ = std::make_unique<Engine>(late, *store_, transport_, &rec_, options_);
  ASSERT_TRUE(engine_->open().ok());
  RetryPolicy p = RetryPolicy::frotcom();
  p.immediate_retries = 0;
  p.delays = {50min};
  p.give_up_after = 1h;
  add("acme", always(503), p);
  late.late_ =
      20min;       // the engine's timers fire 20 minutes late: the 50m retry at 1h10m, the deadline at 1h20m
  publish("ev1");  // fails at 0
  run_until(3h);
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms));  // the late retry sent nothing
  ASSERT_EQ(rec_.lifecycle.size(), 1u);  // once, by the late retry timer; the deadline timer was cancelled
  EXPECT_EQ(rec_.lifecycle[0].kind, LifecycleRecord::Kind::kDeactivated);
  EXPECT_EQ(rec_.lifecycle[0].t, 1h + 10min);
  EXPECT_EQ(state("acme").state, SubState::kDeactivated);
  engine_.reset();  // before `late` goes out of scope
}

TEST_F(EngineTest, RestartAfterTheDeadlinePassedDeactivatesAtOnce) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.give_up_after = 1h;
  add("acme", always(503), p);
  publish("ev1");
  run_until(30min);
  engine_.reset();  // down for two hours
  store_.reset();
  run_until(2h + 30min);
  open();
  run_until(3h);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].kind, LifecycleRecord::Kind::kDeactivated);
  EXPECT_EQ(rec_.lifecycle[0].t, 2h + 30min);   // on recovery, not later
  EXPECT_EQ(rec_.times("acme").back(), 20min);  // no attempt after the deadline, even an overdue one
}

TEST_F(EngineTest, AnAttemptStillRunningAtTheDeadlineIsAbandonedExactlyThen) {
  RetryPolicy p = RetryPolicy::frotcom();
  p.immediate_retries = 0;
  p.delays = {59min + 55s};
  p.give_up_after = 1h;
  protocol::ReceiverBehaviour m = always(200);
  m.windows.push_back({0ms, days(1), protocol::ReceiverAction::kTimeout, 0, ErrorClass::kNone, std::nullopt,
                       std::nullopt});  // never answers
  add("acme", m, p);
  publish("ev1");
  run_until(2h);
  // First attempt: 0s..10s (timeout), t0 = 10s, deadline 1h0m10s. Second attempt at 1h0m5s would time out at
  // 1h0m15s, after the deadline: it is abandoned at the deadline.
  ASSERT_EQ(rec_.attempts.size(), 2u);
  EXPECT_EQ(rec_.attempts[0].error, ErrorClass::kTimeout);
  EXPECT_EQ(rec_.attempts[1].t, 1h + 5s);
  EXPECT_EQ(rec_.attempts[1].error, ErrorClass::kAbandoned);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 1h + 10s);
}

TEST_F(EngineTest, RejectsBadSubscriptionsAndEventsWithoutChangingAnything) {
  SubscriptionConfig c;
  c.id = "bad id!";
  EXPECT_EQ(engine_->add_subscription(c).code(), Status::Code::kInvalidArgument);
  add("acme", always(200));
  c.id = "acme";
  EXPECT_EQ(engine_->add_subscription(c).code(), Status::Code::kAlreadyExists);
  Event events[2] = {{"ok", "tracking", "a", "v", kStart, "{}"}, {"", "tracking", "a", "v", kStart, "{}"}};
  EXPECT_EQ(engine_->publish(events).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(state("acme").next_seq, 1u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
  EXPECT_EQ(engine_->subscription_ids(), std::vector<std::string>{"acme"});
}

TEST_F(EngineTest, DuplicateEventIdsArePublishedOnceWhenDedupeIsOn) {
  options_.dedupe_event_ids = true;
  restart();
  add("acme", always(200));
  Event a{"a", "tracking", "x", "v", kStart, "{}"};
  Event b{"b", "tracking", "x", "v", kStart, "{}"};
  PublishResult r;
  ASSERT_TRUE(engine_->publish(std::vector<Event>{a}, &r).ok());
  EXPECT_TRUE(r.duplicates.empty());
  restart();  // the ids are remembered durably
  ASSERT_TRUE(engine_->publish(std::vector<Event>{b, a}, &r).ok());
  EXPECT_EQ(r.duplicates, std::vector<size_t>{1});
  EXPECT_EQ(r.fanout, 1u);
  EXPECT_EQ(engine_->publish(std::vector<Event>{b, b}).code(), Status::Code::kInvalidArgument);
  run_until(1min);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 2));
}

TEST_F(EngineTest, GroupCommitSendsTheNextEventOnlyOnceTheSuccessBeforeItIsWritten) {
  options_.group_commit = true;
  restart();
  add("acme", always(200, 1s));
  add("beta", always(200, 1s));
  publish("ev1");
  publish("ev2");
  run_until(10s);
  // Each subscription delivered ev1 and waits for flush() before ev2.
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1));
  EXPECT_THAT(rec_.delivered_seqs("beta"), ElementsAre(1));
  EXPECT_FALSE(engine_->find("acme")->in_flight);
  EXPECT_EQ(state("acme").head_seq, 2u);
  EXPECT_EQ(*store_->count_queued(1), 2u);  // the success is not written yet

  engine_->flush();  // one batch for both; then both send ev2
  EXPECT_EQ(*store_->count_queued(1), 1u);
  EXPECT_EQ(*store_->count_queued(2), 1u);
  EXPECT_TRUE(engine_->find("acme")->in_flight);
  EXPECT_TRUE(engine_->find("beta")->in_flight);
  run_until(20s);
  engine_->flush();
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 2));
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(EngineTest, GroupCommitRepeatsAnUnwrittenSuccessAfterACrashAndNothingElse) {
  options_.group_commit = true;
  restart();
  add("acme", always(200, 1s));
  publish("ev1");
  publish("ev2");
  run_until(10s);  // ev1 delivered, its success not written: like an attempt in flight at a crash
  restart();
  run_until(20s);
  engine_->flush();
  run_until(30s);
  engine_->flush();
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 1, 2));
}

TEST_F(EngineTest, GroupCommitSendsTheNextEventOnlyOnceTheSuccessIsWrittenEvenWhenAPublishComesFirst) {
  options_.group_commit = true;
  restart();
  add("acme", always(200, 1s));
  publish("ev1");
  run_until(10s);
  EXPECT_EQ(*store_->count_queued(1), 1u);  // ev1's success waits for flush()
  publish("ev2");                           // writes ev2 and acme's tail, not its state: ev2 waits too
  EXPECT_EQ(*store_->count_queued(1), 2u);
  EXPECT_FALSE(engine_->find("acme")->in_flight);
  restart();                              // ev1's success was never written: both are made again, in order
  EXPECT_EQ(state("acme").next_seq, 3u);  // from ev2's tail (acme's stored state says 1)
  run_until(20s);
  engine_->flush();  // writes ev1's success, sends ev2
  run_until(30s);
  engine_->flush();
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 1, 2));
  publish("ev3");  // nothing waits: ev3 goes at once
  EXPECT_TRUE(engine_->find("acme")->in_flight);
  run_until(40s);
  engine_->flush();
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1, 1, 2, 3));
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

// The staged publish of shards (Engine::stage_publish): a subscription that gives up between the stage and
// the commit (its own deadline timer, on its shard's thread) discards the staged events with its backlog,
// at the commit, or at the next open() when the process died before it.
class StagedPublishTest : public EngineTest {
 protected:
  // Stages ev2 for "acme" (failing since 0, give_up_after 1h), lets it give up, writes the staged batch.
  void stage_then_deactivate_then_write() {
    RetryPolicy policy = RetryPolicy::frotcom();
    policy.give_up_after = 1h;
    add("acme", outage(0ms, 1000h), policy);
    publish("ev1");
    run_until(59min);
    events_ = {Event{"ev2", "tracking", "a1", "v1", scheduler_.now(), "{}"}};
    engine_->stage_publish(events_, skip_, staged_);
    ASSERT_EQ(staged_.slots.size(), 1u);
    EXPECT_EQ(staged_.slots[0].seq, 2u);
    run_until(61min);
    ASSERT_EQ(state("acme").state, SubState::kDeactivated);
    auto batch = store_->new_batch();
    const StagedPublish* all[] = {&staged_};
    Engine::add_publish(*batch, events_, skip_, all, scheduler_.now(), options_.envelope, false, false);
    ASSERT_TRUE(store_->write(*batch, Durability::kSynced).ok());
    EXPECT_EQ(*store_->count_queued(1), 1u);  // ev2, written after the backlog was discarded
  }
  void expect_discarded() {
    EXPECT_EQ(state("acme").state, SubState::kDeactivated);
    EXPECT_EQ(state("acme").backlog(), 0u);
    EXPECT_EQ(state("acme").next_seq, 3u);
    EXPECT_EQ(state("acme").discarded, 2u);
    EXPECT_EQ(*store_->count_queued(1), 0u);
  }
  std::vector<Event> events_;
  std::vector<bool> skip_ = {false};
  StagedPublish staged_;
};

TEST_F(StagedPublishTest, ASubscriptionThatGaveUpAfterTheStageDiscardsTheEventsAtTheCommit) {
  ASSERT_NO_FATAL_FAILURE(stage_then_deactivate_then_write());
  engine_->commit_publish(events_, skip_, {}, scheduler_.now());
  expect_discarded();
  restart();
  expect_discarded();
}

TEST_F(StagedPublishTest, ACrashBeforeTheCommitIsRepairedByTheNextOpen) {
  ASSERT_NO_FATAL_FAILURE(stage_then_deactivate_then_write());
  restart();  // ev2's tail says 3; the deactivated state says 2
  expect_discarded();
}

// A publish writes no state, only tails: events a deactivated subscription drops are counted from its tail
// after a restart.
TEST_F(StagedPublishTest, EventsDroppedWhileDeactivatedAreStillCountedAfterARestart) {
  RetryPolicy policy = RetryPolicy::frotcom();
  policy.give_up_after = 1h;
  add("acme", outage(0ms, 1000h), policy);
  publish("ev1");
  run_until(2h);
  ASSERT_EQ(state("acme").state, SubState::kDeactivated);
  publish("ev2");
  publish("ev3");
  EXPECT_EQ(state("acme").dropped_inactive, 2u);
  restart();
  EXPECT_EQ(state("acme").dropped_inactive, 2u);
  EXPECT_EQ(state("acme").next_seq, 2u);
  EXPECT_EQ(*store_->count_queued(1), 0u);
}

TEST_F(StagedPublishTest, AnAbortedStageChangesNothingAndTheNextPublishTakesItsNumbers) {
  add("acme", always(200));
  events_ = {Event{"ev1", "tracking", "a1", "v1", scheduler_.now(), "{}"}};
  engine_->stage_publish(events_, skip_, staged_);
  ASSERT_EQ(staged_.slots.size(), 1u);
  engine_->abort_publish();  // the write failed
  EXPECT_EQ(state("acme").next_seq, 1u);
  publish("ev2");
  run_until(1s);
  EXPECT_THAT(rec_.delivered_seqs("acme"), ElementsAre(1));
  ASSERT_EQ(rec_.attempts.size(), 1u);
  EXPECT_EQ(rec_.attempts[0].event, "ev2");
}

TEST_F(EngineTest, GroupCommitForgetsARemovedSubscription) {
  options_.group_commit = true;
  restart();
  add("acme", always(200));
  add("beta", always(200));
  publish("ev1");
  run_until(1s);
  ASSERT_TRUE(engine_->remove_subscription("acme").ok());
  engine_->flush();  // writes beta only; acme is gone
  EXPECT_EQ(*store_->count_queued(2), 0u);
  EXPECT_FALSE(engine_->find("acme"));
}

TEST_F(EngineTest, UpdateChangesTheFilterAndPolicyButKeepsTheQueue) {
  add("acme", outage(0ms, 1h, 503));
  publish("ev1");
  run_until(1min);  // 4 failures at 0; the next retry is due at 5m; deactivation at 7d
  SubscriptionConfig c = engine_->find("acme")->config;
  c.filter.types = {"message"};
  c.policy.give_up_after = 30min;
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  publish("ev2", "tracking");  // filtered out now
  run_until(2h);
  EXPECT_EQ(state("acme").state, SubState::kDeactivated);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 30min);  // the pending deactivation follows the new policy
  EXPECT_EQ(state("acme").next_seq, 2u);
  restart();
  EXPECT_EQ(engine_->find("acme")->config.filter.types, std::vector<std::string>{"message"});
  c.id = "nope";
  EXPECT_EQ(engine_->update_subscription(c).code(), Status::Code::kNotFound);
}

// A shared body (an event in several queues) is released by every way its entries leave, including a
// deactivation that discards a backlog of exactly one event, whose body reference the engine never read.
TEST_F(EngineTest, ADeactivationThatDiscardsOneSharedEventReleasesItsBody) {
  add("down", always(503));
  add("up", always(200));
  publish("ev1");  // joins both queues: one stored body, two references
  run_until(1s);
  auto mid = store_->count_bodies();
  ASSERT_TRUE(mid.ok()) << mid.status().message();
  EXPECT_EQ(mid->bodies, 1u);  // "down" still holds it
  run_until(days(8));
  ASSERT_EQ(state("down").state, SubState::kDeactivated);
  EXPECT_EQ(state("down").discarded, 1u);
  auto after = store_->count_bodies();
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->bodies, 0u);
  EXPECT_EQ(after->refs, 0u);
  EXPECT_EQ(after->in_memory, 0u);
}

// Routing goes through an index of the filters (engine/filter_index.h): it must follow every change.
TEST_F(EngineTest, RoutingFollowsFilterChangesRemovalsAndRestarts) {
  add("v1", always(200), RetryPolicy::frotcom(), Filter{{}, {}, {"v1"}});
  add("b", always(200), RetryPolicy::frotcom(), Filter{{}, {"b"}, {}});
  add("gone", always(200), RetryPolicy::frotcom(), Filter{{}, {}, {"v1"}});
  publish("e1", "tracking", "a", "v1");  // v1, gone
  SubscriptionConfig c = engine_->find("v1")->config;
  c.filter = Filter{{}, {}, {"v2"}};  // from one vehicle to another
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  c = engine_->find("b")->config;
  c.filter = Filter{};  // from an account to every event
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  ASSERT_TRUE(engine_->remove_subscription("gone").ok());
  publish("e2", "tracking", "a", "v1");  // b
  publish("e3", "tracking", "a", "v2");  // v1, b
  restart();                             // the index is rebuilt from the stored filters
  publish("e4", "message", "c", "v2");   // v1, b
  publish("e5", "message", "c", "v3");   // b
  run_until(1s);
  auto events = [&](const std::string& sub) {
    std::vector<std::string> out;
    for (const auto& a : rec_.attempts)
      if (a.sub == sub && a.delivered) out.push_back(a.event);
    return out;
  };
  EXPECT_THAT(events("v1"), ElementsAre("e1", "e3", "e4"));
  EXPECT_THAT(events("b"), ElementsAre("e2", "e3", "e4", "e5"));
  EXPECT_EQ(state("v1").next_seq, 4u);
  EXPECT_EQ(state("b").next_seq, 5u);
}

TEST_F(EngineTest, RemovingASubscriptionDeletesItsQueueAndStopsItsAttempts) {
  add("acme", always(503));
  add("other", always(200));
  publish_series(3, 1min);
  ASSERT_TRUE(engine_->remove_subscription("acme").ok());
  EXPECT_EQ(engine_->remove_subscription("acme").code(), Status::Code::kNotFound);
  size_t attempts = rec_.attempts.size();
  run_until(days(8));
  EXPECT_EQ(rec_.attempts.size(), attempts);  // no retry ran after the removal
  EXPECT_EQ(*store_->count_queued(1), 0u);
  EXPECT_FALSE(engine_->find("acme").has_value());
  restart();
  EXPECT_EQ(engine_->subscription_ids(), std::vector<std::string>{"other"});
  add("acme", always(200));  // the id is free again, with a fresh queue
  publish("ev9");
  run_until(days(8) + 1s);
  EXPECT_EQ(rec_.attempts.back().sub, "acme");
  EXPECT_EQ(rec_.attempts.back().seq, 1u);
}

TEST_F(EngineTest, OldestQueuedIsThePublishTimeOfTheHead) {
  add("acme", always(503));
  EXPECT_EQ(*engine_->oldest_queued("acme"), std::nullopt);
  run_until(10min);
  publish("ev1");
  run_until(20min);
  publish("ev2");
  EXPECT_EQ(*engine_->oldest_queued("acme"), kStart + 10min);
  EXPECT_EQ(engine_->oldest_queued("nope").status().code(), Status::Code::kNotFound);
}

TEST_F(EngineTest, RetryNowMakesTheWaitingAttemptAtOnceAndKeepsTheStreak) {
  add("acme", outage(0ms, 10min, 503));
  publish("ev1");
  run_until(11min);  // 4 failures at 0; the next retry is due at 5m, fails; the next one at 20m
  ASSERT_EQ(state("acme").streak_failures, 5u);
  EXPECT_EQ(*state("acme").next_attempt, kStart + 20min);
  ASSERT_TRUE(engine_->retry_now("acme").ok());
  EXPECT_EQ(*state("acme").next_attempt, kStart + 11min);  // written before the attempt runs
  EXPECT_EQ(*state("acme").streak_start, kStart);
  run_until(1h);
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 0ms, 0ms, 0ms, 5min, 11min));
  EXPECT_TRUE(rec_.attempts.back().delivered);
  EXPECT_EQ(rec_.attempts.back().attempt, 6u);
  EXPECT_EQ(state("acme").state, SubState::kActive);
}

TEST_F(EngineTest, RetryNowKeepsTheDeadlineAndTheScheduleGoesOnFromTheNewAttempt) {
  add("acme", always(503));
  publish("ev1");
  run_until(1min);
  ASSERT_TRUE(engine_->retry_now("acme").ok());
  run_until(days(8));
  std::vector<Duration> times = rec_.times("acme");
  ASSERT_GE(times.size(), 7u);
  // The 5th attempt is now at 1m; the 6th follows it by the policy's delay after 5 failures (15m).
  EXPECT_THAT(std::vector<Duration>(times.begin(), times.begin() + 6),
              ElementsAre(0ms, 0ms, 0ms, 0ms, 1min, 16min));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].kind, LifecycleRecord::Kind::kDeactivated);
  EXPECT_EQ(rec_.lifecycle[0].t, days(7));  // the streak's start, so its deadline, was kept
}

TEST_F(EngineTest, RetryNowSurvivesACrashBeforeTheAttempt) {
  add("acme", outage(0ms, 3min, 503));
  publish("ev1");
  run_until(4min);
  ASSERT_TRUE(engine_->retry_now("acme").ok());
  restart();  // the attempt was not made yet; the persisted next attempt is now
  run_until(4min);
  ASSERT_FALSE(rec_.attempts.empty());
  EXPECT_EQ(rec_.attempts.back().t, 4min);
  EXPECT_TRUE(rec_.attempts.back().delivered);
}

TEST_F(EngineTest, RetryNowWhileWaitingToGiveUpMakesOneMoreAttempt) {
  RetryPolicy p;
  p.immediate_retries = 0;
  p.delays = {1h};
  p.give_up_after = 30min;
  add("acme", always(503), p);
  publish("ev1");
  run_until(1min);  // one failure; the next attempt (1h) would fall after the deadline: none is planned
  ASSERT_FALSE(state("acme").next_attempt.has_value());
  ASSERT_TRUE(engine_->retry_now("acme").ok());
  run_until(days(1));
  EXPECT_THAT(rec_.times("acme"), ElementsAre(0ms, 1min));
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].t, 30min);
}

TEST_F(EngineTest, RetryNowRefusesWhatIsNotWaiting) {
  add("acme", always(200));
  add("slow", always(503, 2s));
  add("gone", always(503), [] {
    RetryPolicy p;
    p.immediate_retries = 0;
    p.give_up_after = 1min;
    return p;
  }());
  EXPECT_EQ(engine_->retry_now("nope").code(), Status::Code::kNotFound);
  EXPECT_EQ(engine_->retry_now("acme").code(), Status::Code::kFailedPrecondition);
  publish("ev1");
  run_until(1h);
  Status st = engine_->retry_now("gone");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "subscription 'gone' is deactivated, not waiting for a retry (reactivate it)");
  st = engine_->retry_now("acme");
  EXPECT_EQ(st.message(), "subscription 'acme' is active, not waiting for a retry");
  ASSERT_EQ(state("slow").state, SubState::kRetrying);
  ASSERT_TRUE(engine_->retry_now("slow").ok());
  scheduler_.run_until(scheduler_.now());  // the retry starts; it takes 2s
  ASSERT_TRUE(engine_->find("slow")->in_flight);
  st = engine_->retry_now("slow");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(st.message(), "subscription 'slow' has an attempt in flight");
}

TEST_F(EngineTest, APolicyPatchReplansTheWaitingRetry) {
  // Four failures at 0 (each instantaneous); the next retry is planned at 5m, counted from 0.
  auto patch_delay = [&](const std::string& id, Duration first_delay) {
    SubscriptionConfig c = engine_->find(id)->config;
    c.policy.delays[0] = first_delay;
    ASSERT_TRUE(engine_->update_subscription(c).ok());
  };
  add("shorter", always(503));
  add("overdue", always(503));
  add("longer", always(503));
  add("same", always(503));
  add("past-deadline", always(503));
  add("retried", always(503));
  publish("ev1");
  run_until(1min);
  ASSERT_TRUE(engine_->retry_now("retried").ok());
  patch_delay("retried", 1h);    // a retry due now (retry now) stays due now
  patch_delay("shorter", 2min);  // counted from the failure at 0: 2m
  patch_delay("overdue", 30s);   // 30s has passed: at once (1m)
  patch_delay("longer", 1h);     // 1h, never later than the change + 1h
  SubscriptionConfig same = engine_->find("same")->config;
  same.endpoint.url = "http://other.example/";  // no policy change: the plan stays
  ASSERT_TRUE(engine_->update_subscription(same).ok());
  SubscriptionConfig c = engine_->find("past-deadline")->config;
  c.policy.give_up_after = 30min;
  c.policy.delays[0] = 1h;  // would fall after the new deadline: no attempt, deactivation at 30m
  ASSERT_TRUE(engine_->update_subscription(c).ok());
  EXPECT_EQ(*state("shorter").next_attempt, kStart + 2min);
  EXPECT_EQ(*state("overdue").next_attempt, kStart + 1min);
  EXPECT_EQ(*state("longer").next_attempt, kStart + 1h);
  EXPECT_EQ(*state("same").next_attempt, kStart + 5min);
  EXPECT_FALSE(state("past-deadline").next_attempt.has_value());
  EXPECT_EQ(*state("retried").next_attempt, kStart + 1min);
  restart();  // the re-planned times were written
  EXPECT_EQ(*state("longer").next_attempt, kStart + 1h);
  run_until(2h);
  auto fifth = [&](const std::string& id) { return rec_.times(id).at(4); };
  EXPECT_EQ(fifth("shorter"), 2min);
  EXPECT_EQ(fifth("retried"), 1min);
  EXPECT_EQ(fifth("overdue"), 1min);
  EXPECT_EQ(fifth("longer"), 1h);
  EXPECT_EQ(fifth("same"), 5min);
  EXPECT_EQ(rec_.times("past-deadline").size(), 4u);
  ASSERT_EQ(rec_.lifecycle.size(), 1u);
  EXPECT_EQ(rec_.lifecycle[0].sub, "past-deadline");
  EXPECT_EQ(rec_.lifecycle[0].t, 30min);
}

TEST(Transport, OnlyStatusesFrom200To299AreSuccesses) {
  for (int status : {0, 199, 300, 301, 404, 503}) EXPECT_FALSE(is_2xx(status)) << status;
  for (int status : {200, 202, 204, 299}) EXPECT_TRUE(is_2xx(status)) << status;
}

}  // namespace
}  // namespace hooksim
