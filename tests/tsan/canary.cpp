// ThreadSanitizer canary (built only when HOOKSIM_SANITIZE contains "thread"; docs/hardening.md).
//
// A thread-sanitized build suppresses reports that have a librocksdb frame (tests/tsan/suppressions.cpp),
// because TSan cannot see RocksDB's own synchronisation. This program checks that the suppressions still let
// TSan report races in code like ours: each case is a real race between two threads that TSan must report,
// and ctest fails the case if the report is missing (tests/CMakeLists.txt).
//
// The threads are ordered by a relaxed atomic flag, which TSan does not count as synchronisation, so the
// second access always follows the first and the report is deterministic, not a matter of timing.
#include <rocksdb/slice.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace {

std::atomic<bool> first_done{false};

// Runs `first` on one thread and then `second` on another, with no happens-before edge between them.
void race(const std::function<void()>& first, const std::function<void()>& second) {
  std::thread a([&] {
    first();
    first_done.store(true, std::memory_order_relaxed);
  });
  std::thread b([&] {
    while (!first_done.load(std::memory_order_relaxed)) std::this_thread::yield();
    second();
  });
  a.join();
  b.join();
}

struct Counters {
  long delivered = 0;
};

// A function of ours that takes RocksDB types, as hooksim's store does: suppressions aimed at RocksDB must
// not hide a race in it.
__attribute__((noinline)) void copy_into(std::string& out, const rocksdb::Slice& value) {
  out.assign(value.data(), value.size());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "";
  if (which == "counter") {
    Counters c;
    race([&] { ++c.delivered; }, [&] { ++c.delivered; });
    std::printf("%ld\n", c.delivered);
  } else if (which == "string") {
    std::string body(4096, 'a');
    std::string copy;
    race([&] { std::memset(body.data(), 'b', body.size()); }, [&] { copy = body; });
    std::printf("%zu\n", copy.size());
  } else if (which == "rocksdb-signature") {
    std::string value(64, 'v'), out;
    race([&] { value[0] = 'w'; }, [&] { copy_into(out, rocksdb::Slice(value)); });
    std::printf("%zu\n", out.size());
  } else {
    std::fprintf(stderr, "usage: hooksim_tsan_canary counter|string|rocksdb-signature\n");
    return 2;
  }
  return 0;
}
