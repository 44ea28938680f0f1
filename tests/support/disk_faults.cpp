#include "tests/support/disk_faults.h"

#include <rocksdb/file_system.h>

namespace hooksim::storage {
namespace {

rocksdb::IOStatus no_space() {
  return rocksdb::IOStatus::NoSpace("injected fault: no space left on device");
}

// A writable file whose writes, flushes and syncs fail while the disk is "full".
class FaultyWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, DiskFaults& faults)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(faults) {}

  using IOOptions = rocksdb::IOOptions;
  using IODebugContext = rocksdb::IODebugContext;
  using IOStatus = rocksdb::IOStatus;

  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space()
                              : FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space()
                              : FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, v, dbg);
  }
  IOStatus Flush(const IOOptions& o, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::Flush(o, dbg);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::Sync(o, dbg);
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::Fsync(o, dbg);
  }
  IOStatus RangeSync(uint64_t offset, uint64_t n, const IOOptions& o, IODebugContext* dbg) override {
    return faults_.fail_now() ? no_space() : FSWritableFileOwnerWrapper::RangeSync(offset, n, o, dbg);
  }

 private:
  DiskFaults& faults_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(std::shared_ptr<rocksdb::FileSystem> base, DiskFaults& faults)
      : FileSystemWrapper(std::move(base)), faults_(faults) {}

  const char* Name() const override { return "HooksimFaultyFileSystem"; }

  using IOStatus = rocksdb::IOStatus;
  using FileOptions = rocksdb::FileOptions;
  using Writable = std::unique_ptr<rocksdb::FSWritableFile>;

  IOStatus NewWritableFile(const std::string& f, const FileOptions& o, Writable* r,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_now()) return no_space();
    return wrap(FileSystemWrapper::NewWritableFile(f, o, r, dbg), r);
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o, Writable* r,
                              rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_now()) return no_space();
    return wrap(FileSystemWrapper::ReopenWritableFile(f, o, r, dbg), r);
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const FileOptions& o, Writable* r,
                             rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_now()) return no_space();
    return wrap(FileSystemWrapper::ReuseWritableFile(f, old, o, r, dbg), r);
  }

  // A full disk has no free space: RocksDB's SstFileManager waits for room before it recovers.
  IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o, uint64_t* free,
                        rocksdb::IODebugContext* dbg) override {
    if (faults_.full()) {
      *free = 0;
      return IOStatus::OK();
    }
    return FileSystemWrapper::GetFreeSpace(path, o, free, dbg);
  }

 private:
  IOStatus wrap(IOStatus s, Writable* r) {
    if (s.ok()) *r = std::make_unique<FaultyWritableFile>(std::move(*r), faults_);
    return s;
  }
  DiskFaults& faults_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> DiskFaults::file_system() {
  return wrap(rocksdb::FileSystem::Default());
}

std::shared_ptr<rocksdb::FileSystem> DiskFaults::wrap(std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<FaultyFileSystem>(std::move(base), *this);
}

}  // namespace hooksim::storage
