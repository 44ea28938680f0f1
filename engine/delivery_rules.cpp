#include "engine/delivery_rules.h"

#include <algorithm>

namespace hooksim {

uint32_t& attempts_for(DeliveryState& st, uint64_t seq) {
  auto it = std::lower_bound(st.attempted.begin(), st.attempted.end(), std::make_pair(seq, uint32_t{0}));
  if (it == st.attempted.end() || it->first != seq) it = st.attempted.insert(it, {seq, 0});
  return it->second;
}

void forget_attempts(DeliveryState& st, uint64_t seq) {
  std::erase_if(st.attempted, [seq](const auto& p) { return p.first == seq; });
}

uint64_t newest_queued(const DeliveryState& st) {
  uint64_t seq = st.next_seq - 1;
  while (std::binary_search(st.delivered_ahead.begin(), st.delivered_ahead.end(), seq)) --seq;
  return seq;
}

void remove_from_queue(DeliveryState& st, uint64_t seq) {
  forget_attempts(st, seq);
  if (seq != st.head_seq) {
    st.delivered_ahead.insert(std::upper_bound(st.delivered_ahead.begin(), st.delivered_ahead.end(), seq),
                              seq);
    return;
  }
  ++st.head_seq;
  while (!st.delivered_ahead.empty() && st.delivered_ahead.front() == st.head_seq) {
    st.delivered_ahead.erase(st.delivered_ahead.begin());
    ++st.head_seq;
  }
}

namespace {

// What both orderings do with a failed attempt first: count it, start or continue the streak (the
// subscription's), and ask the policy whether it deactivates now.
FailureOutcome count_failure(const RetryPolicy& policy, DeliveryState& st, const FailedAttempt& failed) {
  FailureOutcome out;
  ++st.failed_attempts;
  if (!st.streak_start) {
    st.streak_start = failed.ended;
    st.state = SubState::kRetrying;
    out.streak_began = true;
  }
  ++st.streak_failures;
  out.disable = policy.disable_reason(failed.status, st.streak_failures, *st.streak_start, failed.ended);
  return out;
}

}  // namespace

FailureOutcome apply_failure(const RetryPolicy& policy, DeliveryState& st, const FailedAttempt& failed) {
  FailureOutcome out = count_failure(policy, st, failed);
  st.next_attempt.reset();
  if (policy.exhausted(failed.attempt)) {
    out.exhausted = true;
    ++st.exhausted;
    remove_from_queue(st, failed.seq);
    st.schedule_from = st.streak_failures;
    if (st.backlog() > 0 && !out.disable) st.next_attempt = failed.ended;
  } else if (!out.disable) {
    st.next_attempt =
        policy.next_after_failure(st.schedule_failures(), *st.streak_start, failed.ended, failed.jitter_draw,
                                  policy.retry_after_delay(failed.status, failed.retry_after));
  }
  return out;
}

FailureOutcome apply_unordered_failure(const RetryPolicy& policy, DeliveryState& st,
                                       const FailedAttempt& failed) {
  FailureOutcome out = count_failure(policy, st, failed);
  std::erase_if(st.retry_at, [&](const auto& r) { return r.first == failed.seq; });
  if (policy.exhausted(failed.attempt)) {
    out.exhausted = true;
    ++st.exhausted;
    remove_from_queue(st, failed.seq);
  } else if (!out.disable) {
    out.due = policy.next_after_failure(failed.attempt, *st.streak_start, failed.ended, failed.jitter_draw,
                                        policy.retry_after_delay(failed.status, failed.retry_after));
    auto at = std::lower_bound(st.retry_at.begin(), st.retry_at.end(), failed.seq,
                               [](const auto& r, uint64_t seq) { return r.first < seq; });
    st.retry_at.insert(at, {failed.seq, out.due});
  }
  st.next_attempt = earliest_retry(st);
  return out;
}

std::optional<TimePoint> earliest_retry(const DeliveryState& st) {
  std::optional<TimePoint> earliest;
  for (const auto& [seq, due] : st.retry_at)
    if (due && (!earliest || *due < *earliest)) earliest = due;
  return earliest;
}

}  // namespace hooksim
