// FilterIndex: the subscriptions whose filter may match an event, found without looking at every
// subscription.
//
// Each subscription is filed under one dimension of its filter, the most selective one it restricts:
// its vehicles if it lists any, else its accounts, else its event types, else under "every event". An
// event's candidates are the subscriptions filed under its vehicle, its account, its type and every event;
// each subscription is filed under one dimension only, so it is a candidate at most once. A candidate
// still has to pass Filter::matches (it may restrict other dimensions too); a subscription that is not a
// candidate cannot match. Routing an event therefore costs the size of its four buckets, not the number of
// subscriptions.
//
// T is the caller's subscription type; it has a `uint64_t key` (unique, fixed for the subscription's life),
// and the index keeps pointers, which must stay valid until remove(). Buckets are kept in ascending key
// order so that candidates() returns them in that order, the order publish() queues events in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/subscription.h"

namespace hooksim {

template <class T>
class FilterIndex {
 public:
  // Files `sub` under `filter`. REQUIRES: not filed.
  void add(T* sub, const Filter& filter) {
    auto [dimension, values] = choose(filter);
    if (dimension == nullptr) {
      insert(everything_, sub);
      return;
    }
    std::vector<std::string> unique = *values;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    for (const std::string& value : unique) insert((*dimension)[value], sub);
  }

  // Unfiles `sub`, filed under `filter` (the filter it was added with).
  void remove(T* sub, const Filter& filter) {
    auto [dimension, values] = choose(filter);
    if (dimension == nullptr) {
      erase(everything_, sub);
      return;
    }
    for (const std::string& value : *values) {
      auto it = dimension->find(value);
      if (it == dimension->end()) continue;  // a value listed twice whose bucket the first emptied
      erase(it->second, sub);
      if (it->second.empty()) dimension->erase(it);
    }
  }

  // Calls `visit(T*)` for every subscription filed where `event` may match, in ascending key order.
  template <class Visit>
  void candidates(const Event& event, std::vector<T*>& scratch, Visit&& visit) const {
    const std::vector<T*>* lists[4] = {find(vehicles_, event.vehicle), find(accounts_, event.account),
                                       find(types_, event.type), &everything_};
    const std::vector<T*>* only = nullptr;
    size_t nonempty = 0;
    for (const auto* list : lists) {
      if (list != nullptr && !list->empty()) {
        only = list;
        ++nonempty;
      }
    }
    if (nonempty == 0) return;
    if (nonempty == 1) {  // the common case: already in key order
      for (T* sub : *only) visit(sub);
      return;
    }
    scratch.clear();
    for (const auto* list : lists)
      if (list != nullptr) scratch.insert(scratch.end(), list->begin(), list->end());
    std::sort(scratch.begin(), scratch.end(), [](const T* a, const T* b) { return a->key < b->key; });
    for (T* sub : scratch) visit(sub);
  }

 private:
  using Buckets = std::unordered_map<std::string, std::vector<T*>>;

  std::pair<Buckets*, const std::vector<std::string>*> choose(const Filter& filter) {
    if (!filter.vehicles.empty()) return {&vehicles_, &filter.vehicles};
    if (!filter.accounts.empty()) return {&accounts_, &filter.accounts};
    if (!filter.types.empty()) return {&types_, &filter.types};
    return {nullptr, nullptr};
  }

  static const std::vector<T*>* find(const Buckets& buckets, const std::string& value) {
    auto it = buckets.find(value);
    return it == buckets.end() ? nullptr : &it->second;
  }

  static auto position(std::vector<T*>& list, const T* sub) {
    return std::lower_bound(list.begin(), list.end(), sub,
                            [](const T* a, const T* b) { return a->key < b->key; });
  }
  static void insert(std::vector<T*>& list, T* sub) { list.insert(position(list, sub), sub); }
  static void erase(std::vector<T*>& list, const T* sub) {
    auto it = position(list, sub);
    if (it != list.end() && *it == sub) list.erase(it);
  }

  Buckets vehicles_, accounts_, types_;
  std::vector<T*> everything_;
};

}  // namespace hooksim
