#include "cluster/node.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cluster/wire.h"
#include "protocol/envelope.h"
#include "service/shards.h"

namespace hooksim::cluster {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

Node::Node(boost::asio::io_context& io, net::AsioScheduler& scheduler, NodeOptions options)
    : io_(io), scheduler_(scheduler), options_(std::move(options)), fence_timer_(io), status_timer_(io) {}

Node::~Node() {
  stop();
}

Status Node::start() {
  if (options_.shards < 1 || options_.shards > kMaxShards)
    return Status::InvalidArgument(fmt::format("--shards: must be from 1 to {}", kMaxShards));
  if (options_.replicas < 1 || options_.replicas > 5)
    return Status::InvalidArgument("--replicas: must be from 1 to 5");
  if (options_.node.empty()) return Status::InvalidArgument("--node: required with --cluster");
  if (Status st = validate_key("name", options_.node); !st.ok())
    return Status::InvalidArgument("--node: " + st.message());
  if (options_.lease_ttl < std::chrono::milliseconds(500))
    return Status::InvalidArgument("--lease-ttl: must be at least 500ms");
  transport_ = std::make_unique<net::CurlTransport>(io_, scheduler_, options_.curl);
  auto nats = Nats::connect({.urls = options_.nats, .name = "hooksim-" + options_.node});
  if (!nats.ok()) return nats.status();
  nats_ = std::move(*nats);
  // A JetStream cluster that is starting too (scripts/cluster.sh) has no meta leader for a few seconds:
  // creating the stream and buckets is tried again until it answers, for a minute at most.
  const auto give_up = Steady::now() + std::chrono::minutes(1);
  bool waiting = false;
  auto until_ready = [&](const std::function<Status()>& step) {
    for (;;) {
      Status st = step();
      if (st.ok() || st.code() == Status::Code::kInvalidArgument || Steady::now() > give_up) return st;
      if (!waiting) log("waiting for JetStream: " + st.message());
      waiting = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  };
  HOOKSIM_RETURN_IF_ERROR(until_ready([&] {
    return nats_->ensure_stream(kStream, kSubject, options_.replicas, options_.retention,
                                options_.dedupe_window);
  }));
  auto open_bucket = [&](const char* name, std::chrono::milliseconds ttl, std::unique_ptr<Kv>& out) {
    return until_ready([&] {
      auto b = nats_->bucket(name, options_.replicas, ttl);
      if (!b.ok()) return b.status();
      out = std::move(*b);
      return Status::OK();
    });
  };
  HOOKSIM_RETURN_IF_ERROR(open_bucket("hooksim_subs", {}, subs_kv_));
  HOOKSIM_RETURN_IF_ERROR(open_bucket("hooksim_progress", {}, progress_kv_));
  HOOKSIM_RETURN_IF_ERROR(open_bucket("hooksim_leases", options_.lease_ttl, leases_kv_));
  HOOKSIM_RETURN_IF_ERROR(open_bucket("hooksim_nodes", options_.lease_ttl, nodes_kv_));

  // Every node must agree on S (subscriptions are placed by hash mod S) and the lease TTL (its fence counts
  // on it): the first node records them; a node with others refuses to start.
  const std::string settings =
      fmt::format("shards={} lease_ttl_ms={}", options_.shards, options_.lease_ttl.count());
  if (auto created = subs_kv_->create(kSettingsKey, settings); !created.ok()) {
    auto current = subs_kv_->get_latest(kSettingsKey);
    if (!current.ok()) return current.status();
    if (*current && (*current)->value != settings)
      return Status::InvalidArgument(
          fmt::format("--shards, --lease-ttl: this cluster was created with {}; every node must use the same",
                      (*current)->value));
  }
  // The caches are complete before the node serves or takes a shard.
  auto watch = [&](Kv& kv, void (Node::*on)(const KvValue&)) {
    auto ready = std::make_shared<std::promise<void>>();
    auto w = std::make_unique<KvWatcher>(
        kv, [this, on](const KvValue& v) { (this->*on)(v); }, [ready] { ready->set_value(); });
    HOOKSIM_RETURN_IF_ERROR(w->start());
    if (ready->get_future().wait_for(std::chrono::seconds(30)) != std::future_status::ready)
      return Status::IOError("watch: the bucket's values did not arrive within 30 s");
    watchers_.push_back(std::move(w));
    return Status::OK();
  };
  HOOKSIM_RETURN_IF_ERROR(watch(*subs_kv_, &Node::on_sub));
  HOOKSIM_RETURN_IF_ERROR(watch(*progress_kv_, &Node::on_progress));
  HOOKSIM_RETURN_IF_ERROR(watch(*leases_kv_, &Node::on_lease));
  HOOKSIM_RETURN_IF_ERROR(watch(*nodes_kv_, &Node::on_node));

  // Changes other nodes forward here (the subscription's owner).
  natsSubscription* admin = nullptr;
  if (natsStatus s = natsConnection_Subscribe(
          &admin, nats_->connection(), admin_subject(options_.node).c_str(), &Node::on_admin_request, this);
      s != NATS_OK)
    return nats_status(s, "subscribe to " + admin_subject(options_.node));
  admin_requests_.reset(admin);

  scheduler_.on_turn_end([this] {
    for (auto& [shard, o] : owned_)
      if (o->open) o->engine->flush();
  });
  started_ = true;
  check_fences();
  write_status_progress();
  lease_thread_ = std::thread([this] { lease_loop(); });
  return Status::OK();
}

void Node::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
  // No more forwarded changes: their senders get "no responders" at once rather than wait out a timeout.
  if (admin_requests_) natsSubscription_Unsubscribe(admin_requests_.get());
  admin_requests_.reset();
  fence_timer_.cancel();
  status_timer_.cancel();
  // Hand over: each shard's last successes are written, then its lease is deleted for another node.
  std::vector<size_t> shards;
  for (auto& [shard, o] : owned_) shards.push_back(shard);
  for (size_t shard : shards) drop(shard, "handed over");
  // A lease is deleted only while it is still this node's: its revision, before its deadline.
  for (auto& [shard, rev] : held_)
    if (valid_until_[shard] > steady_ns())
      if (Status st = leases_kv_->remove_if(lease_key(shard), rev); !st.ok()) log(st.message());
  held_.clear();
  (void)nodes_kv_->remove(options_.node);
  forwards_.clear();  // after the hand-over (it must not wait past the leases' deadlines): their answers
  watchers_.clear();
}

// --- the caches ---

void Node::on_sub(const KvValue& v) {
  if (v.key == kSettingsKey) return;
  std::optional<SubEntry> entry;
  if (!v.deleted) {
    auto decoded = decode_sub(v.value, v.revision);
    if (!decoded.ok()) return log(fmt::format("subscription {}: {}", v.key, decoded.status().message()));
    entry = std::move(*decoded);
  }
  {
    std::lock_guard lock(cache_mu_);
    if (entry)
      subs_[v.key] = *entry;
    else
      subs_.erase(v.key);
    ++subs_version_;
  }
  // The owner applies the change to its engine.
  const size_t shard = service::Shards::shard_of(v.key, options_.shards);
  boost::asio::post(io_, [this, shard] {
    auto it = owned_.find(shard);
    if (it != owned_.end() && it->second->open) sync_subs(*it->second, it->second->store->position() + 1);
  });
}

// Makes the engine's subscriptions those of the cache (hooksim_subs), as they stand for the stream's event
// `next`: a subscription created at stream sequence S takes the events after S, so it is added only once
// the engine is about to publish one of them. The watcher and the stream consumer are two streams with no
// order between them; this runs before every event, so neither can overtake the other.
void Node::sync_subs(Owned& o, uint64_t next) {
  std::vector<SubEntry> add;
  std::vector<SubscriptionConfig> update;
  std::vector<std::string> remove;
  std::string rebuild;
  {
    std::lock_guard lock(cache_mu_);
    if (o.synced_version == subs_version_ && !o.deferred) return;
    o.synced_version = subs_version_;
    o.deferred = false;
    for (const auto& [id, e] : subs_) {
      if (service::Shards::shard_of(id, options_.shards) != o.shard) continue;
      auto v = o.engine->find(id);
      if (v && o.orders[id] != e.order) {
        // Deleted and created again under the same id: another subscription, whose queue starts empty.
        remove.push_back(id);
        v.reset();
      }
      if (!v) {
        if (e.start_seq + 1 < next) {
          // It takes events this shard has already consumed (the watcher was behind the stream): the
          // shard is built again from the stream and the progress, which now include it.
          rebuild = fmt::format("subscription {} (created at stream sequence {}) arrived after later events",
                                id, e.start_seq);
        } else if (e.start_seq < next) {
          add.push_back(e);
        } else {
          o.deferred = true;
        }
      } else if (!(v->config == e.config)) {
        update.push_back(e.config);
      }
    }
    for (const std::string& id : o.engine->subscription_ids())
      if (!subs_.contains(id)) remove.push_back(id);
  }
  if (!rebuild.empty()) {
    log(fmt::format("shard {}: {}: taking it again from the stream", o.shard, rebuild));
    post_take(o.shard);
    return;
  }
  for (const std::string& id : remove) {
    report(o.engine->remove_subscription(id), id);
    o.orders.erase(id);
    o.revisions.erase(id);
  }
  for (const SubEntry& e : add) {
    o.orders[e.config.id] = e.order;
    report(o.engine->add_subscription(e.config), e.config.id);
  }
  for (const SubscriptionConfig& c : update) report(o.engine->update_subscription(c), c.id);
}

void Node::log(const std::string& what) const {
  std::cerr << fmt::format("{} hooksim serve: {}: {}\n", format_utc(scheduler_.now()), options_.node, what);
}

void Node::report(const Status& st, std::string_view what) const {
  if (!st.ok()) log(fmt::format("{}: {}", what, st.message()));
}

void Node::on_progress(const KvValue& v) {
  std::lock_guard lock(cache_mu_);
  if (v.deleted) {
    progress_.erase(v.key);
    return;
  }
  if (auto p = decode_progress(v.value); p.ok()) progress_[v.key] = std::move(*p);
}

void Node::on_lease(const KvValue& v) {
  size_t shard = 0;
  if (std::sscanf(v.key.c_str(), "shard-%zu", &shard) != 1) return;
  std::lock_guard lock(cache_mu_);
  if (v.deleted)
    leases_.erase(shard);
  else
    leases_[shard] = {v.value, v.revision, Steady::now()};
}

void Node::on_node(const KvValue& v) {
  std::lock_guard lock(cache_mu_);
  if (v.deleted)
    nodes_.erase(v.key);
  else
    nodes_[v.key] = {v.value, Steady::now()};
}

// --- leases (the lease thread) ---

void Node::lease_loop() {
  // Renewals every TTL/4 leave three tries before a lease's deadline; at least once a second, so that a
  // long TTL does not slow the balance (one shard handed to a joining node per round).
  const auto period = std::min<std::chrono::milliseconds>(options_.lease_ttl / 4, std::chrono::seconds(1));
  for (;;) {
    renew_and_balance();
    std::unique_lock lock(stop_mu_);
    if (stop_cv_.wait_for(lock, period, [this] { return stopping_; })) return;
  }
}

void Node::renew_and_balance() {
  const int64_t margin = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lease_ttl / 5).count();
  const int64_t ttl = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lease_ttl).count();
  (void)nodes_kv_->put(options_.node, options_.url);
  // Renew what is held; a lease lost (taken, expired, or NATS unreachable past the deadline) is dropped.
  for (auto it = held_.begin(); it != held_.end();) {
    const size_t shard = it->first;
    const int64_t sent = steady_ns();
    auto rev = leases_kv_->update(lease_key(shard), options_.node, it->second);
    if (rev.ok()) {
      it->second = *rev;
      valid_until_[shard] = sent + ttl - margin;
      ++it;
    } else if (rev.status().code() == Status::Code::kFailedPrecondition) {
      log(fmt::format("lease of shard {} lost: {}", shard, rev.status().message()));
      valid_until_[shard] = 0;
      boost::asio::post(io_, [this, shard] { drop(shard, "lease lost"); });
      it = held_.erase(it);
    } else {
      // NATS unreachable: the fence drops the shard at its deadline unless a renewal succeeds first.
      log(fmt::format("cannot renew the lease of shard {}: {}", shard, rev.status().message()));
      ++it;
    }
  }
  // A shard whose consumer got nothing for a TTL while the stream has more is consumed again.
  if (auto last = nats_->last_seq(kStream); last.ok()) {
    for (const auto& [shard, rev] : held_) {
      const uint64_t received = received_[shard];
      const bool moved = received != last_received_[shard];
      last_received_[shard] = received;
      if (received >= *last || moved) {
        stalled_[shard] = 0;
      } else if (++stalled_[shard] >= 4) {  // behind, and nothing came for four rounds
        stalled_[shard] = 0;
        boost::asio::post(io_, [this, shard, epoch = epoch_[shard].load()] { resubscribe(shard, epoch); });
      }
    }
  }
  // Balance: each of the L live nodes owns between floor(S / L) and ceil(S / L) shards.
  size_t live, mine = held_.size();
  std::vector<size_t> free;
  bool someone_short = false;  // a live node (not this one) below floor(S / L)
  {
    std::lock_guard lock(cache_mu_);
    live = 1;  // this node
    std::map<std::string, size_t> owns;
    for (const auto& [name, v] : nodes_)
      if (name != options_.node && fresh(v.second)) {
        ++live;
        owns[name] = 0;
      }
    for (size_t s = 0; s < options_.shards; ++s) {
      auto l = leases_.find(s);
      const bool held = l != leases_.end() && fresh(l->second.seen);
      if (!held && !held_.contains(s)) free.push_back(s);
      if (held && owns.contains(l->second.node)) ++owns[l->second.node];
    }
    const size_t floor = options_.shards / live;
    for (const auto& [name, n] : owns) someone_short |= n < floor;
  }
  const size_t floor = options_.shards / live, ceil = (options_.shards + live - 1) / live;
  // Start looking at a place that depends on the node, so that nodes starting together spread out.
  std::rotate(free.begin(),
              free.begin() + (free.empty() ? 0 : std::hash<std::string>{}(options_.node) % free.size()),
              free.end());
  for (size_t shard : free) {
    if (mine >= ceil) break;
    const int64_t sent = steady_ns();
    auto rev = leases_kv_->create(lease_key(shard), options_.node);
    if (!rev.ok()) continue;
    held_[shard] = *rev;
    valid_until_[shard] = sent + ttl - margin;
    retake_[shard] = false;
    post_take(shard);
    ++mine;
  }
  // More than a fair share (a node joined), or more than the floor while another node is below it: hand
  // one back per round. It is no longer renewed; io's thread writes its last successes, then deletes the
  // lease for the other node, only if it is still this node's (its revision, and before its deadline).
  if (mine > ceil || (mine > floor && someone_short)) {
    const auto [shard, revision] = *held_.rbegin();
    held_.erase(shard);
    boost::asio::post(io_, [this, shard, revision] {
      drop(shard, "handed to a joining node");
      if (valid_until_[shard] > steady_ns()) (void)leases_kv_->remove_if(lease_key(shard), revision);
      valid_until_[shard] = 0;
    });
  }
  // A held shard that io's thread could not take (NATS failed it): taken again.
  for (const auto& [shard, rev] : held_) {
    if (retake_[shard].exchange(false)) post_take(shard);
  }
  owned_count_ = held_.size();
}

// --- shards (io's thread) ---

void Node::post_take(size_t shard) {
  const uint64_t epoch = ++epoch_[shard];  // a take posted before this one is void
  boost::asio::post(io_, [this, shard, epoch] { take(shard, epoch); });
}

void Node::take(size_t shard, uint64_t epoch) {
  if (!started_ || epoch != epoch_[shard] || valid_until_[shard] == 0) return;
  drop(shard, "retaken");
  auto o = std::make_unique<Owned>();
  o->shard = shard;
  o->epoch = epoch;
  o->store = std::make_unique<ShardStore>(
      [this, shard](std::span<const std::pair<std::string, Progress>> p) { return write_progress(p, shard); },
      storage::MemoryStoreOptions{.spill_dir = options_.spill_dir});
  o->fenced = std::make_unique<FencedTransport>(*transport_, valid_until_[shard]);
  o->engine = std::make_unique<Engine>(
      scheduler_, *o->store, *o->fenced, options_.observer,
      EngineOptions{.dedupe_event_ids = false, .envelope = protocol::make_envelope, .group_commit = true});
  // Its subscriptions, each with the progress its last owner wrote (read again: the cache may lag).
  std::vector<SubEntry> entries;
  {
    std::lock_guard lock(cache_mu_);
    for (const auto& [id, e] : subs_)
      if (service::Shards::shard_of(id, options_.shards) == shard) entries.push_back(e);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  uint64_t start = UINT64_MAX;
  for (SubEntry& e : entries) {
    Progress p;
    p.acked = e.start_seq;
    uint64_t revision = 0;
    auto stored = progress_kv_->get_latest(e.config.id, &revision);
    if (!stored.ok()) {
      log(fmt::format("shard {}: {}; taken again at the next renewal", shard, stored.status().message()));
      retake_[shard] = true;
      return;
    }
    if (*stored) {
      // Another subscription's (an earlier one with this id) is not this one's.
      auto decoded = decode_progress((*stored)->value);
      if (decoded.ok() && decoded->order == e.order) p = std::move(*decoded);
    }
    o->revisions[e.config.id] = revision;
    if (p.state.state != SubState::kDeactivated) start = std::min(start, p.acked + 1);
    o->taken.emplace_back(std::move(e), std::move(p));
  }
  auto last = nats_->last_seq(kStream);
  if (!last.ok()) {
    log(last.status().message());
    retake_[shard] = true;
    return;
  }
  o->replay_end = *last;
  if (start == UINT64_MAX || start > *last) start = *last + 1;
  o->received = start - 1;
  received_[shard] = start - 1;
  if (Status st = subscribe(*o, start); !st.ok()) {
    log(st.message());
    retake_[shard] = true;
    return;
  }
  Owned& owned = *o;
  owned_[shard] = std::move(o);
  log(fmt::format("took shard {} ({} subscriptions, from stream sequence {})", shard, owned.taken.size(),
                  start));
  if (start > owned.replay_end) finish_replay(owned);
}

// The stream from `from`, in order: an ordered consumer (no acknowledgements; the client recreates it
// after a gap or missed heartbeats). Its messages are posted to io's thread, to on_message.
Status Node::subscribe(Owned& o, uint64_t from) {
  if (o.consumer) natsSubscription_Unsubscribe(o.consumer.get());
  o.consumer.reset();
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = kStream;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = from;
  struct Ctx {
    Node* node;
    size_t shard;
    uint64_t epoch;
  };
  auto* ctx = new Ctx{this, o.shard, o.epoch};  // freed with the subscription (its complete handler)
  natsSubscription* sub = nullptr;
  natsStatus s = js_Subscribe(
      &sub, nats_->js(), kSubject,
      [](natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
        NatsPtr<natsMsg> msg(m);
        auto* c = static_cast<Ctx*>(closure);
        jsMsgMetaData* md = nullptr;
        if (natsMsg_GetMetaData(&md, m) != NATS_OK) return;
        NatsPtr<jsMsgMetaData> meta(md);
        auto event = decode_event(std::string_view(natsMsg_GetData(m), natsMsg_GetDataLength(m)));
        const TimePoint published = from_unix_ms(md->Timestamp / 1000000);
        boost::asio::post(c->node->io_,
                          [node = c->node, shard = c->shard, epoch = c->epoch, seq = md->Sequence.Stream,
                           published, e = std::move(event)]() mutable {
                            node->on_message(shard, epoch, seq, published, std::move(e));
                          });
      },
      ctx, nullptr, &so, nullptr);
  if (s != NATS_OK) {
    delete ctx;
    return nats_status(s, fmt::format("consume shard {} from stream sequence {}", o.shard, from));
  }
  natsSubscription_SetOnCompleteCB(
      sub, [](void* closure) { delete static_cast<Ctx*>(closure); }, ctx);
  o.consumer.reset(sub);
  return Status::OK();
}

// The lease thread saw the stream past what shard `shard` consumed, with no progress for a while: its
// consumer is started again after the last event it got (a consumer lost with the NATS server it lived on).
void Node::resubscribe(size_t shard, uint64_t epoch) {
  auto it = owned_.find(shard);
  if (it == owned_.end() || it->second->epoch != epoch) return;
  Owned& o = *it->second;
  log(fmt::format("shard {}: no event since stream sequence {}: consuming again after it", shard,
                  o.received));
  if (Status st = subscribe(o, o.received + 1); !st.ok()) log(st.message());
}

void Node::on_message(size_t shard, uint64_t epoch, uint64_t seq, TimePoint published,
                      Result<Event> decoded) {
  auto it = owned_.find(shard);
  if (it == owned_.end() || it->second->epoch != epoch) return;
  Owned& o = *it->second;
  if (seq <= o.received) return;  // again, from a consumer started over (resubscribe)
  o.received = seq;
  received_[shard] = seq;
  if (!decoded.ok()) {
    log(fmt::format("shard {}: stream sequence {} skipped: {}", shard, seq, decoded.status().message()));
    if (!o.open && seq >= o.replay_end) finish_replay(o);
    return;
  }
  Event event = std::move(*decoded);
  if (!o.open) {
    if (seq <= o.replay_end) {
      o.replay.emplace_back(seq, published, std::move(event));
      if (seq == o.replay_end) finish_replay(o);
      return;
    }
    finish_replay(o);  // the replay's last events were gone from the stream (its retention)
  }
  sync_subs(o, seq);
  o.store->set_position(seq);
  PublishResult ignored;
  if (Status st = o.engine->publish({&event, 1}, &ignored); !st.ok())
    log(fmt::format("shard {}: {}", shard, st.message()));
}

void Node::finish_replay(Owned& o) {
  // Each subscription's queue: the replayed events past its progress that its filter takes (a deactivated
  // subscription takes none), numbered on from its progress's head_seq.
  const size_t n = o.taken.size();
  std::vector<std::vector<size_t>> picks(o.replay.size());
  std::vector<uint64_t> counts(n, 0);
  for (size_t r = 0; r < o.replay.size(); ++r) {
    const auto& [seq, at, event] = o.replay[r];
    for (size_t i = 0; i < n; ++i) {
      const auto& [entry, progress] = o.taken[i];
      if (seq > progress.acked && progress.state.state != SubState::kDeactivated &&
          entry.config.filter.matches(event)) {
        picks[r].push_back(i);
        ++counts[i];
      }
    }
  }
  auto batch = o.store->new_batch();
  for (size_t i = 0; i < n; ++i) {
    o.store->restore(i + 1, o.taken[i].first.config, o.taken[i].second, counts[i], *batch);
    o.orders[o.taken[i].first.config.id] = o.taken[i].first.order;
  }
  std::vector<uint64_t> next(n);
  for (size_t i = 0; i < n; ++i) next[i] = o.taken[i].second.head_seq;
  for (size_t r = 0; r < o.replay.size(); ++r) {
    if (picks[r].empty()) continue;
    const auto& [seq, at, event] = o.replay[r];
    std::vector<QueueSlot> slots;
    for (size_t i : picks[r]) slots.push_back({i + 1, next[i]++});
    o.store->set_position(seq);
    batch->enqueue_many(slots, at, event.id, protocol::make_envelope(event));
  }
  o.store->set_position(o.replay_end);
  Status st = o.store->write(*batch, Durability::kSynced);
  if (st.ok()) st = o.engine->open();
  o.taken.clear();
  o.replay.clear();
  o.replay.shrink_to_fit();
  if (!st.ok()) {
    log(fmt::format("shard {}: {}; taken again", o.shard, st.message()));
    post_take(o.shard);
    return;
  }
  o.open = true;
  o.synced_version = 0;  // subscriptions created since the take (the cache is newer than the replay's list)
  sync_subs(o, o.replay_end + 1);
}

void Node::drop(size_t shard, std::string_view why) {
  auto it = owned_.find(shard);
  if (it == owned_.end()) return;
  Owned& o = *it->second;
  // Its last successes are written before another node can read its progress (a hand-over); a shard past
  // its lease's deadline writes nothing (write_progress refuses).
  if (o.open) o.engine->flush();
  if (o.consumer) natsSubscription_Unsubscribe(o.consumer.get());
  owned_.erase(it);  // the engine abandons its attempts in flight, as a crash would
  log(fmt::format("dropped shard {} ({})", shard, why));
}

void Node::check_fences() {
  std::vector<std::pair<size_t, std::string>> expired;
  const int64_t now = steady_ns();
  // A steady_ns() time as a wall-clock time in the log (the scheduler's clock is the real one here).
  auto at = [&](int64_t t) {
    return format_utc(scheduler_.now() -
                      std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(now - t)));
  };
  for (auto& [shard, o] : owned_) {
    const int64_t until = valid_until_[shard];
    if (until == 0) continue;  // its lease was lost or handed back: dropped by the lease thread's post
    if (o->fenced->stopped() && o->fenced->stopped_at() < until) {
      // Its transport has refused since then; a write that blocked may make this line late, but its lease's
      // deadline bounds the sending anyway (the earlier of the two is when it stopped).
      expired.emplace_back(shard,
                           fmt::format("its progress could not be written at {}; nothing was sent after "
                                       "that, nor after its lease's deadline {}",
                                       at(o->fenced->stopped_at()), at(until)));
    } else if (until <= now || o->fenced->stopped()) {
      // Its transport has refused to send since the deadline (FencedTransport), whenever this runs.
      expired.emplace_back(
          shard, fmt::format("fenced: its lease's deadline {} passed; nothing was sent after it", at(until)));
    }
  }
  for (const auto& [shard, why] : expired) {
    drop(shard, why);
    retake_[shard] = true;  // taken again (from its progress) if the lease is still this node's
  }
  fence_timer_.expires_after(std::max(options_.lease_ttl / 20, std::chrono::milliseconds(10)));
  fence_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) check_fences();
  });
}

std::vector<size_t> Node::owned_shards() const {
  std::vector<size_t> out;
  for (const auto& [shard, o] : owned_) out.push_back(shard);
  return out;
}

}  // namespace hooksim::cluster
