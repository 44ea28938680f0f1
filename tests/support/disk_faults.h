// DiskFaults: a switch that makes the store's disk writes fail, for tests of what hooksim does when the disk
// is full or failing.
//
// Test support, not part of hooksim's libraries. It acts inside RocksDB: a store opened with
// StoreOptions::file_system = faults.file_system() does its file I/O through a rocksdb::FileSystemWrapper
// (tests/support/disk_faults.cpp) that, while the fault is on, fails every append,
// flush and sync of a file, and the creation of every new file, with RocksDB's NoSpace IOError
// ("No space left on device"), and reports no free space. Reads keep working. Everything RocksDB does about
// the failure (its write path, background errors, read-only mode, recovery) is RocksDB's own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace rocksdb {
class FileSystem;
}

namespace hooksim::storage {

class DiskFaults {
 public:
  // While true, file writes fail as on a full disk.
  void set_full(bool full) { full_.store(full); }
  bool full() const { return full_.load(); }
  // File operations failed so far.
  uint64_t failures() const { return failures_.load(); }

  // A file system that forwards to `base` and fails writes while full(). The DiskFaults must outlive it.
  std::shared_ptr<rocksdb::FileSystem> wrap(std::shared_ptr<rocksdb::FileSystem> base);
  // wrap() of RocksDB's default file system: what StoreOptions::file_system takes.
  std::shared_ptr<rocksdb::FileSystem> file_system();

  // Called by the file system: whether to fail this operation (counts the failure).
  bool fail_now() {
    if (!full_.load()) return false;
    failures_.fetch_add(1);
    return true;
  }

 private:
  std::atomic<bool> full_{false};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace hooksim::storage
