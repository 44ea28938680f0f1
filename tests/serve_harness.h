// Shared by the tests that talk HTTP to the service or deliver to mock receivers (crash audit, soak,
// security, service, HTTP delivery, check): an HTTP client, the `hooksim serve` binary as a child process
// (killed and restarted under a publisher), in-process mock receivers that record what they receive, and the
// delivery audit that checks a receiver record against what the publisher had acknowledged.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/time.h"
#include "receiver/server.h"
#include "tests/support/http_request.h"

extern char** environ;

namespace hooksim::harness {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Polls `done` until it holds or the deadline passes (a hang guard, not a timing expectation).
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A fresh directory for one test; removed at the end unless the test failed (it keeps serve.log).
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("hooksim-harness-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (::testing::Test::HasFailure()) {
      std::cerr << "kept " << path_ << " for inspection\n";
    } else {
      std::filesystem::remove_all(path_);
    }
  }
  std::filesystem::path operator/(const std::string& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- the server process ---

// `hooksim serve --data DIR --listen 127.0.0.1:0` as a child process; stderr goes to `log`.
class ServerProcess {
 public:
  ServerProcess(std::filesystem::path data, std::filesystem::path log, std::string admin_token = "",
                std::vector<std::string> extra_args = {})
      : data_(std::move(data)),
        log_(std::move(log)),
        admin_token_(std::move(admin_token)),
        extra_args_(std::move(extra_args)) {}
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit();
    }
  }

  // Spawns the server and reads its first stdout line for the port. False (with a test failure) if it
  // does not come up.
  bool start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail("pipe2");
    int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return fail("open log");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // no test sockets leak into the server
    std::string data = data_.string();
    std::vector<std::string> args = {HOOKSIM_BINARY, "serve", "--data", data, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e)
      if (!std::string_view(*e).starts_with("HOOKSIM_ADMIN_TOKEN=")) env.emplace_back(*e);
    if (!admin_token_.empty()) env.push_back("HOOKSIM_ADMIN_TOKEN=" + admin_token_);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    // The binary may be missing or busy for a moment while a concurrent build relinks it.
    int rc = 0;
    eventually([&] {
      rc = ::posix_spawn(&pid_, HOOKSIM_BINARY, &actions, nullptr, argv.data(), envp.data());
      return rc != ETXTBSY && rc != ENOENT;
    });
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    ::close(log_fd);
    if (rc != 0) {
      ::close(fds[0]);
      pid_ = -1;
      return fail(std::string("posix_spawn: ") + std::strerror(rc));
    }
    out_fd_ = fds[0];
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (line.empty() || line.back() != '\n') {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count());
      pollfd p{out_fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, left) <= 0) return fail("no 'listening on' line in time");
      char ch;
      if (::read(out_fd_, &ch, 1) != 1) return fail("stdout closed before 'listening on'");
      line += ch;
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    if (!line.starts_with(prefix)) return fail("unexpected first line: " + line);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
    return true;
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Everything the server printed on stdout after the "listening on" line, up to now (non-blocking).
  std::string drain_stdout() {
    std::string out;
    char buf[4096];
    for (;;) {
      pollfd p{out_fd_, POLLIN, 0};
      if (out_fd_ < 0 || ::poll(&p, 1, 0) <= 0) break;
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Waits for the process to end: its exit status, or 128 + the signal that ended it; -1 after `limit`.
  int wait_exit(std::chrono::milliseconds limit = 30s) {
    int status = 0;
    bool done = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    if (!done) return -1;
    pid_ = -1;
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  bool fail(const std::string& what) {
    ADD_FAILURE() << "hooksim serve: " << what << "\n" << read_file(log_);
    return false;
  }

  std::filesystem::path data_, log_;
  std::string admin_token_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
};

// --- publishing while the server is killed and restarted ---

// Where a publisher thread sends while the test kills and restarts the server: the port of the server that
// is up, and a generation that changes at each restart.
class Endpoint {
 public:
  explicit Endpoint(uint16_t port) : port_(port) {}

  struct Current {
    uint16_t port;
    int generation;
  };
  Current current() {
    std::lock_guard lock(mu_);
    return {port_, generation_};
  }
  // A restarted server listens on `port`: the next generation. Wakes wait_for_restart.
  void restarted(uint16_t port) {
    {
      std::lock_guard lock(mu_);
      port_ = port;
      ++generation_;
    }
    cv_.notify_all();
  }
  // Waits until the generation is no longer `generation` or `stop` is set; false if neither came in 30 s.
  bool wait_for_restart(int generation, const std::atomic<bool>& stop) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return generation_ != generation || stop; });
  }
  // Wakes wait_for_restart (after its `stop` was set). Taking the lock orders this after a waiter's check of
  // `stop`, so the wakeup cannot fall between that check and its wait.
  void wake() {
    { std::lock_guard lock(mu_); }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint16_t port_;
  int generation_ = 0;
};

// Stops and joins a publisher thread however the test ends: sets its `stop`, wakes it, joins it.
struct StopAndJoin {
  std::thread& thread;
  std::atomic<bool>& stop;
  Endpoint& endpoint;
  ~StopAndJoin() {
    stop = true;
    endpoint.wake();
    if (thread.joinable()) thread.join();
  }
};

// Kills `server` with SIGKILL, starts it again on the same store and log, and tells `endpoint` its new port.
// The kill time goes to `kill_times`: the wall clock, rounded up, once the process was reaped
// (audit_deliveries tells the server instances apart by it). Fails fatally if the server does not die of
// the SIGKILL or does not come back: call it under ASSERT_NO_FATAL_FAILURE.
inline void kill_and_restart(ServerProcess& server, std::vector<TimePoint>& kill_times, Endpoint& endpoint) {
  server.signal(SIGKILL);
  ASSERT_EQ(server.wait_exit(), 128 + SIGKILL);
  kill_times.push_back(std::chrono::ceil<Duration>(std::chrono::system_clock::now()));
  ASSERT_TRUE(server.start());
  endpoint.restarted(server.port());
}

// --- the receivers ---

// What the receivers of one test received, in one record (the record file, kept in memory).
class Record {
 public:
  void add_request(const receiver::RequestRecord& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
  }
  void add_record(const receiver::RequestRecord& r) {
    std::lock_guard lock(mu_);
    records_.push_back(r);
  }
  // Every request with an outcome, in the order of the outcomes.
  std::vector<receiver::RequestRecord> records() {
    std::lock_guard lock(mu_);
    return records_;
  }
  // Every request, as soon as it was read.
  std::vector<receiver::RequestRecord> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<receiver::RequestRecord> records_;
  std::vector<receiver::RequestRecord> requests_;
};

inline bool is_2xx(const receiver::RequestRecord& r) {
  return r.action == receiver::RequestRecord::Action::kAnswer && hooksim::is_2xx(r.status);
}

// A receiver script (docs/receiver.md) from its JSON text; the default behaviour after a failed expectation.
inline protocol::ReceiverBehaviour receiver_script(const std::string& text) {
  auto s = protocol::parse_receiver_behaviour(json::parse(text), "", protocol::ReceiverContext::kServed);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : protocol::ReceiverBehaviour{};
}

// Receiver options: answer as the receiver script `script` says, checking signatures with kSecret.
inline receiver::ReceiverOptions receiver_options(const std::string& script) {
  receiver::ReceiverOptions options;
  options.script = receiver_script(script);
  options.secret = kSecret;
  return options;
}

// A mock receiver on its own io_context thread, recording into `record` every request: when it is read, and
// with its outcome.
class Receiver {
 public:
  // Answers as `options` say (their on_request and on_record are replaced). By default: 200 at once, no
  // signature checked.
  explicit Receiver(receiver::ReceiverOptions options = {},
                    std::shared_ptr<Record> record = std::make_shared<Record>())
      : record_(std::move(record)) {
    options.on_request = [r = record_](const receiver::RequestRecord& req) { r->add_request(req); };
    options.on_record = [r = record_](const receiver::RequestRecord& rec) { r->add_record(rec); };
    rx_ = std::make_unique<receiver::MockReceiver>(io_, std::move(options));
    Status st = rx_->listen("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] { io_.run(); });
  }
  // Answers as the receiver script `script` says, checking signatures with kSecret.
  explicit Receiver(const std::string& script, std::shared_ptr<Record> record = std::make_shared<Record>())
      : Receiver(receiver_options(script), std::move(record)) {}
  ~Receiver() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    rx_->stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/hook") const { return rx_->url() + path; }
  // Every request with an outcome, in the order of their outcomes (of every receiver sharing the record).
  std::vector<receiver::RequestRecord> records() { return record_->records(); }
  // Every request, as soon as it was read (before its outcome).
  std::vector<receiver::RequestRecord> requests() { return record_->requests(); }
  // (event id, sequence) of the 2xx answers to `sub`, in order.
  std::vector<std::pair<std::string, uint64_t>> delivered(const std::string& sub) {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& r : records())
      if (r.sub == sub && is_2xx(r)) out.emplace_back(r.event.value_or(""), r.seq.value_or(0));
    return out;
  }
  std::vector<std::string> delivered_ids(const std::string& sub) {
    std::vector<std::string> out;
    for (auto& [id, seq] : delivered(sub)) out.push_back(id);
    return out;
  }
  receiver::ReceiverStats stats() const { return rx_->stats(); }

 private:
  std::shared_ptr<Record> record_;
  boost::asio::io_context io_;
  std::unique_ptr<receiver::MockReceiver> rx_;
  std::thread thread_;
};

// --- the audit ---

struct PublishedEvent {
  std::string type, account;
  size_t position;  // in publish order
};

struct AuditSub {
  std::string id;
  json filter;
  bool matches(const PublishedEvent& e) const {
    auto allows = [&](const char* key, const std::string& v) {
      if (!filter.contains(key) || filter[key].empty()) return true;
      for (const auto& x : filter[key])
        if (x == v) return true;
      return false;
    };
    return allows("types", e.type) && allows("accounts", e.account);
  }
};

// What a test published and saw, for audit_deliveries().
struct AuditInput {
  std::vector<AuditSub> subs;
  std::map<std::string, PublishedEvent> events;     // every id ever published
  std::set<std::string> acknowledged;               // listed in a 202 (accepted or duplicates)
  std::vector<std::vector<std::string>> abandoned;  // batches given up on without an acknowledgement
  std::vector<receiver::RequestRecord> records;     // every request with an outcome, in outcome order
  std::vector<TimePoint> kill_times;                // wall clock (rounded up) after each SIGKILL
  json final_list;                                  // GET /v1/subscriptions once everything drained
  std::map<std::string, uint64_t> deactivations;  // per subscription, when any: how often it was deactivated
  // 0: the subscriptions are FIFO. Otherwise they are `unordered` with this concurrency: deliveries may come
  // in any order, and a repeat is of one of the last `concurrency` requests of its instance.
  uint32_t unordered_concurrency = 0;
};

struct AuditReport {
  std::vector<std::string> problems;  // empty: the audit holds
  size_t expected = 0;                // (acknowledged event, matching subscription) pairs
  size_t delivered = 0;               // of those, delivered (2xx) at least once
  size_t discarded_accounted = 0;     // of those, not delivered and accounted for by deactivations
  size_t extra_deliveries = 0;        // repeated 2xx deliveries (attempts in flight at a kill)
  // 2xx answers of a lower sequence number than an earlier 2xx to the same subscription (unordered only)
  size_t reordered = 0;
  size_t requests = 0, failed_requests = 0;
};

// Checks, from the receivers' record alone (the service's own counters only for the accounting):
// - every request is of a published event, to a subscription its filter matches, correctly signed, with
//   one sequence number per event and one event per sequence number, and sequence numbers follow publish
//   order;
// - per subscription the 2xx deliveries, by server instance (which instance sent a request follows from its
//   hooksim-virtual-time and the kill times), have consecutive sequence numbers from 1; a repeat is only of
//   the last request of an instance (in flight at its kill) and comes from a later instance; a gap is
//   allowed only where the service counted discarded events (deactivation), at most that many in total
//   (`unordered`: in any order, and a repeat is of one of the last `concurrency` requests of its instance);
// - every acknowledged event that matches a subscription was delivered to it, or is accounted for by that
//   subscription's `discarded` + `dropped_inactive` counters;
// - an abandoned (unacknowledged) batch reached every subscription it matches or none; a subscription that
//   discarded or dropped events by deactivation may have lost its share after storing it, which then counts
//   against the same `discarded` + `dropped_inactive` as its acknowledged misses;
// - the service's `delivered` counter equals the distinct events the receiver accepted, less at most one
//   per deactivation (`AuditInput::deactivations`) and no more than its `discarded` (a 2xx that came back
//   too late to count, its event discarded by the deactivation).
inline AuditReport audit_deliveries(const AuditInput& in) {
  AuditReport rep;
  auto problem = [&](const std::string& p) {
    if (rep.problems.size() < 50) rep.problems.push_back(p);
  };
  const auto& records = in.records;
  auto instance_of = [&](const receiver::RequestRecord& r) -> size_t {
    auto t = parse_utc(r.virtual_time.value_or(""));
    if (!t.ok()) problem("unreadable hooksim-virtual-time: " + r.to_json_line());
    size_t n = 0;
    while (t.ok() && n < in.kill_times.size() && *t >= in.kill_times[n]) ++n;
    return n;
  };
  std::map<std::string, const AuditSub*> sub_by_id;
  for (const AuditSub& s : in.subs) sub_by_id[s.id] = &s;
  std::map<std::string, json> status_of;
  for (const auto& s : in.final_list.value("subscriptions", json::array())) status_of[s["id"]] = s;

  struct Delivery {
    size_t instance, index;
    uint64_t seq;
    std::string event;
  };
  std::map<std::string, std::vector<Delivery>> by_sub;                       // 2xx answers
  std::map<std::string, std::map<size_t, std::vector<size_t>>> requests_of;  // sub -> instance -> indexes
  std::map<std::string, std::map<uint64_t, std::string>> event_of_seq;       // any answer
  std::map<std::string, std::map<std::string, uint64_t>> seq_of_event;
  rep.requests = records.size();
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    rep.failed_requests += !is_2xx(r);
    const std::string line = r.to_json_line();
    if (!sub_by_id.contains(r.sub)) {
      problem("request for an unknown subscription: " + line);
      continue;
    }
    if (!(r.event && r.seq && r.attempt)) {
      problem("request without id, sequence or attempt: " + line);
      continue;
    }
    auto ev = in.events.find(*r.event);
    if (ev == in.events.end()) {
      problem("delivered an event that was never published: " + line);
      continue;
    }
    if (!sub_by_id[r.sub]->matches(ev->second))
      problem("delivered to a subscription it does not match: " + line);
    if (r.signature != receiver::RequestRecord::Signature::kOk) problem("bad signature: " + line);
    auto [e, fresh_seq] = event_of_seq[r.sub].emplace(*r.seq, *r.event);
    if (e->second != *r.event) problem("one sequence number, two events: " + line);
    auto [s, fresh_event] = seq_of_event[r.sub].emplace(*r.event, *r.seq);
    if (s->second != *r.seq) problem("one event, two sequence numbers: " + line);
    size_t inst = instance_of(r);
    requests_of[r.sub][inst].push_back(i);
    if (is_2xx(r)) by_sub[r.sub].push_back({inst, i, *r.seq, *r.event});
  }

  // A batch is stored whole or not at all. When it reached some subscription it was stored, so a miss on
  // another is an event that subscription discarded or dropped (deactivation): it counts against the same
  // budget as its acknowledged misses (below), and on a subscription with no budget it is a partial store.
  // Per subscription: events of stored abandoned batches it never delivered.
  std::map<std::string, uint64_t> abandoned_lost;
  for (const auto& batch : in.abandoned) {
    size_t pairs = 0, reached = 0;
    std::vector<std::string> missed;
    for (const std::string& id : batch) {
      for (const AuditSub& sub : in.subs) {
        if (!sub.matches(in.events.at(id))) continue;
        ++pairs;
        if (seq_of_event[sub.id].contains(id))
          ++reached;
        else
          missed.push_back(sub.id);
      }
    }
    if (reached == 0) continue;
    bool partial = false;
    for (const std::string& sub : missed) {
      auto s = status_of.find(sub);
      if (s == status_of.end() ||
          s->second.value("discarded", uint64_t{0}) + s->second.value("dropped_inactive", uint64_t{0}) == 0)
        partial = true;
      else
        ++abandoned_lost[sub];
    }
    if (partial)
      problem("batch of " + batch.front() + " stored in part: " + std::to_string(reached) + "/" +
              std::to_string(pairs));
  }

  for (const AuditSub& sub : in.subs) {
    const std::string where = sub.id + ": ";
    auto& ds = by_sub[sub.id];
    const bool unordered = in.unordered_concurrency > 0;
    for (size_t i = 1, highest = 0; i < ds.size(); ++i) {  // in the order the answers came
      highest = std::max(highest, i - 1, [&](size_t a, size_t b) { return ds[a].seq < ds[b].seq; });
      rep.reordered += unordered && ds[i].seq < ds[highest].seq;
    }
    // By instance; unordered, by sequence number within one (in the order the answers came otherwise).
    std::stable_sort(ds.begin(), ds.end(), [unordered](const Delivery& a, const Delivery& b) {
      if (a.instance != b.instance || !unordered) return a.instance < b.instance;
      return a.seq < b.seq;
    });
    // Whether the request at `index` was in flight at its instance's kill: among its last requests to this
    // subscription (the last one, FIFO; the last `concurrency`, unordered).
    auto in_flight_at_kill = [&](size_t instance, size_t index) {
      const std::vector<size_t>& all = requests_of[sub.id][instance];
      const size_t window = unordered ? in.unordered_concurrency : 1;
      return std::find(all.end() - std::min(window, all.size()), all.end(), index) != all.end();
    };
    const json status = status_of.contains(sub.id) ? status_of[sub.id] : json::object();
    const uint64_t discarded = status.value("discarded", uint64_t{0});
    const uint64_t dropped = status.value("dropped_inactive", uint64_t{0});
    uint64_t gaps = 0;
    std::set<std::string> delivered;
    std::map<uint64_t, const Delivery*> first_of_seq;  // unordered: each seq's first 2xx
    for (size_t i = 0; i < ds.size(); ++i) {
      delivered.insert(ds[i].event);
      if (unordered) {
        auto [first, fresh] = first_of_seq.emplace(ds[i].seq, &ds[i]);
        if (fresh) continue;
        ++rep.extra_deliveries;
        // The latest 2xx of the same seq before this one.
        const Delivery* prev = first->second;
        for (size_t j = 0; j < i; ++j)
          if (ds[j].seq == ds[i].seq) prev = &ds[j];
        if (prev->instance >= ds[i].instance)
          problem(where + "delivered twice by one server instance: " + ds[i].event);
        if (!in_flight_at_kill(prev->instance, prev->index))
          problem(where + ds[i].event +
                  " was delivered again although its earlier 2xx was not in flight at a kill");
        continue;
      }
      if (i == 0) {
        gaps += ds[i].seq - 1;
        continue;
      }
      const Delivery& prev = ds[i - 1];
      if (ds[i].seq == prev.seq) {
        // A repeat: the earlier answer must have been to the last request of its instance (in flight at the
        // kill), and the repeat comes from a later instance.
        ++rep.extra_deliveries;
        if (prev.instance >= ds[i].instance)
          problem(where + "delivered twice by one server instance: " + ds[i].event);
        if (!in_flight_at_kill(prev.instance, prev.index))
          problem(where + ds[i].event +
                  " was delivered again although its earlier 2xx was not in flight at a kill");
      } else if (ds[i].seq < prev.seq) {
        problem(where + "out of order after " + prev.event + ": " + ds[i].event);
      } else {
        gaps += ds[i].seq - prev.seq - 1;
      }
    }
    if (unordered && !first_of_seq.empty())  // the seqs below the highest delivered that never were
      gaps = first_of_seq.rbegin()->first - first_of_seq.size();
    if (gaps > discarded)
      problem(where + std::to_string(gaps) + " sequence numbers skipped, only " + std::to_string(discarded) +
              " discarded by deactivation");
    // Sequence numbers follow publish order.
    std::vector<std::pair<uint64_t, size_t>> seq_position;
    for (const auto& [id, seq] : seq_of_event[sub.id])
      seq_position.emplace_back(seq, in.events.at(id).position);
    std::sort(seq_position.begin(), seq_position.end());
    for (size_t i = 1; i < seq_position.size(); ++i)
      if (seq_position[i - 1].second >= seq_position[i].second)
        problem(where + "seq " + std::to_string(seq_position[i].first) + " was published before seq " +
                std::to_string(seq_position[i - 1].first));
    // Every acknowledged event that matches was delivered, or is accounted for by deactivations.
    size_t expected = 0, missing = 0;
    std::string first_missing;
    for (const std::string& id : in.acknowledged) {
      if (!sub.matches(in.events.at(id))) continue;
      ++expected;
      if (delivered.contains(id)) continue;
      if (++missing == 1) first_missing = id;
    }
    rep.expected += expected;
    rep.delivered += expected - missing;
    if (missing + abandoned_lost[sub.id] > discarded + dropped) {
      problem(where + std::to_string(missing) + " acknowledged events never delivered (first " +
              first_missing + ") and " + std::to_string(abandoned_lost[sub.id]) +
              " of stored abandoned batches, only " + std::to_string(discarded + dropped) +
              " discarded or dropped by deactivation");
    } else {
      rep.discarded_accounted += missing;
    }
    // An attempt whose 2xx came back at or after the deadline (or was in flight at a kill after which the
    // deadline had passed) is abandoned and its event discarded with the backlog: the receiver accepted it,
    // the service counts it as discarded, not delivered. One attempt is in flight at a time (FIFO; at most
    // `concurrency` unordered), so that is at most one event (`concurrency`) per deactivation; nothing else
    // lets the two counts differ.
    const uint64_t counted = status.value("delivered", uint64_t{0});
    const auto deactivations = in.deactivations.find(sub.id);
    const uint64_t per_deactivation = unordered ? in.unordered_concurrency : 1;
    const uint64_t too_late = std::min<uint64_t>(
        discarded, deactivations == in.deactivations.end() ? 0 : deactivations->second * per_deactivation);
    if (counted > delivered.size() || delivered.size() - counted > too_late)
      problem(where + "the service counted " + std::to_string(counted) +
              " deliveries, the receiver accepted " + std::to_string(delivered.size()) + " events (" +
              std::to_string(discarded) + " discarded)");
  }
  // At most one attempt per subscription in flight at each kill (FIFO; `concurrency` unordered).
  if (rep.extra_deliveries >
      in.kill_times.size() * in.subs.size() * std::max<size_t>(1, in.unordered_concurrency))
    problem(std::to_string(rep.extra_deliveries) + " repeated deliveries after " +
            std::to_string(in.kill_times.size()) + " kills");
  return rep;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace hooksim::harness
