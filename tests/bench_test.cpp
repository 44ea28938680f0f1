// hooksim bench: the log-linear histogram's quantiles against known distributions, the subscription ids and
// urls, and runs against the mock receiver over real HTTP on 127.0.0.1 (in-process and through the binary):
// the balance, failures by class and retries, FIFO order per subscription, the JSON fields, usage errors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "cli/bench_html.h"
#include "cli/bench_run.h"
#include "cli_test_util.h"
#include "receiver/server.h"
#include "util/log_histogram.h"
#include "util/percentile.h"

namespace hooksim::cli {
namespace {

using nlohmann::json;
using namespace hooksim::testutil;

// --- the histogram ----------------------------------------------------------------------------------------

// Checks every reported quantile of `values` against the exact nearest-rank one: never above it, and below
// it by at most the documented relative error.
void expect_quantiles_within_error(std::vector<int64_t> values) {
  util::LogHistogram h;
  for (int64_t v : values) h.add(v);
  std::sort(values.begin(), values.end());
  std::vector<double> sorted(values.begin(), values.end());
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    double exact = util::percentile(sorted, q);
    double got = static_cast<double>(h.percentile(q));
    EXPECT_LE(got, exact) << "q=" << q;
    EXPECT_GE(got, exact * (1 - util::LogHistogram::kRelativeError)) << "q=" << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(LogHistogram, QuantilesOfAUniformDistributionAreWithinTheRelativeError) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> d(0, 5'000'000);
  std::vector<int64_t> v(100'000);
  for (auto& x : v) x = d(rng);
  expect_quantiles_within_error(v);
}

TEST(LogHistogram, QuantilesOfALongTailedDistributionAreWithinTheRelativeError) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> d(7.0, 1.5);  // a response time in microseconds: median ~1.1 ms
  std::vector<int64_t> v(100'000);
  for (auto& x : v) x = static_cast<int64_t>(d(rng));
  expect_quantiles_within_error(v);
}

TEST(LogHistogram, SmallValuesAreExactAndTheSumAndMaxAreKept) {
  util::LogHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0);
  for (int64_t v = 1; v <= 1000; ++v) h.add(v);
  EXPECT_EQ(h.percentile(0.5), 500);
  EXPECT_EQ(h.percentile(0.999), 999);
  EXPECT_EQ(h.percentile(1.0), 1000);
  EXPECT_EQ(h.sum(), 500'500);
  h.add(-5);  // counts as 0
  EXPECT_EQ(h.percentile(0.0001), 0);
}

// Two histograms merged (bench --threads: one per shard) answer as one histogram of all their values.
TEST(LogHistogram, MergedIsTheHistogramOfAllTheValues) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> d(8, 2);
  util::LogHistogram a, b, all;
  for (int i = 0; i < 20'000; ++i) {
    const auto v = static_cast<int64_t>(d(rng));
    (i % 3 == 0 ? a : b).add(v);
    all.add(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.sum(), all.sum());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(a.percentile(q), all.percentile(q)) << q;
}

// --- ids and urls ------------------------------------------------------------------------------------------

TEST(BenchSubscriptions, IdsArePaddedAndUrlsEndInTheId) {
  EXPECT_EQ(bench_subscription_id(7, 100), "sub-0007");
  EXPECT_EQ(bench_subscription_id(12345, 20000), "sub-12345");
  EXPECT_EQ(bench_subscription_id(3, 20000), "sub-00003");
  EXPECT_EQ(bench_subscription_url("http://h:8080", "sub-0007"), "http://h:8080/sub-0007");
  EXPECT_EQ(bench_subscription_url("http://h:8080/", "sub-0007"), "http://h:8080/sub-0007");
  EXPECT_EQ(bench_subscription_url("https://h/hook?x=1#f", "sub-0001"), "https://h/hook/sub-0001?x=1#f");
}

// --- runs against the mock receiver ----------------------------------------------------------------------

// A mock receiver on its own thread that keeps (subscription, seq) of every 2xx answer, in answer order.
class Receiver {
 public:
  explicit Receiver(receiver::ReceiverOptions options = {}) {
    options.on_record = [this](const receiver::RequestRecord& r) {
      if (r.action != receiver::RequestRecord::Action::kAnswer || r.status < 200 || r.status > 299) return;
      std::lock_guard lock(mu_);
      answered_[r.sub].push_back(r.seq.value_or(0));
    };
    rx_ = std::make_unique<receiver::MockReceiver>(io_, std::move(options));
    Status st = rx_->listen("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() {
    rx_->stop();
    thread_.join();
  }
  std::string url() const { return rx_->url() + "/hook"; }
  receiver::ReceiverStats stats() const { return rx_->stats(); }
  std::map<std::string, std::vector<uint64_t>> answered() const {
    std::lock_guard lock(mu_);
    return answered_;
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<receiver::MockReceiver> rx_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<uint64_t>> answered_;
};

BenchOptions options(const std::string& url, uint32_t subscriptions, std::optional<double> rate) {
  BenchOptions o;
  o.url = url;
  o.subscriptions = subscriptions;
  o.rate = rate;
  o.duration = std::chrono::seconds(1);
  o.drain = std::chrono::seconds(30);  // ends as soon as everything is delivered
  return o;
}

TEST(Bench, AHealthyReceiverGetsEveryEventInOrderAndTheRunBalances) {
  Receiver rx;
  auto r = run_bench(options(rx.url(), 4, 200.0));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->published, 200u) << "rate x duration, whatever the timer's granularity";
  EXPECT_EQ(r->delivered, 200u);
  EXPECT_EQ(r->queued + r->in_flight + r->discarded, 0u);
  EXPECT_TRUE(r->balanced());
  EXPECT_EQ(r->attempts, 200u);
  EXPECT_EQ(r->retries, 0u);
  EXPECT_EQ(r->latency_us.count(), 200u);
  uint64_t per_second = 0;
  for (uint64_t n : r->deliveries_per_second) per_second += n;
  EXPECT_EQ(per_second, 200u);
  EXPECT_TRUE(r->store_errors.empty());
  // Each subscription got its 50 events at its own url, in publish order.
  auto answered = rx.answered();
  ASSERT_EQ(answered.size(), 4u);
  for (const auto& [sub, seqs] : answered) {
    EXPECT_EQ(sub.rfind("sub-000", 0), 0u) << sub;
    ASSERT_EQ(seqs.size(), 50u) << sub;
    for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1) << sub;
  }
  EXPECT_EQ(rx.stats().order_violations, 0u);
  EXPECT_GT(r->fifo_bound_per_second(), 0.0);
}

// At 4000/s the timer fires every millisecond, so one falls in the last millisecond before the end: the
// final publish still comes before the drain begins.
TEST(Bench, AtAHighRateExactlyRateTimesDurationArePublishedAndDelivered) {
  Receiver rx;
  auto r = run_bench(options(rx.url(), 40, 4000.0));  // each subscription mostly idle: drained at once
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->published, 4000u);
  EXPECT_EQ(r->delivered, 4000u);
  EXPECT_TRUE(r->balanced());
}

TEST(Bench, FailuresAreCountedByClassRetriedAndTheRunStillBalances) {
  receiver::ReceiverOptions ro;
  ro.script.fail_rate = 0.3;
  ro.script.fail_status = 503;
  ro.script.seed = 42;
  Receiver rx(std::move(ro));
  auto r = run_bench(options(rx.url(), 3, 150.0));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->published, 150u);
  EXPECT_TRUE(r->balanced()) << r->to_json().dump();
  EXPECT_GT(r->failures[static_cast<size_t>(ErrorClass::kStatus)], 0u);
  EXPECT_GT(r->retries, 0u);
  EXPECT_EQ(r->attempts, r->delivered + r->failures[static_cast<size_t>(ErrorClass::kStatus)]);
  EXPECT_EQ(r->to_json()["failures"]["status"], r->failures[static_cast<size_t>(ErrorClass::kStatus)]);
  // FIFO despite the retries: each subscription's 2xx answers are its events in order, each once.
  EXPECT_EQ(rx.stats().order_violations, 0u);
  for (const auto& [sub, seqs] : rx.answered())
    for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1) << sub;
}

TEST(Bench, ARefusedConnectionIsAConnectFailureAndTheRunStillBalances) {
  uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  BenchOptions o = options(fmt::format("http://127.0.0.1:{}/hook", port), 2, 20.0);
  o.drain = std::chrono::milliseconds(200);
  auto r = run_bench(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->published, 20u);
  EXPECT_EQ(r->delivered, 0u);
  EXPECT_GT(r->failures[static_cast<size_t>(ErrorClass::kConnect)], 0u);
  EXPECT_GT(r->retries, 0u);
  EXPECT_TRUE(r->balanced()) << r->to_json().dump();
  EXPECT_EQ(r->queued + r->in_flight, 20u);
}

TEST(Bench, SignedOrWithATokenTheReceiverAcceptsEveryDelivery) {
  const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  for (bool signed_ : {true, false}) {
    receiver::ReceiverOptions ro;
    (signed_ ? ro.secret : ro.token) = signed_ ? secret : "t0ken";
    Receiver rx(std::move(ro));
    BenchOptions o = options(rx.url(), 2, 20.0);
    (signed_ ? o.secret : o.token) = signed_ ? secret : "t0ken";
    auto r = run_bench(o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->delivered, 20u) << signed_;
    EXPECT_EQ(rx.stats().bad_signatures, 0u) << signed_;
    EXPECT_EQ(rx.stats().answered_2xx, 20u) << signed_;
  }
}

TEST(BenchResult, BalancesOnlyWhenThePublishedAreDeliveredQueuedInFlightOrDiscarded) {
  BenchResult r;
  r.published = 10;
  r.delivered = 4;
  r.queued = 3;
  r.in_flight = 2;
  r.discarded = 1;
  EXPECT_TRUE(r.balanced());
  EXPECT_EQ(r.to_json()["balanced"], true);
  r.queued = 2;
  EXPECT_FALSE(r.balanced());
  EXPECT_EQ(r.to_json()["balanced"], false);
}

TEST(Bench, RateMaxKeepsEveryQueueFilledAndBalances) {
  Receiver rx;
  auto r = run_bench(options(rx.url(), 3, std::nullopt));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->published, 3 * kMaxRateQueueDepth);
  EXPECT_EQ(r->delivered, r->published);
  EXPECT_TRUE(r->balanced());
  EXPECT_EQ(r->to_json()["rate"], "max");
  EXPECT_EQ(rx.stats().order_violations, 0u);
}

// --- the command line -------------------------------------------------------------------------------------

TEST(BenchCommand, WritesEveryDocumentedFieldOnStdoutAndToTheJsonFile) {
  Receiver rx;
  TempDir dir;
  RunResult run = run_hooksim(fmt::format("bench {} --subscriptions 2 --rate 40 --duration 1s --json {}",
                                          shell_quote(rx.url()), shell_quote(dir.file("out.json"))),
                              dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json out = json::parse(run.out);
  EXPECT_EQ(json::parse(read_file(dir.file("out.json"))), out);
  for (const char* field : {"url",
                            "subscriptions",
                            "threads",
                            "rate",
                            "duration_ms",
                            "drain_limit_ms",
                            "drain_ms",
                            "wall_ms",
                            "published",
                            "delivered",
                            "queued",
                            "in_flight",
                            "discarded",
                            "balanced",
                            "attempts",
                            "retries",
                            "failures",
                            "rate_per_second",
                            "fifo_bound_per_second",
                            "deliveries_per_second",
                            "latency_ms",
                            "store_errors"})
    EXPECT_TRUE(out.contains(field)) << field;
  for (const char* field : {"count", "mean", "p50", "p90", "p99", "p99_9", "max"})
    EXPECT_TRUE(out["latency_ms"].contains(field)) << field;
  EXPECT_EQ(out["published"], 40);
  EXPECT_EQ(out["delivered"], 40);
  EXPECT_EQ(out["balanced"], true);
  EXPECT_EQ(out["rate"], 40.0);
  EXPECT_NE(run.err.find("FIFO ordering allows"), std::string::npos) << run.err;
}

// The number of times `needle` occurs in `text` from `from` to `to`.
size_t count_in(const std::string& text, const std::string& needle, size_t from = 0,
                size_t to = std::string::npos) {
  size_t n = 0;
  for (size_t at = text.find(needle, from); at < to && at != std::string::npos;
       at = text.find(needle, at + 1))
    ++n;
  return n;
}

TEST(BenchHtml, OneThroughputBarPerSecondAndOneLatencyBarPerQuantileSelfContained) {
  BenchResult r;
  r.url = "http://x/<hook>";
  r.subscriptions = 2;
  r.duration = std::chrono::seconds(3);
  r.deliveries_per_second = {10, 20, 30, 5};
  for (int64_t us : {1000, 2000, 3000, 40000}) r.latency_us.add(us);
  r.published = r.delivered = 65;
  r.failures[static_cast<size_t>(ErrorClass::kTimeout)] = 2;
  std::string html = render_bench_html(r, "hooksim bench " + r.url);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<hook>"), std::string::npos) << "escaped";
  size_t throughput = html.find("<svg id=\"throughput\""), latency = html.find("<svg id=\"latency\"");
  ASSERT_NE(throughput, std::string::npos);
  ASSERT_NE(latency, std::string::npos);
  EXPECT_EQ(count_in(html, "class=\"bar\"", throughput, latency), 4u);
  EXPECT_NE(html.find("data-value=\"30\"", throughput), std::string::npos);
  EXPECT_EQ(count_in(html, "class=\"bar\"", latency), 5u);  // p50 p90 p99 p99.9 max
  EXPECT_NE(html.find("data-value=\"40\"", latency), std::string::npos) << "the max, 40 ms";
  EXPECT_NE(html.find("<td>timeout</td><td>2</td>"), std::string::npos);
}

TEST(BenchCommand, HtmlWritesThePage) {
  Receiver rx;
  TempDir dir;
  RunResult run = run_hooksim(fmt::format("bench {} --subscriptions 1 --rate 10 --duration 1s --html {}",
                                          shell_quote(rx.url()), shell_quote(dir.file("out.html"))),
                              dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string html = read_file(dir.file("out.html"));
  EXPECT_NE(html.find("<svg id=\"throughput\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"latency\""), std::string::npos);
  EXPECT_NE(html.find("<td>10</td><td>10</td><td>0</td>"), std::string::npos)
      << "published, delivered, queued";
}

TEST(BenchCommand, UsageErrorsExit2NamingTheFlag) {
  const std::pair<std::string, std::string> cases[] = {
      {"bench http://127.0.0.1:1/ --rate fast", "--rate fast"},
      {"bench http://127.0.0.1:1/ --rate 0", "--rate"},
      {"bench http://127.0.0.1:1/ --rate -5", "--rate"},
      {"bench http://127.0.0.1:1/ --rate 2e6",
       "--rate: must be a positive number of events per second, at most 1e+06"},
      {"bench http://127.0.0.1:1/ --duration 0s", "--duration"},
      {"bench http://127.0.0.1:1/ --duration soon", "--duration soon"},
      {"bench ftp://example.com/", "URL 'ftp://example.com/'"},
      {"bench http://127.0.0.1:1/ --threads 0", "--threads 0"},
      {"bench http://127.0.0.1:1/ --subscriptions 2 --threads 3", "--threads 3"},
      {"bench http://127.0.0.1:1/ --secret nope", "--secret"},
  };
  for (const auto& [args, named] : cases) {
    auto [rc, out] = run_hooksim_merged(args);
    EXPECT_EQ(rc, 2) << args << ": " << out;
    EXPECT_NE(out.find(named), std::string::npos) << args << ": " << out;
  }
}

}  // namespace
}  // namespace hooksim::cli
