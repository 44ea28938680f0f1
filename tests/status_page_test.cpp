// The status page (GET /) and `hooksim status`, against a real service on a real port.
//
// Each test starts a hooksim::cli::Service in-process with three subscriptions, brought to the three
// states for real (no clock tricks; "gone" deactivates 1 s after its first failure):
//   down     a port where nothing listens (bound, never listening: refused at once) -> retrying, backlog 5
//   healthy  an in-process MockReceiver answering 200                            -> active, 5 delivered
//   gone     nothing listens either; give_up_after 1s, no retries              -> deactivated, 3 discarded,
//                                                                                   2 dropped
// The page is rendered by headless Chromium (/usr/bin/chromium; scripts/test.sh installs it): --dump-dom
// and --screenshot for what it shows, and the DevTools protocol over a pipe for clicks and typing.
// Without Chromium the page tests fail, on purpose, with a message saying so.
#include "service/status_page.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/serve_run.h"
#include "net/http_server.h"
#include "receiver/server.h"
#include "util/url_display.h"

extern char** environ;

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kNoChromium[] =
    "headless Chromium is required for the status page tests and /usr/bin/chromium is missing; "
    "scripts/test.sh installs it (apt-get install chromium)";
constexpr char kAdminToken[] = "admin-t0ken/with+odd=chars";
constexpr char kReceiverToken[] = "receiver-token";
constexpr char kTokenKey[] = "hooksim.adminToken";  // the page's localStorage key

// The page's URL column: at most this many characters, '…' in the middle (status.js, URL_WIDTH).
constexpr size_t kPageUrlWidth = 48;
constexpr char kPageEllipsis[] = "\u2026";

bool have_chromium() {
  return ::access(kChromium, X_OK) == 0;
}

// A new directory under the system temp directory, removed with its contents.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::string pattern = (fs::temp_directory_path() / ("hooksim-" + tag + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  // A new, empty subdirectory (e.g. a browser profile).
  fs::path fresh(const std::string& name) {
    fs::path p = path_ / (name + "-" + std::to_string(++made_));
    fs::create_directories(p);
    return p;
  }

 private:
  fs::path path_;
  int made_ = 0;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- HTTP with libcurl easy -------------------------------------------------------------------------------

struct HttpAnswer {
  long status = 0;  // 0 when there was no answer; see error
  std::string body;
  std::string content_type;
  std::string error;
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpAnswer http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::string& token = "") {
  HttpAnswer a;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::string auth = "Authorization: Bearer " + token;
  if (!token.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST" || !body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // everything here is on 127.0.0.1
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
    char* ct = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) a.content_type = ct;
  } else {
    a.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return a;
}

// Polls `condition` every 20 ms until it holds; false at the deadline.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// --- child processes --------------------------------------------------------------------------------------

struct ProcessResult {
  int exit_code = -1;  // -1 when killed (timeout or signal)
  bool timed_out = false;
  std::string out, err;
};

// A child process in its own process group, stdin from /dev/null, stdout and stderr to files in `dir`.
// `env`: NAME=value entries added to (or replacing those of) this process's environment, minus
// HOOKSIM_ADMIN_TOKEN, which the tests always set explicitly; proxies are bypassed (all is on 127.0.0.1).
// `fds`: (child fd, parent fd) pairs to pass.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& dir, const std::vector<std::string>& env = {},
          const std::vector<std::pair<int, int>>& fds = {}) {
    static std::atomic<int> counter{0};
    std::string name = "proc-" + std::to_string(++counter);
    out_path_ = dir / (name + ".out");
    err_path_ = dir / (name + ".err");
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      std::string key = entry.substr(0, entry.find('='));
      if (key == "HOOKSIM_ADMIN_TOKEN" || key == "NO_PROXY" || key == "no_proxy") continue;
      bool replaced = false;
      for (const auto& x : env) replaced |= x.substr(0, x.find('=')) == key;
      if (!replaced) environment.push_back(entry);
    }
    environment.insert(environment.end(), env.begin(), env.end());
    environment.insert(environment.end(), {"NO_PROXY=*", "no_proxy=*"});
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in < 0 || out < 0 || err < 0) throw std::runtime_error("cannot open the child's stdio files");
    std::vector<std::pair<int, int>> plan = {{0, in}, {1, out}, {2, err}};
    plan.insert(plan.end(), fds.begin(), fds.end());
    int last_fd = 2;
    for (const auto& [child, parent] : plan) last_fd = std::max(last_fd, child);

    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls from here: move every source out of the way, then into place, then
      // close everything else (the service's sockets must not leak into the browser).
      ::setpgid(0, 0);
      int moved[16];
      for (size_t i = 0; i < plan.size() && i < 16; ++i) moved[i] = ::fcntl(plan[i].second, F_DUPFD, 100 + i);
      for (size_t i = 0; i < plan.size() && i < 16; ++i) ::dup2(moved[i], plan[i].first);
      ::close_range(last_fd + 1, ~0U, 0);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    ::close(in);
    ::close(out);
    ::close(err);
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ~Process() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool running() const { return pid_ > 0 && !reaped_; }
  // What the child has written to stdout so far.
  std::string out_so_far() const { return read_file(out_path_); }

  // Waits for the exit; kills the whole group at the deadline.
  ProcessResult wait(std::chrono::milliseconds timeout) {
    ProcessResult r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    reaped_ = true;
    if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = read_file(out_path_);
    r.err = read_file(err_path_);
    return r;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  fs::path out_path_, err_path_;
};

ProcessResult run(const std::vector<std::string>& argv, const fs::path& dir,
                  const std::vector<std::string>& env = {}, std::chrono::milliseconds timeout = 60s) {
  Process p(argv, dir, env);
  return p.wait(timeout);
}

// Headless Chromium's common flags, with a new profile under `dir`.
std::vector<std::string> chromium_args(TempDir& dir) {
  return {kChromium,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-proxy-server",
          "--user-data-dir=" + dir.fresh("profile").string()};
}

// The DOM of `url` after 5 s of virtual time (the page has fetched the list at least once).
ProcessResult dump_dom(const std::string& url, TempDir& dir) {
  auto args = chromium_args(dir);
  args.insert(args.end(), {"--virtual-time-budget=5000", "--dump-dom", url});
  return run(args, dir.path());
}

// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): commands go to
// the child's fd 3, answers and events come from its fd 4, each message JSON followed by a NUL byte.
// Failures throw std::runtime_error (GoogleTest reports them as test failures).
class Browser {
 public:
  Browser(const std::string& url, TempDir& dir) {
    ::signal(SIGPIPE, SIG_IGN);  // a browser that died must fail the test, not kill it
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    auto args = chromium_args(dir);
    args.insert(args.end(), {"--remote-debugging-pipe", "--window-size=1200,800", url});
    process_ = std::make_unique<Process>(args, dir.path(), std::vector<std::string>{},
                                         std::vector<std::pair<int, int>>{{3, to[0]}, {4, from[1]}});
    ::close(to[0]);
    ::close(from[1]);
    to_ = to[1];
    from_ = from[0];
    std::string target;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (target.empty()) {
      json targets = call("Target.getTargets", json::object());  // kept: the loop refers into it
      for (const json& t : targets["targetInfos"])
        if (t["type"] == "page") target = t["targetId"];
      if (target.empty()) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("chromium opened no page");
        std::this_thread::sleep_for(50ms);
      }
    }
    session_ = call("Target.attachToTarget", {{"targetId", target}, {"flatten", true}})["sessionId"];
  }
  ~Browser() {
    try {
      if (to_ >= 0) call("Browser.close", json::object());
    } catch (const std::exception&) {
      // killed below
    }
    if (process_) process_->wait(10s);
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
  }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // The value of a JavaScript expression in the page (promises awaited); throws if it throws.
  json eval(const std::string& expression) {
    json r = call("Runtime.evaluate",
                  {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}, session_);
    if (r.contains("exceptionDetails")) throw std::runtime_error("page: " + r["exceptionDetails"].dump());
    return r["result"].value("value", json(nullptr));
  }

  // Polls `expression` every 50 ms until it is true; false at the deadline.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout = 15s) {
    return eventually(
        [&] {
          try {
            return eval(expression) == json(true);
          } catch (const std::runtime_error&) {
            return false;  // e.g. the element does not exist yet
          }
        },
        timeout);
  }

 private:
  json call(const std::string& method, const json& params, const std::string& session = "") {
    int id = next_id_++;
    json m = {{"id", id}, {"method", method}, {"params", params}};
    if (!session.empty()) m["sessionId"] = session;
    std::string text = m.dump();
    text.push_back('\0');
    for (size_t sent = 0; sent < text.size();) {
      ssize_t n = ::write(to_, text.data() + sent, text.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("chromium closed its DevTools pipe");
      sent += n;
    }
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (true) {
      size_t nul;
      while ((nul = buffer_.find('\0')) != std::string::npos) {
        json answer = json::parse(buffer_.substr(0, nul));
        buffer_.erase(0, nul + 1);
        if (answer.value("id", -1) != id) continue;  // an event, or an answer nobody waits for
        if (answer.contains("error")) throw std::runtime_error(method + ": " + answer["error"].dump());
        return answer["result"];
      }
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) throw std::runtime_error(method + ": no answer from chromium");
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(method + ": chromium closed its DevTools pipe");
      buffer_.append(chunk, n);
    }
  }

  std::unique_ptr<Process> process_;
  int to_ = -1, from_ = -1;
  int next_id_ = 1;
  std::string buffer_, session_;
};

// --- reading a dumped DOM ---------------------------------------------------------------------------------

std::string strip_tags(const std::string& html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<') in_tag = true;
    if (!in_tag) out += c;
    if (c == '>') in_tag = false;
  }
  return out;
}

std::map<std::string, std::string> attributes(const std::string& tag) {
  std::map<std::string, std::string> out;
  static const std::regex kAttr(R"re(([a-zA-Z-]+)="([^"]*)")re");
  for (std::sregex_iterator it(tag.begin(), tag.end(), kAttr), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}

// One <tr data-sub=...> of the dumped page: its attributes and its cells' HTML by column (td.c-<name>).
struct Row {
  std::map<std::string, std::string> attrs;
  std::map<std::string, std::string> cells;
  std::string text(const std::string& column) const {
    auto it = cells.find(column);
    return it == cells.end() ? "<no cell " + column + ">" : strip_tags(it->second);
  }
};

std::map<std::string, Row> subscription_rows(const std::string& dom) {
  std::map<std::string, Row> rows;
  for (size_t at = dom.find("<tr "); at != std::string::npos; at = dom.find("<tr ", at + 1)) {
    size_t tag_end = dom.find('>', at);
    size_t row_end = dom.find("</tr>", tag_end);
    if (tag_end == std::string::npos || row_end == std::string::npos) break;
    Row row;
    row.attrs = attributes(dom.substr(at, tag_end - at));
    if (!row.attrs.count("data-sub")) continue;
    std::string inner = dom.substr(tag_end + 1, row_end - tag_end - 1);
    for (size_t td = inner.find("<td "); td != std::string::npos; td = inner.find("<td ", td + 1)) {
      size_t open_end = inner.find('>', td);
      size_t close = inner.find("</td>", open_end);
      std::string cls = attributes(inner.substr(td, open_end - td))["class"];
      if (cls.rfind("c-", 0) != 0) continue;
      row.cells[cls.substr(2, cls.find(' ') == std::string::npos ? std::string::npos : cls.find(' ') - 2)] =
          inner.substr(open_end + 1, close - open_end - 1);
    }
    rows[row.attrs["data-sub"]] = row;
  }
  return rows;
}

// The opening tag of the element with this id ("" if absent).
std::string element_tag(const std::string& dom, const std::string& id) {
  size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  size_t open = dom.rfind('<', at);
  return dom.substr(open, dom.find('>', at) - open + 1);
}

// The page's state: <body data-status="...">.
std::string page_status(const std::string& dom) {
  size_t at = dom.find("<body");
  if (at == std::string::npos) return "<no body>";
  return attributes(dom.substr(at, dom.find('>', at) - at))["data-status"];
}

// --- the service under test -------------------------------------------------------------------------------

// A Service on 127.0.0.1:<any port> with "down", "healthy" and "gone" in their states (see the file comment).
// Subclasses choose the admin token.
class LiveServiceTest : public ::testing::Test {
 protected:
  explicit LiveServiceTest(std::string admin_token = "")
      : token_(std::move(admin_token)), dir_("status-test") {}

  void SetUp() override {
    // The receiver for "healthy", on its own io_context thread.
    receiver::ReceiverOptions ro;
    ro.token = kReceiverToken;
    receiver_ = std::make_unique<receiver::MockReceiver>(receiver_io_, ro);
    ASSERT_TRUE(receiver_->listen("127.0.0.1:0").ok());
    receiver_thread_ = std::thread([this] { receiver_io_.run(); });

    // A port that refuses connections: bound (so nobody else takes it) but never listening.
    dead_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(dead_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(dead_fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    dead_url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

    cli::ServiceOptions so;
    so.data_dir = (dir_.path() / "data").string();
    so.listen = "127.0.0.1:0";
    so.admin_token = token_;
    service_ = std::make_unique<cli::Service>(io_, so);
    Status st = service_->start();
    ASSERT_TRUE(st.ok()) << st.message();
    service_thread_ = std::thread([this] { service_->run(); });
    running_ = true;
    base_ = "http://127.0.0.1:" + std::to_string(service_->port());

    create(json{{"id", "down"}, {"url", down_url()}, {"token", kReceiverToken}});
    create(json{{"id", "healthy"}, {"url", receiver_->url() + "/hooks"}, {"token", kReceiverToken}});
    create(json{{"id", "gone"},
                {"url", dead_url_ + "/gone"},
                {"token", kReceiverToken},
                {"policy", {{"give_up_after", "1s"}, {"immediate_retries", 0}, {"delays", json::array()}}}});
    publish(3);
    ASSERT_TRUE(eventually([&] { return status("gone")["state"] == "deactivated"; }))
        << status("gone").dump();
    ASSERT_TRUE(eventually([&] { return status("down")["streak_attempts"] == 4; })) << status("down").dump();
    ASSERT_TRUE(eventually([&] { return status("healthy")["delivered"] == 3; })) << status("healthy").dump();
    publish(2);
    ASSERT_TRUE(eventually([&] { return status("healthy")["delivered"] == 5; })) << status("healthy").dump();
    ASSERT_TRUE(eventually([&] { return status("gone")["dropped_inactive"] == 2; })) << status("gone").dump();
    ASSERT_TRUE(eventually([&] { return status("down")["backlog"] == 5; })) << status("down").dump();
  }

  void TearDown() override {
    stop_service();
    service_.reset();
    if (receiver_) receiver_->stop();
    if (receiver_thread_.joinable()) receiver_thread_.join();
    if (dead_fd_ >= 0) ::close(dead_fd_);
  }

  void stop_service() {
    if (!running_) return;
    boost::asio::post(io_, [this] { service_->shutdown(); });
    service_thread_.join();
    running_ = false;
  }

  // The "down" URL carries markup in its query, to show that the page escapes it.
  std::string down_url() const { return dead_url_ + "/hooks?note=<b>bold</b>&x=\"q\""; }

  void create(const json& body) {
    HttpAnswer a = http("POST", base_ + "/v1/subscriptions", body.dump(), token_);
    ASSERT_EQ(a.status, 201) << a.error << a.body;
  }
  void publish(int n) {
    json events = json::array();
    for (int i = 0; i < n; ++i) events.push_back({{"type", "tracking"}, {"data", {{"n", i}}}});
    HttpAnswer a = http("POST", base_ + "/v1/events", events.dump(), token_);
    ASSERT_EQ(a.status, 202) << a.error << a.body;
  }
  json status(const std::string& id) {
    HttpAnswer a = http("GET", base_ + "/v1/subscriptions/" + id + "/status", "", token_);
    return a.status == 200 ? json::parse(a.body) : json{{"http", a.status}, {"body", a.body}};
  }

  std::string token_;
  TempDir dir_;
  boost::asio::io_context io_, receiver_io_;
  std::unique_ptr<cli::Service> service_;
  std::unique_ptr<receiver::MockReceiver> receiver_;
  std::thread service_thread_, receiver_thread_;
  bool running_ = false;
  int dead_fd_ = -1;
  std::string dead_url_, base_;
};

class StatusPageTest : public LiveServiceTest {};
class StatusPageAuthTest : public LiveServiceTest {
 protected:
  StatusPageAuthTest() : LiveServiceTest(kAdminToken) {}
};
class StatusCommandTest : public LiveServiceTest {};
class StatusCommandAuthTest : public LiveServiceTest {
 protected:
  StatusCommandAuthTest() : LiveServiceTest(kAdminToken) {}
};

std::string url_encode(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
  std::string out = e;
  curl_free(e);
  return out;
}

// --- the page ---------------------------------------------------------------------------------------------

TEST_F(StatusPageTest, IsServedWithoutAuthAndIsSelfContained) {
  HttpAnswer a = http("GET", base_ + "/");
  ASSERT_EQ(a.status, 200) << a.error;
  EXPECT_THAT(a.content_type, HasSubstr("text/html"));
  EXPECT_THAT(a.body, HasSubstr("<style>"));
  EXPECT_THAT(a.body, HasSubstr("<script>"));
  // Nothing is loaded from elsewhere: no external scripts, styles, images or fonts.
  for (const char* external : {"src=", "<link", "@import", "url(", "@font-face"})
    EXPECT_EQ(a.body.find(external), std::string::npos) << external;
  // Server data is never parsed as HTML.
  for (const char* html_sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"})
    EXPECT_EQ(a.body.find(html_sink), std::string::npos) << html_sink;
  EXPECT_THAT(a.body, HasSubstr("fetch("));
  EXPECT_THAT(a.body, HasSubstr("/v1/subscriptions"));
}

// The page's sources are service/page/status.{html,css,js}; the build (service/page/embed.cmake) serves
// them as one document: the stylesheet and the script whole, in place of the lines that link them, and
// nothing of what stands above the doctype (the notes for maintainers).
TEST(StatusPageSource, TheServedPageIsTheHtmlWithItsStylesheetAndScriptInlinedWhole) {
  const fs::path dir = fs::path(HOOKSIM_SOURCE_DIR) / "service" / "page";
  std::string html = read_file(dir / "status.html");
  const std::string css = read_file(dir / "status.css"), js = read_file(dir / "status.js");
  ASSERT_FALSE(css.empty());
  ASSERT_FALSE(js.empty());
  size_t doctype = html.find("<!doctype html>");
  ASSERT_NE(doctype, std::string::npos);
  html.erase(0, doctype);
  for (const auto& [line, inline_part] :
       {std::pair<std::string, std::string>{"<link rel=\"stylesheet\" href=\"status.css\">\n",
                                            "<style>\n" + css + "</style>\n"},
        {"<script src=\"status.js\"></script>\n", "<script>\n" + js + "</script>\n"}}) {
    size_t at = html.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    html.replace(at, line.size(), inline_part);
  }
  EXPECT_EQ(std::string(service::kStatusPage), html);
}

TEST_F(StatusPageTest, ListsEverySubscriptionWithItsStateAndBacklog) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  ProcessResult r = dump_dom(base_ + "/", dir_);
  ASSERT_EQ(r.exit_code, 0) << "timed out: " << r.timed_out << "\n" << r.err;
  EXPECT_EQ(page_status(r.out), "ok") << r.out;

  auto rows = subscription_rows(r.out);
  ASSERT_EQ(rows.size(), 3u) << r.out;
  const Row& down = rows["down"];
  EXPECT_EQ(down.attrs.at("data-state"), "retrying");
  EXPECT_EQ(down.attrs.at("data-backlog"), "5");
  EXPECT_EQ(down.text("backlog"), "5");
  EXPECT_THAT(down.text("state"), HasSubstr("4 failed attempts"));
  EXPECT_THAT(down.text("last"), HasSubstr("connect"));
  EXPECT_THAT(down.text("next"), HasSubstr("in 4m"));  // the first scheduled retry, 5 min after the streak
  EXPECT_THAT(down.text("oldest"), Not(HasSubstr("—")));
  EXPECT_EQ(down.text("delivered"), "0");

  const Row& healthy = rows["healthy"];
  EXPECT_EQ(healthy.attrs.at("data-state"), "active");
  EXPECT_EQ(healthy.attrs.at("data-backlog"), "0");
  EXPECT_EQ(healthy.text("delivered"), "5");
  EXPECT_THAT(healthy.text("last"), HasSubstr("200"));
  EXPECT_EQ(healthy.text("next"), "—");

  const Row& gone = rows["gone"];
  EXPECT_EQ(gone.attrs.at("data-state"), "deactivated");
  EXPECT_EQ(gone.attrs.at("data-backlog"), "0");
  EXPECT_EQ(gone.text("discarded"), "3");
  EXPECT_EQ(gone.text("dropped"), "2");

  // Reactivate only where it applies.
  EXPECT_THAT(gone.cells.at("state"), HasSubstr("class=\"btn secondary reactivate\""));
  EXPECT_THAT(down.cells.at("state"), Not(HasSubstr("reactivate")));
  EXPECT_THAT(healthy.cells.at("state"), Not(HasSubstr("reactivate")));

  // The markup in down's URL is text, not elements.
  EXPECT_THAT(down.cells.at("url"), HasSubstr("note=&lt;b&gt;bold&lt;/b&gt;&amp;x=\"q\""));

  EXPECT_THAT(strip_tags(r.out), HasSubstr("3 subscriptions"));
  EXPECT_THAT(r.out, HasSubstr("<b id=\"count-deactivated\">1</b>"));
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"re(<span id="last-updated"[^>]*>Updated \d\d:\d\d:\d\d</span>)re")))
      << element_tag(r.out, "last-updated");
  EXPECT_TRUE(attributes(element_tag(r.out, "error")).count("hidden"));
  EXPECT_TRUE(attributes(element_tag(r.out, "auth")).count("hidden"));
}

TEST_F(StatusPageTest, ScreenshotShowsThePage) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  fs::path png = dir_.path() / "status.png";
  auto args = chromium_args(dir_);
  args.insert(args.end(), {"--virtual-time-budget=5000", "--screenshot=" + png.string(),
                           "--window-size=1200,800", base_ + "/"});
  ProcessResult r = run(args, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(png)) << r.err;
  EXPECT_GT(fs::file_size(png), 10000u);  // a blank 1200x800 PNG is far smaller
  EXPECT_EQ(read_file(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // To look at it: HOOKSIM_SCREENSHOT_DIR=/some/dir build/tests/hooksim_tests --gtest_filter='*Screenshot*'
  if (const char* keep = std::getenv("HOOKSIM_SCREENSHOT_DIR"))
    fs::copy_file(png, fs::path(keep) / "status-page.png", fs::copy_options::overwrite_existing);
}

TEST_F(StatusPageTest, ShowsAnErrorLineWhenTheServerIsUnreachable) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  Browser browser(base_ + "/", dir_);
  ASSERT_TRUE(
      browser.wait_for("document.body.dataset.status === 'ok' && "
                       "document.querySelectorAll('tr[data-sub]').length === 3"));
  EXPECT_EQ(browser.eval("document.getElementById('error').hidden"), true);
  stop_service();
  // The next refresh (every 2 s) fails; a keep-alive connection left hanging times out after 8 s.
  ASSERT_TRUE(browser.wait_for("document.body.dataset.status === 'unreachable'", 30s));
  EXPECT_EQ(browser.eval("document.getElementById('error').hidden"), false);
  EXPECT_THAT(browser.eval("document.getElementById('error').textContent").get<std::string>(),
              HasSubstr("Cannot reach the hooksim server"));
  // The last data stays on screen, marked by the error line.
  EXPECT_EQ(browser.eval("document.querySelectorAll('tr[data-sub]').length"), 3);
}

TEST_F(StatusPageTest, EscapesServerTextInTheLiveDom) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  Browser browser(base_ + "/", dir_);
  ASSERT_TRUE(browser.wait_for("document.querySelectorAll('tr[data-sub]').length === 3"));
  // Shown by its start and end (util::shorten_middle's rule, '…' in the middle), whole on hover.
  EXPECT_EQ(browser.eval("document.querySelector('tr[data-sub=\"down\"] td.c-url').textContent"),
            util::shorten_middle(down_url(), kPageUrlWidth, kPageEllipsis, 1));
  EXPECT_EQ(browser.eval("document.querySelector('tr[data-sub=\"down\"] td.c-url').title"), down_url());
  EXPECT_EQ(browser.eval("document.querySelectorAll('#rows b').length"), 0);
}

TEST_F(StatusPageTest, LongUrlsAreShownByTheirHostStartAndPathEnd) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  const std::string long_path = dead_url_ + "/webhooks/frotcom/customers/acme-logistics-0042/tracking";
  const std::string long_host =
      "https://a-very-long-host-name-for-webhooks.eu-west-1.internal.example.invalid/h/1";
  create(json{{"id", "long-path"}, {"url", long_path}, {"token", kReceiverToken}});
  create(json{{"id", "long-host"}, {"url", long_host}, {"token", kReceiverToken}});
  Browser browser(base_ + "/", dir_);
  ASSERT_TRUE(browser.wait_for("document.querySelectorAll('tr[data-sub]').length === 5"));
  auto shown = [&](const std::string& id, const char* what) {
    return browser.eval("document.querySelector('tr[data-sub=\"" + id + "\"] td.c-url')." + what);
  };
  EXPECT_EQ(shown("long-path", "textContent"), dead_url_ + "\u2026e-logistics-0042/tracking");
  EXPECT_EQ(shown("long-path", "textContent"),
            util::shorten_middle(long_path, kPageUrlWidth, kPageEllipsis, 1));
  EXPECT_EQ(shown("long-host", "textContent"),
            util::shorten_middle(long_host, kPageUrlWidth, kPageEllipsis, 1));
  EXPECT_EQ(shown("long-host", "textContent"), "https://a-very-long-host-name-for-webhooks.\u2026/h/1");
  EXPECT_EQ(shown("long-path", "title"), long_path);
  EXPECT_EQ(shown("long-host", "title"), long_host);
  EXPECT_EQ(shown("healthy", "textContent"), receiver_->url() + "/hooks");  // short: whole
}

TEST_F(StatusPageAuthTest, RetryNowButtonMakesTheNextAttemptAtOnce) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  Browser browser(base_ + "/#token=" + url_encode(kAdminToken), dir_);
  const std::string button = "document.querySelector('tr[data-sub=\"down\"] button.retry')";
  ASSERT_TRUE(browser.wait_for(button + " !== null"));
  // Only on the subscription waiting for a retry.
  EXPECT_EQ(browser.eval("document.querySelectorAll('button.retry').length"), 1);
  EXPECT_EQ(browser.eval(button + ".textContent"), "Retry now");
  json before = status("down");
  ASSERT_EQ(before["streak_attempts"], 4) << before;  // the next one is minutes away

  browser.eval(button + ".click()");
  ASSERT_TRUE(eventually([&] { return status("down")["streak_attempts"] == 5; })) << status("down").dump();
  json after = status("down");
  EXPECT_EQ(after["state"], "retrying");                     // "down" still refuses connections
  EXPECT_EQ(after["streak_start"], before["streak_start"]);  // the streak, and its deadline, go on
  ASSERT_TRUE(
      browser.wait_for("document.getElementById('notice').textContent.indexOf('Retrying now: down') >= 0"));
  EXPECT_EQ(browser.eval("document.getElementById('notice').className"), "banner ok");
}

TEST_F(StatusPageAuthTest, WithoutATokenThePageAsksForOne) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  ProcessResult r = dump_dom(base_ + "/", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(page_status(r.out), "unauthorized") << r.out;
  EXPECT_FALSE(attributes(element_tag(r.out, "auth")).count("hidden")) << element_tag(r.out, "auth");
  EXPECT_THAT(element_tag(r.out, "token-input"), HasSubstr("type=\"password\""));
  EXPECT_TRUE(attributes(element_tag(r.out, "list")).count("hidden"));
  EXPECT_TRUE(subscription_rows(r.out).empty());
  EXPECT_THAT(strip_tags(r.out), HasSubstr("Admin token required"));
}

TEST_F(StatusPageAuthTest, TokenFragmentOpensThePageAuthenticated) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  ProcessResult r = dump_dom(base_ + "/#token=" + url_encode(kAdminToken), dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(page_status(r.out), "ok") << r.out;
  auto rows = subscription_rows(r.out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows["down"].attrs["data-state"], "retrying");
  EXPECT_EQ(rows["healthy"].attrs["data-state"], "active");
  EXPECT_EQ(rows["gone"].attrs["data-state"], "deactivated");
  EXPECT_TRUE(attributes(element_tag(r.out, "auth")).count("hidden"));
  EXPECT_FALSE(attributes(element_tag(r.out, "forget-token")).count("hidden"));
}

TEST_F(StatusPageAuthTest, ReactivateButtonReactivatesTheSubscription) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  Browser browser(base_ + "/#token=" + url_encode(kAdminToken), dir_);
  const std::string button = "document.querySelector('tr[data-sub=\"gone\"] button.reactivate')";
  ASSERT_TRUE(browser.wait_for(button + " !== null"));
  // The fragment's token was saved and taken out of the address bar.
  EXPECT_EQ(browser.eval(std::string("localStorage.getItem('") + kTokenKey + "')"), kAdminToken);
  EXPECT_EQ(browser.eval("location.hash"), "");

  browser.eval(button + ".click()");
  ASSERT_TRUE(browser.wait_for("document.querySelector('tr[data-sub=\"gone\"]').dataset.state === 'active'"));
  EXPECT_EQ(status("gone")["state"], "active");
  EXPECT_EQ(browser.eval(button + " === null"), true);
  EXPECT_THAT(browser.eval("document.getElementById('notice').textContent").get<std::string>(),
              HasSubstr("Reactivated gone"));
  // The others are untouched.
  EXPECT_EQ(status("down")["state"], "retrying");
  EXPECT_EQ(browser.eval("document.querySelector('tr[data-sub=\"down\"]').dataset.state"), "retrying");
}

TEST_F(StatusPageAuthTest, TypedTokenIsCheckedSavedAndUsed) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  Browser browser(base_ + "/", dir_);
  ASSERT_TRUE(browser.wait_for("document.body.dataset.status === 'unauthorized'"));
  auto submit = [&](const std::string& token) {
    browser.eval("document.getElementById('token-input').value = " + json(token).dump() +
                 "; document.getElementById('token-form').requestSubmit()");
  };
  submit("wrong-token");
  ASSERT_TRUE(browser.wait_for("!document.getElementById('auth-msg').hidden"));
  EXPECT_EQ(browser.eval("document.body.dataset.status"), "unauthorized");

  submit(kAdminToken);
  ASSERT_TRUE(
      browser.wait_for("document.body.dataset.status === 'ok' && "
                       "document.querySelectorAll('tr[data-sub]').length === 3"));
  EXPECT_EQ(browser.eval(std::string("localStorage.getItem('") + kTokenKey + "')"), kAdminToken);
  EXPECT_EQ(browser.eval("document.getElementById('auth').hidden"), true);

  // "Forget token" goes back to the prompt.
  browser.eval("document.getElementById('forget-token').click()");
  ASSERT_TRUE(browser.wait_for("document.body.dataset.status === 'unauthorized'"));
  EXPECT_TRUE(browser.eval(std::string("localStorage.getItem('") + kTokenKey + "')").is_null());
}

// --- hooksim status ---------------------------------------------------------------------------------------

// The table's data lines by id, and the column each header starts at.
struct Table {
  std::map<std::string, std::string> lines;
  std::map<std::string, size_t> columns;
};

Table parse_table(const std::string& out) {
  Table t;
  std::istringstream in(out);
  std::string line, header;
  std::getline(in, header);
  for (const char* c : {"ID", "URL", "STATE", "BACKLOG", "LAST ATTEMPT", "NEXT ATTEMPT"})
    t.columns[c] = header.find(c);
  while (std::getline(in, line) && !line.empty()) t.lines[line.substr(0, line.find(' '))] = line;
  return t;
}

TEST_F(StatusCommandTest, ListsEverySubscriptionWithItsState) {
  ProcessResult r = run({HOOKSIM_BINARY, "status", "--server", base_}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Table t = parse_table(r.out);
  for (const auto& [name, at] : t.columns)
    ASSERT_NE(at, std::string::npos) << name << " missing in\n" << r.out;
  ASSERT_EQ(t.lines.size(), 3u) << r.out;
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"down", {"retrying", "5"}}, {"healthy", {"active", "0"}}, {"gone", {"deactivated", "0"}}};
  for (const auto& [id, want] : expected) {
    const std::string& line = t.lines[id];
    EXPECT_EQ(line.substr(t.columns["STATE"], want.first.size()), want.first) << r.out;
    // BACKLOG is right-aligned under its header.
    size_t backlog_end = t.columns["BACKLOG"] + std::string("BACKLOG").size();
    EXPECT_EQ(line.substr(backlog_end - want.second.size(), want.second.size()), want.second) << r.out;
    EXPECT_EQ(line[backlog_end], ' ') << r.out;
  }
  EXPECT_EQ(t.lines["down"].substr(t.columns["URL"], down_url().size()), down_url());
  EXPECT_THAT(t.lines["down"].substr(t.columns["LAST ATTEMPT"]), ::testing::StartsWith("connect"));
  EXPECT_THAT(t.lines["down"].substr(t.columns["NEXT ATTEMPT"]), HasSubstr("(in 4m"));
  EXPECT_THAT(t.lines["healthy"].substr(t.columns["LAST ATTEMPT"]), ::testing::StartsWith("200"));
  EXPECT_EQ(t.lines["healthy"].substr(t.columns["NEXT ATTEMPT"]), "-");
  EXPECT_THAT(r.out, HasSubstr("3 subscriptions: 1 active, 1 retrying, 1 deactivated"));
  EXPECT_THAT(r.out, Not(HasSubstr("OWNER")));  // a single serve names no owners
}

TEST_F(StatusCommandTest, JsonPrintsTheServersAnswer) {
  ProcessResult r = run({HOOKSIM_BINARY, "status", "--server", base_ + "/", "--json"}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);  // throws (and fails) unless it is JSON
  ASSERT_EQ(j["subscriptions"].size(), 3u);
  std::map<std::string, std::string> states;
  for (const json& s : j["subscriptions"]) states[s["id"]] = s["state"];
  EXPECT_EQ(states, (std::map<std::string, std::string>{
                        {"down", "retrying"}, {"gone", "deactivated"}, {"healthy", "active"}}));
}

TEST_F(StatusCommandTest, UnreachableServerExitsOne) {
  ProcessResult r = run({HOOKSIM_BINARY, "status", "--server", dead_url_}, dir_.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach " + dead_url_));
  EXPECT_EQ(r.out, "");
}

TEST_F(StatusCommandAuthTest, TokenComesFromTheFlagOrTheEnvironment) {
  ProcessResult none = run({HOOKSIM_BINARY, "status", "--server", base_}, dir_.path());
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("401"));
  EXPECT_THAT(none.err, HasSubstr("a valid admin token (Bearer) is required"));  // the server's message

  ProcessResult flag =
      run({HOOKSIM_BINARY, "status", "--server", base_, "--admin-token", kAdminToken}, dir_.path());
  EXPECT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(parse_table(flag.out).lines.size(), 3u) << flag.out;

  ProcessResult env = run({HOOKSIM_BINARY, "status", "--server", base_, "--json"}, dir_.path(),
                          {std::string("HOOKSIM_ADMIN_TOKEN=") + kAdminToken});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(json::parse(env.out)["subscriptions"].size(), 3u);

  ProcessResult wrong =
      run({HOOKSIM_BINARY, "status", "--server", base_, "--admin-token", "nope"}, dir_.path());
  EXPECT_EQ(wrong.exit_code, 1);
}

TEST_F(StatusCommandTest, LongUrlsAreShownByTheirHostStartAndPathEnd) {
  const std::string long_path = dead_url_ + "/webhooks/frotcom/customers/acme-logistics-0042/tracking";
  create(json{{"id", "long-path"}, {"url", long_path}, {"token", kReceiverToken}});
  ProcessResult r = run({HOOKSIM_BINARY, "status", "--server", base_}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Table t = parse_table(r.out);
  const std::string shown = util::shorten_middle(long_path, 60);
  EXPECT_EQ(shown, dead_url_ + "...tomers/acme-logistics-0042/tracking");
  EXPECT_EQ(t.lines["long-path"].substr(t.columns["URL"], shown.size() + 2), shown + "  ") << r.out;
}

TEST_F(StatusCommandAuthTest, RetryAsksForTheNextAttemptNow) {
  json before = status("down");
  ASSERT_EQ(before["streak_attempts"], 4) << before;
  ProcessResult r =
      run({HOOKSIM_BINARY, "status", "--server", base_, "--admin-token", kAdminToken, "--retry", "down"},
          dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "down: next attempt now (4 failed in the streak since " +
                       before["streak_start"].get<std::string>() + ")\n");
  ASSERT_TRUE(eventually([&] { return status("down")["streak_attempts"] == 5; })) << status("down").dump();
  EXPECT_EQ(status("down")["streak_start"], before["streak_start"]);

  ProcessResult active =
      run({HOOKSIM_BINARY, "status", "--server", base_, "--admin-token", kAdminToken, "--retry", "healthy"},
          dir_.path());
  EXPECT_EQ(active.exit_code, 1);
  EXPECT_EQ(active.err, "hooksim status: " + base_ +
                            " answered HTTP 409 failed_precondition: subscription 'healthy' is active, not "
                            "waiting for a retry\n");
  EXPECT_EQ(
      run({HOOKSIM_BINARY, "status", "--server", base_, "--admin-token", kAdminToken, "--retry", "nope"},
          dir_.path())
          .exit_code,
      1);
  ProcessResult no_token = run({HOOKSIM_BINARY, "status", "--server", base_, "--retry", "down"}, dir_.path());
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.err, HasSubstr("401"));
}

TEST_F(StatusCommandTest, WatchListsAgainUntilInterrupted) {
  Process p({HOOKSIM_BINARY, "status", "--server", base_, "--watch", "0.2"}, dir_.path());
  auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return count(p.out_so_far(), "1 deactivated\n") >= 1; })) << p.out_so_far();
  // A change shows up in a later list.
  HttpAnswer a = http("POST", base_ + "/v1/subscriptions/gone/reactivate", "", "");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_TRUE(eventually([&] { return count(p.out_so_far(), "2 active, 1 retrying, 0 deactivated\n") >= 1; }))
      << p.out_so_far();
  ASSERT_TRUE(p.running());  // it goes on until interrupted
  std::string out = p.out_so_far();
  EXPECT_EQ(out.find("\x1b["), std::string::npos);  // not a terminal: no screen control
  EXPECT_THAT(out, HasSubstr(base_ + " at "));
  EXPECT_THAT(out, HasSubstr(", every 0.2s (Ctrl-C ends)\n\nID "));
  EXPECT_GE(count(out, "\nID  "), 2u);
}

// A cluster node stood in for: a server on its own thread answering GET /v1/subscriptions with `list` and
// GET / with the page; stopped when it goes out of scope (also when an assertion throws).
class FixedListServer {
 public:
  explicit FixedListServer(json list)
      : list_(std::move(list)),
        server_(
            io_, net::HttpServerOptions{.single_thread = true},
            [this](net::HttpRequest&& req, net::Respond respond) {
              if (req.target == "/")
                return respond({200, "text/html; charset=utf-8", std::string(service::kStatusPage), {}});
              respond(req.target == "/v1/subscriptions"
                          ? net::HttpResponse{200, "application/json", list_.dump(), {}}
                          : net::HttpResponse{404, "application/json", "{}", {}});
            },
            net::HttpResponse{413, "application/json", "{}", {}}) {
    if (!server_.listen("127.0.0.1:0").ok()) throw std::runtime_error("listen failed");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FixedListServer() {
    boost::asio::post(io_, [this] { server_.stop(); });
    thread_.join();
  }
  std::string url() const { return server_.url(); }

 private:
  json list_;
  boost::asio::io_context io_;
  net::HttpServer server_;
  std::thread thread_;
};

// A cluster node's list: two subscriptions with an owner, one without.
const json kOwnersList =
    json{{"subscriptions",
          {{{"id", "a"},
            {"url", "http://127.0.0.1:9/a"},
            {"owner", "node-1"},
            {"state", "active"},
            {"backlog", 0}},
           {{"id", "b"}, {"url", "http://127.0.0.1:9/b"}, {"state", "retrying"}, {"backlog", 12}},
           {{"id", "c"},
            {"url", "http://127.0.0.1:9/c"},
            {"owner", "node-22"},
            {"state", "active"},
            {"backlog", 3}}}}};

// A cluster node's list names each subscription's owner (docs/api.md): the table gets an OWNER column,
// last, with "-" for a subscription without one.
TEST(StatusCommand, AnOwnerColumnWhenTheListNamesOwners) {
  TempDir dir("status-owner");
  FixedListServer server(kOwnersList);
  ProcessResult r = run({HOOKSIM_BINARY, "status", "--server", server.url()}, dir.path());

  ASSERT_EQ(r.exit_code, 0) << r.err;
  Table t = parse_table(r.out);
  size_t owner = r.out.find("OWNER");
  ASSERT_NE(owner, std::string::npos) << r.out;
  EXPECT_GT(owner, t.columns["NEXT ATTEMPT"]) << r.out;
  ASSERT_EQ(t.lines.size(), 3u) << r.out;
  EXPECT_EQ(t.lines["a"].substr(owner), "node-1") << r.out;
  EXPECT_EQ(t.lines["b"].substr(owner), "-") << r.out;
  EXPECT_EQ(t.lines["c"].substr(owner), "node-22") << r.out;
  EXPECT_THAT(r.out, HasSubstr("3 subscriptions: 2 active, 1 retrying, 0 deactivated"));
}

// The page against a cluster node: each subscription's owner beneath its id ("on node-1"), none for one
// without.
TEST(StatusPage, ShowsEachSubscriptionsOwnerWhenTheListNamesOwners) {
  ASSERT_TRUE(have_chromium()) << kNoChromium;
  TempDir dir("page-owner");
  FixedListServer server(kOwnersList);
  Browser browser(server.url() + "/", dir);
  ASSERT_TRUE(browser.wait_for("document.querySelectorAll('tr[data-sub]').length === 3"));
  // (null, not an exception, for a missing element)
  EXPECT_EQ(
      browser.eval("(document.querySelector('tr[data-sub=\"a\"] td.c-id .sub') || {}).textContent || null"),
      "on node-1");
  EXPECT_EQ(browser.eval("document.querySelector('tr[data-sub=\"a\"] td.c-id').title"),
            "a, delivered by node node-1");
  EXPECT_EQ(browser.eval("document.querySelectorAll('tr[data-sub=\"b\"] td.c-id .sub').length"), 0);
}

TEST(StatusCommand, BadUsageExitsTwo) {
  TempDir dir("status-usage");
  EXPECT_EQ(run({HOOKSIM_BINARY, "status"}, dir.path()).exit_code, 2);  // --server is required
  ProcessResult scheme = run({HOOKSIM_BINARY, "status", "--server", "ftp://127.0.0.1:1"}, dir.path());
  EXPECT_EQ(scheme.exit_code, 2);
  EXPECT_THAT(scheme.err, HasSubstr("--server"));
  EXPECT_EQ(run({HOOKSIM_BINARY, "status", "--server", "http://x", "--timeout", "0"}, dir.path()).exit_code,
            2);
  EXPECT_EQ(run({HOOKSIM_BINARY, "status", "--server", "http://x", "--watch", "0"}, dir.path()).exit_code, 2);
  ProcessResult both =
      run({HOOKSIM_BINARY, "status", "--server", "http://x", "--watch", "1", "--retry", "a"}, dir.path());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--retry and --watch"));
}

}  // namespace
}  // namespace hooksim
