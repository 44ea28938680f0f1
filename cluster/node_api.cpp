// Node's service::Backend: the API's calls, on io's thread (cluster/node.h).
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cluster/node.h"
#include "cluster/wire.h"
#include "service/shards.h"

namespace hooksim::cluster {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

// --- the Backend (io's thread) ---

service::SubscriptionSnapshot Node::snapshot_of(const SubEntry& e) {
  service::SubscriptionSnapshot s;
  s.key = e.order;
  s.config = e.config;
  const size_t shard = service::Shards::shard_of(e.config.id, options_.shards);
  if (auto it = owned_.find(shard); it != owned_.end() && it->second->open) {
    if (auto v = it->second->engine->find(e.config.id)) {
      s.state = v->state;
      s.in_flight_count = v->in_flight_count;
      if (auto oldest = it->second->engine->oldest_queued(e.config.id); oldest.ok())
        s.oldest_queued = *oldest;
    }
  } else if (auto p = progress_.find(e.config.id); p != progress_.end() && p->second.order == e.order) {
    // The owner's last written state, with the backlog it last wrote.
    s.state = p->second.state;
    s.state.head_seq = p->second.head_seq;
    s.state.next_seq = p->second.head_seq + p->second.backlog;
    s.state.delivered_ahead.clear();
  }
  if (auto l = leases_.find(shard); l != leases_.end() && fresh(l->second.seen)) s.owner = l->second.node;
  return s;
}

Result<std::vector<service::SubscriptionSnapshot>> Node::list(bool) {
  std::vector<service::SubscriptionSnapshot> all;
  std::lock_guard lock(cache_mu_);
  for (const auto& [id, e] : subs_) all.push_back(snapshot_of(e));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return all;
}

Result<std::optional<service::SubscriptionSnapshot>> Node::find(std::string_view id, bool) {
  std::lock_guard lock(cache_mu_);
  auto it = subs_.find(std::string(id));
  if (it == subs_.end()) return std::optional<service::SubscriptionSnapshot>();
  return std::optional<service::SubscriptionSnapshot>(snapshot_of(it->second));
}

Result<service::SubscriptionSnapshot> Node::add(const SubscriptionConfig& config) {
  HOOKSIM_RETURN_IF_ERROR(validate_key("id", config.id));
  auto last = nats_->last_seq(kStream);
  if (!last.ok()) return last.status();
  auto rev = subs_kv_->create(config.id, encode_sub(config, *last, 0));
  if (!rev.ok()) {
    if (rev.status().code() == Status::Code::kAlreadyExists)
      return Status::AlreadyExists(fmt::format("subscription '{}' exists", config.id));
    return rev.status();
  }
  // Progress left under this id by an earlier subscription carries that one's order: no one takes it for
  // this one's (its owner's first write replaces it).
  service::SubscriptionSnapshot s;
  s.key = *rev;
  s.config = config;
  std::lock_guard lock(cache_mu_);
  if (auto l = leases_.find(service::Shards::shard_of(config.id, options_.shards));
      l != leases_.end() && fresh(l->second.seen))
    s.owner = l->second.node;
  return s;
}

Result<service::SubscriptionSnapshot> Node::update(const SubscriptionConfig& config) {
  SubEntry e;
  {
    std::lock_guard lock(cache_mu_);
    auto it = subs_.find(config.id);
    if (it == subs_.end()) return Status::NotFound(fmt::format("no subscription '{}'", config.id));
    e = it->second;
  }
  auto current = subs_kv_->get_latest(config.id);
  if (!current.ok()) return current.status();
  if (!*current) return Status::NotFound(fmt::format("no subscription '{}'", config.id));
  // Where it starts and which subscription it is come from the record itself (the cache may lag a delete
  // and a create again under this id).
  auto record = decode_sub((*current)->value, (*current)->revision);
  if (!record.ok()) return record.status();
  e.start_seq = record->start_seq;
  e.order = record->order;
  auto rev = subs_kv_->update(config.id, encode_sub(config, e.start_seq, e.order), (*current)->revision);
  if (!rev.ok()) return rev.status();
  e.config = config;
  std::lock_guard lock(cache_mu_);
  return snapshot_of(e);
}

Status Node::remove(std::string_view id) {
  {
    std::lock_guard lock(cache_mu_);
    if (!subs_.contains(std::string(id))) return Status::NotFound(fmt::format("no subscription '{}'", id));
  }
  HOOKSIM_RETURN_IF_ERROR(subs_kv_->remove(std::string(id)));
  return progress_kv_->remove(std::string(id));
}

// The node that delivers `id` (empty: this one, its shard open here), or the answer when no node can take a
// change now. Takes the caches' lock: call it without.
Result<std::string> Node::owner_for_change(std::string_view id) {
  std::lock_guard lock(cache_mu_);
  if (!subs_.contains(std::string(id))) return Status::NotFound(fmt::format("no subscription '{}'", id));
  const size_t shard = service::Shards::shard_of(id, options_.shards);
  if (auto o = owned_.find(shard); o != owned_.end() && o->second->open) return std::string();
  auto l = leases_.find(shard);
  if (l != leases_.end() && fresh(l->second.seen) && l->second.node != options_.node) return l->second.node;
  return Status::IOError(fmt::format(
      "subscription '{}': its shard is moving between nodes (no node delivers it for the moment): try again",
      id));
}

Result<service::SubscriptionSnapshot> Node::on_owner(std::string_view id, bool reactivate) {
  auto owner = owner_for_change(id);
  if (!owner.ok()) return owner.status();
  if (!owner->empty()) {
    std::lock_guard lock(cache_mu_);
    auto url = nodes_.find(*owner);
    return Status::FailedPrecondition(
        fmt::format("subscription '{}' is delivered by node {}{}: send this request there", id, *owner,
                    url == nodes_.end() ? "" : " (" + url->second.first + ")"));
  }
  // The change (its progress write a NATS call) runs without the caches' lock; io's thread owns the engine.
  Engine& e = *owned_.at(service::Shards::shard_of(id, options_.shards))->engine;
  HOOKSIM_RETURN_IF_ERROR(reactivate ? e.reactivate(id) : e.retry_now(id));
  std::lock_guard lock(cache_mu_);
  auto it = subs_.find(std::string(id));
  if (it == subs_.end()) return Status::NotFound(fmt::format("no subscription '{}'", id));
  return snapshot_of(it->second);
}

Result<service::SubscriptionSnapshot> Node::reactivate(std::string_view id) {
  return on_owner(id, true);
}

Result<service::SubscriptionSnapshot> Node::retry_now(std::string_view id) {
  return on_owner(id, false);
}

void Node::change(std::string_view id, bool reactivate, Answer done) {
  auto owner = owner_for_change(id);
  if (!owner.ok()) return done(owner.status());
  if (owner->empty()) return done(on_owner(id, reactivate));
  // Forwarded: the request waits on a thread of its own (the answer may take up to the timeout), and the
  // answer comes back to io's thread. Admin calls are rare: a thread each is enough.
  std::erase_if(forwards_, [](const std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  auto answer_here = [this, owner = *owner, id = std::string(id)](Result<AdminAnswer> answer, Answer done) {
    boost::asio::post(io_, [this, owner, id, answer = std::move(answer), done = std::move(done)] {
      if (!answer.ok()) return done(answer.status());
      std::optional<service::SubscriptionSnapshot> s;
      {
        std::lock_guard lock(cache_mu_);
        if (auto it = subs_.find(id); it != subs_.end()) {
          s.emplace();
          s->key = it->second.order;
          s->config = it->second.config;
        }
      }
      if (!s) return done(Status::NotFound(fmt::format("no subscription '{}'", id)));
      s->state = answer->state;
      s->in_flight_count = answer->in_flight_count;
      s->oldest_queued = answer->oldest_queued;
      s->owner = owner;
      done(std::move(*s));
    });
  };
  auto shared_done = std::make_shared<Answer>(std::move(done));
  try {
    forwards_.push_back(std::async(std::launch::async, [this, owner = *owner, id = std::string(id),
                                                        reactivate, answer_here, shared_done] {
      const std::string request = json{{"id", id}, {"action", reactivate ? "reactivate" : "retry"}}.dump();
      natsMsg* reply = nullptr;
      const natsStatus s =
          natsConnection_Request(&reply, nats_->connection(), admin_subject(owner).c_str(), request.data(),
                                 static_cast<int>(request.size()), kForwardTimeoutMs);
      NatsPtr<natsMsg> r(reply);
      if (s != NATS_OK)
        return answer_here(
            nats_status(s, fmt::format("subscription '{}': node {}, its owner, did not answer", id, owner)),
            std::move(*shared_done));
      answer_here(decode_admin_answer(std::string_view(natsMsg_GetData(reply),
                                                       static_cast<size_t>(natsMsg_GetDataLength(reply)))),
                  std::move(*shared_done));
    }));
  } catch (const std::system_error& e) {  // no thread to be had
    (*shared_done)(Status::IOError(
        fmt::format("subscription '{}': cannot forward to node {}: {}", id, *owner, e.what())));
  }
}

void Node::on_admin_request(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  NatsPtr<natsMsg> m(msg);
  auto* node = static_cast<Node*>(closure);
  if (!natsMsg_GetReply(msg)) return;
  std::string reply = natsMsg_GetReply(msg);
  std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  boost::asio::post(node->io_, [node, reply = std::move(reply), data = std::move(data)] {
    Result<AdminAnswer> answer = Status::InvalidArgument("admin request: malformed");
    json request = json::parse(data, nullptr, /*allow_exceptions=*/false);
    const std::string action =
        request.is_object() && request.value("action", json()).is_string() ? request["action"] : json("");
    if (request.is_object() && request.value("id", json()).is_string() &&
        (action == "reactivate" || action == "retry")) {
      const std::string id = request["id"];
      // Only where the subscription is: a node that no longer delivers it (its shard moved on since the
      // sender looked) forwards nothing and says to try again.
      auto owner = node->owner_for_change(id);
      if (!owner.ok()) {
        answer = owner.status();
      } else if (!owner->empty()) {
        answer = Status::IOError(
            fmt::format("subscription '{}': its shard has just moved (to node {}): try again", id, *owner));
      } else if (auto changed = node->on_owner(id, action == "reactivate"); changed.ok()) {
        answer = AdminAnswer{changed->state, changed->in_flight_count, changed->oldest_queued};
      } else {
        answer = changed.status();
      }
    }
    const std::string out = encode_admin_answer(answer);
    (void)natsConnection_Publish(node->nats_->connection(), reply.c_str(), out.data(),
                                 static_cast<int>(out.size()));
  });
}

Status Node::publish(std::span<const Event> events, PublishResult* result) {
  if (result) *result = PublishResult{};
  if (!nats_->connected()) return Status::IOError("NATS unreachable: nothing was accepted");
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string body = encode_event(events[i]);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = events[i].id.c_str();
    po.ExpectStream = kStream;
    jsPubAck* ack = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s =
        js_Publish(&ack, nats_->js(), kSubject, body.data(), static_cast<int>(body.size()), &po, &err);
    NatsPtr<jsPubAck> a(ack);
    if (s != NATS_OK)
      return nats_status(s, fmt::format("publish {} (events before it in this request were accepted; "
                                        "publishing the request again repeats none of them)",
                                        events[i].id));
    if (ack->Duplicate && result) result->duplicates.push_back(i);
  }
  return Status::OK();
}

std::optional<std::string> Node::status_json() {
  auto last = nats_->last_seq(kStream);  // a NATS call: not under the caches' lock
  std::lock_guard lock(cache_mu_);
  json nodes = json::array();
  for (const auto& [name, v] : nodes_) {
    if (!fresh(v.second)) continue;
    json shards = json::array();
    for (const auto& [shard, l] : leases_)
      if (l.node == name && fresh(l.seen)) shards.push_back(shard);
    nodes.push_back(
        {{"node", name},
         {"url", v.first},
         {"shards", shards},
         {"seen_ms_ago",
          std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - v.second).count()}});
  }
  json shards = json::array();
  for (size_t s = 0; s < options_.shards; ++s) {
    auto l = leases_.find(s);
    const bool held = l != leases_.end() && fresh(l->second.seen);
    json o = {{"shard", s}, {"owner", held ? json(l->second.node) : json(nullptr)}};
    if (owned_.contains(s)) {
      const int64_t left = valid_until_[s] - steady_ns();
      o["lease_ms_left"] = std::max<int64_t>(0, left / 1000000);
    }
    shards.push_back(o);
  }
  return json{{"node", options_.node},
              {"shards_total", options_.shards},
              {"lease_ttl_ms", options_.lease_ttl.count()},
              {"stream", {{"name", kStream}, {"last_seq", last.ok() ? json(*last) : json(nullptr)}}},
              {"nodes", nodes},
              {"shards", shards}}
      .dump();
}

}  // namespace hooksim::cluster
