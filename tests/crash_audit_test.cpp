// The durability audit of issue 4: the real `hooksim serve` binary is killed with SIGKILL at seeded
// moments while events are published and delivered, restarted on the same store each time, and in the end
// the mock receivers' record is audited: every acknowledged event was delivered to every subscription it
// matches, in publish order per subscription, an unacknowledged batch was stored whole or not at all, and
// the only duplicates are of attempts in flight at a kill. Also the process-level contract of
// `hooksim serve`: SIGTERM exits 0 and the abandoned attempt is made again; HOOKSIM_ADMIN_TOKEN.
#include <curl/curl.h>
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
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/time.h"
#include "net/mock_receiver.h"

extern char** environ;

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// --- HTTP client ---

struct Reply {
  long status = 0;  // 0: no answer (connection refused or reset, the server died, ...)
  std::string body;
  std::string error;
  json j() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply http(const std::string& method, const std::string& url,
           const std::optional<std::string>& body = std::nullopt, const std::string& authorization = "") {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Reply reply;
  CURL* c = curl_easy_init();
  curl_slist* headers = nullptr;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  if (!authorization.empty())
    headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return reply;
}

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
              ("hooksim-crash-" + std::to_string(::getpid()) + "-" + name)) {
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

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// --- the server process ---

// `hooksim serve --data DIR --listen 127.0.0.1:0` as a child process; stderr goes to `log`.
class ServerProcess {
 public:
  ServerProcess(std::filesystem::path data, std::filesystem::path log, std::string admin_token = "")
      : data_(std::move(data)), log_(std::move(log)), admin_token_(std::move(admin_token)) {}
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
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
};

// --- the receivers ---

// What the receivers of one test received, in one record (the record file, kept in memory).
class Record {
 public:
  void add_request(const net::RequestRecord& r) {
    std::lock_guard lock(mu_);
    requests_.push_back(r);
  }
  void add_record(const net::RequestRecord& r) {
    std::lock_guard lock(mu_);
    records_.push_back(r);
  }
  // Every request with an outcome, in the order of the outcomes.
  std::vector<net::RequestRecord> records() {
    std::lock_guard lock(mu_);
    return records_;
  }
  // Every request, as soon as it was read.
  std::vector<net::RequestRecord> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<net::RequestRecord> records_;
  std::vector<net::RequestRecord> requests_;
};

// A mock receiver on its own io_context thread, checking signatures and recording into `record`.
class Receiver {
 public:
  explicit Receiver(const std::string& script, std::shared_ptr<Record> record = std::make_shared<Record>())
      : record_(std::move(record)) {
    net::ReceiverOptions options;
    auto s = net::parse_receiver_script(json::parse(script));
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (s.ok()) options.script = *s;
    options.secret = kSecret;
    options.on_request = [r = record_](const net::RequestRecord& req) { r->add_request(req); };
    options.on_record = [r = record_](const net::RequestRecord& rec) { r->add_record(rec); };
    rx_ = std::make_unique<net::MockReceiver>(io_, std::move(options));
    Status st = rx_->listen("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    rx_->stop();
    thread_.join();
  }
  std::string url() const { return rx_->url() + "/hook"; }
  std::vector<net::RequestRecord> requests() { return record_->requests(); }
  net::ReceiverStats stats() const { return rx_->stats(); }

 private:
  std::shared_ptr<Record> record_;
  boost::asio::io_context io_;
  std::unique_ptr<net::MockReceiver> rx_;
  std::thread thread_;
};

bool is_2xx(const net::RequestRecord& r) {
  return r.action == net::RequestRecord::Action::kAnswer && r.status >= 200 && r.status < 300;
}

// --- the audit ---

struct PublishedEvent {
  std::string type, account;
  size_t position;  // in publish order
};

struct Sub {
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

// When the receiver answers 503 (and so when retries are in flight at the kills).
enum class Failures {
  // Only after the last publish: while the backlog drains, with streaks and retries, two kills.
  kWhileDraining,
  // Throughout: kills can hit a retry in flight whose subscription a publish has just written.
  kWhilePublishing,
};

// Publishes batches of events with known ids while `hooksim serve` is killed with SIGKILL five times at
// seeded moments and restarted on the same store, lets it drain, stops it with SIGTERM, and audits the
// receivers' record against what was acknowledged.
void audit_under_sigkill(Failures failures) {
  constexpr uint64_t kSeed = 20260104;
  constexpr int kKills = 5;
  const bool early_failures = failures == Failures::kWhilePublishing;
  const int kills_while_publishing = early_failures ? 4 : 3;
  const size_t events_from_publisher = early_failures ? 900 : 700;  // in batches of 1..8
  constexpr size_t kFinalEvents = 300;  // kWhileDraining: published while deliveries are held
  std::mt19937_64 rng(kSeed);

  TempDir dir(early_failures ? "audit-overlap" : "audit");
  auto record = std::make_shared<Record>();
  // 2ms per answer; with early failures also 503 for a while now and then (relative to the receiver's
  // start), plus rare 500s.
  Receiver rx(early_failures ? R"({"latency":"2ms","fail_rate":0.01,"fail_status":500,"seed":7,"windows":[
      {"from":"300ms","until":"400ms","status":503}, {"from":"1s","until":"1100ms","status":503},
      {"from":"1700ms","until":"1850ms","status":503}, {"from":"2500ms","until":"2600ms","status":503},
      {"from":"3300ms","until":"3500ms","status":503}, {"from":"4500ms","until":"4600ms","status":503}]})"
                             : R"({"latency":"2ms"})",
              record);
  const json policy = json::parse(R"({"immediate_retries":1,"delays":["10ms","50ms"],"repeat":"100ms"})");
  const std::vector<Sub> subs = {{"tracking", {{"types", {"tracking"}}}},
                                 {"globex", {{"accounts", {"globex"}}}},
                                 {"alerts", {{"types", {"alarm", "message"}}}}};
  const std::vector<std::string> types = {"tracking", "alarm", "message"};
  const std::vector<std::string> accounts = {"acme", "globex"};

  auto server = std::make_unique<ServerProcess>(dir / "data", dir / "serve.log");
  ASSERT_TRUE(server->start());
  for (const Sub& s : subs) {
    json body = {
        {"id", s.id}, {"url", rx.url()}, {"secret", kSecret}, {"filter", s.filter}, {"policy", policy}};
    Reply r = http("POST", server->url("/v1/subscriptions"), body.dump());
    ASSERT_EQ(r.status, 201) << r.body << r.error;
  }
  auto move_subscriptions_to = [&](const std::string& url) {
    for (const Sub& s : subs) {
      Reply r = http("PATCH", server->url("/v1/subscriptions/" + s.id), json({{"url", url}}).dump());
      ASSERT_EQ(r.status, 200) << r.body << r.error;
    }
  };

  // Where the publisher sends: the current server's port, and a generation that changes at each restart.
  std::mutex endpoint_mu;
  std::condition_variable endpoint_cv;
  uint16_t port = server->port();
  int generation = 0;
  // Kill times: wall clock, rounded up, once the process was reaped (see instance_of below).
  std::vector<TimePoint> kill_times;
  auto kill_and_restart = [&] {
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1000));  // a seeded moment
    server->signal(SIGKILL);
    ASSERT_EQ(server->wait_exit(), 128 + SIGKILL);
    kill_times.push_back(std::chrono::ceil<Duration>(std::chrono::system_clock::now()));
    server = std::make_unique<ServerProcess>(dir / "data", dir / "serve.log");
    ASSERT_TRUE(server->start());
    {
      std::lock_guard lock(endpoint_mu);
      port = server->port();
      ++generation;
    }
    endpoint_cv.notify_all();
  };

  // What was published (written by the publisher thread, read after it is joined).
  std::mt19937_64 prng(kSeed + 1);
  std::vector<std::string> order;  // every id ever published, in publish order
  std::map<std::string, PublishedEvent> events;
  std::set<std::string> acknowledged;               // listed in a 202 (accepted or duplicates)
  std::vector<std::vector<std::string>> abandoned;  // batches given up on without an acknowledgement
  size_t retried = 0, duplicates_answered = 0, batches = 0;
  std::vector<std::string> failed_publishes;  // why publishes got no answer
  // A batch of 1..8 new events; returns the body and the ids.
  auto next_batch = [&](std::vector<std::string>& ids) {
    json batch = json::array();
    size_t n = 1 + prng() % 8;
    for (size_t i = 0; i < n; ++i) {
      std::string id = "ev-" + std::to_string(order.size() + 1);
      PublishedEvent e{types[prng() % types.size()], accounts[prng() % accounts.size()], order.size()};
      batch.push_back(
          {{"id", id}, {"type", e.type}, {"account", e.account}, {"vehicle", "v1"}, {"data", {{"i", i}}}});
      events[id] = e;
      order.push_back(id);
      ids.push_back(id);
    }
    ++batches;
    return batch.dump();
  };
  // Checks a 202 and counts its ids as acknowledged; an error message otherwise.
  auto acknowledge = [&](const Reply& r, const std::vector<std::string>& ids) -> std::string {
    if (r.status != 202) return "unexpected answer " + std::to_string(r.status) + ": " + r.body;
    json j = r.j();
    for (const auto& id : j["accepted"]) acknowledged.insert(id);
    for (const auto& id : j["duplicates"]) acknowledged.insert(id);
    duplicates_answered += j["duplicates"].size();
    if (j["accepted"].size() + j["duplicates"].size() != ids.size())
      return "202 does not list every id: " + r.body;
    return "";
  };

  std::atomic<size_t> batches_done{0};
  std::atomic<bool> publisher_done{false};
  std::atomic<bool> in_request{false};  // a publish request is on its way
  std::atomic<bool> give_up{false};     // set when the test ends early
  std::string publisher_error;
  std::thread publisher([&] {
    while (order.size() < events_from_publisher && !give_up && publisher_error.empty()) {
      std::vector<std::string> ids;
      std::string body = next_batch(ids);
      bool decided = false;
      for (;;) {
        uint16_t p;
        int gen;
        {
          std::lock_guard lock(endpoint_mu);
          p = port;
          gen = generation;
        }
        in_request = true;
        Reply r = http("POST", "http://127.0.0.1:" + std::to_string(p) + "/v1/events", body);
        in_request = false;
        if (r.status != 0) {
          publisher_error = acknowledge(r, ids);
          break;
        }
        // No answer: the server died. Unacknowledged; usually published again with the same ids.
        failed_publishes.push_back("gen " + std::to_string(gen) + ": " + r.error);
        if (!decided) {
          decided = true;
          if (prng() % 4 == 0) {
            abandoned.push_back(ids);
            break;
          }
          ++retried;
        }
        std::unique_lock lock(endpoint_mu);
        if (!endpoint_cv.wait_for(lock, 30s, [&] { return generation != gen || give_up; }) || give_up) {
          publisher_error = "the server did not come back";
          break;
        }
      }
      ++batches_done;
      // Pacing, so that the kills fall among publishes: a seeded pause of 0-3ms between batches.
      std::this_thread::sleep_for(std::chrono::microseconds(prng() % 3000));
    }
    publisher_done = true;
  });
  // Joins the publisher however this test ends.
  struct Joiner {
    std::thread& thread;
    std::atomic<bool>& give_up;
    std::condition_variable& cv;
    ~Joiner() {
      give_up = true;
      cv.notify_all();
      if (thread.joinable()) thread.join();
    }
  } joiner{publisher, give_up, endpoint_cv};

  // Kills while publishing: after seeded numbers of batches, while a publish is on its way (before, during
  // or after its fsync: unacknowledged either way).
  const size_t approx_batches = events_from_publisher * 2 / 9;  // 4.5 events per batch
  std::vector<size_t> thresholds;
  for (int k = 0; k < kills_while_publishing; ++k) thresholds.push_back(10 + rng() % (approx_batches - 20));
  std::sort(thresholds.begin(), thresholds.end());
  for (size_t threshold : thresholds) {
    ASSERT_TRUE(eventually([&] { return publisher_done || (batches_done >= threshold && in_request); }, 60s));
    ASSERT_NO_FATAL_FAILURE(kill_and_restart());
  }
  ASSERT_TRUE(eventually([&] { return publisher_done.load(); }, 60s));
  publisher.join();
  ASSERT_EQ(publisher_error, "");

  std::unique_ptr<Receiver> hangs, flaky;
  if (early_failures) {
    // The last kill while deliveries drain.
    ASSERT_NO_FATAL_FAILURE(kill_and_restart());
  } else {
    // Hold deliveries (the next attempts hang, in flight) and publish the rest, so that a backlog waits.
    hangs = std::make_unique<Receiver>(R"({"windows":[{"from":"0s","until":"1d","timeout":true}]})", record);
    ASSERT_NO_FATAL_FAILURE(move_subscriptions_to(hangs->url()));
    while (order.size() < events_from_publisher + kFinalEvents) {
      std::vector<std::string> ids;
      std::string body = next_batch(ids);
      ASSERT_EQ(acknowledge(http("POST", server->url("/v1/events"), body), ids), "");
    }
    // From now on no publish: the receiver answers 503 now and then (20% at random, and in windows), and
    // the server is killed while it retries.
    flaky =
        std::make_unique<Receiver>(R"({"latency":"2ms","fail_rate":0.2,"fail_status":503,"seed":11,"windows":[
        {"from":"0s","until":"60ms","status":503}, {"from":"250ms","until":"350ms","status":503},
        {"from":"600ms","until":"700ms","status":503}]})",
                                   record);
    ASSERT_NO_FATAL_FAILURE(move_subscriptions_to(flaky->url()));
    ASSERT_NO_FATAL_FAILURE(kill_and_restart());  // abandons the hanging attempts
    // The last kill once a seeded share of the backlog is delivered.
    auto total_backlog = [&]() -> int64_t {
      Reply r = http("GET", server->url("/v1/subscriptions"));
      int64_t n = 0;
      json list = r.j();  // kept alive: a range-for over r.j()["subscriptions"] read a destroyed temporary (ASan)
      for (const auto& sub : list["subscriptions"]) n += sub["backlog"].get<int64_t>();
      return n;
    };
    int64_t start = total_backlog();
    int64_t target = start * static_cast<int64_t>(30 + rng() % 50) / 100;
    ASSERT_TRUE(eventually([&] { return total_backlog() <= target; }, 60s));
    ASSERT_NO_FATAL_FAILURE(kill_and_restart());
  }

  // Drain: every backlog empty, nothing in flight.
  json list;
  bool drained = eventually(
      [&] {
        Reply r = http("GET", server->url("/v1/subscriptions"));
        if (r.status != 200) return false;
        list = r.j();
        for (const auto& s : list["subscriptions"])
          if (s["backlog"] != 0 || s["in_flight"] != false) return false;
        return true;
      },
      60s);
  ASSERT_TRUE(drained) << list.dump();
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait_exit(), 0) << read_file(dir / "serve.log");
  server.reset();
  rx.stop();
  if (hangs) hangs->stop();
  if (flaky) flaky->stop();
  ASSERT_EQ(kill_times.size(), static_cast<size_t>(kKills));

  // --- the audit ---
  const auto records = record->records();
  ASSERT_FALSE(records.empty());
  // Which server instance sent a request: its hooksim-virtual-time is the sender's wall clock when the
  // attempt started, earlier than the kill of its instance and not earlier than the start of the next.
  auto instance_of = [&](const net::RequestRecord& r) -> size_t {
    auto t = parse_utc(r.virtual_time.value_or(""));
    EXPECT_TRUE(t.ok()) << r.to_json_line();
    size_t n = 0;
    while (t.ok() && n < kill_times.size() && *t >= kill_times[n]) ++n;
    return n;
  };
  std::map<std::string, const Sub*> sub_by_id;
  for (const Sub& s : subs) sub_by_id[s.id] = &s;

  struct Delivery {
    size_t instance, index;
    uint64_t seq;
    std::string event;
  };
  std::map<std::string, std::vector<Delivery>> by_sub;                  // 2xx answers
  std::map<std::string, std::map<size_t, size_t>> last_request_of;      // sub -> instance -> record index
  std::map<std::string, std::map<uint64_t, std::string>> event_of_seq;  // any answer
  std::map<std::string, std::map<std::string, uint64_t>> seq_of_event;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    SCOPED_TRACE(r.to_json_line());
    ASSERT_TRUE(sub_by_id.contains(r.sub));
    ASSERT_TRUE(r.event && r.seq && r.attempt);
    ASSERT_TRUE(events.contains(*r.event)) << "delivered an event that was never published";
    EXPECT_TRUE(sub_by_id[r.sub]->matches(events[*r.event]))
        << "delivered to a subscription it does not match";
    EXPECT_EQ(r.signature, net::RequestRecord::Signature::kOk);
    auto [e, fresh_seq] = event_of_seq[r.sub].emplace(*r.seq, *r.event);
    EXPECT_EQ(e->second, *r.event) << "one sequence number, two events";
    auto [s, fresh_event] = seq_of_event[r.sub].emplace(*r.event, *r.seq);
    EXPECT_EQ(s->second, *r.seq) << "one event, two sequence numbers";
    size_t inst = instance_of(r);
    last_request_of[r.sub][inst] = i;
    if (is_2xx(r)) by_sub[r.sub].push_back({inst, i, *r.seq, *r.event});
  }

  size_t extra_deliveries = 0;
  for (const Sub& sub : subs) {
    SCOPED_TRACE(sub.id);
    auto& ds = by_sub[sub.id];
    std::stable_sort(ds.begin(), ds.end(),
                     [](const Delivery& a, const Delivery& b) { return a.instance < b.instance; });
    std::set<std::string> delivered;
    for (size_t i = 0; i < ds.size(); ++i) {
      delivered.insert(ds[i].event);
      if (i == 0) continue;
      const Delivery& prev = ds[i - 1];
      if (ds[i].seq == prev.seq) {
        // A repeat: the earlier answer must have been to the last request of its instance (in flight at
        // the kill), and the repeat comes from a later instance.
        ++extra_deliveries;
        EXPECT_LT(prev.instance, ds[i].instance) << "delivered twice by one server instance: " << ds[i].event;
        EXPECT_EQ(last_request_of[sub.id][prev.instance], prev.index)
            << ds[i].event << " was delivered again although its earlier 2xx was not in flight at a kill";
      } else {
        EXPECT_EQ(ds[i].seq, prev.seq + 1)
            << "out of order or a gap after " << prev.event << ": " << ds[i].event;
      }
    }
    ASSERT_FALSE(ds.empty());
    EXPECT_EQ(ds.front().seq, 1u);
    // Sequence numbers follow publish order.
    std::vector<std::pair<uint64_t, size_t>> seq_position;
    for (const auto& [id, seq] : seq_of_event[sub.id]) seq_position.emplace_back(seq, events[id].position);
    std::sort(seq_position.begin(), seq_position.end());
    for (size_t i = 1; i < seq_position.size(); ++i)
      EXPECT_LT(seq_position[i - 1].second, seq_position[i].second) << "seq " << seq_position[i].first;
    // Every acknowledged event that matches was delivered.
    size_t expected = 0;
    for (const std::string& id : acknowledged) {
      if (!sub.matches(events[id])) continue;
      ++expected;
      EXPECT_TRUE(delivered.contains(id)) << "acknowledged " << id << " never delivered";
    }
    // What the service counted matches what the receiver accepted, once per event.
    for (const auto& s : list["subscriptions"]) {
      if (s["id"] != sub.id) continue;
      EXPECT_EQ(s["delivered"], delivered.size());
      EXPECT_EQ(s["state"], "active");
      EXPECT_EQ(s["discarded"], 0);
    }
    EXPECT_GE(delivered.size(), expected);
    EXPECT_GT(expected, 0u);
  }
  // A batch is stored whole or not at all: an unacknowledged batch reached either every subscription it
  // matches or none.
  for (const auto& batch : abandoned) {
    size_t pairs = 0, reached = 0;
    for (const std::string& id : batch) {
      for (const Sub& sub : subs) {
        if (!sub.matches(events[id])) continue;
        ++pairs;
        reached += seq_of_event[sub.id].contains(id);
      }
    }
    EXPECT_TRUE(reached == 0 || reached == pairs)
        << "batch of " << batch.front() << ": " << reached << "/" << pairs;
  }
  EXPECT_LE(extra_deliveries, static_cast<size_t>(kKills) * subs.size());
  EXPECT_EQ(rx.stats().bad_signatures, 0u);
  size_t failed_attempts = 0;
  for (const auto& r : records) failed_attempts += !is_2xx(r);
  std::cerr << "[ audit    ] " << order.size() << " events in " << batches << " batches, "
            << acknowledged.size() << " acknowledged, " << abandoned.size() << " batches abandoned, "
            << retried << " retried (" << duplicates_answered << " ids answered as duplicates), "
            << records.size() << " requests (" << failed_attempts << " not 2xx), " << extra_deliveries
            << " repeated deliveries after " << kKills << " kills\n";
  for (const auto& f : failed_publishes) std::cerr << "[ audit    ] publish failed: " << f << "\n";
}

TEST(CrashAudit, AcknowledgedEventsSurviveRepeatedSigkillInOrderWithDuplicatesOnlyAtKills) {
  audit_under_sigkill(Failures::kWhileDraining);
}

// The same audit with 503s while events are published: a kill can hit a retry in flight whose
// subscription a publish has just written; the restarted service must still make that retry
// (ServiceTest.RetryInFlightDuringAPublishIsMadeAgainAfterRestart is the deterministic case).
TEST(CrashAudit, AuditHoldsWhenKillsHitRetriesWhilePublishing) {
  audit_under_sigkill(Failures::kWhilePublishing);
}

// --- the process contract ---

TEST(ServeProcess, SigtermWithAnAttemptInFlightExitsZeroAndTheRestartMakesItAgain) {
  TempDir dir("sigterm");
  Receiver rx(R"({"windows":[{"from":"0s","until":"1d","timeout":true}]})");  // never answers
  auto server = std::make_unique<ServerProcess>(dir / "data", dir / "serve.log");
  ASSERT_TRUE(server->start());
  json sub = {{"id", "acme"}, {"url", rx.url()}, {"secret", kSecret}};
  ASSERT_EQ(http("POST", server->url("/v1/subscriptions"), sub.dump()).status, 201);
  Reply p = http("POST", server->url("/v1/events"), R"({"id":"e1","type":"tracking"})");
  ASSERT_EQ(p.status, 202) << p.body;
  ASSERT_TRUE(eventually([&] { return rx.requests().size() == 1; }));
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait_exit(), 0) << read_file(dir / "serve.log");
  // It stopped accepting.
  EXPECT_EQ(http("GET", server->url("/v1/subscriptions")).status, 0);

  server = std::make_unique<ServerProcess>(dir / "data", dir / "serve.log");
  ASSERT_TRUE(server->start());
  ASSERT_TRUE(eventually([&] { return rx.requests().size() == 2; }));
  auto requests = rx.requests();
  for (const auto& r : requests) {
    EXPECT_EQ(r.event, "e1");
    EXPECT_EQ(r.seq, 1u);
    EXPECT_EQ(r.attempt, 1u);  // the abandoned attempt was not counted
  }
  json s = http("GET", server->url("/v1/subscriptions/acme/status")).j();
  EXPECT_EQ(s["backlog"], 1);
  EXPECT_EQ(s["attempts"], 0);
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait_exit(), 0) << read_file(dir / "serve.log");
}

// A 200 KB event whose `data` nests arrays 100000 deep is answered (accepted, or refused as too deep) and
// the server goes on; serializing such a value recursively would overflow the stack.
TEST(ServeProcess, DeeplyNestedEventDataDoesNotCrashTheServer) {
  TempDir dir("nested");
  ServerProcess server(dir / "data", dir / "serve.log");
  ASSERT_TRUE(server.start());
  constexpr size_t kDepth = 100000;
  std::string body =
      R"({"id":"deep","type":"t","data":)" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}";
  Reply r = http("POST", server.url("/v1/events"), body);
  EXPECT_TRUE(r.status == 202 || r.status == 400) << r.status << " " << r.error;
  Reply after = http("GET", server.url("/v1/subscriptions"));
  EXPECT_EQ(after.status, 200) << after.error;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 0) << read_file(dir / "serve.log");
}

TEST(ServeProcess, AdminTokenComesFromTheEnvironment) {
  TempDir dir("token");
  ServerProcess server(dir / "data", dir / "serve.log", "env-t0ken");
  ASSERT_TRUE(server.start());
  EXPECT_EQ(http("GET", server.url("/v1/subscriptions")).status, 401);
  EXPECT_EQ(http("GET", server.url("/v1/subscriptions"), std::nullopt, "Bearer wrong").status, 401);
  EXPECT_EQ(http("GET", server.url("/metrics")).status, 401);
  EXPECT_EQ(http("GET", server.url("/v1/subscriptions"), std::nullopt, "Bearer env-t0ken").status, 200);
  EXPECT_EQ(http("GET", server.url("/metrics"), std::nullopt, "Bearer env-t0ken").status, 200);
  EXPECT_EQ(http("GET", server.url("/")).status, 200);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 0);
}

}  // namespace
}  // namespace hooksim
