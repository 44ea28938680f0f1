// Node: one node of `hooksim serve --cluster` (docs/cluster.md).
//
// Every node serves the whole API (it is the service::Backend behind service::Api). What the nodes share
// lives in NATS JetStream:
// - the stream HOOKSIM_EVENTS (subject hooksim.events): every accepted event, one message each, its id the
//   message id (JetStream drops a repeat within the duplicate window). A publish is answered 202 once
//   JetStream acknowledged each event with the configured replicas.
// - the bucket hooksim_subs: each subscription's config, and where in the stream it starts.
// - the bucket hooksim_progress: each subscription's progress (cluster/shard_store.h), written by its owner.
// - the bucket hooksim_leases: which node owns each of the S shards (a value per shard, kept by
//   compare-and-set on its revision, renewed every TTL/4, gone TTL after the last renewal).
// - the bucket hooksim_nodes: the live nodes (each renews its own value; gone TTL after the last).
// Subscriptions hash into the S shards (service::Shards::shard_of). The owner of a shard rebuilds its
// subscriptions' queues from the stream and their progress, runs one Engine for them on the node's event
// loop (the one the API runs on) and consumes the stream from there on.
//
// Threads: the API, the engines and the node's curl transport run on `io`'s thread. A lease thread renews,
// takes and hands back leases; watcher threads follow the buckets; the NATS client calls back on its own
// threads. Everything they do to an engine is posted to `io`. A shard whose lease was not renewed in time
// (its deadline on this node's monotonic clock: the renewal's start + TTL - TTL/5) is dropped by `io`'s
// thread before any other node can take it: the node fences itself.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/nats.h"
#include "cluster/shard_store.h"
#include "cluster/wire.h"
#include "engine/engine.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "service/backend.h"

namespace hooksim::cluster {

struct NodeOptions {
  std::string nats;    // --cluster: "nats://host:port[,…]"
  std::string node;    // --node: this node's name, unique in the cluster
  std::string url;     // this node's API base URL (shown in /status)
  size_t shards = 16;  // --shards: the same on every node
  int replicas = 1;    // --replicas: of the stream and buckets (1 .. the NATS cluster's size)
  std::chrono::milliseconds lease_ttl{5000};  // --lease-ttl
  std::chrono::milliseconds retention{std::chrono::days(8)};
  std::chrono::milliseconds dedupe_window{std::chrono::minutes(2)};
  net::CurlOptions curl;
  DeliveryObserver* observer = nullptr;  // every engine's; called on io's thread
  std::string spill_dir;                 // the in-memory queues' spill file (storage::MemoryStoreOptions)
};

class Node final : public service::Backend {
 public:
  static constexpr size_t kMaxShards = 1024;
  static constexpr int kForwardTimeoutMs = 5000;  // a change forwarded to the owner: its answer's wait

  // `io` and `scheduler` (on the wall clock, running on io's thread) must outlive the node.
  Node(boost::asio::io_context& io, net::AsioScheduler& scheduler, NodeOptions options);
  ~Node() override;

  // This node's API base URL, shown to the others (/status, and where to send a request this node cannot
  // serve). REQUIRES: before start().
  void set_url(std::string url) { options_.url = std::move(url); }
  // Connects, creates the stream and buckets if missing, loads the subscriptions and starts the lease
  // thread; shards are taken as their leases are won. Called on io's thread before it runs.
  Status start();
  // Hands every owned shard back (its last successes written, its lease deleted so that another node
  // takes it at once) and stops the threads. Called on io's thread after it stopped running. Idempotent.
  void stop();

  // service::Backend
  Result<std::vector<service::SubscriptionSnapshot>> list(bool oldest) override;
  Result<std::optional<service::SubscriptionSnapshot>> find(std::string_view id, bool oldest) override;
  Result<service::SubscriptionSnapshot> add(const SubscriptionConfig& config) override;
  Result<service::SubscriptionSnapshot> update(const SubscriptionConfig& config) override;
  Result<service::SubscriptionSnapshot> reactivate(std::string_view id) override;
  Result<service::SubscriptionSnapshot> retry_now(std::string_view id) override;
  // On the owner: at once. On another node: forwarded to the owner (a NATS request, admin_subject), whose
  // answer comes back through `done` on io's thread.
  void change(std::string_view id, bool reactivate, Answer done) override;
  Status remove(std::string_view id) override;
  Status publish(std::span<const Event> events, PublishResult* result) override;
  service::BackendMemory memory() override { return {}; }
  std::optional<std::string> status_json() override;

  // The shards this node owns now (for tests and /status).
  std::vector<size_t> owned_shards() const;

 private:
  using SubEntry = SubRecord;
  struct Lease {
    std::string node;
    uint64_t revision = 0;
    std::chrono::steady_clock::time_point seen;  // when the watcher saw it written
  };
  // Whether a value the watcher saw written at `seen` may still be there: JetStream expires values of a
  // bucket with a TTL without telling watchers, so one not renewed for a TTL is taken as gone.
  bool fresh(std::chrono::steady_clock::time_point seen) const {
    return std::chrono::steady_clock::now() - seen < options_.lease_ttl;
  }
  // A shard this node owns: its store, transport and engine, and the stream consumer that feeds it.
  // The transport of an owned shard: sends nothing once the shard's lease may have expired (its deadline
  // passed), even before io's thread gets to drop the shard (it may be blocked in a NATS call). A request
  // refused so is never answered; the engine that made it is dropped with the shard.
  class FencedTransport final : public Transport {
   public:
    FencedTransport(Transport& inner, const std::atomic<int64_t>& valid_until)
        : inner_(inner), valid_until_(valid_until) {}
    AttemptHandle send(const DeliveryRequest& request, Done done) override {
      if (!stopped_ && valid_until_.load() > steady_ns()) return inner_.send(request, std::move(done));
      return kRefused;
    }
    // Refuses every send from now on (the shard's progress could not be written).
    void stop() {
      if (!stopped_) stopped_at_ = steady_ns();
      stopped_ = true;
    }
    bool stopped() const { return stopped_; }
    int64_t stopped_at() const { return stopped_at_; }  // steady_ns() of the first stop()
    void cancel(AttemptHandle handle) override {
      if (handle != kRefused) inner_.cancel(handle);
    }

   private:
    static constexpr AttemptHandle kRefused = ~AttemptHandle{0};
    Transport& inner_;
    const std::atomic<int64_t>& valid_until_;
    bool stopped_ = false;  // io's thread only
    int64_t stopped_at_ = 0;
  };

  struct Owned {
    size_t shard = 0;
    uint64_t epoch = 0;
    std::unique_ptr<ShardStore> store;
    // The engine's transport: the node's, behind the lease's deadline.
    std::unique_ptr<FencedTransport> fenced;
    std::unique_ptr<Engine> engine;
    NatsPtr<natsSubscription> consumer;
    // Until the engine opens: the subscriptions taken over with their progress, and the stream's events up
    // to replay_end, which rebuild their queues (finish_replay).
    bool open = false;
    uint64_t replay_end = 0;
    std::vector<std::pair<SubEntry, Progress>> taken;
    std::vector<std::tuple<uint64_t, TimePoint, Event>> replay;
    uint64_t received = 0;        // the last stream sequence its consumer delivered
    uint64_t synced_version = 0;  // Node::subs_version_ when sync_subs last ran
    bool deferred = false;        // a subscription waits for its first event (sync_subs)
    // The order (SubRecord::order) of each subscription its engine holds, by id: a subscription deleted and
    // created again under the same id is another one (sync_subs), and its progress is told apart by it.
    std::unordered_map<std::string, uint64_t> orders;
    // The revision of each subscription's progress as this owner last read or wrote it: its writes are
    // compare-and-set on it, so a write of an owner that lost the shard never lands after the next one's.
    // kDeleted: the subscription was deleted (or created again) meanwhile; nothing more is written for it.
    std::unordered_map<std::string, uint64_t> revisions;
  };
  static constexpr uint64_t kDeleted = UINT64_MAX;

  // Caches of the buckets, kept by the watchers (under cache_mu_).
  void on_sub(const KvValue& v);
  void on_progress(const KvValue& v);
  void on_lease(const KvValue& v);
  void on_node(const KvValue& v);

  // The lease thread: heartbeat, renewals, balance.
  void lease_loop();
  void renew_and_balance();
  // On io's thread.
  void take(size_t shard, uint64_t epoch);
  // Takes `shard` (again) on io's thread, from its stored progress: take() with a new epoch, which voids any
  // take posted before. From any thread.
  void post_take(size_t shard);
  void drop(size_t shard, std::string_view why);
  void on_message(size_t shard, uint64_t epoch, uint64_t seq, TimePoint published, Result<Event> event);
  Status subscribe(Owned& o, uint64_t from);
  void resubscribe(size_t shard, uint64_t epoch);
  void finish_replay(Owned& o);
  void sync_subs(Owned& o, uint64_t next);
  void report(const Status& st, std::string_view what) const;
  void log(const std::string& what) const;  // a line on stderr: time, node, what
  void check_fences();
  void write_status_progress();
  Status put_progress(std::span<const std::pair<std::string, Progress>> progress, size_t shard);
  Status write_progress(std::span<const std::pair<std::string, Progress>> progress, size_t shard);

  service::SubscriptionSnapshot snapshot_of(const SubEntry& e);
  // The node that delivers `id`: "" for this one (its shard open here), or the answer when none can now.
  // Takes cache_mu_.
  Result<std::string> owner_for_change(std::string_view id);
  Result<service::SubscriptionSnapshot> on_owner(std::string_view id, bool reactivate);
  // A change forwarded by another node (on the NATS client's thread): made on io's thread, then answered.
  static void on_admin_request(natsConnection*, natsSubscription*, natsMsg* msg, void* node);

  boost::asio::io_context& io_;
  net::AsioScheduler& scheduler_;
  NodeOptions options_;
  std::unique_ptr<Nats> nats_;
  std::unique_ptr<Kv> subs_kv_, progress_kv_, leases_kv_, nodes_kv_;
  std::vector<std::unique_ptr<KvWatcher>> watchers_;

  mutable std::mutex cache_mu_;
  std::map<std::string, SubEntry> subs_;  // by id
  uint64_t subs_version_ = 1;             // counts the changes of subs_
  std::unordered_map<std::string, Progress> progress_;
  std::map<size_t, Lease> leases_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> nodes_;  // url, seen

  // The lease thread's own: the leases it holds (shard → revision).
  std::map<size_t, uint64_t> held_;
  std::atomic<size_t> owned_count_ = 0;
  // Per shard, until when (steady clock, ns) its lease is surely ours; 0 when not held.
  std::array<std::atomic<int64_t>, kMaxShards> valid_until_{};
  std::array<std::atomic<uint64_t>, kMaxShards> epoch_{};
  std::array<std::atomic<bool>, kMaxShards> retake_{};  // take() failed: the lease thread posts it again
  std::array<std::atomic<uint64_t>, kMaxShards> received_{};  // Owned::received, for the lease thread
  // The lease thread's: rounds without progress behind the stream, and received_ at its last round.
  std::array<uint32_t, kMaxShards> stalled_{};
  std::array<uint64_t, kMaxShards> last_received_{};

  // One curl multi for every shard, for the node's life: a shard dropped while its transport's timer
  // handlers are queued must not take the transport with it (each engine cancels its own attempts).
  std::unique_ptr<net::CurlTransport> transport_;
  NatsPtr<natsSubscription> admin_requests_;  // changes other nodes forward to this one
  std::vector<std::future<void>> forwards_;   // changes this node forwarded, awaiting their answer (io's)
  std::map<size_t, std::unique_ptr<Owned>> owned_;  // io's thread only
  boost::asio::steady_timer fence_timer_;
  boost::asio::steady_timer status_timer_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread lease_thread_;
  bool started_ = false;
};

}  // namespace hooksim::cluster
