// `hooksim bench --threads N` (cli/bench_run.h, docs/bench.md): N shards on their own threads, each
// delivering its share of the subscriptions, on one clock; their results add up to the bench's.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/bench_run.h"
#include "tests/serve_harness.h"

namespace hooksim::cli {
namespace {

using namespace std::chrono_literals;

BenchOptions options(const std::string& url, uint32_t subscriptions, uint32_t threads,
                     std::optional<double> rate) {
  BenchOptions o;
  o.url = url;
  o.subscriptions = subscriptions;
  o.threads = threads;
  o.rate = rate;
  o.duration = 1s;
  o.drain = 30s;  // ends as soon as everything is delivered
  return o;
}

// Each subscription got `n` events (n > 0 when given), sequence numbers 1, 2, ... in order.
void expect_in_order(harness::Receiver& rx, uint32_t subscriptions, std::optional<size_t> n) {
  for (uint32_t i = 0; i < subscriptions; ++i) {
    const std::string id = bench_subscription_id(i, subscriptions);
    const auto got = rx.delivered(id);
    if (n) EXPECT_EQ(got.size(), *n) << id;
    EXPECT_FALSE(got.empty()) << id;
    for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].second, k + 1) << id;
  }
}

// 10 subscriptions over 3 shards (4, 3 and 3): together they publish exactly rate x duration, round-robin
// over every subscription as one shard would, and the counts, the histogram and the per-second series add up.
TEST(BenchThreads, ThreeShardsPublishWhatOneWouldAndTheirResultsAddUp) {
  harness::Receiver rx;
  auto r = run_bench(options(rx.url(), 10, 3, 300.0));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->threads, 3u);
  EXPECT_EQ(r->published, 300u);
  EXPECT_EQ(r->delivered, 300u);
  EXPECT_EQ(r->queued + r->in_flight + r->discarded, 0u);
  EXPECT_TRUE(r->balanced());
  EXPECT_EQ(r->attempts, 300u);
  EXPECT_EQ(r->latency_us.count(), 300u);
  uint64_t per_second = 0;
  for (uint64_t n : r->deliveries_per_second) per_second += n;
  EXPECT_EQ(per_second, 300u);
  EXPECT_TRUE(r->store_errors.empty());
  EXPECT_EQ(r->to_json()["threads"], 3);
  expect_in_order(rx, 10, 30);
  EXPECT_EQ(rx.stats().order_violations, 0u);
}

TEST(BenchThreads, RateMaxOnTwoShardsKeepsEveryQueueFilledAndBalances) {
  harness::Receiver rx;
  auto r = run_bench(options(rx.url(), 4, 2, std::nullopt));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->published, 4 * kMaxRateQueueDepth);
  EXPECT_EQ(r->delivered, r->published);
  EXPECT_TRUE(r->balanced());
  expect_in_order(rx, 4, std::nullopt);
}

TEST(BenchThreads, MoreShardsThanSubscriptionsIsRefused) {
  BenchOptions o = options("http://127.0.0.1:1/", 2, 3, 10.0);
  Status st = check_bench_options(o);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--threads 3"), std::string::npos) << st.message();
  o.threads = 0;
  EXPECT_EQ(check_bench_options(o).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace hooksim::cli
