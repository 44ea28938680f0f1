// Suite 5: routing a publish to the subscriptions whose filter matches (issue 18).
//
//   engine/publish_one_match/N    N subscriptions, subscription i filtered to vehicle v-i; each publish is
//   one
//                                 event for the next vehicle in turn, so it matches exactly one subscription.
//                                 The queues are in memory (storage::MemoryQueueStore) and attempts never
//                                 complete (a transport that holds them), so the time per iteration is the
//                                 publish: validation, routing, the envelope, the batch and its write.
//                                 With routing by index the time should not grow with N.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/bench_util.h"
#include "storage/memory_store.h"

namespace hooksim::bench {
namespace {

// Accepts every attempt and never finishes one: the subscriptions stay busy and delivery costs nothing.
class HoldingTransport final : public Transport {
 public:
  AttemptHandle send(const DeliveryRequest&, Done) override { return ++next_; }
  void cancel(AttemptHandle) override {}

 private:
  AttemptHandle next_ = 0;
};

void BM_PublishOneMatch(benchmark::State& state) {
  const auto subs = static_cast<uint64_t>(state.range(0));
  VirtualScheduler scheduler(kStart);
  storage::MemoryQueueStore store;
  HoldingTransport transport;
  Engine engine(scheduler, store, transport, nullptr, EngineOptions{.envelope = protocol::make_envelope});
  if (!engine.open().ok()) state.SkipWithError("open failed");
  for (uint64_t i = 0; i < subs; ++i) {
    SubscriptionConfig c;
    c.id = fmt::format("sub-{}", i);
    c.filter.vehicles = {fmt::format("v-{}", i)};
    if (!engine.add_subscription(c).ok()) state.SkipWithError("add_subscription failed");
  }
  uint64_t n = 0;
  PublishResult result;
  for (auto _ : state) {
    Event e = tracking_event(n, kStart);
    e.vehicle = fmt::format("v-{}", n % subs);
    ++n;
    if (!engine.publish({&e, 1}, &result).ok() || result.fanout != 1) {
      state.SkipWithError("the event did not join exactly one queue");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
// A fixed count: the queues keep every event (nothing is delivered), so memory grows with the iterations.
BENCHMARK(BM_PublishOneMatch)->Name("engine/publish_one_match")->Arg(100)->Arg(100000)->Iterations(300000);

}  // namespace
}  // namespace hooksim::bench
