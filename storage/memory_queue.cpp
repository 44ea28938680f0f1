#include "storage/memory_queue.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace hooksim::storage {
namespace {

// An entry in a block: this header, then (for a shared body) a std::shared_ptr<const std::string>, then
// the id, then (for a body of its own) the body; padded to a multiple of 8 bytes.
struct EntryHeader {
  int64_t enqueued_ms;
  uint32_t id_len;
  uint32_t body_len;  // kSharedBody: the body is the shared string after the header
};
constexpr uint32_t kSharedBody = UINT32_MAX;
using SharedBody = std::shared_ptr<const std::string>;
static_assert(sizeof(EntryHeader) % alignof(SharedBody) == 0);

constexpr uint64_t kEmpty = UINT64_MAX;
constexpr size_t kMinBlock = 1024;
constexpr size_t kKeptFreeBlocks = 4;

size_t round8(size_t n) {
  return (n + 7) & ~size_t{7};
}
size_t entry_size(std::string_view id, size_t body_bytes) {
  return round8(sizeof(EntryHeader) + id.size() + body_bytes);
}
SharedBody* shared_body(char* entry) {
  return std::launder(reinterpret_cast<SharedBody*>(entry + sizeof(EntryHeader)));
}
EntryHeader header(const char* entry) {
  EntryHeader h;
  std::memcpy(&h, entry, sizeof h);
  return h;
}

}  // namespace

BlockPool::BlockPool(MemoryStoreOptions options) : options_(std::move(options)) {}

BlockPool::~BlockPool() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<char[]> BlockPool::take(size_t capacity) {
  in_memory_ += capacity;
  if (capacity == options_.block_bytes && !free_.empty()) {
    auto block = std::move(free_.back());
    free_.pop_back();
    return block;
  }
  return std::unique_ptr<char[]>(new char[capacity]);
}

void BlockPool::give(std::unique_ptr<char[]> block, size_t capacity) {
  in_memory_ -= capacity;
  if (capacity == options_.block_bytes && free_.size() < kKeptFreeBlocks) free_.push_back(std::move(block));
}

bool BlockPool::open_file() {
  if (fd_ >= 0) return true;
  if (failed_) return false;
  std::string dir = options_.spill_dir;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {  // a file system without O_TMPFILE: a named file, unlinked at once
    std::string name = dir + "/hooksim-spill-XXXXXX";
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.c_str());
  }
  failed_ = fd_ < 0;
  return !failed_;
}

std::optional<uint64_t> BlockPool::spill(const char* data, size_t size) {
  if (!open_file()) return std::nullopt;
  uint64_t offset = file_end_;
  if (!free_offsets_.empty()) offset = free_offsets_.back();
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;  // a full disk: keep everything in memory from now on
      return std::nullopt;
    }
    done += static_cast<size_t>(n);
  }
  if (!free_offsets_.empty()) {
    free_offsets_.pop_back();
  } else {
    file_end_ += options_.block_bytes;
  }
  ++spilled_;
  return offset;
}

Status BlockPool::load(uint64_t offset, char* out, size_t size) {
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pread(fd_, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::IOError(fmt::format("reading back a spilled queue block at {}: {}", offset,
                                         n == 0 ? "end of file" : std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

void BlockPool::release(uint64_t offset) {
  free_offsets_.push_back(offset);
  --spilled_;
}

MemoryQueue::~MemoryQueue() {
  remove_range(base_, base_ + slots_.size());
  for (Block& b : blocks_) free_block(b);
}

char* MemoryQueue::append(uint64_t seq, size_t size, bool shared) {
  if (blocks_.empty() || blocks_.back().used + size > blocks_.back().capacity) {
    seal_tail();
    // Blocks grow with the queue: a short queue keeps small blocks, a backlog full-size ones.
    size_t capacity = std::clamp<size_t>(std::bit_ceil(bytes_ + size),
                                         std::min(kMinBlock, pool_->block_bytes()), pool_->block_bytes());
    capacity = std::max(capacity, size);
    Block& b = blocks_.emplace_back();
    b.data = pool_->take(capacity);
    b.capacity = static_cast<uint32_t>(capacity);
  }
  Block& b = blocks_.back();
  const uint64_t place = (first_block_ + blocks_.size() - 1) << 32 | b.used;
  char* entry = b.data.get() + b.used;
  b.used += static_cast<uint32_t>(size);
  ++b.live;
  if (shared) ++b.shared;
  bytes_ += size;

  if (slots_.empty()) base_ = seq;
  if (seq == base_ + slots_.size()) {  // the usual case: the next number
    slots_.push_back(place);
    ++count_;
    return entry;
  }
  if (seq < base_) {
    slots_.insert(slots_.begin(), base_ - seq, kEmpty);
    base_ = seq;
  }
  if (seq - base_ >= slots_.size()) slots_.resize(seq - base_ + 1, kEmpty);
  slots_[seq - base_] = place;
  ++count_;
  return entry;
}

void MemoryQueue::put(uint64_t seq, TimePoint enqueued_at, std::string_view id, std::string_view body) {
  if (body.size() > pool_->block_bytes() / 2) {  // a big body on its own: blocks keep one size
    put(seq, enqueued_at, id, std::make_shared<const std::string>(body));
    return;
  }
  const size_t size = entry_size(id, body.size()), end = sizeof(EntryHeader) + id.size() + body.size();
  char* entry = append(seq, size, false);
  const EntryHeader h{to_unix_ms(enqueued_at), static_cast<uint32_t>(id.size()),
                      static_cast<uint32_t>(body.size())};
  std::memcpy(entry, &h, sizeof h);
  std::memcpy(entry + sizeof h, id.data(), id.size());
  std::memcpy(entry + sizeof h + id.size(), body.data(), body.size());
  std::memset(entry + end, 0, size - end);  // the padding too: a spilled block holds nothing stale
}

void MemoryQueue::put(uint64_t seq, TimePoint enqueued_at, std::string_view id, const SharedBody& body) {
  const size_t size = entry_size(id, sizeof(SharedBody)),
               end = sizeof(EntryHeader) + sizeof(SharedBody) + id.size();
  char* entry = append(seq, size, true);
  const EntryHeader h{to_unix_ms(enqueued_at), static_cast<uint32_t>(id.size()), kSharedBody};
  std::memcpy(entry, &h, sizeof h);
  new (entry + sizeof h) SharedBody(body);
  std::memcpy(entry + sizeof h + sizeof(SharedBody), id.data(), id.size());
  std::memset(entry + end, 0, size - end);
}

void MemoryQueue::remove_range(uint64_t first, uint64_t end) {
  first = std::max(first, base_);
  end = std::min<uint64_t>(end, base_ + slots_.size());
  for (uint64_t seq = first; seq < end; ++seq) {
    uint64_t& place = slots_[seq - base_];
    if (place == kEmpty) continue;
    Block& b = blocks_[(place >> 32) - first_block_];
    if (b.shared != 0) {  // never spilled: the entry is in memory
      char* entry = b.data.get() + (place & UINT32_MAX);
      if (header(entry).body_len == kSharedBody) {
        std::destroy_at(shared_body(entry));
        --b.shared;
      }
    }
    place = kEmpty;
    --count_;
    if (--b.live == 0 && &b != &blocks_.back()) free_block(b);
  }
  while (!slots_.empty() && slots_.front() == kEmpty) {
    slots_.pop_front();
    ++base_;
  }
  if (slots_.empty()) base_ = 0;
  drop_freed_blocks();
  if (count_ == 0 && !blocks_.empty()) {  // empty: the one block left is written again from its start,
    blocks_.back().used = 0;              // where it is still in the CPU's caches
    bytes_ = 0;
  }
}

Result<QueuedEvent> MemoryQueue::read(uint64_t seq) {
  const uint64_t place = seq < base_ || seq - base_ >= slots_.size() ? kEmpty : slots_[seq - base_];
  if (place == kEmpty) return Status::NotFound("not queued");
  Block& b = blocks_[(place >> 32) - first_block_];
  if (!b.data) {  // spilled: back into memory, where it stays until its entries are removed
    auto data = pool_->take(b.capacity);
    HOOKSIM_RETURN_IF_ERROR(pool_->load(static_cast<uint64_t>(b.spilled_at), data.get(), b.used));
    pool_->release(static_cast<uint64_t>(b.spilled_at));
    b.spilled_at = -1;
    b.data = std::move(data);
  }
  char* entry = b.data.get() + (place & UINT32_MAX);
  const EntryHeader h = header(entry);
  QueuedEvent out;
  out.enqueued_at = from_unix_ms(h.enqueued_ms);
  if (h.body_len == kSharedBody) {
    out.body = *shared_body(entry);
    out.id.assign(entry + sizeof h + sizeof(SharedBody), h.id_len);
  } else {
    out.id.assign(entry + sizeof h, h.id_len);
    out.body = std::make_shared<const std::string>(entry + sizeof h + h.id_len, h.body_len);
  }
  return out;
}

uint64_t MemoryQueue::count_bodies(std::unordered_set<const void*>& shared) const {
  uint64_t own = 0;
  for (uint64_t place : slots_) {
    if (place == kEmpty) continue;
    const Block& b = blocks_[(place >> 32) - first_block_];
    char* entry = b.data ? b.data.get() + (place & UINT32_MAX) : nullptr;
    if (entry != nullptr && header(entry).body_len == kSharedBody) {
      shared.insert(shared_body(entry)->get());
    } else {
      ++own;
    }
  }
  return own;
}

// The tail block is about to be replaced: free it if nothing in it is queued; spill it if the pool is over
// its budget and the block is full-size, not the head's (the first) and holds no shared body.
void MemoryQueue::seal_tail() {
  if (blocks_.empty()) return;
  Block& b = blocks_.back();
  if (b.live == 0) {
    free_block(b);
    drop_freed_blocks();
    return;
  }
  if (blocks_.size() == 1 || b.shared != 0 || b.capacity != pool_->block_bytes() || !pool_->over_budget())
    return;
  if (auto offset = pool_->spill(b.data.get(), b.used)) {
    pool_->give(std::move(b.data), b.capacity);
    b.spilled_at = static_cast<int64_t>(*offset);
  }
}

void MemoryQueue::free_block(Block& b) {
  if (b.data) pool_->give(std::move(b.data), b.capacity);
  if (b.spilled_at >= 0) pool_->release(static_cast<uint64_t>(b.spilled_at));
  bytes_ -= std::min<uint64_t>(bytes_, b.used);
  b.spilled_at = -1;
  b.live = 0;
  b.capacity = 0;  // marks it freed; nothing more is appended to it
}

// Forgets the freed blocks at the front (a freed block in the middle waits for those before it).
void MemoryQueue::drop_freed_blocks() {
  while (!blocks_.empty() && blocks_.front().capacity == 0) {
    blocks_.pop_front();
    ++first_block_;
  }
}

}  // namespace hooksim::storage
