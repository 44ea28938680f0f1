// ThreadSanitizer suppressions, compiled into every executable of a -DHOOKSIM_SANITIZE=thread build
// (CMakeLists.txt), so that `hooksim` processes started by tests, or by hand, carry them without any
// TSAN_OPTIONS. Why each line is here and what it hides: docs/hardening.md.
//
// race:librocksdb.so  Debian's librocksdb is not built with -fsanitize=thread, so TSan does not see the
//   atomics RocksDB synchronises its own threads with (table readers opened in parallel, the cache-role
//   registry, a function-local static initialised by two of its threads) and reports races between them.
//   A report is dropped when a frame of either racing access is inside librocksdb. hooksim shares no
//   memory with RocksDB's threads except through RocksDB's API, whose thread safety is RocksDB's contract,
//   and through the callbacks RocksDB's threads make into our code (the event-id compaction filter, the
//   tests' disk-fault file system): races in those would be suppressed too, so they hold no shared
//   mutable state.
//
// tests/tsan/canary.cpp checks that races in code like ours (a counter, a string copy, a function that takes
// RocksDB types) are still reported with these suppressions in place.
extern "C" const char* __tsan_default_suppressions() {
  return "race:librocksdb.so\n";
}
