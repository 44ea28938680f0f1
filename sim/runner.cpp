#include "sim/runner.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "engine/clock.h"
#include "engine/engine.h"
#include "sim/attempt_log.h"
#include "sim/sim_transport.h"
#include "sim/timeline.h"
#include "storage/rocks_store.h"

namespace hooksim::sim {
namespace {

namespace fs = std::filesystem;

// A temporary directory removed when this goes out of scope.
class TempDir {
 public:
  static Result<TempDir> create() {
    std::string pattern = (fs::temp_directory_path() / "hooksim-sim-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      return Status::IOError(fmt::format("cannot create a temporary directory in {}", fs::temp_directory_path().string()));
    return TempDir(pattern);
  }
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Everything that lives for one run, wired together.
class Run {
 public:
  Run(const Scenario& sc, const RunOptions& options, std::string dir)
      : sc_(sc),
        dir_(std::move(dir)),
        scheduler_(sc.start),
        transport_(scheduler_, sc.start, sc.seed),
        observers_(make_observers(options)),
        fanout_(observers_) {
    for (const auto& s : sc.subscriptions) transport_.set_receiver(s.config.id, s.receiver);
  }

  Status start() {
    HOOKSIM_RETURN_IF_ERROR(open_engine());
    for (const auto& s : sc_.subscriptions) HOOKSIM_RETURN_IF_ERROR(engine_->add_subscription(s.config));
    for (const EventSpec& e : sc_.events) schedule_event(e, e.repeating ? e.from : e.at);
    for (const Action& a : sc_.actions) schedule_action(a);
    return Status::OK();
  }

  Result<Summary> finish(std::chrono::steady_clock::time_point wall_start) {
    scheduler_.run_until(sc_.start + sc_.duration);
    if (timeline_) timeline_->flush();
    if (!status_.ok()) return status_;
    if (!audit_.errors.empty()) return Status::IOError("store error during the run: " + audit_.errors.front());
    Summary s;
    s.events_published = published_;
    s.delivered = audit_.delivered;
    s.attempts = audit_.attempts;
    s.failed_attempts = audit_.failed_attempts;
    s.discarded = audit_.discarded;
    s.deactivated = audit_.deactivated;
    s.order_violations = audit_.order_violations;
    s.virtual_ms = to_ms(sc_.duration);
    for (const std::string& id : engine_->subscription_ids()) {
      const DeliveryState& st = engine_->find(id)->state;
      s.dropped_inactive += st.dropped_inactive;
      s.subscriptions.push_back({id, to_string(st.state), st.delivered, st.attempts, st.failed_attempts,
                                 st.backlog(), st.discarded, st.dropped_inactive});
    }
    s.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - wall_start)
                    .count();
    return s;
  }

 private:
  std::vector<DeliveryObserver*> make_observers(const RunOptions& options) {
    std::vector<DeliveryObserver*> list{&audit_};
    if (options.log) {
      log_ = std::make_unique<AttemptLogWriter>(*options.log, sc_.start);
      list.push_back(log_.get());
    }
    if (options.timeline) {
      timeline_ = std::make_unique<TimelinePrinter>(*options.timeline, sc_.start);
      list.push_back(timeline_.get());
    }
    return list;
  }

  Status open_engine() {
    storage::StoreOptions opts;
    opts.sync = false;  // a simulated crash is a close and reopen: nothing in the WAL is lost
    auto store = storage::RocksQueueStore::open(dir_, opts);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(scheduler_, *store_, transport_, &fanout_);
    return engine_->open();
  }

  // Crash and recover: the engine goes away with its timers and attempts in flight, the store is closed
  // and reopened, and a new engine resumes from what was persisted.
  void restart() {
    engine_.reset();
    store_.reset();
    if (log_) log_->on_restart(scheduler_.now());
    if (timeline_) timeline_->on_restart(scheduler_.now());
    record(open_engine());
  }

  void schedule_event(const EventSpec& spec, Duration at) {
    scheduler_.schedule_at(sc_.start + at, [this, &spec, at] {
      Event e;
      e.id = spec.id.empty() ? fmt::format("evt_{}", published_ + 1) : spec.id;
      e.type = spec.type;
      e.account = spec.account;
      e.vehicle = spec.vehicle;
      e.occurred_at = scheduler_.now();
      e.data = spec.data;
      record(engine_->publish({&e, 1}));
      ++published_;
      if (spec.repeating && at + spec.every < spec.until) schedule_event(spec, at + spec.every);
    });
  }

  void schedule_action(const Action& a) {
    scheduler_.schedule_at(sc_.start + a.at, [this, &a] {
      if (a.kind == Action::Kind::kRestart) {
        restart();
        return;
      }
      Status st = engine_->reactivate(a.sub);
      if (st.code() == Status::Code::kFailedPrecondition) {
        if (timeline_) timeline_->note(scheduler_.now(), fmt::format("reactivate {}: {}", a.sub, st.message()));
        return;  // reactivating an active subscription changes nothing
      }
      record(st);
    });
  }

  // Keeps the first error; the run then stops at the end of the current instant's work.
  void record(const Status& st) {
    if (!st.ok() && status_.ok()) status_ = st;
  }

  const Scenario& sc_;
  std::string dir_;
  VirtualScheduler scheduler_;
  SimTransport transport_;
  DeliveryAudit audit_;
  std::unique_ptr<AttemptLogWriter> log_;
  std::unique_ptr<TimelinePrinter> timeline_;
  std::vector<DeliveryObserver*> observers_;
  ObserverFanout fanout_;
  std::unique_ptr<storage::RocksQueueStore> store_;
  std::unique_ptr<Engine> engine_;
  uint64_t published_ = 0;
  Status status_;
};

}  // namespace

nlohmann::ordered_json Summary::to_json() const {
  nlohmann::ordered_json j;
  j["events_published"] = events_published;
  j["delivered"] = delivered;
  j["attempts"] = attempts;
  j["failed_attempts"] = failed_attempts;
  j["discarded"] = discarded;
  j["dropped_inactive"] = dropped_inactive;
  j["deactivated"] = deactivated;
  j["order_violations"] = order_violations;
  j["virtual_ms"] = virtual_ms;
  j["wall_ms"] = wall_ms;
  nlohmann::ordered_json subs = nlohmann::ordered_json::object();
  for (const auto& s : subscriptions) {
    subs[s.id] = {{"state", s.state},       {"delivered", s.delivered}, {"attempts", s.attempts},
                  {"failed_attempts", s.failed_attempts}, {"backlog", s.backlog}, {"discarded", s.discarded},
                  {"dropped_inactive", s.dropped_inactive}};
  }
  j["subscriptions"] = subs;
  return j;
}

Result<Summary> run_simulation(const Scenario& scenario, const RunOptions& options) {
  auto wall_start = std::chrono::steady_clock::now();
  std::optional<TempDir> temp;
  std::string dir = options.data_dir;
  if (dir.empty()) {
    auto t = TempDir::create();
    if (!t.ok()) return t.status();
    temp.emplace(std::move(*t));
    dir = temp->path();
  } else if (fs::exists(dir) && !fs::is_empty(dir)) {
    return Status::InvalidArgument(fmt::format("--data {}: directory is not empty (a scenario starts from an empty store)", dir));
  }
  Result<Summary> result = Status::IOError("not run");
  {
    Run run(scenario, options, dir);
    Status st = run.start();
    if (!st.ok()) return st;
    result = run.finish(wall_start);
  }  // the store is closed before its temporary directory is removed
  return result;
}

}  // namespace hooksim::sim
