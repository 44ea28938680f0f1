#include "storage/rocks_store.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>

#include "storage/record_codec.h"

namespace hooksim::storage {
namespace {

// The first key after every queue key of subscription `key` (valid for the largest key too).
std::string queue_upper_bound(uint64_t key) {
  return encode_queue_key(key, UINT64_MAX) + '\0';
}

// In a store's directory: its log was written with QueueEntryPrefix's range starts (RocksQueueStore::open).
constexpr const char* kHintedLogMarker = "HOOKSIM-HINTED-LOG";

// Where a deletion of `key`'s entries [first, ...) starts: the lowest key after entry first - 1, which is
// never 16 bytes long (8 for first 0, 17 otherwise), so that QueueEntryPrefix leaves range deletions out.
std::string range_start(uint64_t key, uint64_t first) {
  return first == 0 ? encode_sub_key(key) : encode_queue_key(key, first - 1) + '\0';
}

// The memtable insert hint of the queue family (ColumnFamilyOptions::memtable_insert_with_hint_prefix_
// extractor): entries of one subscription share their 8-byte prefix, so each insert starts where that
// subscription's previous one landed (publishes at the tail, acknowledgements at the head) instead of at
// the top of a list of every entry since the last flush. Only entries (16-byte keys) are in its domain:
// RocksDB 7.8, Debian's, applies the hint to range deletions too, whose list is another, and corrupts the
// memtable (later releases skip them); range deletions start at keys of other lengths (range_start).
class QueueEntryPrefix final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "hooksim.QueueEntryPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override { return {key.data(), 8}; }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() == 16; }
};

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(fmt::format("{}: {}", what, s.ToString()));
  return Status::IOError(fmt::format("{}: {}", what, s.ToString()));
}

// Whether DB::Open failed because another process (or another open store of this one) holds the directory's
// LOCK file: RocksDB says so only in the message ("While lock file: DIR/LOCK: Resource temporarily
// unavailable", or "lock hold by current process").
bool held_by_another(const rocksdb::Status& s) {
  const std::string text = s.ToString();
  return text.find("While lock file") != std::string::npos ||
         text.find("lock hold by current process") != std::string::npos;
}

// Drops remembered event ids published more than `retention` ago (by the wall clock, as serve's engine
// stamps them). An entry it cannot decode is kept: forgetting an id would let a retried publish through.
class ExpiredEventIds final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredEventIds(Duration retention) : retention_(retention) {}
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    auto published_ms = decode_sub_key(value.ToStringView());
    if (!published_ms.ok()) return false;
    auto now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    return from_unix_ms(static_cast<int64_t>(*published_ms)) <
           now - retention_;  // no overflow: retention >= 0
  }
  const char* Name() const override { return "hooksim.ExpiredEventIds"; }

 private:
  Duration retention_;
};

}  // namespace

// The RocksDB write batch, plus what write() needs to keep the shared bodies' counts: the queue entries
// that join or leave a shared body, in the order they were added.
class RocksQueueStore::Batch final : public StoreBatch {
 public:
  explicit Batch(RocksQueueStore& store) : store_(store) {}

  void put_config(uint64_t key, const SubscriptionConfig& config) override {
    add(batch_.Put(store_.subscriptions_, encode_sub_key(key), encode_config(config)));
  }
  void put_state(uint64_t key, const DeliveryState& state) override {
    add(batch_.Put(store_.state_, encode_sub_key(key), encode_state(state)));
  }
  void put_tail(const QueueTail& tail) override {
    add(batch_.Put(store_.tails_, encode_sub_key(tail.key),
                   encode_sub_key(tail.next_seq) + encode_sub_key(tail.dropped_inactive)));
  }
  void enqueue_many(std::span<const QueueSlot> slots, TimePoint enqueued_at, std::string_view event_id,
                    std::string_view body) override {
    if (slots.size() == 1) {  // stored once already: the body stays in the entry
      add(batch_.Put(store_.queue_, encode_queue_key(slots[0].key, slots[0].seq),
                     encode_queued_event(event_id, enqueued_at, body)));
      return;
    }
    if (slots.empty()) return;
    const BodyRef ref = store_.next_body_ref_.fetch_add(1, std::memory_order_relaxed);
    add(batch_.Put(store_.bodies_, encode_sub_key(ref), body));
    const std::string value = encode_shared_queued_event(event_id, enqueued_at, ref);
    for (const QueueSlot& slot : slots) {
      add(batch_.Put(store_.queue_, encode_queue_key(slot.key, slot.seq), value));
      ref_ops_.push_back({RefOp::kAdd, slot.key, slot.seq, slot.seq + 1, ref});
    }
  }
  void remember_event_id(std::string_view event_id, TimePoint published_at) override {
    add(batch_.Put(store_.event_ids_, event_id,
                   encode_sub_key(static_cast<uint64_t>(to_unix_ms(published_at)))));
  }
  void remove(uint64_t key, uint64_t seq) override {
    add(batch_.SingleDelete(store_.queue_, encode_queue_key(key, seq)));
    ref_ops_.push_back({RefOp::kRemoveRange, key, seq, seq + 1, 0});
  }
  void remove(uint64_t key, uint64_t seq, BodyRef body_ref) override {
    add(batch_.SingleDelete(store_.queue_, encode_queue_key(key, seq)));
    if (body_ref != 0) ref_ops_.push_back({RefOp::kRemove, key, seq, seq + 1, body_ref});
  }
  void remove_range(uint64_t key, uint64_t first, uint64_t end) override {
    if (first >= end) return;
    add(batch_.DeleteRange(store_.queue_, range_start(key, first), encode_queue_key(key, end)));
    ref_ops_.push_back({RefOp::kRemoveRange, key, first, end, 0});
  }
  void erase_subscription(uint64_t key) override {
    add(batch_.Delete(store_.subscriptions_, encode_sub_key(key)));
    add(batch_.Delete(store_.state_, encode_sub_key(key)));
    add(batch_.Delete(store_.tails_, encode_sub_key(key)));
    add(batch_.DeleteRange(store_.queue_, range_start(key, 0), queue_upper_bound(key)));
    ref_ops_.push_back({RefOp::kRemoveRange, key, 0, UINT64_MAX, 0});  // UINT64_MAX itself: see below
  }
  size_t size() const override { return ops_; }
  // Whether the batch adds or removes queue entries that may hold a shared body.
  bool changes_refs() const { return !ref_ops_.empty(); }

  // Adds the updates of the shared bodies' counts to the batch: a new count, or the deletion of body and
  // count when it reaches zero. `counts` receives the counts to keep in memory once the batch is written.
  Status add_ref_updates(std::unordered_map<BodyRef, uint64_t>& counts);
  const rocksdb::Status& status() const { return status_; }
  rocksdb::WriteBatch* rep() { return &batch_; }

 private:
  struct RefOp {
    enum Kind { kAdd, kRemove, kRemoveRange } kind;
    uint64_t key, first, end;  // [first, end); kRemoveRange with end UINT64_MAX includes UINT64_MAX
    BodyRef ref;
  };
  void add(const rocksdb::Status& s) {
    ++ops_;
    if (!s.ok() && status_.ok()) status_ = s;
  }
  RocksQueueStore& store_;
  rocksdb::WriteBatch batch_;
  rocksdb::Status status_;
  size_t ops_ = 0;
  std::vector<RefOp> ref_ops_;
};

Status RocksQueueStore::Batch::add_ref_updates(std::unordered_map<BodyRef, uint64_t>& counts) {
  if (ref_ops_.empty()) return Status::OK();
  std::map<BodyRef, int64_t> delta;
  std::map<std::pair<uint64_t, uint64_t>, BodyRef> added;  // shared entries this batch enqueued
  std::set<std::pair<uint64_t, uint64_t>> gone;            // shared entries this batch removed
  auto release = [&](uint64_t key, uint64_t seq, BodyRef ref) {
    if (gone.insert({key, seq}).second) --delta[ref];
  };
  for (const RefOp& op : ref_ops_) {
    if (op.kind == RefOp::kAdd) {
      added[{op.key, op.first}] = op.ref;
      ++delta[op.ref];
      continue;
    }
    if (op.kind == RefOp::kRemove) {
      release(op.key, op.first, op.ref);
      continue;
    }
    const bool to_end = op.end == UINT64_MAX;
    for (auto it = added.lower_bound({op.key, op.first});
         it != added.end() && it->first.first == op.key && (to_end || it->first.second < op.end); ++it)
      release(it->first.first, it->first.second, it->second);
    if (store_.refs_.empty()) continue;  // no shared body was stored before this batch
    // The range once, reading each entry's header: which of the stored entries refer to a shared body.
    const std::string upper = to_end ? queue_upper_bound(op.key) : encode_queue_key(op.key, op.end);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(store_.db_->NewIterator(ro, store_.queue_));
    for (it->Seek(encode_queue_key(op.key, op.first)); it->Valid(); it->Next()) {
      auto ref = decode_body_ref(it->value().ToStringView());
      if (!ref.ok()) return ref.status();
      if (*ref == 0) continue;
      auto seq = decode_sub_key(it->key().ToStringView().substr(8));
      if (!seq.ok()) return seq.status();
      release(op.key, *seq, *ref);
    }
    HOOKSIM_RETURN_IF_ERROR(from_rocks(it->status(), "scan removed queue range"));
  }
  for (auto [ref, change] : delta) {
    auto stored = store_.refs_.find(ref);
    if (change == 0 && stored != store_.refs_.end())
      continue;  // (a body this batch added and released: deleted)
    const int64_t count = (stored == store_.refs_.end() ? 0 : static_cast<int64_t>(stored->second)) + change;
    if (count < 0)
      return Status::Corruption(fmt::format("shared body {}: more entries removed than hold it", ref));
    const std::string body_key = encode_sub_key(ref);
    if (count == 0) {
      add(batch_.Delete(store_.bodies_, body_key));
      add(batch_.Delete(store_.body_refs_, body_key));
    } else {
      add(batch_.Put(store_.body_refs_, body_key, encode_sub_key(static_cast<uint64_t>(count))));
    }
    counts[ref] = static_cast<uint64_t>(count);
  }
  return from_rocks(status_, "build write batch");
}

Result<std::unique_ptr<RocksQueueStore>> RocksQueueStore::open(const std::string& path,
                                                               const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  // A store written before a family existed (bodies and body_refs came after 22bc692) gets it empty.
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  // Memtable inserts one batch at a time (several shards' threads write, but RocksDB applies a write group's
  // batches in turn): that lets the queue and state families insert at a per-subscription hint (below).
  db_options.allow_concurrent_memtable_write = false;
  // A log file can be deleted only once every column family with data in it has flushed. The queue family
  // flushes every 64 MiB, but subscriptions and states change too slowly to ever fill a memtable, so without
  // a bound every log since the start was kept and a restart replayed all of them: 2.7 GB and minutes for
  // 10M queued events. Past this size RocksDB flushes the families that pin the oldest log.
  db_options.max_total_wal_size = 64 << 20;
  std::unique_ptr<rocksdb::Env> env;
  if (options.file_system) {
    env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = env.get();
  }

  // Memory (docs/design.md#memory): one budget for the memtables of all families together, and one block
  // cache shared by all families. Index and filter blocks stay outside the cache, with their table files:
  // they grow with the stored data (backlog and retained event ids), but keeping them in a cache this
  // size made a restart on 10M queued events about 0.5 s slower (bench/README.md, "Session 3").
  db_options.db_write_buffer_size = kMemtableBudget;
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  auto family = [&cache](bool bloom) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    rocksdb::ColumnFamilyOptions options;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return options;
  };

  rocksdb::ColumnFamilyOptions queue_options = family(false);
  queue_options.memtable_insert_with_hint_prefix_extractor = std::make_shared<QueueEntryPrefix>();
  // A subscription's state is one key, rewritten on every acknowledgement: each insert starts where that
  // key's previous version landed. No range of this family is ever deleted (see QueueEntryPrefix).
  rocksdb::ColumnFamilyOptions state_options = family(false);
  state_options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
  // Queues are written at the tail and deleted at the head: compact files that fill with tombstones.
  queue_options.table_properties_collector_factories.emplace_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/128, /*deletion_trigger=*/64));

  // Publishes look up ids that are almost always absent: a bloom filter answers those without disk reads.
  rocksdb::ColumnFamilyOptions event_id_options = family(true);
  std::unique_ptr<rocksdb::CompactionFilter> expired_ids;
  if (options.event_id_retention > Duration::zero()) {
    expired_ids = std::make_unique<ExpiredEventIds>(options.event_id_retention);
    event_id_options.compaction_filter = expired_ids.get();
    // Without new writes a file is never compacted: rewrite each file once it is a retention period old
    // (at least a day), so an id is forgotten by about twice the retention after its publish.
    const int64_t retention_s =
        std::chrono::duration_cast<std::chrono::seconds>(options.event_id_retention).count();
    event_id_options.periodic_compaction_seconds =
        static_cast<uint64_t>(std::max<int64_t>(24 * 60 * 60, retention_s));
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, family(false)},
      {"subscriptions", family(false)},
      {"state", state_options},
      {"queue", queue_options},
      {"event_ids", event_id_options},
      {"bodies", family(false)},
      {"body_refs", family(false)},
      {"tails", family(false)},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto open_failed = [&path](const rocksdb::Status& s) {
    if (s.IsIOError() && held_by_another(s))
      return Status::IOError(fmt::format("data directory {} is in use by another hooksim serve", path));
    return from_rocks(s, fmt::format("open store '{}'", path));
  };
  // A store last opened by a hooksim without the queue family's insert hint (up to 72b59c7) may hold, in
  // its write-ahead log, range deletions that start at an entry's 16-byte key; replayed with the hint on,
  // RocksDB 7.8 would apply it to them (QueueEntryPrefix). Such a store is first opened without the hint
  // and flushed, which empties its log; the marker file then says its log holds only what this version
  // writes.
  auto close_db = [&handles, &raw] {
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    rocksdb::Status closed = raw->Close();
    delete raw;
    raw = nullptr;
    handles.clear();
    return closed;
  };
  rocksdb::Env* fs_env = db_options.env;
  const std::string marker = path + "/" + kHintedLogMarker;
  const bool hinted_log = fs_env->FileExists(marker).ok();
  if (!hinted_log && fs_env->FileExists(path + "/CURRENT").ok()) {
    std::vector<rocksdb::ColumnFamilyDescriptor> plain = families;
    plain[3].options.memtable_insert_with_hint_prefix_extractor = nullptr;
    auto s = rocksdb::DB::Open(db_options, path, plain, &handles, &raw);
    if (!s.ok()) return open_failed(s);
    s = raw->Flush(rocksdb::FlushOptions(), handles);
    rocksdb::Status closed = close_db();
    if (s.ok()) s = closed;
    if (!s.ok()) return from_rocks(s, fmt::format("flush store '{}' before its upgrade", path));
  }
  auto s = rocksdb::DB::Open(db_options, path, families, &handles, &raw);
  if (!s.ok()) return open_failed(s);
  if (!hinted_log) {
    std::unique_ptr<rocksdb::WritableFile> file;
    s = fs_env->NewWritableFile(marker, &file, rocksdb::EnvOptions());
    if (s.ok()) s = file->Append("the write-ahead log holds no range deletion starting at an entry's key\n");
    if (s.ok()) s = file->Sync();
    if (s.ok()) s = file->Close();
    if (!s.ok()) {
      close_db().PermitUncheckedError();
      return from_rocks(s, fmt::format("write '{}'", marker));
    }
  }

  std::unique_ptr<RocksQueueStore> store(new RocksQueueStore());
  store->options_ = options;
  store->env_ = std::move(env);
  store->cache_ = std::move(cache);
  store->expired_ids_ = std::move(expired_ids);
  store->db_.reset(raw);
  store->default_ = handles[0];
  store->subscriptions_ = handles[1];
  store->state_ = handles[2];
  store->queue_ = handles[3];
  store->event_ids_ = handles[4];
  store->bodies_ = handles[5];
  store->body_refs_ = handles[6];
  store->tails_ = handles[7];
  HOOKSIM_RETURN_IF_ERROR(store->load_body_refs());
  return store;
}

RocksQueueStore::~RocksQueueStore() {
  if (!db_) return;
  // A clean shutdown leaves nothing to replay, so the next start reads no log at all. (After a crash the
  // log is replayed; max_total_wal_size bounds it.) A failure here loses nothing: the log still has it all.
  const std::vector<rocksdb::ColumnFamilyHandle*> all = {default_,   subscriptions_, state_,     queue_,
                                                         event_ids_, bodies_,        body_refs_, tails_};
  db_->Flush(rocksdb::FlushOptions(), all).PermitUncheckedError();
  for (auto* h : all) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
  db_.reset();
}

Status RocksQueueStore::load_body_refs() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), body_refs_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto ref = decode_sub_key(it->key().ToStringView());
    auto count = decode_sub_key(it->value().ToStringView());
    if (!ref.ok() || !count.ok() || *ref == 0 || *count == 0)
      return Status::Corruption("store: a bad shared-body count");
    refs_[*ref] = *count;
    next_body_ref_ = std::max(next_body_ref_.load(), *ref + 1);
  }
  return from_rocks(it->status(), "load shared-body counts");
}

std::unique_ptr<StoreBatch> RocksQueueStore::new_batch() {
  return std::make_unique<Batch>(*this);
}

Status RocksQueueStore::write(StoreBatch& batch, Durability durability) {
  auto& rb = static_cast<Batch&>(batch);
  if (!rb.status().ok()) return from_rocks(rb.status(), "build write batch");
  if (rb.size() == 0) return Status::OK();
  // A batch that changes shared bodies' counts computes them from the ones in memory and updates those once
  // written: one such batch at a time, from any thread. Other batches (most acknowledgements) need no lock.
  std::unique_lock<std::mutex> lock(refs_mutex_, std::defer_lock);
  if (rb.changes_refs()) lock.lock();
  std::unordered_map<BodyRef, uint64_t> counts;
  HOOKSIM_RETURN_IF_ERROR(rb.add_ref_updates(counts));
  if (resume_needed_) {
    // A failed write leaves RocksDB read-only (a background error). A full disk RocksDB recovers from by
    // itself: its SstFileManager waits until there is room (checking every 5 seconds) and resumes; asking
    // it to resume before then would turn the error fatal. Other recoverable errors need DB::Resume(),
    // tried before each write until it works. A fatal error stays until the process restarts.
    if (db_->Resume().ok()) resume_needed_ = false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync && durability == Durability::kSynced;
  rocksdb::Status s = db_->Write(wo, rb.rep());
  if (!s.ok() && !s.IsNoSpace()) resume_needed_ = true;
  if (s.ok()) {
    for (auto [ref, count] : counts) {
      if (count == 0) {
        refs_.erase(ref);
        body_cache_.erase(ref);
      } else {
        refs_[ref] = count;
      }
    }
  }
  return from_rocks(s, "write batch");
}

Result<std::vector<StoredSubscription>> RocksQueueStore::load_subscriptions() {
  std::vector<StoredSubscription> out;
  // Both families are keyed by the subscription key: one pass over each, in step, instead of a point
  // lookup of every state (a restart with 100k subscriptions), from one snapshot.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* snapshot;
    ~Release() { db->ReleaseSnapshot(snapshot); }
  } release{db_.get(), snapshot};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, subscriptions_));
  std::unique_ptr<rocksdb::Iterator> states(db_->NewIterator(ro, state_));
  std::unique_ptr<rocksdb::Iterator> tails(db_->NewIterator(ro, tails_));
  states->SeekToFirst();
  tails->SeekToFirst();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = decode_sub_key(it->key().ToStringView());
    if (!key.ok()) return key.status();
    auto config = decode_config(it->value().ToStringView());
    if (!config.ok()) return config.status();
    if (states->Valid() && states->key().compare(it->key()) < 0) states->Seek(it->key());  // a stray state
    HOOKSIM_RETURN_IF_ERROR(from_rocks(states->status(), "scan states"));
    if (!states->Valid() || states->key() != it->key())
      return Status::Corruption(fmt::format("subscription '{}' has no stored state", config->id));
    auto state = decode_state(states->value().ToStringView());
    states->Next();
    if (!state.ok())
      return Status::Corruption(fmt::format("subscription '{}': {}", config->id, state.status().message()));
    if (tails->Valid() && tails->key().compare(it->key()) < 0) tails->Seek(it->key());
    HOOKSIM_RETURN_IF_ERROR(from_rocks(tails->status(), "scan tails"));
    if (tails->Valid() && tails->key() == it->key()) {
      const std::string_view v = tails->value().ToStringView();
      auto next_seq = decode_sub_key(v.substr(0, 8));
      auto dropped = decode_sub_key(v.size() > 8 ? v.substr(8) : std::string_view());
      if (!next_seq.ok() || !dropped.ok() || v.size() != 16)
        return Status::Corruption(fmt::format("subscription '{}': a bad tail record", config->id));
      state->next_seq = std::max(state->next_seq, *next_seq);
      state->dropped_inactive = std::max(state->dropped_inactive, *dropped);
      tails->Next();
    }
    out.push_back({*key, std::move(*config), std::move(*state)});
  }
  HOOKSIM_RETURN_IF_ERROR(from_rocks(it->status(), "scan subscriptions"));
  return out;
}

Result<QueuedEvent> RocksQueueStore::read_event(uint64_t key, uint64_t seq) {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), queue_, encode_queue_key(key, seq), &value);
  if (s.IsNotFound())
    return Status::NotFound(fmt::format("event {} of subscription key {} is not queued", seq, key));
  if (!s.ok()) return from_rocks(s, "read event");
  auto entry = decode_queued_event(value.ToStringView());
  if (!entry.ok()) return entry.status();
  QueuedEvent event{std::move(entry->id), entry->enqueued_at, nullptr, entry->body_ref};
  if (entry->body_ref == 0) {
    event.body = std::make_shared<const std::string>(std::move(entry->body));
    return event;
  }
  {
    std::lock_guard<std::mutex> lock(refs_mutex_);
    auto cached = body_cache_.find(entry->body_ref);
    if (cached != body_cache_.end()) event.body = cached->second.lock();
  }
  if (event.body) return event;
  rocksdb::PinnableSlice body;
  s = db_->Get(rocksdb::ReadOptions(), bodies_, encode_sub_key(entry->body_ref), &body);
  if (s.IsNotFound())
    return Status::Corruption(
        fmt::format("event {} of subscription key {}: shared body {} is missing", seq, key, entry->body_ref));
  if (!s.ok()) return from_rocks(s, "read shared body");
  event.body = std::make_shared<const std::string>(body.ToStringView());
  std::lock_guard<std::mutex> lock(refs_mutex_);
  // (Another thread may have read it meanwhile: either copy serves.) Unless the last entry holding it was
  // removed meanwhile: its count is gone then, and so must be its cache slot.
  if (refs_.contains(entry->body_ref)) body_cache_[entry->body_ref] = event.body;
  return event;
}

Result<std::vector<bool>> RocksQueueStore::find_event_ids(const std::vector<std::string_view>& ids) {
  std::vector<rocksdb::Slice> keys(ids.begin(), ids.end());
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  db_->MultiGet(rocksdb::ReadOptions(), event_ids_, keys.size(), keys.data(), values.data(), statuses.data());
  std::vector<bool> found(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!statuses[i].ok() && !statuses[i].IsNotFound()) return from_rocks(statuses[i], "look up event ids");
    found[i] = statuses[i].ok();
  }
  return found;
}

Result<uint64_t> RocksQueueStore::count_queued(uint64_t key) {
  std::string lower = encode_queue_key(key, 0);
  std::string upper = queue_upper_bound(key);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, queue_));
  uint64_t n = 0;
  for (it->Seek(lower); it->Valid(); it->Next()) ++n;
  HOOKSIM_RETURN_IF_ERROR(from_rocks(it->status(), "scan queue"));
  return n;
}

Result<BodyCounts> RocksQueueStore::count_bodies() {
  BodyCounts counts;
  {
    std::lock_guard<std::mutex> lock(refs_mutex_);
    counts.in_memory = refs_.size();
  }
  for (auto [family, n] : {std::pair{bodies_, &counts.bodies}, std::pair{body_refs_, &counts.refs}}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*n;
    HOOKSIM_RETURN_IF_ERROR(from_rocks(it->status(), "scan shared bodies"));
  }
  return counts;
}

StoreMemory RocksQueueStore::memory_usage() {
  StoreMemory m;
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &m.memtables);
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &m.table_readers);
  m.block_cache = cache_->GetUsage();
  return m;
}

Status RocksQueueStore::compact_event_ids() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return from_rocks(db_->CompactRange(options, event_ids_, nullptr, nullptr), "compact event ids");
}

namespace {

constexpr std::string_view kSidePrefix = "side|";

// The first key after every key that begins with `prefix` ("" when there is none: all bytes 0xff).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

Status RocksQueueStore::write_side(const std::vector<SideOp>& ops) {
  if (ops.empty()) return Status::OK();
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (const SideOp& op : ops) {
    std::string key = std::string(kSidePrefix) + op.key;
    switch (op.kind) {
      case SideOp::Kind::kPut:
        s = batch.Put(default_, key, op.value);
        break;
      case SideOp::Kind::kDelete:
        s = batch.Delete(default_, key);
        break;
      case SideOp::Kind::kDeletePrefix:
        s = batch.DeleteRange(default_, key, prefix_end(key));
        break;
    }
    if (!s.ok()) return from_rocks(s, "build side batch");
  }
  if (resume_needed_ && db_->Resume().ok()) resume_needed_ = false;  // as write()
  s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok() && !s.IsNoSpace()) resume_needed_ = true;
  return from_rocks(s, "write side records");
}

Result<std::vector<std::pair<std::string, std::string>>> RocksQueueStore::scan_side(std::string_view prefix) {
  const std::string lower = std::string(kSidePrefix) + std::string(prefix), upper = prefix_end(lower);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, default_));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek(lower); it->Valid(); it->Next())
    out.emplace_back(it->key().ToString().substr(kSidePrefix.size()), it->value().ToString());
  HOOKSIM_RETURN_IF_ERROR(from_rocks(it->status(), "scan side records"));
  return out;
}

}  // namespace hooksim::storage
