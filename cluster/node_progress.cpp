// Node's progress writes (io's thread): each subscription's progress put in the hooksim_progress bucket by
// compare-and-set, for the engines' group commits and, once a second, for other nodes' status views
// (cluster/node.h; docs/cluster.md, "Fencing").
#include <fmt/format.h>

#include "cluster/node.h"
#include "cluster/wire.h"

namespace hooksim::cluster {

Status Node::put_progress(std::span<const std::pair<std::string, Progress>> progress, size_t shard) {
  // Every failure is IOError: the store could not be written (503 to an admin call that wrote).
  auto owned = owned_.find(shard);
  if (owned == owned_.end()) return Status::IOError(fmt::format("shard {}: not owned by this node", shard));
  Owned& o = *owned->second;
  for (const auto& [id, written] : progress) {
    // Checked before each write: a shard whose lease may have expired writes nothing more.
    if (valid_until_[shard] <= steady_ns())
      return Status::IOError(fmt::format("shard {}: lease no longer held", shard));
    if (!nats_->connected()) return Status::IOError("NATS unreachable");
    auto order = o.orders.find(id);
    if (order == o.orders.end())
      return Status::IOError(fmt::format("shard {}: {} is not one of its own", shard, id));
    Progress p = written;
    p.order = order->second;
    const std::string value = encode_progress(p);
    // Compare-and-set on the revision this owner last read or wrote (read first for a subscription added
    // since the take).
    auto known = o.revisions.find(id);
    if (known == o.revisions.end()) {
      uint64_t last = 0;
      if (auto read = progress_kv_->get_latest(id, &last); !read.ok()) return read.status();
      known = o.revisions.emplace(id, last).first;
    }
    if (known->second == kDeleted) continue;  // moot until sync_subs removes it (below)
    auto rev = progress_kv_->update(id, value, known->second);
    if (rev.ok()) {
      known->second = *rev;
      continue;
    }
    if (rev.status().code() != Status::Code::kFailedPrecondition) return rev.status();
    // Not at the revision expected. This owner's own write, applied though its answer was lost?
    uint64_t last = 0;
    auto current = progress_kv_->get_latest(id, &last);
    if (!current.ok()) return current.status();
    if (*current && (*current)->value == value) {
      known->second = last;
      continue;
    }
    // Written by someone else: the subscription's deletion (or its creation again), which makes this write
    // and the next ones moot; or another owner, which this one must give way to.
    auto record = subs_kv_->get_latest(id);
    if (!record.ok()) return record.status();
    if (*record) {
      auto sub = decode_sub((*record)->value, (*record)->revision);
      if (!sub.ok()) return sub.status();
      if (sub->order == p.order)
        return Status::IOError(
            fmt::format("shard {}: the progress of {} was written by another owner", shard, id));
    }
    known->second = kDeleted;
  }
  return Status::OK();
}

Status Node::write_progress(std::span<const std::pair<std::string, Progress>> progress, size_t shard) {
  Status st = put_progress(progress, shard);
  // A shard whose progress cannot be written stops sending at once: otherwise the events it delivers next
  // would all be delivered again by the next owner. check_fences() drops it; it is then taken again.
  if (!st.ok())
    if (auto it = owned_.find(shard); it != owned_.end()) it->second->fenced->stop();
  return st;
}

// Once a second, the backlog of each owned subscription whose queue changed since (a publish writes no
// progress), so that other nodes' status views follow.
void Node::write_status_progress() {
  for (auto& [shard, o] : owned_) {
    if (!o->open) continue;
    std::vector<std::pair<std::string, Progress>> changed;
    for (const std::string& id : o->engine->subscription_ids()) {
      auto v = o->engine->find(id);
      if (!v) continue;
      auto p = o->store->progress_of(v->key);
      if (!p) continue;
      std::lock_guard lock(cache_mu_);
      auto cached = progress_.find(id);
      if (cached == progress_.end() || cached->second.backlog != p->second.backlog) changed.push_back(*p);
    }
    if (!changed.empty()) (void)put_progress(changed, shard);  // for status views only: may fail
  }
  status_timer_.expires_after(std::chrono::seconds(1));
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) write_status_progress();
  });
}

}  // namespace hooksim::cluster
