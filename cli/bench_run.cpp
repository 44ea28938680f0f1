#include "cli/bench_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cmath>
#include <memory>
#include <thread>

#include "engine/engine.h"
#include "net/asio_scheduler.h"
#include "protocol/envelope.h"
#include "protocol/signing.h"
#include "storage/memory_store.h"

namespace hooksim::cli {
namespace {

// Real time <-> the bench clock's time.
Duration to_clock(Duration real) {
  return Duration(static_cast<int64_t>(static_cast<double>(real.count()) * kBenchClockSpeed));
}
double real_seconds(Duration on_clock) {
  return static_cast<double>(on_clock.count()) / kBenchClockSpeed / 1000.0;
}

// What every shard adds to, for the progress line that shard 0 draws.
struct SharedCounts {
  std::atomic<uint64_t> published{0}, delivered{0}, attempts{0};
  std::vector<std::atomic<uint64_t>> per_second;  // deliveries completed in each second of the run

  explicit SharedCounts(size_t seconds) : per_second(seconds) {}
};

// One shard of a bench: the engine and what drives it, and the observer that counts what it reports. Shard
// s of n delivers subscriptions s, s + n, s + 2n, ... and publishes their events.
class Bench final : public DeliveryObserver {
 public:
  Bench(const BenchOptions& o, BenchResult& r, uint32_t shard, TimePoint start, SharedCounts& counts)
      : o_(o),
        r_(r),
        shard_(shard),
        count_((o.subscriptions - shard + o.threads - 1) / o.threads),
        rate_(o.rate),
        counts_(counts),
        start_(start),
        scheduler_(io_, {.start = start_, .speed = kBenchClockSpeed, .skip_idle = false, .busy = {}}),
        transport_(io_, scheduler_, transport_options(o, count_)),
        engine_(scheduler_, store_, transport_, this, EngineOptions{.envelope = protocol::make_envelope}) {}

  Status run() {
    HOOKSIM_RETURN_IF_ERROR(engine_.open());
    for (uint32_t local = 0; local < count_; ++local) {
      SubscriptionConfig c;
      c.id = bench_subscription_id(local * o_.threads + shard_, o_.subscriptions);
      c.endpoint = {.url = bench_subscription_url(o_.url, c.id), .secret = o_.secret, .token = o_.token};
      c.filter.accounts = {c.id};  // each event goes to the one subscription named by its account
      HOOKSIM_RETURN_IF_ERROR(engine_.add_subscription(c));
      ids_.push_back(std::move(c.id));
    }
    publish_end_ = start_ + to_clock(o_.duration);
    const TimePoint end = publish_end_ + to_clock(o_.drain);
    if (rate_) {
      scheduler_.schedule_at(start_, [this] { publish_due(); });
    } else {
      for (uint32_t i = 0; i < count_; ++i) topups_.insert(topups_.end(), kMaxRateQueueDepth, i);
      top_up();
    }
    // With --rate R the last publish starts the drain (a timer set for the end could run before it: a timer
    // is never set in the past, so a late one lands after any set for the same moment earlier).
    if (!rate_) scheduler_.schedule_at(publish_end_, [this] { check_drained(); });
    if (o_.progress && shard_ == 0) scheduler_.schedule_at(start_, [this] { draw_progress(); });
    scheduler_.run_until(end);
    if (!drained_at_) drained_at_ = std::min(scheduler_.now(), end);
    if (o_.progress && shard_ == 0) *o_.progress << "\r\x1b[K" << std::flush;

    r_.published = published_;
    r_.drained = Duration(static_cast<int64_t>(real_seconds(*drained_at_ - publish_end_) * 1000));
    for (const std::string& id : ids_) {
      auto view = engine_.find(id);
      uint64_t in_flight = view->in_flight_count;
      r_.in_flight += in_flight;
      r_.queued += view->state.backlog() - in_flight;
      r_.discarded += view->state.discarded + view->state.dropped_inactive;
    }
    return Status::OK();
  }

  void on_attempt(const AttemptRecord& a) override {
    ++r_.attempts;
    counts_.attempts.fetch_add(1, std::memory_order_relaxed);
    if (a.attempt > 1) ++r_.retries;
    r_.latency_us.add(std::llround(static_cast<double>(a.latency.count()) * 1000.0 / kBenchClockSpeed));
    if (!a.delivered()) {
      ++r_.failures[static_cast<size_t>(a.error)];
      return;
    }
    ++r_.delivered;
    counts_.delivered.fetch_add(1, std::memory_order_relaxed);
    TimePoint now = scheduler_.now();
    if (now < publish_end_) ++r_.delivered_in_duration;
    auto second = static_cast<size_t>(real_seconds(now - start_));
    if (r_.deliveries_per_second.size() <= second) r_.deliveries_per_second.resize(second + 1);
    ++r_.deliveries_per_second[second];
    if (second < counts_.per_second.size())
      counts_.per_second[second].fetch_add(1, std::memory_order_relaxed);
    if (!rate_ && now < publish_end_) {
      // One event out, one in; published after the engine's call returns, never from inside it.
      topups_.push_back(index_of(a.sub));
      if (topups_.size() == 1) boost::asio::post(io_, [this] { top_up(); });
    }
  }

  void on_error(std::string_view sub, const Status& st) override {
    r_.store_errors.push_back(fmt::format("{}: {}", sub, st.message()));
  }

 private:
  static net::CurlOptions transport_options(const BenchOptions& o, uint32_t subscriptions) {
    net::CurlOptions c = o.curl;
    c.speed = 1;                                                // attempt timeouts in real time
    c.max_host_connections = std::max<long>(subscriptions, 1);  // one per subscription: none waits
    return c;
  }

  // The shard's own index of a subscription ("sub-0007" is subscription 7 of the bench).
  uint32_t index_of(std::string_view id) const {
    uint32_t n = 0;
    for (char c : id.substr(4)) n = n * 10 + static_cast<uint32_t>(c - '0');
    return n / o_.threads;
  }

  // Publishes one event to each subscription listed in `to`, in batches.
  void publish_to(const std::vector<uint32_t>& to) {
    constexpr size_t kBatch = 4096;
    for (size_t first = 0; first < to.size(); first += kBatch) {
      size_t n = std::min(kBatch, to.size() - first);
      batch_.resize(n);
      for (size_t i = 0; i < n; ++i) {
        Event& e = batch_[i];
        e.id = fmt::format("evt-{}", published_ + i + 1);
        e.type = "bench";
        e.account = ids_[to[first + i]];
        e.occurred_at = scheduler_.now();
      }
      if (Status st = engine_.publish(batch_); !st.ok()) {
        r_.store_errors.push_back("publish: " + st.message());
        return;
      }
      published_ += n;
      counts_.published.fetch_add(n, std::memory_order_relaxed);
    }
  }

  // --rate R: every event due by now (R per real second since the start, all of R x duration at the end),
  // round-robin over all the subscriptions, of which this shard publishes those to its own; then waits for
  // the next one, at least a millisecond of real time. (So the shards together publish exactly what one
  // would, to the same subscriptions in the same order.)
  void publish_due() {
    const TimePoint now = scheduler_.now();
    const bool last = now >= publish_end_;
    const double seconds = last ? real_seconds(publish_end_ - start_) : real_seconds(now - start_);
    const auto due = static_cast<uint64_t>(std::floor(*rate_ * seconds + 1e-9));
    std::vector<uint32_t> to;
    for (; next_event_ < due; ++next_event_) {
      const auto sub = static_cast<uint32_t>(next_event_ % o_.subscriptions);
      if (sub % o_.threads == shard_) to.push_back(sub / o_.threads);
    }
    publish_to(to);
    if (last) {
      check_drained();
      return;
    }
    auto next_real = std::chrono::duration<double>((static_cast<double>(due) + 1) / *rate_);
    TimePoint next = start_ + to_clock(std::chrono::duration_cast<Duration>(next_real));
    next = std::min(std::max(next, now + to_clock(std::chrono::milliseconds(1))), publish_end_);
    scheduler_.schedule_at(next, [this] { publish_due(); });
  }

  // --rate max: one event for each delivery noted since the last call.
  void top_up() {
    std::vector<uint32_t> to;
    to.swap(topups_);
    publish_to(to);
  }

  // After the publishing: ends the run once nothing is queued or in flight; looks again every 10 ms.
  void check_drained() {
    for (const std::string& id : ids_) {
      if (engine_.find(id)->state.backlog() > 0) {
        scheduler_.schedule_at(scheduler_.now() + to_clock(std::chrono::milliseconds(10)),
                               [this] { check_drained(); });
        return;
      }
    }
    drained_at_ = scheduler_.now();
    scheduler_.stop();
  }

  void draw_progress() {
    const TimePoint now = scheduler_.now();
    auto second = static_cast<size_t>(real_seconds(now - start_));
    uint64_t last_second = second >= 1 && second - 1 < counts_.per_second.size()
                               ? counts_.per_second[second - 1].load(std::memory_order_relaxed)
                               : 0;
    const uint64_t delivered = counts_.delivered.load(std::memory_order_relaxed);
    *o_.progress << fmt::format("\rbench {:.1f}s of {:.1f}s{}  published {}  delivered {}  {}/s  failed {}",
                                real_seconds(now - start_), real_seconds(publish_end_ - start_),
                                now >= publish_end_ ? " (draining)" : "",
                                counts_.published.load(std::memory_order_relaxed), delivered, last_second,
                                counts_.attempts.load(std::memory_order_relaxed) - delivered)
                 << "\x1b[K" << std::flush;
    scheduler_.schedule_at(now + to_clock(std::chrono::milliseconds(250)), [this] { draw_progress(); });
  }

  const BenchOptions& o_;
  BenchResult& r_;
  const uint32_t shard_;
  const uint32_t count_;              // its subscriptions
  const std::optional<double> rate_;  // --rate (all shards); nullopt: max
  SharedCounts& counts_;
  const TimePoint start_;
  boost::asio::io_context io_;
  net::AsioScheduler scheduler_;
  net::CurlTransport transport_;
  storage::MemoryQueueStore store_;
  Engine engine_;  // after what it uses: destroyed before them
  std::vector<std::string> ids_;
  TimePoint publish_end_;
  std::optional<TimePoint> drained_at_;
  uint64_t published_ = 0;
  uint64_t next_event_ = 0;  // --rate: the next event of the whole bench to consider (publish_due)
  std::vector<uint32_t> topups_;
  std::vector<Event> batch_;
};

}  // namespace

std::string bench_subscription_id(uint32_t index, uint32_t count) {
  size_t width = std::max<size_t>(4, std::to_string(count > 0 ? count - 1 : 0).size());
  return fmt::format("sub-{:0{}}", index, width);
}

std::string bench_subscription_url(std::string_view base, std::string_view id) {
  size_t scheme = base.find("://");
  size_t path_end = base.find_first_of("?#", scheme == std::string_view::npos ? 0 : scheme + 3);
  if (path_end == std::string_view::npos) path_end = base.size();
  std::string_view path = base.substr(0, path_end);
  if (path.ends_with('/')) path.remove_suffix(1);
  return fmt::format("{}/{}{}", path, id, base.substr(path_end));
}

Status check_bench_options(const BenchOptions& o) {
  if ((!o.url.starts_with("http://") && !o.url.starts_with("https://")) || o.url.size() <= 8 ||
      o.url.find_first_of(" \t\r\n") != std::string::npos)
    return Status::InvalidArgument(fmt::format("URL '{}': must be an http:// or https:// URL", o.url));
  if (o.subscriptions == 0) return Status::InvalidArgument("--subscriptions: must be at least 1");
  if (o.threads == 0 || o.threads > kMaxBenchThreads || o.threads > o.subscriptions)
    return Status::InvalidArgument(
        fmt::format("--threads {}: must be from 1 to {} and at most the number of subscriptions ({})",
                    o.threads, kMaxBenchThreads, o.subscriptions));
  if (o.rate && !(std::isfinite(*o.rate) && *o.rate > 0 && *o.rate <= kMaxBenchRate))
    return Status::InvalidArgument(fmt::format(
        "--rate: must be a positive number of events per second, at most {:g}, or max", kMaxBenchRate));
  if (o.duration <= Duration(0)) return Status::InvalidArgument("--duration: must be longer than 0s");
  if (o.drain < Duration(0)) return Status::InvalidArgument("--drain: must not be negative");
  if (!o.secret.empty() && !o.token.empty())
    return Status::InvalidArgument("--secret and --token: give at most one");
  if (!o.secret.empty()) {
    if (auto key = protocol::make_signer(o.secret); !key.ok())
      return Status::InvalidArgument("--secret: " + key.status().message());
  }
  if (!o.token.empty()) {
    if (Status st = validate_token(o.token); !st.ok())
      return Status::InvalidArgument("--token: " + st.message());
  }
  return Status::OK();
}

double BenchResult::rate_per_second() const {
  double seconds = static_cast<double>(duration.count()) / 1000.0;
  return seconds > 0 ? static_cast<double>(delivered_in_duration) / seconds : 0.0;
}

double BenchResult::fifo_bound_per_second() const {
  if (latency_us.count() == 0 || latency_us.sum() == 0) return 0.0;
  double mean_seconds = static_cast<double>(latency_us.sum()) / static_cast<double>(latency_us.count()) / 1e6;
  return static_cast<double>(subscriptions) / mean_seconds;
}

nlohmann::ordered_json BenchResult::to_json() const {
  auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
  auto round1 = [](double v) { return std::round(v * 10) / 10; };
  nlohmann::ordered_json j;
  j["url"] = url;
  j["subscriptions"] = subscriptions;
  j["threads"] = threads;
  if (rate)
    j["rate"] = *rate;
  else
    j["rate"] = "max";
  j["duration_ms"] = duration.count();
  j["drain_limit_ms"] = drain_limit.count();
  j["drain_ms"] = drained.count();
  j["wall_ms"] = wall_ms;
  j["published"] = published;
  j["delivered"] = delivered;
  j["queued"] = queued;
  j["in_flight"] = in_flight;
  j["discarded"] = discarded;
  j["balanced"] = balanced();
  j["attempts"] = attempts;
  j["retries"] = retries;
  nlohmann::ordered_json by_class = nlohmann::ordered_json::object();
  for (size_t c = 1; c < failures.size(); ++c)
    if (failures[c] > 0) by_class[to_string(static_cast<ErrorClass>(c))] = failures[c];
  j["failures"] = by_class;
  j["rate_per_second"] = round1(rate_per_second());
  j["fifo_bound_per_second"] = round1(fifo_bound_per_second());
  j["deliveries_per_second"] = deliveries_per_second;
  double mean = latency_us.count()
                    ? static_cast<double>(latency_us.sum()) / static_cast<double>(latency_us.count())
                    : 0;
  j["latency_ms"] = {{"count", latency_us.count()},
                     {"mean", std::round(mean) / 1000.0},
                     {"p50", ms(latency_us.percentile(0.5))},
                     {"p90", ms(latency_us.percentile(0.9))},
                     {"p99", ms(latency_us.percentile(0.99))},
                     {"p99_9", ms(latency_us.percentile(0.999))},
                     {"max", ms(latency_us.max())}};
  j["store_errors"] = store_errors;
  return j;
}

namespace {

// Adds one shard's result to the bench's.
void add_part(BenchResult& r, const BenchResult& p) {
  r.drained = std::max(r.drained, p.drained);
  r.published += p.published;
  r.delivered += p.delivered;
  r.queued += p.queued;
  r.in_flight += p.in_flight;
  r.discarded += p.discarded;
  r.attempts += p.attempts;
  r.retries += p.retries;
  for (size_t c = 0; c < r.failures.size(); ++c) r.failures[c] += p.failures[c];
  if (r.deliveries_per_second.size() < p.deliveries_per_second.size())
    r.deliveries_per_second.resize(p.deliveries_per_second.size());
  for (size_t i = 0; i < p.deliveries_per_second.size(); ++i)
    r.deliveries_per_second[i] += p.deliveries_per_second[i];
  r.delivered_in_duration += p.delivered_in_duration;
  r.latency_us.merge(p.latency_us);
  r.store_errors.insert(r.store_errors.end(), p.store_errors.begin(), p.store_errors.end());
}

}  // namespace

Result<BenchResult> run_bench(const BenchOptions& options) {
  HOOKSIM_RETURN_IF_ERROR(check_bench_options(options));
  auto wall_start = std::chrono::steady_clock::now();
  BenchResult r;
  r.url = options.url;
  r.subscriptions = options.subscriptions;
  r.threads = options.threads;
  r.rate = options.rate;
  r.duration = options.duration;
  r.drain_limit = options.drain;
  // One bench per shard, each on its own thread, all on clocks started at the same time; their results add
  // up (the drain is the slowest shard's).
  const TimePoint start = std::chrono::floor<Duration>(std::chrono::system_clock::now());
  SharedCounts counts(static_cast<size_t>(real_seconds(to_clock(options.duration + options.drain))) + 2);
  std::vector<BenchResult> parts(options.threads);
  std::vector<Status> statuses(options.threads);
  {
    std::vector<std::unique_ptr<Bench>> shards;
    for (uint32_t s = 0; s < options.threads; ++s)
      shards.push_back(std::make_unique<Bench>(options, parts[s], s, start, counts));
    std::vector<std::thread> threads;
    for (uint32_t s = 1; s < options.threads; ++s)
      threads.emplace_back([&, s] { statuses[s] = shards[s]->run(); });
    statuses[0] = shards[0]->run();
    for (auto& t : threads) t.join();
  }
  for (const Status& st : statuses) HOOKSIM_RETURN_IF_ERROR(st);
  for (const BenchResult& p : parts) add_part(r, p);
  r.wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_start)
          .count();
  return r;
}

}  // namespace hooksim::cli
