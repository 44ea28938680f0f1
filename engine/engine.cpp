#include "engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>

#include "engine/delivery_rules.h"
#include "engine/engine_sub.h"
#include "engine/seeded.h"

namespace hooksim {

Engine::Engine(Scheduler& scheduler, QueueStore& store, Transport& transport, DeliveryObserver* observer,
               EngineOptions options)
    : scheduler_(scheduler), store_(store), transport_(transport), observer_(observer), options_(options) {
  if (options_.envelope == nullptr) {
    std::fputs("hooksim: Engine constructed without an envelope encoder (EngineOptions::envelope)\n", stderr);
    std::abort();
  }
}

Engine::~Engine() {
  for (auto& sub : subs_) stop(*sub);
}

// Cancels the subscription's timers and abandons its attempt in flight.
void Engine::stop(Sub& sub) {
  scheduler_.cancel(sub.retry_timer);
  scheduler_.cancel(sub.deadline_timer);
  scheduler_.cancel(sub.rate_timer);
  sub.retry_timer = sub.deadline_timer = sub.rate_timer = 0;
  for (const Flight& f : sub.flights) transport_.cancel(f.handle);
  sub.flights.clear();
  stop_unordered(sub);
}

Engine::Sub* Engine::lookup(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : it->second;
}

Status Engine::open() {
  auto loaded = store_.load_subscriptions();
  if (!loaded.ok()) return loaded.status();
  return open(std::move(*loaded));
}

Status Engine::open(std::vector<StoredSubscription> loaded) {
  for (StoredSubscription& stored : loaded) {
    auto sub = std::make_unique<Sub>();
    sub->key = stored.key;
    sub->config = std::move(stored.config);
    sub->state = std::move(stored.state);
    next_key_ = std::max(next_key_, sub->key + 1);
    by_id_[sub->config.id] = sub.get();
    index_.add(sub.get(), sub->config.filter);
    subs_.push_back(std::move(sub));
  }
  for (auto& sub_ptr : subs_) {
    Sub& sub = *sub_ptr;
    DeliveryState& st = sub.state;
    if (st.state == SubState::kDeactivated) {
      // Events a publish added after its backlog was discarded, before a crash (commit_publish): discarded.
      if (st.backlog() > 0) {
        st.discarded += st.backlog();
        note_removed(sub, st.head_seq, st.next_seq);
        st.head_seq = st.next_seq;
        persist_state(sub);
      }
      continue;
    }
    if (st.streak_start) {
      if (past_deadline(sub)) {
        deactivate(sub);  // the deadline passed while the engine was down
        continue;
      }
      arm_deadline(sub);
    }
    if (sub.unordered()) {
      resume_unordered(sub);
      continue;
    }
    if (st.streak_start && st.next_attempt) {
      arm_retry(sub, *st.next_attempt);
      continue;
    }
    kick(sub);
  }
  return Status::OK();
}

Status Engine::add_subscription(const SubscriptionConfig& config) {
  HOOKSIM_RETURN_IF_ERROR(validate_subscription_id(config.id));
  if (by_id_.contains(config.id))
    return Status::AlreadyExists(fmt::format("subscription '{}' already exists", config.id));
  auto sub = std::make_unique<Sub>();
  sub->key = options_.next_key ? options_.next_key->load() : next_key_;
  sub->config = config;
  auto batch = store_.new_batch();
  batch->put_config(sub->key, sub->config);
  batch->put_state(sub->key, sub->state);
  HOOKSIM_RETURN_IF_ERROR(store_.write(*batch, Durability::kSynced));
  if (options_.next_key) {
    options_.next_key->store(sub->key + 1);
  } else {
    ++next_key_;
  }
  by_id_[sub->config.id] = sub.get();
  index_.add(sub.get(), sub->config.filter);
  subs_.push_back(std::move(sub));
  return Status::OK();
}

Status Engine::update_subscription(const SubscriptionConfig& config) {
  Sub* sub = lookup(config.id);
  if (sub == nullptr) return Status::NotFound(fmt::format("no subscription '{}'", config.id));
  if (config.policy.ordering != sub->config.policy.ordering &&
      (sub->state.backlog() > 0 || !sub->flights.empty()))
    return Status::FailedPrecondition(fmt::format(
        "policy.ordering: subscription '{}' can change its ordering only with an empty queue ({} queued)",
        config.id, sub->state.backlog()));
  auto batch = store_.new_batch();
  batch->put_config(sub->key, config);
  HOOKSIM_RETURN_IF_ERROR(store_.write(*batch, Durability::kSynced));
  const RetryPolicy old_policy = std::move(sub->config.policy);
  if (!(sub->config.filter == config.filter)) {
    index_.remove(sub, sub->config.filter);
    index_.add(sub, config.filter);
  }
  sub->config = config;
  DeliveryState& st = sub->state;
  if (old_policy.ordering != config.policy.ordering && st.streak_start) {
    // The streak goes on, but no event is retrying: the next one starts its schedule afresh, as after an
    // exhausted event (unordered failures never moved schedule_from).
    st.schedule_from = st.streak_failures;
    persist_state(*sub);
  }
  if (sub->deadline_timer != 0) {
    scheduler_.cancel(sub->deadline_timer);
    arm_deadline(*sub);
    if (sub->unordered()) {
      if (!(old_policy == config.policy)) replan_unordered(*sub);
    } else if (sub->retry_timer != 0 && st.next_attempt && *st.next_attempt > scheduler_.now() &&
               st.schedule_failures() > 0 && !(old_policy == config.policy)) {
      // (A retry due now, e.g. by retry_now(), stays due now.)
      // A retry is waiting: re-plan it from the new policy for the same attempt number, from the end of
      // the failure that planned it (after a restart: the planned time less the old policy's delay).
      TimePoint failed_at =
          sub->failed_at.value_or(*st.next_attempt - old_policy.delay_after_failure(st.schedule_failures()));
      scheduler_.cancel(sub->retry_timer);
      sub->retry_timer = 0;
      st.next_attempt = config.policy.next_after_failure(st.schedule_failures(), *st.streak_start, failed_at,
                                                         jitter_draw(*sub, st.head_seq, st.streak_failures));
      if (st.next_attempt) {
        st.next_attempt = std::max(*st.next_attempt, scheduler_.now());
        arm_retry(*sub, *st.next_attempt);
      }
      persist_state(*sub);
    } else if (sub->retry_timer == 0 && sub->flights.empty() && sub->rate_timer == 0 &&
               st.schedule_failures() > 0) {
      // It was waiting to give up; a longer give_up_after may leave room for more attempts. The end of the
      // last failure is not kept, so the next delay counts from now.
      st.next_attempt =
          config.policy.next_after_failure(st.schedule_failures(), *st.streak_start, scheduler_.now(),
                                           jitter_draw(*sub, st.head_seq, st.streak_failures));
      if (st.next_attempt) arm_retry(*sub, *st.next_attempt);
      persist_state(*sub);
    }
  }
  if (sub->unordered()) kick(*sub);  // a larger concurrency sends more at once
  return Status::OK();
}

Status Engine::remove_subscription(std::string_view id) {
  Sub* sub = lookup(id);
  if (sub == nullptr) return Status::NotFound(fmt::format("no subscription '{}'", id));
  auto batch = store_.new_batch();
  batch->erase_subscription(sub->key);
  HOOKSIM_RETURN_IF_ERROR(store_.write(*batch, Durability::kSynced));
  stop(*sub);
  if (sub->unflushed) std::erase(unflushed_, sub);
  index_.remove(sub, sub->config.filter);
  by_id_.erase(sub->config.id);
  std::erase_if(subs_, [sub](const auto& p) { return p.get() == sub; });
  return Status::OK();
}

Result<std::optional<TimePoint>> Engine::oldest_queued(std::string_view id) {
  Sub* sub = lookup(id);
  if (sub == nullptr) return Status::NotFound(fmt::format("no subscription '{}'", id));
  if (sub->state.backlog() == 0) return std::optional<TimePoint>();
  auto event = store_.read_event(sub->key, sub->state.head_seq);
  if (!event.ok()) return event.status();
  return std::optional<TimePoint>(event->enqueued_at);
}

Status Engine::reactivate(std::string_view id) {
  Sub* found = lookup(id);
  if (found == nullptr) return Status::NotFound(fmt::format("no subscription '{}'", id));
  Sub& sub = *found;
  if (sub.state.state != SubState::kDeactivated)
    return Status::FailedPrecondition(
        fmt::format("subscription '{}' is {}, not deactivated", id, to_string(sub.state.state)));
  DeliveryState next = sub.state;
  next.state = SubState::kActive;
  next.deactivated_at.reset();
  next.deactivation_reason.clear();
  HOOKSIM_RETURN_IF_ERROR(adopt_state(sub, std::move(next), Durability::kSynced));
  if (observer_)
    observer_->on_lifecycle({LifecycleRecord::Kind::kReactivated, sub.config.id, scheduler_.now(), 0});
  return Status::OK();
}

Status Engine::retry_now(std::string_view id) {
  Sub* found = lookup(id);
  if (found == nullptr) return Status::NotFound(fmt::format("no subscription '{}'", id));
  Sub& sub = *found;
  DeliveryState& st = sub.state;
  if (st.state == SubState::kDeactivated)
    return Status::FailedPrecondition(
        fmt::format("subscription '{}' is deactivated, not waiting for a retry (reactivate it)", id));
  if (sub.unordered()) return retry_now_unordered(sub);
  if (!st.streak_start)
    return Status::FailedPrecondition(
        fmt::format("subscription '{}' is active, not waiting for a retry", id));
  if (!sub.flights.empty() || sub.rate_timer != 0)
    return Status::FailedPrecondition(fmt::format("subscription '{}' has an attempt in flight", id));
  if (st.backlog() == 0)
    return Status::FailedPrecondition(fmt::format("subscription '{}' has no event queued to retry", id));
  const std::optional<TimePoint> planned = st.next_attempt;
  st.next_attempt = scheduler_.now();
  auto batch = store_.new_batch();
  add_state(*batch, sub);
  if (Status written = store_.write(*batch, Durability::kBuffered); !written.ok()) {
    st.next_attempt = planned;  // nothing changed
    return written;
  }
  sub.unremoved.clear();
  scheduler_.cancel(sub.retry_timer);
  arm_retry(sub, *st.next_attempt);
  return Status::OK();
}

std::optional<SubscriptionView> Engine::find(std::string_view id) const {
  Sub* sub = lookup(id);
  if (sub == nullptr) return std::nullopt;
  return SubscriptionView{sub->config, sub->state, !sub->flights.empty(),
                          static_cast<uint32_t>(sub->flights.size()), sub->key};
}

std::vector<std::string> Engine::subscription_ids() const {
  std::vector<std::string> ids;
  ids.reserve(subs_.size());
  for (const auto& sub : subs_) ids.push_back(sub->config.id);
  return ids;
}

// Sends the next event if the subscription is free to: idle, with a backlog, and active (no streak) or in a
// streak whose last event was dropped as exhausted with none behind it (the next event starts its schedule
// at once). Otherwise during a streak only the retry timer sends. Unordered: as many events as slots allow.
void Engine::kick(Sub& sub) {
  if (sub.unordered()) return kick_unordered(sub);
  const DeliveryState& st = sub.state;
  if (!sub.flights.empty() || sub.rate_timer != 0 || st.backlog() == 0 || st.state == SubState::kDeactivated)
    return;
  if (st.state == SubState::kRetrying && (st.schedule_failures() > 0 || sub.retry_timer != 0)) return;
  send_attempt(sub);
}

bool Engine::take_token(Sub& sub) {
  const RetryPolicy& policy = sub.config.policy;
  if (policy.rate_limit_deliveries == 0) return true;
  Duration wait = sub.bucket.take(scheduler_.now(), policy.rate_limit_deliveries, policy.rate_limit_per);
  if (wait <= Duration(0)) return true;
  // No token: the send waits for one (a deactivation or removal cancels it).
  sub.rate_timer = scheduler_.schedule_at(scheduler_.now() + wait, [this, s = &sub] {
    s->rate_timer = 0;
    if (past_deadline(*s)) {
      deactivate(*s);
    } else if (s->unordered()) {
      kick_unordered(*s);
    } else if (s->state.backlog() > 0) {
      send_attempt(*s);
    }
  });
  return false;
}

void Engine::send_attempt(Sub& sub) {
  DeliveryState& st = sub.state;
  assert(sub.flights.empty() && sub.rate_timer == 0 && st.backlog() > 0 &&
         st.state != SubState::kDeactivated);
  if (!take_token(sub)) return;
  // Immediate retries repeat the head; later retries in live mode carry the newest event.
  const RetryPolicy& policy = sub.config.policy;
  bool live = policy.probe == ProbeMode::kLive && st.schedule_failures() > 0 &&
              !policy.is_immediate_retry(st.schedule_failures());
  start_attempt(sub, live ? newest_queued(st) : st.head_seq);
}

void Engine::start_attempt(Sub& sub, uint64_t seq) {
  DeliveryState& st = sub.state;
  auto event = store_.read_event(sub.key, seq);
  if (!event.ok()) {
    // The queue and the state disagree: a bug or a damaged store. Stop this subscription loudly rather
    // than skip or reorder; the error is reported and the subscription stays blocked until restart.
    report_error(sub, event.status());
    return;
  }
  Flight& f = sub.flights.emplace_back();
  f.seq = seq;
  f.event_id = std::move(event->id);
  f.body_ref = event->body_ref;
  f.enqueued_at = event->enqueued_at;
  f.probe = !sub.unordered() && seq != st.head_seq;
  f.attempt = attempts_for(st, seq) + 1;
  f.started = scheduler_.now();
  // A retry's due time (st.next_attempt, or its st.retry_at entry) stays until its outcome is known: a state
  // written meanwhile (by a publish) must still say a retry is due, so that a crash now makes it again
  // after the restart.
  DeliveryRequest request{&sub.config,
                          f.event_id,
                          *event->body,
                          seq,
                          f.attempt,
                          f.started,
                          sub.config.policy.attempt_timeout,
                          std::move(event->body)};
  // (The transport never calls back from within send(), so `f` is still the flight here.)
  f.handle = transport_.send(request,
                             [this, s = &sub, seq](const AttemptResult& r) { on_attempt_done(*s, seq, r); });
}

// The record of an attempt in flight, without its outcome.
AttemptRecord Engine::flight_record(const Sub& sub, const Flight& f) const {
  AttemptRecord record;
  record.sub = sub.config.id;
  record.event_id = f.event_id;
  record.seq = f.seq;
  record.attempt = f.attempt;
  record.probe = f.probe;
  record.started = f.started;
  record.enqueued_at = f.enqueued_at;
  return record;
}

void Engine::on_attempt_done(Sub& sub, uint64_t seq, const AttemptResult& result) {
  if (past_deadline(sub)) {
    // The outcome arrived at or after the deactivation time (a clock that fired the deadline late):
    // the attempt counts as abandoned, whatever it answered.
    deactivate(sub);
    return;
  }
  Flight* found = sub.flight(seq);
  assert(found != nullptr);
  const Flight flight = std::move(*found);
  std::erase_if(sub.flights, [seq](const Flight& f) { return f.seq == seq; });
  DeliveryState& st = sub.state;
  AttemptRecord record = flight_record(sub, flight);
  record.latency = result.latency;
  record.status = result.status;
  record.error = result.error;
  if (record.error == ErrorClass::kNone && !is_2xx(record.status)) record.error = ErrorClass::kStatus;

  attempts_for(st, seq) = flight.attempt;
  ++st.attempts;
  st.last_attempt = flight.started;
  st.last_status = record.status;
  st.last_error = record.error;
  if (record.delivered()) {
    on_delivered(sub, flight, record);
  } else {
    on_failed(sub, flight, record, result.retry_after);
  }
}

void Engine::on_delivered(Sub& sub, const Flight& flight, const AttemptRecord& record) {
  DeliveryState& st = sub.state;
  ++st.delivered;
  remove_from_queue(st, flight.seq);
  // A success ends the streak: the backlog drains at full speed from the (possibly advanced) head.
  // Unordered, the other events waiting for a retry keep their own schedules.
  const bool streak = st.streak_start.has_value();
  st.state = SubState::kActive;
  st.streak_start.reset();
  st.streak_failures = 0;
  st.schedule_from = 0;
  st.next_attempt.reset();
  scheduler_.cancel(sub.deadline_timer);
  sub.deadline_timer = 0;
  if (sub.unordered()) {
    std::erase_if(st.retry_at, [&](const auto& r) { return r.first == flight.seq; });
    if (streak) streak_ended_unordered(sub);
    st.next_attempt = earliest_retry(st);
  }

  note_removed(sub, flight.seq, flight.seq + 1, flight.body_ref);
  if (options_.group_commit) {
    // Written, and the next event sent, by flush() (a publish meanwhile sends nothing of this subscription).
    if (!sub.unflushed) unflushed_.push_back(&sub);
    sub.unflushed = true;
    if (observer_) observer_->on_attempt(record);
    return;
  }
  persist_state(sub);
  if (observer_) observer_->on_attempt(record);
  kick(sub);
}

void Engine::flush() {
  if (unflushed_.empty()) return;
  std::vector<Sub*> subs;
  subs.swap(unflushed_);
  // In key order: a store that keeps recent writes sorted (RocksDB's memtable) inserts neighbours cheaply.
  std::sort(subs.begin(), subs.end(), [](const Sub* a, const Sub* b) { return a->key < b->key; });
  auto batch = store_.new_batch();
  for (Sub* sub : subs) add_state(*batch, *sub);
  Status st = store_.write(*batch, Durability::kBuffered);
  for (Sub* sub : subs) {
    sub->unflushed = false;
    if (st.ok()) {
      sub->unremoved.clear();
    } else {
      report_error(*sub, st);
    }
  }
  for (Sub* sub : subs) kick(*sub);
}

void Engine::on_failed(Sub& sub, const Flight& flight, AttemptRecord& record,
                       std::optional<Duration> retry_after) {
  DeliveryState& st = sub.state;
  const TimePoint now = scheduler_.now();
  sub.failed_at = now;
  const bool unordered = sub.unordered();
  // The jitter draws from the streak's failures before this one (FIFO), or from the event's own.
  const FailedAttempt failed{
      flight.seq,    flight.attempt,
      record.status, now,
      retry_after,   jitter_draw(sub, flight.seq, unordered ? flight.attempt - 1 : st.streak_failures)};
  FailureOutcome outcome = unordered ? apply_unordered_failure(sub.config.policy, st, failed)
                                     : apply_failure(sub.config.policy, st, failed);
  if (outcome.streak_began) arm_deadline(sub);
  if (outcome.exhausted) {
    record.exhausted = true;
    note_removed(sub, flight.seq, flight.seq + 1, flight.body_ref);
  }
  if (outcome.disable) {
    // Deactivated at once, as on give_up_after, which writes the state.
    if (observer_) observer_->on_attempt(record);
    deactivate(sub, std::move(*outcome.disable));
    return;
  }
  if (unordered) {
    if (outcome.due) arm_event_retry(sub, flight.seq, *outcome.due);
    record.next_attempt = outcome.due;
    persist_state(sub);
    if (observer_) observer_->on_attempt(record);
    kick_unordered(sub);  // a slot is free: the next event goes whatever became of this one
    return;
  }
  if (st.next_attempt) arm_retry(sub, *st.next_attempt);
  record.next_attempt = st.next_attempt;
  // An exhausted event leaves the queue and the next one is sent at once: the drop is synced first, or a
  // power loss could bring it back at the head after the event behind it was delivered.
  persist_state(sub, outcome.exhausted ? Durability::kSynced : Durability::kBuffered);
  if (observer_) observer_->on_attempt(record);
}

void Engine::arm_retry(Sub& sub, TimePoint at) {
  sub.retry_timer = scheduler_.schedule_at(at, [this, s = &sub] {
    s->retry_timer = 0;
    if (past_deadline(*s)) {
      deactivate(*s);  // a late clock (or a restart) must not send after the deadline
    } else {
      send_attempt(*s);
    }
  });
}

double Engine::jitter_draw(const Sub& sub, uint64_t seq, uint32_t failures) const {
  return seeded_unit(options_.seed, sub.config.id, seq, failures);
}

bool Engine::past_deadline(const Sub& sub) const {
  return sub.state.streak_start &&
         scheduler_.now() >= sub.config.policy.deactivation_time(*sub.state.streak_start);
}

void Engine::arm_deadline(Sub& sub) {
  TimePoint at = sub.config.policy.deactivation_time(*sub.state.streak_start);
  sub.deadline_timer = scheduler_.schedule_at(at, [this, s = &sub] {
    s->deadline_timer = 0;
    deactivate(*s);
  });
}

void Engine::deactivate(Sub& sub, std::string reason) {
  DeliveryState& st = sub.state;
  if (st.state == SubState::kDeactivated || !st.streak_start) return;  // nothing to give up on
  TimePoint now = scheduler_.now();
  // Whichever path got here first (the deadline timer, a late retry timer, a late outcome, a restart),
  // the other timers must not run again. Deactivation happens exactly at its time; an attempt still running
  // then is abandoned.
  const std::vector<Flight> abandoned = sub.flights;
  stop(sub);
  for (const Flight& f : abandoned) {
    ++st.attempts;
    ++st.failed_attempts;
    if (observer_) {
      AttemptRecord record = flight_record(sub, f);
      record.latency = now - f.started;
      record.error = ErrorClass::kAbandoned;
      observer_->on_attempt(record);
    }
  }
  uint64_t first = st.head_seq;
  uint64_t discarded = st.backlog();
  st.discarded += discarded;
  st.head_seq = st.next_seq;
  st.delivered_ahead.clear();
  st.attempted.clear();
  st.retry_at.clear();
  st.state = SubState::kDeactivated;
  st.deactivation_reason = !reason.empty() ? std::move(reason)
                                           : fmt::format("no successful delivery for {} since {}",
                                                         format_duration(sub.config.policy.give_up_after),
                                                         format_utc(*st.streak_start));
  st.deactivated_at = now;
  st.streak_start.reset();
  st.streak_failures = 0;
  st.schedule_from = 0;
  st.next_attempt.reset();

  note_removed(sub, first, st.next_seq);
  persist_state(sub, Durability::kSynced);
  if (observer_)
    observer_->on_lifecycle({LifecycleRecord::Kind::kDeactivated, sub.config.id, now, discarded});
}

// Writes the subscription's state with its pending queue removals. A failed write is reported and the
// removals stay pending for the next write (the state in memory goes on: a crash before a later write
// succeeds falls back to the state on disk, which redelivers rather than loses).
void Engine::persist_state(Sub& sub, Durability durability) {
  auto batch = store_.new_batch();
  add_state(*batch, sub);
  Status s = store_.write(*batch, durability);
  if (s.ok()) {
    sub.unremoved.clear();
  } else {
    report_error(sub, s);
  }
}

Status Engine::adopt_state(Sub& sub, DeliveryState next, Durability durability) {
  auto batch = store_.new_batch();
  add_removals(*batch, sub);
  batch->put_state(sub.key, next);
  HOOKSIM_RETURN_IF_ERROR(store_.write(*batch, durability));
  sub.unremoved.clear();
  sub.state = std::move(next);
  return Status::OK();
}

void Engine::add_state(StoreBatch& batch, const Sub& sub) const {
  add_removals(batch, sub);
  batch.put_state(sub.key, sub.state);
}

void Engine::add_removals(StoreBatch& batch, const Sub& sub) {
  for (const Sub::Removal& r : sub.unremoved) {
    if (r.end == r.first + 1 && r.body_ref) {
      batch.remove(sub.key, r.first, *r.body_ref);  // one entry: a SingleDelete, and no read for its body
    } else if (r.end == r.first + 1) {
      batch.remove(sub.key, r.first);  // the store reads the entry's reference
    } else {
      batch.remove_range(sub.key, r.first, r.end);
    }
  }
}

void Engine::note_removed(Sub& sub, uint64_t first, uint64_t end, std::optional<BodyRef> body_ref) {
  if (first >= end) return;
  if (!sub.unremoved.empty() && sub.unremoved.back().end == first) {
    sub.unremoved.back().end = end;  // a range now: the store finds the body references in it
  } else {
    sub.unremoved.push_back({first, end, body_ref});
  }
}

void Engine::report_error(const Sub& sub, const Status& st) {
  if (observer_) observer_->on_error(sub.config.id, st);
}

}  // namespace hooksim
