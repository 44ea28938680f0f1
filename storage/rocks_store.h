// RocksQueueStore: the QueueStore on RocksDB.
//
// Column families:
//   subscriptions  key: subscription key (u64 BE)          value: config JSON (record_codec.h)
//   state          key: subscription key (u64 BE)          value: binary delivery state
//   queue          key: subscription key | seq (u64 BE)x2  value: id, enqueue time, envelope body or body ref
//   event_ids      key: event id                           value: publish time (u64 BE Unix ms)
//   bodies         key: body ref (u64 BE)                  value: envelope body shared by several entries
//   body_refs      key: body ref (u64 BE)                  value: queue entries holding it (u64 BE)
//   tails          key: subscription key (u64 BE)          value: next seq, dropped_inactive (u64 BE x2)
// Config and state live apart because the state is rewritten on every acknowledgement and the config
// almost never. Queue entries are written once and removed once, so removal is a SingleDelete; a
// discarded backlog is one DeleteRange.
// An event that joins one queue keeps its body in its entry; an event that joins k > 1 queues has its body
// written once to `bodies`, with the count k in `body_refs`, and its entries refer to it. Every write that
// removes such entries updates the count in the same batch and deletes body and count with the last entry
// (docs/design.md, "Bodies"). The counts are kept in memory too (one per live shared body, loaded at open),
// so a removal whose body reference the engine passes back reads nothing.
// A publish writes each matching subscription's tail, never its state (StoreBatch::put_tail): its next_seq
// and dropped_inactive are the larger of its state's and its tail's. A store without the family (before
// the shards) gets it empty.
// Thread-safe: the shards of one service write and read it from their threads at once (write() serializes
// only the batches that change shared bodies' counts).
// The default family holds the side records (write_side): keys "side|" + the caller's key. Today only the
// service's attempt history (service/attempt_history.h) is kept there.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/queue_store.h"

namespace rocksdb {
class Cache;
class CompactionFilter;
class DB;
class ColumnFamilyHandle;
class Env;
class FileSystem;
}  // namespace rocksdb

namespace hooksim::storage {

struct StoreOptions {
  // When false, Durability::kSynced writes are not fsynced either (simulation: a "crash" there is a close
  // and reopen of the store, which loses nothing that reached the WAL).
  bool sync = true;
  // Creates the directory and an empty store when there is none.
  bool create_if_missing = true;
  // Event ids (QueueStore::remember_event_id) are kept at least this long after their publish, then
  // dropped when RocksDB next compacts the file holding them (a file is rewritten once it is a retention
  // period old, or a day if the retention is shorter). Zero keeps them for ever.
  Duration event_id_retention = Duration::zero();
  // The file system RocksDB does its file I/O through; null for the default one. Tests pass a wrapper of the
  // default that injects disk faults (tests/support/disk_faults.h).
  std::shared_ptr<rocksdb::FileSystem> file_system = nullptr;
};

// One change to the side records (RocksQueueStore::write_side).
struct SideOp {
  enum class Kind { kPut, kDelete, kDeletePrefix };
  Kind kind = Kind::kPut;
  std::string key;    // kDeletePrefix: every key that begins with it
  std::string value;  // kPut only
};

// The shared bodies a store holds (RocksQueueStore::count_bodies, for audits).
struct BodyCounts {
  uint64_t bodies = 0;     // records in the `bodies` family
  uint64_t refs = 0;       // records in the `body_refs` family
  uint64_t in_memory = 0;  // reference counts kept in memory (as many as `refs` when the store is sound)
};

// What the store holds in memory, in bytes (RocksDB's own accounting).
struct StoreMemory {
  uint64_t memtables = 0;      // writes not yet flushed, all families; a flush starts at kMemtableBudget
  uint64_t block_cache = 0;    // data blocks; bounded by kBlockCacheBytes
  uint64_t table_readers = 0;  // index and filter blocks of the open table files: grows with the stored data
};

class RocksQueueStore final : public QueueStore {
 public:
  // The memory budget (docs/design.md#memory): memtables of all families together (past it RocksDB flushes
  // the family with the oldest memtable; memtables being flushed still count, so it is not a hard cap), and
  // the capacity of the block cache shared by all families.
  static constexpr size_t kMemtableBudget = 64 << 20;
  static constexpr size_t kBlockCacheBytes = 32 << 20;

  // Opens (or creates) the store in directory `path`. IOError when RocksDB cannot open it; when another
  // process (or another open store) holds the directory, the IOError's message is exactly "data directory
  // PATH is in use by another hooksim serve".
  static Result<std::unique_ptr<RocksQueueStore>> open(const std::string& path, const StoreOptions& options);
  // Closes the database; everything written is kept.
  ~RocksQueueStore() override;

  std::unique_ptr<StoreBatch> new_batch() override;
  // A failed write returns IOError naming RocksDB's cause (e.g. "write batch: IO error: No space left on
  // device ..."), and nothing of the batch is applied. RocksDB then refuses all writes (read-only mode)
  // until it recovers: from a full disk by itself (it checks for room every 5 seconds), from other
  // recoverable errors when a later write() asks it to (DB::Resume). Either way writes work again once
  // the cause is gone, without a restart; after a fatal error only a restart helps. Reads keep working.
  Status write(StoreBatch& batch, Durability durability) override;
  Result<std::vector<StoredSubscription>> load_subscriptions() override;
  Result<QueuedEvent> read_event(uint64_t key, uint64_t seq) override;
  Result<std::vector<bool>> find_event_ids(const std::vector<std::string_view>& ids) override;

  // Number of events queued for subscription `key`, counted by scanning (for tests and audits only).
  Result<uint64_t> count_queued(uint64_t key);
  // The shared bodies stored, counted by scanning (for tests and audits only): all zero once every queue
  // is empty.
  Result<BodyCounts> count_bodies();
  // What the store holds in memory now (for /metrics).
  StoreMemory memory_usage();
  // Tests only: compacts the event ids now, dropping those past StoreOptions::event_id_retention.
  Status compact_event_ids();

  // Side records: small records of the service's own (the attempt history) under keys of the caller's,
  // apart from the delivery data and never in a delivery's batch. write_side() applies `ops` in order, in
  // one batch of their own, through the write-ahead log without an fsync (a crash of the process loses
  // none of it; a power failure may lose the last ones). IOError as write().
  Status write_side(const std::vector<SideOp>& ops);
  // Every side record whose key begins with `prefix`, in key order, as (key, value).
  Result<std::vector<std::pair<std::string, std::string>>> scan_side(std::string_view prefix);

 private:
  class Batch;
  RocksQueueStore() = default;
  Status load_body_refs();

  StoreOptions options_;
  std::unique_ptr<rocksdb::Env> env_;                       // with a file_system only; outlives db_
  std::shared_ptr<rocksdb::Cache> cache_;                   // shared by every family's tables; outlives db_
  std::unique_ptr<rocksdb::CompactionFilter> expired_ids_;  // with event_id_retention only; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<bool> resume_needed_ =
      false;  // a write failed for a cause RocksDB does not recover from by itself
  rocksdb::ColumnFamilyHandle* subscriptions_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  rocksdb::ColumnFamilyHandle* queue_ = nullptr;
  rocksdb::ColumnFamilyHandle* event_ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* bodies_ = nullptr;
  rocksdb::ColumnFamilyHandle* body_refs_ = nullptr;
  rocksdb::ColumnFamilyHandle* tails_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  // Guards refs_ and body_cache_ (and a write that changes refs_, from its count to its update).
  std::mutex refs_mutex_;
  // Every live shared body and the number of queue entries holding it, as stored; changed only after a
  // successful write.
  std::unordered_map<BodyRef, uint64_t> refs_;
  std::atomic<BodyRef> next_body_ref_ =
      1;  // never reused while the store is open (the cache below is by ref)
  // Shared bodies being read or delivered: entries of one event read while one is in flight share it.
  std::unordered_map<BodyRef, std::weak_ptr<const std::string>> body_cache_;
};

}  // namespace hooksim::storage
