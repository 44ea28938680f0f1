#include "bench/bench_util.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "protocol/envelope.h"
#include "storage/memory_store.h"

namespace hooksim::bench {

namespace fs = std::filesystem;

TempDir::TempDir(const char* tag) {
  std::string pattern = (fs::temp_directory_path() / fmt::format("hooksim-{}-XXXXXX", tag)).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "hooksim_bench: cannot create a temporary directory %s\n", pattern.c_str());
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::unique_ptr<storage::RocksQueueStore> open_store(const std::string& dir, bool sync) {
  auto store = storage::RocksQueueStore::open(dir + "/store", {.sync = sync});
  if (!store.ok()) {
    std::fprintf(stderr, "hooksim_bench: %s\n", store.status().message().c_str());
    std::abort();
  }
  return std::move(*store);
}

Event tracking_event(uint64_t n, TimePoint occurred_at) {
  Event e;
  e.id = fmt::format("evt_{:016}", n);
  e.type = "tracking";
  e.account = "acct-0042";
  e.vehicle = "veh-000117";
  e.occurred_at = occurred_at;
  e.data = R"({"lat":38.722252,"lon":-9.139337,"speed_kmh":54.5,"heading":270,"odometer_m":123456789,)"
           R"("ignition":true,"driver":"drv-0001","fuel_pct":61.5,"gps_fix":"3d","satellites":11})";
  return e;
}

SimWorld::SimWorld(StoreKind kind, bool sync) {
  if (kind == StoreKind::kRocks) {
    store = open_store(dir.path(), sync);
  } else {
    store = std::make_unique<storage::MemoryQueueStore>();
  }
  engine = std::make_unique<Engine>(scheduler, *store, transport, &observer,
                                    EngineOptions{.envelope = protocol::make_envelope});
  if (!engine->open().ok()) std::abort();
}

SimWorld::~SimWorld() {
  engine.reset();
  store.reset();
}

void SimWorld::add_subscription(const std::string& id, int status, Duration latency) {
  SubscriptionConfig c;
  c.id = id;
  protocol::ReceiverBehaviour m;
  m.status = status;
  m.latency = latency;
  transport.set_receiver(id, m);
  if (!engine->add_subscription(c).ok()) std::abort();
}

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

namespace {
std::vector<std::function<void()>>& teardowns() {
  static std::vector<std::function<void()>> list;
  return list;
}
}  // namespace

void at_teardown(std::function<void()> fn) {
  teardowns().push_back(std::move(fn));
}

void run_teardowns() {
  for (auto& fn : teardowns()) fn();
  teardowns().clear();
}

}  // namespace hooksim::bench
