// Engine::Sub, the runtime of one subscription: private to the engine's own sources (engine.cpp, and
// engine_unordered.cpp for Ordering::kUnordered), which share it. Nothing else includes this file.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "engine/rate_limit.h"

namespace hooksim {

// An attempt in flight.
struct Engine::Flight {
  AttemptHandle handle = 0;
  uint64_t seq = 0;
  std::string event_id;
  BodyRef body_ref = 0;  // handed back to the store when the event is removed
  bool probe = false;
  uint32_t attempt = 0;
  TimePoint started{};
  TimePoint enqueued_at{};
};

// Its persisted config and state, plus what only lives in memory.
struct Engine::Sub {
  uint64_t key = 0;
  SubscriptionConfig config;
  DeliveryState state;
  TimerId retry_timer = 0;     // FIFO: armed while a retry is due
  TimerId deadline_timer = 0;  // armed while a failure streak runs: fires at the deactivation time
  TimerId rate_timer = 0;      // armed while a send waits for a token of the policy's rate limit
  TokenBucket bucket;          // the policy's rate limit (in memory: full again after a restart)
  // When the last failed attempt ended (in memory only): a policy change re-plans the waiting retry from
  // it. Unknown after a restart, when it is worked back from the planned time (without jitter or a
  // Retry-After, which that cannot see).
  std::optional<TimePoint> failed_at;
  uint64_t publish_mark = 0;  // the stage_publish() call that last touched this subscription
  size_t publish_index = 0;   // and its place in Engine::Staged::touched
  bool unflushed = false;     // in Engine::unflushed_
  // The attempts in flight, in the order they began: at most one with Ordering::kFifo, at most the
  // policy's concurrency with kUnordered.
  std::vector<Flight> flights;
  // Ordering::kUnordered only. The retry timer of each event of state.retry_at that has a due time (by
  // seq); events whose retry is due and that wait for a free slot or a rate-limit token (oldest due
  // first); and the first seq never sent since open(): events from it on are sent in seq order as slots
  // free up.
  std::unordered_map<uint64_t, TimerId> retry_timers;
  std::deque<uint64_t> ready;
  uint64_t fresh = 0;
  // Queue ranges [first, end) that left the queue in memory (delivered, discarded) but whose removal has
  // not been written yet (or whose write failed: a full disk). Every later write of the state carries them,
  // so the state on disk never has its head past entries that are still stored. Lost on a crash,
  // harmlessly: the state on disk is then the old one too, and the entries are delivered again (at least
  // once). A single delivered entry keeps its body reference, so that its removal reads nothing.
  struct Removal {
    uint64_t first = 0, end = 0;
    // end == first + 1 only: the entry's body reference, when it was read (a delivered event). A deactivation
    // discarding a backlog of one does not know it: the store must then look (a wrong 0 would leak a shared
    // body).
    std::optional<BodyRef> body_ref;
  };
  std::vector<Removal> unremoved;

  bool unordered() const { return config.policy.ordering == Ordering::kUnordered; }
  // The flight carrying `seq`; null when none does.
  Flight* flight(uint64_t seq) {
    for (Flight& f : flights)
      if (f.seq == seq) return &f;
    return nullptr;
  }
};

}  // namespace hooksim
