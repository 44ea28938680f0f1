// The Engine's second mode of the per-subscription state machine, Ordering::kUnordered: the same Sub, the
// same store writes, deadline, deactivation and observers as FIFO (engine.cpp), but up to the policy's
// concurrency events in flight at once, each failed event retried on its own schedule (its own failures
// counted, apply_unordered_failure), so a failing event never blocks the others. Its retries are
// persisted in DeliveryState::retry_at, so a restart resumes them at their planned times.
#include <fmt/format.h>

#include <algorithm>

#include "engine/delivery_rules.h"
#include "engine/engine_sub.h"

namespace hooksim {

void Engine::resume_unordered(Sub& sub) {
  DeliveryState& st = sub.state;
  sub.fresh = st.head_seq;
  for (auto& [seq, due] : st.retry_at) {
    if (due) {
      arm_event_retry(sub, seq, *due);
    } else if (!st.streak_start) {
      due = scheduler_.now();  // waited for the streak to end, which it did
      sub.ready.push_back(seq);
    }
  }
  kick_unordered(sub);
}

void Engine::kick_unordered(Sub& sub) {
  DeliveryState& st = sub.state;
  if (st.state == SubState::kDeactivated) return;
  if (past_deadline(sub)) {
    deactivate(sub);  // a late clock (or a shortened give_up_after) must not send after the deadline
    return;
  }
  auto waiting = [&st](uint64_t seq) {  // both lists ascending by seq
    auto retry = std::lower_bound(st.retry_at.begin(), st.retry_at.end(), seq,
                                  [](const auto& r, uint64_t s) { return r.first < s; });
    return (retry != st.retry_at.end() && retry->first == seq) ||
           std::binary_search(st.delivered_ahead.begin(), st.delivered_ahead.end(), seq);
  };
  while (sub.flights.size() < sub.config.policy.concurrency && sub.rate_timer == 0) {
    // Due retries first, then events never sent, in seq order; an event out of the queue or waiting for
    // its retry is not sent from `fresh`.
    const bool retry = !sub.ready.empty();
    if (!retry) {
      sub.fresh = std::max(sub.fresh, st.head_seq);
      while (sub.fresh < st.next_seq && waiting(sub.fresh)) ++sub.fresh;
      if (sub.fresh >= st.next_seq || sub.fresh >= st.head_seq + kUnorderedWindow) return;
    }
    if (!take_token(sub)) return;
    uint64_t seq = retry ? sub.ready.front() : sub.fresh;
    if (retry) {
      sub.ready.pop_front();
    } else {
      ++sub.fresh;
    }
    size_t before = sub.flights.size();
    start_attempt(sub, seq);
    if (sub.flights.size() == before) {
      // The store failed to read it (reported): it is tried again at the next kick, as FIFO tries its head
      // again, rather than skipped.
      if (retry) {
        sub.ready.push_front(seq);
      } else {
        --sub.fresh;
      }
      return;
    }
  }
}

void Engine::streak_ended_unordered(Sub& sub) {
  for (auto& [seq, due] : sub.state.retry_at) {
    if (due) continue;
    due = scheduler_.now();
    sub.ready.push_back(seq);
  }
}

Status Engine::retry_now_unordered(Sub& sub) {
  // Every event waiting for its retry (its timer armed, or no retry before the deadline) is due now; one
  // already due waits for a slot, or is in flight.
  DeliveryState next = sub.state;
  std::vector<uint64_t> moved;
  for (auto& [seq, due] : next.retry_at) {
    if (due && !sub.retry_timers.contains(seq)) continue;
    due = scheduler_.now();
    moved.push_back(seq);
  }
  if (moved.empty())
    return Status::FailedPrecondition(
        fmt::format("subscription '{}' has no event waiting for a retry", sub.config.id));
  next.next_attempt = earliest_retry(next);
  HOOKSIM_RETURN_IF_ERROR(adopt_state(sub, std::move(next), Durability::kBuffered));
  for (uint64_t seq : moved) {
    if (auto t = sub.retry_timers.find(seq); t != sub.retry_timers.end()) {
      scheduler_.cancel(t->second);
      sub.retry_timers.erase(t);
    }
    sub.ready.push_back(seq);
  }
  kick_unordered(sub);
  return Status::OK();
}

void Engine::replan_unordered(Sub& sub) {
  DeliveryState& st = sub.state;
  if (!st.streak_start) return;
  bool changed = false;
  for (auto& [seq, due] : st.retry_at) {
    if (due) continue;
    const uint32_t failures = attempts_for(st, seq);
    if (failures == 0) continue;
    // It had no retry before the old deadline; the new policy may have room (counted from now).
    due = sub.config.policy.next_after_failure(failures, *st.streak_start, scheduler_.now(),
                                               jitter_draw(sub, seq, failures - 1));
    if (due) {
      arm_event_retry(sub, seq, *due);
      changed = true;
    }
  }
  if (!changed) return;
  st.next_attempt = earliest_retry(st);
  persist_state(sub);
}

void Engine::arm_event_retry(Sub& sub, uint64_t seq, TimePoint at) {
  sub.retry_timers[seq] = scheduler_.schedule_at(at, [this, s = &sub, seq] {
    s->retry_timers.erase(seq);
    if (past_deadline(*s)) {
      deactivate(*s);  // a late clock (or a restart) must not send after the deadline
      return;
    }
    s->ready.push_back(seq);
    kick_unordered(*s);
  });
}

void Engine::stop_unordered(Sub& sub) {
  for (const auto& [seq, timer] : sub.retry_timers) scheduler_.cancel(timer);
  sub.retry_timers.clear();
  sub.ready.clear();
}

}  // namespace hooksim
