#include "cluster/shard_store.h"

#include <algorithm>
#include <cstring>
#include <variant>

#include "storage/record_codec.h"

namespace hooksim::cluster {

namespace {

template <class T>
void append(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
template <class T>
T take(std::string_view& in) {
  T v;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return v;
}

constexpr size_t kProgressHeader = 8 + 8 + 4 + 8 + 8;

}  // namespace

std::string encode_progress(const Progress& p) {
  std::string out;
  append<uint64_t>(out, p.acked);
  append<uint64_t>(out, p.head_seq);
  append<uint32_t>(out, p.head_attempts);
  append<uint64_t>(out, p.backlog);
  append<uint64_t>(out, p.order);
  out += storage::encode_state(p.state);
  return out;
}

Result<Progress> decode_progress(std::string_view bytes) {
  if (bytes.size() < kProgressHeader) return Status::Corruption("progress: too short");
  Progress p;
  p.acked = take<uint64_t>(bytes);
  p.head_seq = take<uint64_t>(bytes);
  p.head_attempts = take<uint32_t>(bytes);
  p.backlog = take<uint64_t>(bytes);
  p.order = take<uint64_t>(bytes);
  auto state = storage::decode_state(bytes);
  if (!state.ok()) return state.status();
  p.state = std::move(*state);
  return p;
}

// The engine's batch, applied to the memory store, plus what the shard store keeps of it.
class ShardBatch final : public StoreBatch {
 public:
  ShardBatch(ShardStore& store, std::unique_ptr<StoreBatch> inner)
      : store_(store), inner_(std::move(inner)) {}

  void put_config(uint64_t key, const SubscriptionConfig& config) override {
    inner_->put_config(key, config);
    ops_.push_back(Config{key, config.id});
  }
  void put_state(uint64_t key, const DeliveryState& state) override {
    inner_->put_state(key, state);
    ops_.push_back(State{key, state});
  }
  void put_tail(const QueueTail& tail) override {
    inner_->put_tail(tail);
    ops_.push_back(tail);
  }
  void enqueue_many(std::span<const QueueSlot> slots, TimePoint enqueued_at, std::string_view event_id,
                    std::string_view body) override {
    inner_->enqueue_many(slots, enqueued_at, event_id, body);
    for (const QueueSlot& s : slots) ops_.push_back(Enqueue{s.key, s.seq, store_.position_});
  }
  void remember_event_id(std::string_view event_id, TimePoint published_at) override {
    inner_->remember_event_id(event_id, published_at);
  }
  void remove(uint64_t key, uint64_t seq) override {
    inner_->remove(key, seq);
    ops_.push_back(Range{key, seq, seq + 1});
  }
  void remove(uint64_t key, uint64_t seq, BodyRef body_ref) override {
    inner_->remove(key, seq, body_ref);
    ops_.push_back(Range{key, seq, seq + 1});
  }
  void remove_range(uint64_t key, uint64_t first, uint64_t end) override {
    inner_->remove_range(key, first, end);
    ops_.push_back(Range{key, first, end});
  }
  void erase_subscription(uint64_t key) override {
    inner_->erase_subscription(key);
    ops_.push_back(Erase{key});
  }
  size_t size() const override { return inner_->size(); }

 private:
  friend class ShardStore;
  struct Config {
    uint64_t key;
    std::string id;
  };
  struct State {
    uint64_t key;
    DeliveryState state;
  };
  struct Enqueue {
    uint64_t key, seq, stream_seq;
  };
  struct Range {
    uint64_t key, first, end;
  };
  struct Erase {
    uint64_t key;
  };
  ShardStore& store_;
  std::unique_ptr<StoreBatch> inner_;
  std::vector<std::variant<Config, State, QueueTail, Enqueue, Range, Erase>> ops_;
  bool restore_ = false;  // made by ShardStore::restore: written without the writer
};

ShardStore::ShardStore(ProgressWriter writer, storage::MemoryStoreOptions options)
    : memory_(std::move(options)), writer_(std::move(writer)) {}

std::unique_ptr<StoreBatch> ShardStore::new_batch() {
  return std::make_unique<ShardBatch>(*this, memory_.new_batch());
}

void ShardStore::restore(uint64_t key, const SubscriptionConfig& config, const Progress& progress,
                         uint64_t queued, StoreBatch& batch) {
  DeliveryState st = progress.state;
  st.head_seq = progress.head_seq;
  st.next_seq = progress.head_seq + queued;
  st.delivered_ahead.clear();
  st.retry_at.clear();
  st.attempted.clear();
  if (queued > 0 && progress.head_attempts > 0)
    st.attempted.emplace_back(st.head_seq, progress.head_attempts);
  batch.put_config(key, config);
  batch.put_state(key, st);
  static_cast<ShardBatch&>(batch).restore_ = true;
}

Progress ShardStore::progress(const Sub& s) const {
  Progress p;
  p.state = s.state;
  p.backlog = s.queued.size();
  if (s.queued.empty()) {
    p.acked = position_;
    p.head_seq = s.state.next_seq;
  } else {
    p.acked = s.queued.front().second - 1;
    p.head_seq = s.queued.front().first;
    for (const auto& [seq, n] : s.state.attempted)
      if (seq == s.queued.front().first) p.head_attempts = n;
  }
  return p;
}

std::optional<std::pair<std::string, Progress>> ShardStore::progress_of(uint64_t key) {
  auto it = subs_.find(key);
  if (it == subs_.end()) return std::nullopt;
  return std::make_pair(it->second.id, progress(it->second));
}

Status ShardStore::write(StoreBatch& batch, Durability durability) {
  auto& b = static_cast<ShardBatch&>(batch);
  HOOKSIM_RETURN_IF_ERROR(memory_.write(*b.inner_, durability));
  std::vector<uint64_t> changed;  // subscriptions whose state this batch wrote
  for (auto& op : b.ops_) {
    if (auto* c = std::get_if<ShardBatch::Config>(&op)) {
      subs_[c->key].id = c->id;
    } else if (auto* s = std::get_if<ShardBatch::State>(&op)) {
      subs_[s->key].state = std::move(s->state);
      changed.push_back(s->key);
    } else if (auto* t = std::get_if<QueueTail>(&op)) {
      Sub& sub = subs_[t->key];
      sub.state.next_seq = std::max(sub.state.next_seq, t->next_seq);
      sub.state.dropped_inactive = std::max(sub.state.dropped_inactive, t->dropped_inactive);
    } else if (auto* e = std::get_if<ShardBatch::Enqueue>(&op)) {
      subs_[e->key].queued.emplace_back(e->seq, e->stream_seq);
    } else if (auto* r = std::get_if<ShardBatch::Range>(&op)) {
      auto& q = subs_[r->key].queued;
      std::erase_if(q, [&](const auto& entry) { return entry.first >= r->first && entry.first < r->end; });
    } else if (auto* x = std::get_if<ShardBatch::Erase>(&op)) {
      subs_.erase(x->key);
      std::erase(changed, x->key);
    }
  }
  if (b.restore_ || changed.empty()) return Status::OK();
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  std::vector<std::pair<std::string, Progress>> out;
  out.reserve(changed.size());
  for (uint64_t key : changed) {
    auto it = subs_.find(key);
    if (it != subs_.end()) out.emplace_back(it->second.id, progress(it->second));
  }
  return writer_(out);
}

}  // namespace hooksim::cluster
