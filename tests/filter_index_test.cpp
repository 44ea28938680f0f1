// FilterIndex against the definition it shortcuts: an event's candidates that pass Filter::matches are
// exactly the subscriptions whose filter matches it, each once, in ascending key order.
#include "engine/filter_index.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

namespace hooksim {
namespace {

struct FakeSub {
  uint64_t key = 0;
  Filter filter;
};

// Up to two values from {prefix0 .. prefix(n-1)}, possibly none, possibly the same one twice.
std::vector<std::string> some(std::mt19937& rng, const std::string& prefix, int n) {
  std::vector<std::string> out;
  int count = std::uniform_int_distribution<int>(0, 2)(rng);
  for (int i = 0; i < count; ++i) out.push_back(prefix + std::to_string(rng() % n));
  return out;
}

std::vector<uint64_t> routed(const FilterIndex<FakeSub>& index, const Event& e) {
  std::vector<FakeSub*> scratch;
  std::vector<uint64_t> keys;
  index.candidates(e, scratch, [&](FakeSub* s) {
    if (s->filter.matches(e)) keys.push_back(s->key);
  });
  return keys;
}

std::vector<uint64_t> brute_force(const std::vector<std::unique_ptr<FakeSub>>& subs, const Event& e) {
  std::vector<uint64_t> keys;
  for (const auto& s : subs)
    if (s->filter.matches(e)) keys.push_back(s->key);
  return keys;
}

TEST(FilterIndex, RoutesExactlyAsCheckingEveryFilterWouldThroughAddsRemovesAndChanges) {
  std::mt19937 rng(7);
  FilterIndex<FakeSub> index;
  std::vector<std::unique_ptr<FakeSub>> subs;  // ascending key order, as the engine keeps them
  auto random_filter = [&] { return Filter{some(rng, "t", 3), some(rng, "a", 4), some(rng, "v", 6)}; };
  for (uint64_t key = 1; key <= 200; ++key) {
    subs.push_back(std::make_unique<FakeSub>(FakeSub{key, random_filter()}));
    index.add(subs.back().get(), subs.back()->filter);
  }
  auto check_all_events = [&] {
    for (int t = 0; t < 4; ++t)  // t3, a4 and v6 are values no filter names
      for (int a = 0; a < 5; ++a)
        for (int v = 0; v < 7; ++v) {
          Event e{"e", "t" + std::to_string(t), "a" + std::to_string(a), "v" + std::to_string(v)};
          ASSERT_EQ(routed(index, e), brute_force(subs, e)) << e.type << " " << e.account << " " << e.vehicle;
        }
  };
  check_all_events();
  for (int round = 0; round < 100; ++round) {  // change a filter (as a PATCH does) or remove a subscription
    size_t i = rng() % subs.size();
    index.remove(subs[i].get(), subs[i]->filter);
    if (round % 3 == 0) {
      subs.erase(subs.begin() + static_cast<ptrdiff_t>(i));
    } else {
      subs[i]->filter = random_filter();
      index.add(subs[i].get(), subs[i]->filter);
    }
  }
  check_all_events();
}

TEST(FilterIndex, AnEventNoBucketNamesHasNoCandidates) {
  FilterIndex<FakeSub> index;
  FakeSub only_v1{1, Filter{{}, {}, {"v1"}}};
  index.add(&only_v1, only_v1.filter);
  std::vector<FakeSub*> scratch;
  int visited = 0;
  index.candidates(Event{"e", "tracking", "a1", "v2"}, scratch, [&](FakeSub*) { ++visited; });
  EXPECT_EQ(visited, 0);  // the filter is never even looked at
  index.candidates(Event{"e", "tracking", "a1", "v1"}, scratch, [&](FakeSub*) { ++visited; });
  EXPECT_EQ(visited, 1);
}

}  // namespace
}  // namespace hooksim
