// The queues of MemoryQueueStore: one subscription's entries packed into blocks, and the pool of blocks
// the queues of one store share, with its spill file.
//
// An entry (enqueued_at, event id, body) is appended to the queue's newest block: no heap node per entry.
// A body shared by several queues (an event published to several subscriptions) is held by a refcounted
// string and only a reference to it goes into each block; any other body is copied into the block itself.
// A block is freed (given back to the pool) when its last entry is removed. When the blocks of all
// queues together pass the pool's memory budget, a queue spills each block it fills to a temporary file,
// unless the block holds its head or a shared body; it reads a spilled block back when an entry in it is
// read (in practice when the head reaches it), so a long backlog costs disk space, not memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/queue_store.h"

namespace hooksim::storage {

// How a MemoryQueueStore may use memory.
struct MemoryStoreOptions {
  // Bytes of queue blocks kept in memory before full blocks go to the spill file. SIZE_MAX: never spill.
  size_t memory_budget = size_t{32} << 20;
  // Size of a full block (a queue's blocks grow to it with its backlog); only blocks of this size spill.
  size_t block_bytes = size_t{256} << 10;
  // Directory of the spill file (created on the first spill, unlinked at once); empty: $TMPDIR, else /tmp.
  std::string spill_dir;
};

// The blocks of one store's queues and the spill file. Not thread-safe (neither is the store).
class BlockPool {
 public:
  explicit BlockPool(MemoryStoreOptions options);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  size_t block_bytes() const { return options_.block_bytes; }
  // A block of `capacity` bytes (uninitialised); counted in memory until given back.
  std::unique_ptr<char[]> take(size_t capacity);
  void give(std::unique_ptr<char[]> block, size_t capacity);
  // Whether the blocks in memory exceed the budget (a full block should then spill if it can).
  bool over_budget() const { return in_memory_ > options_.memory_budget; }

  // Writes `size` bytes (at most block_bytes()) to the spill file: the offset to read them back from, or
  // nullopt if the file cannot be created or written (the caller keeps the block in memory; after a
  // failure the pool spills nothing more).
  std::optional<uint64_t> spill(const char* data, size_t size);
  // Reads back `size` bytes spilled at `offset` into `out`. IOError when the read fails.
  Status load(uint64_t offset, char* out, size_t size);
  // The spilled block at `offset` is no longer needed: its place in the file is reused.
  void release(uint64_t offset);

  size_t in_memory() const { return in_memory_; }  // bytes of blocks taken and not given back
  size_t spilled() const { return spilled_; }      // blocks in the spill file

 private:
  bool open_file();

  MemoryStoreOptions options_;
  size_t in_memory_ = 0;
  std::vector<std::unique_ptr<char[]>> free_;  // full-size blocks kept for reuse (a few)
  int fd_ = -1;
  bool failed_ = false;
  uint64_t file_end_ = 0;
  std::vector<uint64_t> free_offsets_;
  size_t spilled_ = 0;
};

// One subscription's queue: entries addressed by sequence number, in blocks from `pool`. Appending at the
// tail, reading or removing at the head cost O(1); a hole (an entry removed above the head) costs a slot.
class MemoryQueue {
 public:
  explicit MemoryQueue(BlockPool& pool) : pool_(&pool) {}
  ~MemoryQueue();  // releases every entry: shared bodies, blocks, spilled blocks
  MemoryQueue(const MemoryQueue&) = delete;
  MemoryQueue& operator=(const MemoryQueue&) = delete;

  // Adds entry `seq` with its own copy of `body`, or (the second form) a reference to a shared body.
  // REQUIRES: `seq` is not queued.
  void put(uint64_t seq, TimePoint enqueued_at, std::string_view id, std::string_view body);
  void put(uint64_t seq, TimePoint enqueued_at, std::string_view id,
           const std::shared_ptr<const std::string>& body);
  // Removes the entries [first, end); absent ones are skipped.
  void remove_range(uint64_t first, uint64_t end);
  // Entry `seq`: NotFound when it is not queued; IOError when its spilled block cannot be read back.
  // A body held in a block is copied into a new string; a shared body is returned itself.
  Result<QueuedEvent> read(uint64_t seq);
  uint64_t count() const { return count_; }
  // Adds the distinct bodies held to `shared` (shared ones, by address) and returns the number of bodies
  // held in blocks (one per such entry, in memory or spilled).
  uint64_t count_bodies(std::unordered_set<const void*>& shared) const;

 private:
  struct Block {
    std::unique_ptr<char[]> data;  // null while spilled
    uint32_t capacity = 0;
    uint32_t used = 0;
    uint32_t live = 0;        // entries not removed
    uint32_t shared = 0;      // of them, entries referring to a shared body (such a block never spills)
    int64_t spilled_at = -1;  // file offset while spilled
  };
  // Room for an entry of `size` bytes in the tail block (a new one if it is full), recorded as `seq`.
  char* append(uint64_t seq, size_t size, bool shared);
  void seal_tail();
  void free_block(Block& block);
  void drop_freed_blocks();

  BlockPool* pool_;
  std::deque<Block> blocks_;
  uint64_t first_block_ = 0;  // absolute number of blocks_.front()
  uint64_t bytes_ = 0;        // bytes used in blocks with live entries: sizes the next block
  // Slots [base_, base_ + slots_.size()): (block << 32 | offset) of the entry, kEmpty when removed.
  uint64_t base_ = 0;
  std::deque<uint64_t> slots_;
  uint64_t count_ = 0;
};

}  // namespace hooksim::storage
