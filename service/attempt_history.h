// AttemptHistory: the recent attempts of each subscription, for GET /v1/subscriptions/{id}/attempts.
//
// At most `kept` attempts per subscription are held (the oldest go first), so it grows with the number of
// subscriptions, never with how long the service has run (docs/design.md, "Memory"). Without a store it
// lives in memory only. With one (persist_to) it is also kept there, under the same bound, and loaded at
// start, so /attempts survives a restart: new attempts are written in batches of their own (at most a
// second after they happen, and at destruction), apart from the delivery's writes, so the history costs
// the delivery path no write. The stored copy is best effort: a batch that cannot be written (a full disk)
// is reported on stderr and dropped, and a crash loses the last second. Thread-safe: every shard's thread
// records (a mutex); persist_to(), forget(), flush() and the destructor run on the API's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/clock.h"
#include "engine/delivery_observer.h"
#include "storage/record_codec.h"
#include "storage/rocks_store.h"

namespace hooksim::service {

class AttemptHistory {
 public:
  // One attempt as /attempts reports it.
  using Entry = storage::StoredAttempt;

  // REQUIRES: kept >= 1.
  explicit AttemptHistory(size_t kept) : kept_(kept) {}
  // Writes what is still pending (with a store).
  ~AttemptHistory();
  AttemptHistory(const AttemptHistory&) = delete;
  AttemptHistory& operator=(const AttemptHistory&) = delete;

  // The most attempts held per subscription (the largest `limit` /attempts accepts).
  size_t kept() const { return kept_; }

  // Keeps the history in `store` from now on: loads the stored attempts of the subscriptions in `ids` (the
  // newest `kept` of each) and deletes the stored ones of any other subscription, or beyond the bound.
  // Later changes are written in batches, every second (a timer on `scheduler`, which must be the thread's
  // that calls forget(), flush() and the destructor).
  // Both must outlive this object. A store error while loading is returned, and nothing is kept then.
  // REQUIRES: called once, before record().
  Status persist_to(storage::RocksQueueStore& store, Scheduler& scheduler,
                    const std::vector<std::string>& ids);

  // Adds `r` to its subscription's history, dropping that subscription's oldest attempt when full.
  void record(const AttemptRecord& r);
  // Drops everything held for `sub` (a deleted subscription); with a store, at once there too.
  void forget(std::string_view sub);
  // The attempts held for `sub`, oldest first; empty when there are none.
  std::deque<Entry> of(std::string_view sub) const;

  // Writes the pending changes to the store now. OK without a store or without changes.
  Status flush();

 private:
  struct Held {
    std::deque<Entry> entries;
    uint64_t next_index = 0;  // the stored index of the next entry; entries hold [next - size, next)
  };
  // REQUIRES: mutex_ held.
  void add_pending(storage::SideOp op);
  void arm_flush();

  size_t kept_;
  mutable std::mutex mutex_;  // guards by_sub_ and pending_
  // Looked up by string_view without building a string (a transparent hash): one lookup per attempt.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, Held, IdHash, std::equal_to<>> by_sub_;
  storage::RocksQueueStore* store_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  std::vector<storage::SideOp> pending_;
  TimerId flush_timer_ = 0;
};

}  // namespace hooksim::service
