// ThreadSanitizer suppressions and options, compiled into every executable of a -DHOOKSIM_SANITIZE=thread
// build (CMakeLists.txt), so that `hooksim` processes started by tests, or by hand, carry them without any
// TSAN_OPTIONS (which still override the options). Why each line is here and what it hides:
// docs/hardening.md.
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

// halt_on_error=1: a report ends the process (exit code 66) at once, as the other sanitizers' findings do
// (-fno-sanitize-recover=all), so a race fails its test even in a `hooksim serve` child that the test later
// kills with SIGKILL, which would otherwise print the report to its log and never exit with an error.
extern "C" const char* __tsan_default_options() {
  return "halt_on_error=1";
}
