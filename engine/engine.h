// Engine: routes published events to subscriptions and runs one delivery state machine per subscription.
//
// Per subscription, events are delivered one at a time in publish order: a 2xx acknowledges the head and
// the next event goes at once; a failure blocks the queue and starts (or continues) a failure streak whose
// retries follow the subscription's RetryPolicy; `give_up_after` after the streak began the subscription
// is deactivated and its backlog discarded. The policy may also drop an event after `max_attempts`
// (the next one goes at once, the streak goes on) and deactivate at a failed attempt (`disable_on_status`,
// `disable_after`), whose rules RetryPolicy states. The state machine lives in engine.cpp and nowhere else.
//
// The engine reads time only from its Scheduler, persists only through its QueueStore, and sends only
// through its Transport. It is single-threaded: every method must be called on the scheduler's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/clock.h"
#include "engine/delivery_observer.h"
#include "engine/event.h"
#include "engine/filter_index.h"
#include "engine/queue_store.h"
#include "engine/status.h"
#include "engine/subscription.h"
#include "engine/transport.h"

namespace hooksim {

// A read-only look at one subscription, valid until the engine is next called.
struct SubscriptionView {
  const SubscriptionConfig& config;
  const DeliveryState& state;
  bool in_flight;            // an attempt is under way
  uint32_t in_flight_count;  // attempts under way (at most 1 with Ordering::kFifo)
  uint64_t key;              // its store key: subscriptions were registered in ascending key order
};

struct EngineOptions {
  // Remember every published event id (durably, in the publish batch) and skip events whose id was
  // published before: a publisher that retries after a lost acknowledgement publishes nothing twice.
  bool dedupe_event_ids = false;
  // Builds the delivery body of each queued event (protocol::make_envelope for the platform's envelope).
  // REQUIRES: set.
  EnvelopeEncoder envelope = nullptr;
  // Group commit, for an owner that runs an event loop (a service): a success does not write the
  // subscription's state at once. The subscription waits, idle, until flush(), which the owner calls at the
  // end of every turn of its loop; flush() writes the states of every subscription that succeeded since
  // the last one in one batch, then sends their next events. A next event is not sent before the success
  // before it is written, so a crash repeats at most the attempt in flight, as without it (unless that
  // write failed, e.g. a full disk: reported, and delivery goes on at least once, as without it).
  // With Ordering::kUnordered, which promises no order, other events may be sent before a success is
  // written: a crash may then repeat that success too (at least once, still).
  bool group_commit = false;
  // Seeds the policy's jitter (RetryPolicy::jitter_fraction, jitter_min/max): the scenario's seed in a
  // simulation. Each draw depends only on the seed, the subscription id, the event's sequence number and
  // the streak's failure count (engine/seeded.h), so the same seed gives the same delays, across restarts
  // too.
  uint64_t seed = 0;
  // Where new subscriptions' store keys come from when several engines (the shards of one service) share a
  // store: one counter for all of them, which their owner sets past every stored key before open() and
  // calls into one at a time. Null: the engine counts its own keys.
  std::atomic<uint64_t>* next_key = nullptr;
};

// What one engine's subscriptions take of a publish (Engine::stage_publish), before it is stored.
struct StagedPublish {
  // The queue entries, event by event: event i's are slots[first_slot[i] .. first_slot[i + 1]).
  std::vector<QueueSlot> slots;
  std::vector<size_t> first_slot;
  // Each subscription whose filter matched: its next sequence number after the events it takes, or, when
  // it is deactivated, its count of dropped events with these (StoreBatch::put_tail).
  std::vector<QueueTail> tails;
};

// What publish() did.
struct PublishResult {
  uint64_t fanout = 0;             // queue entries created
  std::vector<size_t> duplicates;  // indexes of events skipped as already published (dedupe_event_ids)
};

class Engine {
 public:
  // Ordering::kUnordered sends no event more than this far past the subscription's oldest queued event:
  // events delivered ahead of it are kept in its state (DeliveryState::delivered_ahead), written with every
  // state, so one event stuck in retries must not let that list grow without bound. Beyond it, new events
  // wait for the oldest to leave the queue (delivered, exhausted or discarded).
  static constexpr uint64_t kUnorderedWindow = 1000;

  // The engine keeps references to all four; they must outlive it. `observer` may be null.
  // REQUIRES: options.envelope is set.
  Engine(Scheduler& scheduler, QueueStore& store, Transport& transport, DeliveryObserver* observer,
         EngineOptions options);
  // Cancels the engine's timers and abandons attempts in flight, as a crash would; writes nothing.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads every subscription from the store and resumes: queues continue from their heads, retry schedules
  // continue from their persisted next-attempt times (a due or overdue retry runs at once), and a pending
  // deactivation still happens at streak start + give_up_after (at once if that time has passed).
  // REQUIRES: called once, before any other method.
  Status open();
  // As open(), from subscriptions already loaded (the engine's share of the store, in ascending key order).
  Status open(std::vector<StoredSubscription> loaded);

  // Registers a new, active subscription with an empty queue (durably).
  // InvalidArgument for a bad id, AlreadyExists when the id is taken.
  Status add_subscription(const SubscriptionConfig& config);

  // Replaces the endpoint, filter and policy of an existing subscription (durably); its queue and delivery
  // state stay. A policy change applies from the next decision on; a pending deactivation moves to the
  // new policy's streak start + give_up_after, and a subscription that was only waiting to give up gets
  // its next attempt from the new policy (the delay counted from the change). A retry already waiting is
  // re-planned by a changed policy: the new policy's delay for the same attempt number, counted from the
  // end of the failure that planned it (so never later than the change + that delay), at once when that
  // time has passed, and none (waiting to give up) when it falls at or after the deadline. With
  // Ordering::kUnordered a changed policy applies to each event from its next failure: retries already
  // planned keep their times, and events waiting to give up get a retry from the new policy when one fits.
  // The ordering itself changes only with an empty queue and nothing in flight (FailedPrecondition
  // otherwise), and the failure streak then goes on, the next event's schedule starting afresh. NotFound
  // for an unknown id.
  Status update_subscription(const SubscriptionConfig& config);

  // Deletes a subscription with its queue and state; an attempt in flight is abandoned. NotFound for an
  // unknown id.
  Status remove_subscription(std::string_view id);

  // Publishes events in order: each is appended to the queue of every active subscription whose filter
  // matches, in one durable batch, and counted as dropped by matching deactivated subscriptions.
  // On error nothing is stored and no state changes. InvalidArgument when an event id is not valid
  // (validate_event_id), or when two events of the call share an id.
  Status publish(std::span<const Event> events, PublishResult* result = nullptr);

  // publish() in steps, for several engines (shards) that share one store and must accept a publish
  // all-or-nothing, in one synced batch. publish() itself is these steps for one engine:
  //   1. prepare_publish(): the ids checked, and skip[i] for a repeat;
  //   2. stage_publish() on every engine, each on its own thread: reads, changes nothing;
  //   3. add_publish() with every engine's StagedPublish, one store write (synced);
  //   4. commit_publish() on every engine (the events join its queues and are sent), or abort_publish() if
  //      the write failed; publish_result() says what it did.
  // An engine holds one staged publish at a time and, between its steps 2 and 4, must not be called for
  // anything else but its own event loop (deliveries, timers); a subscription it deactivates meanwhile
  // discards the staged events at step 4 with the rest of its backlog.
  // InvalidArgument when an event id is not valid or two events share one; otherwise, for each event,
  // whether it is skipped as published before (only with `dedupe`, from the ids `store` remembers).
  static Result<std::vector<bool>> prepare_publish(QueueStore& store, bool dedupe,
                                                   std::span<const Event> events);
  void stage_publish(std::span<const Event> events, const std::vector<bool>& skip, StagedPublish& out);
  // Adds a publish staged by `staged` to `batch`: each event's id (`remember_ids`), its queue entries in
  // every engine with its body stored once (`envelope`, called once per event that some queue takes), the
  // tails (never a state). Returns each event's body when `keep_bodies` (for commit_publish's observer).
  static std::vector<std::string> add_publish(StoreBatch& batch, std::span<const Event> events,
                                              const std::vector<bool>& skip,
                                              std::span<const StagedPublish* const> staged, TimePoint now,
                                              const EnvelopeEncoder& envelope, bool remember_ids,
                                              bool keep_bodies);
  // `bodies`: add_publish's (may be empty); `published_at`: the `now` given to it.
  void commit_publish(std::span<const Event> events, const std::vector<bool>& skip,
                      std::span<const std::string> bodies, TimePoint published_at);
  void abort_publish();
  // What a written publish did: the events skipped, and the queue entries of every engine's share.
  static PublishResult publish_result(const std::vector<bool>& skip,
                                      std::span<const StagedPublish* const> staged);

  // Makes a deactivated subscription active again, with an empty queue and no failure streak.
  // NotFound for an unknown id; FailedPrecondition when it is not deactivated.
  Status reactivate(std::string_view id);

  // Makes the next attempt of a subscription waiting for a retry (or waiting to give up) at once, through
  // the retry timer: the streak goes on (its start, and so its deadline, is kept) and the attempt counts as
  // the streak's next one. The new next-attempt time (now) is written before the attempt is made.
  // NotFound for an unknown id; FailedPrecondition when it is deactivated (reactivate() applies), active
  // with no failure streak, or has an attempt in flight (its outcome plans the next one).
  Status retry_now(std::string_view id);

  // The subscription's config and state; nullopt for an unknown id.
  std::optional<SubscriptionView> find(std::string_view id) const;

  // When the oldest queued event of the subscription was published; nullopt when its queue is empty.
  // NotFound for an unknown id; a store error otherwise.
  Result<std::optional<TimePoint>> oldest_queued(std::string_view id);

  // Ids of all subscriptions, in registration order.
  std::vector<std::string> subscription_ids() const;

  // With EngineOptions::group_commit: writes, in one batch, the state of every subscription that succeeded
  // since the last call, then sends their next events. A failed write is reported per subscription, as
  // any failed state write is. Does nothing when nothing waits, and without group_commit.
  void flush();

 private:
  struct Sub;     // engine_sub.h
  struct Flight;  // engine_sub.h
  // The publish staged by stage_publish(), for commit_publish().
  struct Staged {
    bool pending = false;
    struct Touch {
      Sub* sub;
      uint64_t count;  // events it takes (active) or drops (deactivated)
      bool active;     // when staged
    };
    std::vector<Touch> touched;  // each subscription once
    // For an observer that wants_published(): the slots with their subscriptions, and the deactivated
    // subscriptions that drop each event (event i's: dropped[first_dropped[i] .. first_dropped[i + 1])).
    std::vector<QueueSlot> slots;
    std::vector<size_t> first_slot;
    std::vector<Sub*> slot_subs;
    std::vector<Sub*> dropped;
    std::vector<size_t> first_dropped;
  };

  void kick(Sub& sub);
  // Takes a token of the policy's rate limit for a send now; false when there is none, after arming the
  // rate timer, whose firing sends (FIFO) or kicks (unordered).
  bool take_token(Sub& sub);
  // FIFO: sends the head (or, in a live probe, the newest event).
  void send_attempt(Sub& sub);
  // Reads queued event `seq` and sends it as a new flight.
  void start_attempt(Sub& sub, uint64_t seq);
  void on_attempt_done(Sub& sub, uint64_t seq, const AttemptResult& result);
  AttemptRecord flight_record(const Sub& sub, const Flight& flight) const;
  bool past_deadline(const Sub& sub) const;
  // The jitter's uniform draw for a delay after a failure of event `seq`, from EngineOptions::seed, the
  // subscription id, `seq` and `failures`: FIFO, the streak's failures counted so far (before that
  // failure, in on_failed); unordered, the event's own attempts before it.
  double jitter_draw(const Sub& sub, uint64_t seq, uint32_t failures) const;
  void on_delivered(Sub& sub, const Flight& flight, const AttemptRecord& record);
  // `retry_after`: what the answer's Retry-After asked for (AttemptResult::retry_after). Both orderings:
  // the rules differ (apply_failure, apply_unordered_failure), the bookkeeping is the same.
  void on_failed(Sub& sub, const Flight& flight, AttemptRecord& record, std::optional<Duration> retry_after);
  // Gives up on the subscription now: abandons the attempts in flight, discards the backlog, writes the
  // state (synced). `reason` is its deactivation_reason; empty: give_up_after's.
  void deactivate(Sub& sub, std::string reason = {});
  void arm_retry(Sub& sub, TimePoint at);
  void arm_deadline(Sub& sub);

  // Ordering::kUnordered (engine_unordered.cpp): the same subscription runtime, with every queued event
  // sent as slots allow and retried on its own schedule.
  void resume_unordered(Sub& sub);
  void kick_unordered(Sub& sub);
  // A success ended the streak: events that had no retry before the deadline are due at once.
  void streak_ended_unordered(Sub& sub);
  Status retry_now_unordered(Sub& sub);
  // The subscription's policy changed: stalled events get a retry from the new policy when it fits.
  void replan_unordered(Sub& sub);
  void arm_event_retry(Sub& sub, uint64_t seq, TimePoint at);
  void stop_unordered(Sub& sub);

  void persist_state(Sub& sub, Durability durability = Durability::kBuffered);
  // Writes `next` as the subscription's state, with its pending queue removals, and only once that write
  // succeeded makes it the state in memory: on error nothing changed.
  Status adopt_state(Sub& sub, DeliveryState next, Durability durability);
  void add_state(StoreBatch& batch, const Sub& sub) const;
  static void add_removals(StoreBatch& batch, const Sub& sub);
  // `body_ref`: the body reference of a one-entry range [first, first + 1) when the caller read it
  // (QueuedEvent::body_ref); nullopt when unknown, and the store then finds it.
  static void note_removed(Sub& sub, uint64_t first, uint64_t end,
                           std::optional<BodyRef> body_ref = std::nullopt);
  void report_error(const Sub& sub, const Status& st);
  void stop(Sub& sub);
  Sub* lookup(std::string_view id) const;

  Scheduler& scheduler_;
  QueueStore& store_;
  Transport& transport_;
  DeliveryObserver* observer_;
  EngineOptions options_;
  std::vector<std::unique_ptr<Sub>> subs_;  // in ascending key order
  uint64_t next_key_ = 1;
  uint64_t publish_mark_ = 0;  // counts publish() calls, to visit each touched subscription once
  std::unordered_map<std::string, Sub*> by_id_;
  FilterIndex<Sub> index_;        // routes publish() to the subscriptions that may match
  std::vector<Sub*> candidates_;  // publish()'s scratch for index_.candidates()
  std::vector<Sub*> unflushed_;   // group commit: subscriptions whose success waits for flush()
  Staged staged_;
};

}  // namespace hooksim
