// Shards: the engines of `hooksim serve --threads N` (docs/design.md, "Shards").
//
// Each shard is an event-loop thread with its own io_context, scheduler (on the wall clock), curl multi
// (CurlTransport) and Engine; subscriptions are hashed to shards by id (shard_of), so each is delivered by
// exactly one thread, in order, as with one engine. Every shard's engine uses the one store (RocksDB is
// thread-safe; RocksQueueStore serializes only what it must).
//
// The caller (the API's own thread, one at a time) reaches an engine only through this class, which runs
// the work on the shard's thread and waits for it: engines take no locks, and an admin call or a publish
// never runs while another is half done. A publish is staged on every shard at once (Engine::stage_publish
// reads, and changes nothing), written in one synced batch with every shard's queue entries (each body
// once), then committed on every shard: one durable, all-or-nothing acceptance, with no lock on any
// shard's delivery path.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "engine/engine.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "service/backend.h"

namespace hooksim::service {

class Shards final : public Backend {
 public:
  struct Options {
    size_t count = 1;                      // REQUIRES: 1 .. kMaxShards
    net::CurlOptions curl;                 // the transport; max_host_connections is shared out
    EngineOptions engine;                  // each shard's engine (next_key is set here)
    DeliveryObserver* observer = nullptr;  // called from every shard's thread: must be thread-safe
    // What the store holds in memory, for memory() (the store is any QueueStore: the service passes
    // RocksQueueStore::memory_usage). Called from the API's thread. Null: memory() answers zeros.
    std::function<BackendMemory()> memory;
  };
  static constexpr size_t kMaxShards = 256;

  // `store` must outlive the shards.
  Shards(QueueStore& store, Options options);
  // Stops the shards if they run (stop()).
  ~Shards() override;
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  // Loads the stored subscriptions once and shares them out; returns their ids, in key order (the
  // attempt history is loaded from them before any shard delivers). REQUIRES: called once, first.
  Result<std::vector<std::string>> load();
  // Starts each shard's thread and opens its engine with its share. REQUIRES: load() succeeded; once.
  Status start();
  // Ends every shard's loop (attempts in flight are abandoned, to be made again after a restart), writes
  // each engine's last successes (Engine::flush) and joins the threads. Idempotent.
  void stop();

  size_t count() const { return shards_.size(); }
  // The shard of a subscription id among `count`: FNV-1a (64 bit) of its bytes, mixed by MurmurHash3's
  // finalizer, modulo `count`. Stable across builds and restarts; a restart with another count moves
  // subscriptions between shards, which is safe (each shard loads its share from the one store).
  static size_t shard_of(std::string_view id, size_t count);
  size_t shard_of(std::string_view id) const { return shard_of(id, shards_.size()); }

  // Runs `f(engine)` on shard `shard`'s thread and returns what it returns (an exception is rethrown here).
  // REQUIRES: open() succeeded and stop() was not called; not called from a shard's thread.
  template <class F>
  std::invoke_result_t<F&, Engine&> call(size_t shard, F&& f) {
    using R = std::invoke_result_t<F&, Engine&>;
    Shard& s = *shards_[shard];
    std::packaged_task<R()> task([&f, &s] { return f(*s.engine); });
    std::future<R> done = task.get_future();
    boost::asio::post(s.io, [&task] { task(); });
    return done.get();
  }
  // `f(engine)` on the shard of subscription `id`.
  template <class F>
  std::invoke_result_t<F&, Engine&> on(std::string_view id, F&& f) {
    return call(shard_of(id), std::forward<F>(f));
  }

  // Engine::publish across every shard: all-or-nothing, one synced write (the class comment).
  Status publish(std::span<const Event> events, PublishResult* result) override;

  // One subscription, copied on its shard; nullopt for an unknown id. `oldest`: also read when its oldest
  // queued event was published (a store read), whose error is returned.
  Result<std::optional<SubscriptionSnapshot>> find(std::string_view id, bool oldest) override;
  // Runs `change(engine)` on the shard of subscription `id`, then, in the same task, copies it as find(id,
  // true) does: the answer to a change shows its state right after it, before the shard's loop moves on.
  // change's error, or NotFound when the subscription is gone.
  Result<SubscriptionSnapshot> change(std::string_view id, const std::function<Status(Engine&)>& change);
  // Every subscription, in registration (key) order, as find().
  Result<std::vector<SubscriptionSnapshot>> list(bool oldest) override;

  // Backend's changes, each through change() on the subscription's shard; remove() through on().
  Result<SubscriptionSnapshot> add(const SubscriptionConfig& config) override;
  Result<SubscriptionSnapshot> update(const SubscriptionConfig& config) override;
  Result<SubscriptionSnapshot> reactivate(std::string_view id) override;
  Result<SubscriptionSnapshot> retry_now(std::string_view id) override;
  Status remove(std::string_view id) override;

  // Options::memory(), or zeros without one. status_json() is Backend's: none (a single serve has no
  // /status).
  BackendMemory memory() override;

 private:
  struct Shard {
    boost::asio::io_context io;
    std::unique_ptr<net::AsioScheduler> scheduler;
    std::unique_ptr<net::CurlTransport> transport;
    std::unique_ptr<Engine> engine;
    std::thread thread;
  };

  QueueStore& store_;
  Options options_;
  std::atomic<uint64_t> next_key_ = 1;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::vector<StoredSubscription>> loaded_;  // load()'s share of each shard, until start()
  bool running_ = false;
};

}  // namespace hooksim::service
