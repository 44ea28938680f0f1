#include "service/shards.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>

namespace hooksim::service {

Shards::Shards(QueueStore& store, Options options) : store_(store), options_(std::move(options)) {
  options_.count = std::clamp<size_t>(options_.count, 1, kMaxShards);
  options_.engine.next_key = &next_key_;
  // --max-host-connections caps the connections to one receiver host of the whole service: each shard's
  // curl multi gets its share (at least one).
  options_.curl.max_host_connections =
      std::max<long>(1, options_.curl.max_host_connections / static_cast<long>(options_.count));
  for (size_t i = 0; i < options_.count; ++i) {
    auto s = std::make_unique<Shard>();
    net::AsioSchedulerOptions so;
    so.wall_clock = true;  // persisted times stay meaningful across restarts
    s->scheduler = std::make_unique<net::AsioScheduler>(s->io, so);
    s->transport = std::make_unique<net::CurlTransport>(s->io, *s->scheduler, options_.curl);
    s->engine =
        std::make_unique<Engine>(*s->scheduler, store_, *s->transport, options_.observer, options_.engine);
    Engine* engine = s->engine.get();
    s->scheduler->on_turn_end([engine] { engine->flush(); });
    shards_.push_back(std::move(s));
  }
}

Shards::~Shards() {
  stop();
}

size_t Shards::shard_of(std::string_view id, size_t count) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // MurmurHash3's finalizer: FNV-1a's low bits alone follow the last byte (its parity, for two shards).
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<size_t>(h % count);
}

Result<std::vector<std::string>> Shards::load() {
  auto loaded = store_.load_subscriptions();
  if (!loaded.ok()) return loaded.status();
  loaded_.assign(shards_.size(), {});
  std::vector<std::string> ids;
  ids.reserve(loaded->size());
  uint64_t next_key = 1;
  for (StoredSubscription& s : *loaded) {
    next_key = std::max(next_key, s.key + 1);
    ids.push_back(s.config.id);
    loaded_[shard_of(s.config.id)].push_back(std::move(s));
  }
  next_key_ = next_key;
  return ids;
}

Status Shards::start() {
  for (auto& s : shards_) {
    Shard* shard = s.get();
    shard->thread = std::thread([shard] {
      shard->scheduler->run_until(TimePoint::max());
      shard->engine->flush();  // the last turn's successes are written: a clean stop repeats none of them
    });
  }
  running_ = true;
  std::vector<std::vector<StoredSubscription>> share = std::move(loaded_);
  share.resize(shards_.size());
  for (size_t i = 0; i < shards_.size(); ++i) {
    Status st = call(i, [&](Engine& e) { return e.open(std::move(share[i])); });
    if (!st.ok()) return st;
  }
  return Status::OK();
}

void Shards::stop() {
  if (!running_) return;
  running_ = false;
  for (auto& s : shards_) boost::asio::post(s->io, [scheduler = s->scheduler.get()] { scheduler->stop(); });
  for (auto& s : shards_) s->thread.join();
}

Status Shards::publish(std::span<const Event> events, PublishResult* result) {
  if (result) *result = PublishResult{};
  auto prepared = Engine::prepare_publish(store_, options_.engine.dedupe_event_ids, events);
  if (!prepared.ok()) return prepared.status();
  const std::vector<bool>& skip = *prepared;
  // Staged on every shard at once: post them all, then wait for each.
  const size_t n = shards_.size();
  std::vector<StagedPublish> staged(n);
  std::vector<std::packaged_task<void()>> tasks;
  std::vector<std::future<void>> done;
  tasks.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Engine* engine = shards_[i]->engine.get();
    tasks.emplace_back(
        [engine, &events, &skip, &staged, i] { engine->stage_publish(events, skip, staged[i]); });
    done.push_back(tasks.back().get_future());
    boost::asio::post(shards_[i]->io, [task = &tasks.back()] { (*task)(); });
  }
  // Every task has run before anything here goes out of scope, even if one threw.
  std::exception_ptr failed;
  for (auto& d : done) {
    try {
      d.get();
    } catch (...) {
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) {
    for (auto& s : shards_) boost::asio::post(s->io, [engine = s->engine.get()] { engine->abort_publish(); });
    std::rethrow_exception(failed);
  }
  std::vector<const StagedPublish*> all;
  for (const StagedPublish& s : staged) all.push_back(&s);
  const TimePoint now = shards_[0]->scheduler->now();
  const bool report = options_.observer != nullptr && options_.observer->wants_published();
  auto batch = store_.new_batch();
  auto bodies = std::make_shared<const std::vector<std::string>>(Engine::add_publish(
      *batch, events, skip, all, now, options_.engine.envelope, options_.engine.dedupe_event_ids, report));
  Status written = batch->size() > 0 ? store_.write(*batch, Durability::kSynced) : Status::OK();
  // Committed (or aborted) on every shard without waiting: whatever the API asks of a shard next runs
  // after it there. The events themselves are needed there only by an observer of publishes (copied then).
  auto shared_events = std::make_shared<const std::vector<Event>>();
  auto shared_skip = std::make_shared<const std::vector<bool>>();
  if (report) {
    shared_events = std::make_shared<const std::vector<Event>>(events.begin(), events.end());
    shared_skip = std::make_shared<const std::vector<bool>>(skip);
  }
  for (auto& s : shards_) {
    Engine* engine = s->engine.get();
    if (written.ok()) {
      boost::asio::post(s->io, [engine, shared_events, shared_skip, bodies, now] {
        engine->commit_publish(*shared_events, *shared_skip, *bodies, now);
      });
    } else {
      boost::asio::post(s->io, [engine] { engine->abort_publish(); });
    }
  }
  if (!written.ok()) return written;
  if (result) *result = Engine::publish_result(skip, all);
  return Status::OK();
}

namespace {

// Subscription `id` of `engine`, copied; nullopt for an unknown id.
Result<std::optional<SubscriptionSnapshot>> snapshot(Engine& engine, std::string_view id, bool oldest) {
  auto v = engine.find(id);
  if (!v) return std::optional<SubscriptionSnapshot>();
  SubscriptionSnapshot s{v->key, v->config, v->state, v->in_flight_count, std::nullopt, {}};
  if (oldest) {
    auto o = engine.oldest_queued(id);
    if (!o.ok()) return o.status();
    s.oldest_queued = *o;
  }
  return std::optional<SubscriptionSnapshot>(std::move(s));
}

}  // namespace

Result<std::optional<SubscriptionSnapshot>> Shards::find(std::string_view id, bool oldest) {
  return on(id, [&](Engine& e) { return snapshot(e, id, oldest); });
}

Result<SubscriptionSnapshot> Shards::change(std::string_view id,
                                            const std::function<Status(Engine&)>& change) {
  return on(id, [&](Engine& e) -> Result<SubscriptionSnapshot> {
    HOOKSIM_RETURN_IF_ERROR(change(e));
    auto s = snapshot(e, id, /*oldest=*/true);
    if (!s.ok()) return s.status();
    if (!*s) return Status::NotFound(fmt::format("no subscription '{}'", id));
    return std::move(**s);
  });
}

Result<std::vector<SubscriptionSnapshot>> Shards::list(bool oldest) {
  std::vector<SubscriptionSnapshot> all;
  for (size_t i = 0; i < shards_.size(); ++i) {
    Status st = call(i, [&](Engine& e) {
      for (const std::string& id : e.subscription_ids()) {
        auto s = snapshot(e, id, oldest);
        if (!s.ok()) return s.status();
        all.push_back(std::move(**s));
      }
      return Status::OK();
    });
    if (!st.ok()) return st;
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return all;
}

Result<SubscriptionSnapshot> Shards::add(const SubscriptionConfig& config) {
  return change(config.id, [&](Engine& e) { return e.add_subscription(config); });
}

Result<SubscriptionSnapshot> Shards::update(const SubscriptionConfig& config) {
  return change(config.id, [&](Engine& e) { return e.update_subscription(config); });
}

Result<SubscriptionSnapshot> Shards::reactivate(std::string_view id) {
  return change(id, [&](Engine& e) { return e.reactivate(id); });
}

Result<SubscriptionSnapshot> Shards::retry_now(std::string_view id) {
  return change(id, [&](Engine& e) { return e.retry_now(id); });
}

Status Shards::remove(std::string_view id) {
  return on(id, [&](Engine& e) { return e.remove_subscription(id); });
}

BackendMemory Shards::memory() {
  return options_.memory ? options_.memory() : BackendMemory{};
}

}  // namespace hooksim::service
