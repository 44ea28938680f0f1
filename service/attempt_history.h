// AttemptHistory: the recent attempts of each subscription, for GET /v1/subscriptions/{id}/attempts.
//
// At most `kept` attempts per subscription are held (the oldest go first), so it grows with the number of
// subscriptions, never with how long the service has run (docs/design.md, "Memory"). In memory only: a
// restart starts it empty. Single-threaded (the service's io_context thread).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "engine/delivery_observer.h"

namespace hooksim::service {

class AttemptHistory {
 public:
  // One attempt as /attempts reports it.
  struct Entry {
    TimePoint started;
    std::string event;
    uint64_t seq;
    uint32_t attempt;
    bool probe;
    int status;
    ErrorClass error;  // kNone: delivered
    Duration latency;
  };

  // REQUIRES: kept >= 1.
  explicit AttemptHistory(size_t kept) : kept_(kept) {}

  // The most attempts held per subscription (the largest `limit` /attempts accepts).
  size_t kept() const { return kept_; }

  // Adds `r` to its subscription's history, dropping that subscription's oldest attempt when full.
  void record(const AttemptRecord& r);
  // Drops everything held for `sub` (a deleted subscription).
  void forget(std::string_view sub);
  // The attempts held for `sub`, oldest first; empty when there are none. Valid until the next call.
  const std::deque<Entry>& of(std::string_view sub) const;

 private:
  size_t kept_;
  std::map<std::string, std::deque<Entry>, std::less<>> by_sub_;
};

}  // namespace hooksim::service
