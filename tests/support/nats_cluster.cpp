#include "tests/support/nats_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hooksim::harness {
namespace {

using namespace std::chrono_literals;

constexpr auto kUpLimit = 20s;
constexpr auto kPoll = 20ms;
constexpr int kStartAttempts = 3;

bool executable(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A port that was free on 127.0.0.1 a moment ago, for each of `count` sockets bound to port 0 at the same
// time (so the ports differ).
std::vector<uint16_t> free_ports(size_t count) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      break;
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (ports.size() != count)
    throw std::runtime_error(std::string("NatsCluster: no free port: ") + strerror(errno));
  return ports;
}

std::string tail(const std::string& s, size_t n = 8000) {
  return s.size() <= n ? s : "...\n" + s.substr(s.size() - n);
}

}  // namespace

std::string NatsCluster::server_binary() {
  if (const char* env = std::getenv("HOOKSIM_NATS_SERVER"); env != nullptr && *env != '\0')
    return executable(env) ? env : "";
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream s(path);
    for (std::string d; std::getline(s, d, ':');)
      if (!d.empty()) dirs.push_back(d);
  }
  for (const char* d : {"/usr/sbin", "/usr/local/sbin", "/sbin"}) dirs.emplace_back(d);
  for (const auto& d : dirs) {
    std::filesystem::path p = std::filesystem::path(d) / "nats-server";
    if (executable(p)) return p.string();
  }
  return "";
}

bool NatsCluster::available() {
  return !server_binary().empty();
}

NatsCluster::NatsCluster(size_t nodes) : binary_(server_binary()), nodes_(nodes) {
  if (nodes == 0) throw std::invalid_argument("NatsCluster: no nodes");
  if (binary_.empty()) throw std::runtime_error("NatsCluster: no nats-server binary (see available())");
  std::string templ = (std::filesystem::temp_directory_path() / "hooksim-nats-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error(std::string("NatsCluster: mkdtemp: ") + strerror(errno));
  dir_ = templ;
  for (size_t i = 0; i < nodes; ++i) nodes_[i].name = "node-" + std::to_string(i);
  try {
    for (int attempt = 1;; ++attempt) {
      pick_ports();
      for (size_t i = 0; i < nodes; ++i) write_config(i);
      for (size_t i = 0; i < nodes; ++i) spawn(i);
      auto deadline = Clock::now() + kUpLimit;
      size_t down = nodes;  // the first node that did not come up
      for (size_t i = 0; i < nodes && down == nodes; ++i)
        if (!wait_up(i, deadline)) down = i;
      if (down == nodes) return;
      // A port taken between free_ports() and the server's bind: start everything again on new ports.
      bool port_taken = !running(down) && log(down).find("address already in use") != std::string::npos;
      if (!port_taken || attempt == kStartAttempts)
        fail(down, running(down) ? "not ready within 20 s" : "exited while starting");
      kill_all();
      for (size_t i = 0; i < nodes; ++i) {
        std::filesystem::remove_all(dir_ / nodes_[i].name);
        std::filesystem::remove(dir_ / (nodes_[i].name + ".log"));
      }
    }
  } catch (...) {
    kill_all();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

NatsCluster::~NatsCluster() {
  kill_all();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string NatsCluster::url(size_t i) const {
  return "nats://127.0.0.1:" + std::to_string(nodes_.at(i).client_port);
}

std::string NatsCluster::urls() const {
  std::string all;
  for (size_t i = 0; i < nodes_.size(); ++i) all += (i == 0 ? "" : ",") + url(i);
  return all;
}

std::string NatsCluster::monitor_url(size_t i) const {
  return "http://127.0.0.1:" + std::to_string(nodes_.at(i).monitor_port);
}

std::filesystem::path NatsCluster::config_path(size_t i) const {
  return dir_ / (nodes_.at(i).name + ".conf");
}

void NatsCluster::pick_ports() {
  std::vector<uint16_t> ports = free_ports(3 * nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].client_port = ports[3 * i];
    nodes_[i].cluster_port = ports[3 * i + 1];
    nodes_[i].monitor_port = ports[3 * i + 2];
  }
}

void NatsCluster::write_config(size_t i) const {
  const Node& n = nodes_.at(i);
  std::ofstream out(config_path(i));
  out << "server_name: \"" << n.name << "\"\n"
      << "listen: \"127.0.0.1:" << n.client_port << "\"\n"
      << "http: \"127.0.0.1:" << n.monitor_port << "\"\n"
      << "jetstream {\n  store_dir: \"" << (dir_ / n.name).string() << "\"\n}\n";
  if (nodes_.size() > 1) {
    // no_advertise: a client knows only the servers it was given, so that stopping them cuts it off (a
    // partition), instead of it reconnecting to the others it would have learnt of.
    out << "cluster {\n  name: \"hooksim-test\"\n  no_advertise: true\n  listen: \"127.0.0.1:"
        << n.cluster_port << "\"\n  routes: [\n";
    for (size_t j = 0; j < nodes_.size(); ++j)
      if (j != i) out << "    \"nats-route://127.0.0.1:" << nodes_[j].cluster_port << "\"\n";
    out << "  ]\n}\n";
  }
  if (!out.flush()) throw std::runtime_error("NatsCluster: cannot write " + config_path(i).string());
}

void NatsCluster::spawn(size_t i) {
  Node& n = nodes_.at(i);
  std::string log_path = (dir_ / (n.name + ".log")).string();
  std::string config = config_path(i).string();
  std::vector<std::string> args = {binary_, "-c", config};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("NatsCluster: open " + log_path + ": " + strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here on (the test process may have other threads).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::closefrom(3);
    ::execv(argv[0], argv.data());
    const char msg[] = "NatsCluster: execv failed\n";
    [[maybe_unused]] auto w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(log_fd);
  if (pid < 0) throw std::runtime_error(std::string("NatsCluster: fork: ") + strerror(fork_errno));
  n.pid = pid;
}

bool NatsCluster::wait_up(size_t i, Clock::time_point deadline) {
  for (;;) {
    if (!running(i)) return false;
    if (monitor_get(i, "/healthz?js-enabled-only=true") == 200) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
}

void NatsCluster::kill(size_t i) {
  Node& n = nodes_.at(i);
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  while (::waitpid(n.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  n.pid = -1;
}

void NatsCluster::stop(size_t i) {
  Node& n = nodes_.at(i);
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGTERM);
  auto deadline = Clock::now() + 15s;
  while (running(i)) {
    if (Clock::now() > deadline) {
      kill(i);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void NatsCluster::start(size_t i) {
  if (running(i)) return;
  spawn(i);
  if (!wait_up(i, Clock::now() + kUpLimit))
    fail(i, running(i) ? "not ready within 20 s after start()" : "exited after start()");
}

bool NatsCluster::running(size_t i) {
  Node& n = nodes_.at(i);
  if (n.pid <= 0) return false;
  pid_t r;
  while ((r = ::waitpid(n.pid, nullptr, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == 0) return true;
  n.pid = -1;  // ended (reaped now), or not our child any more
  return false;
}

std::string NatsCluster::log(size_t i) const {
  return read_all(dir_ / (nodes_.at(i).name + ".log"));
}

std::string NatsCluster::logs() const {
  std::string all;
  for (size_t i = 0; i < nodes_.size(); ++i) all += "--- " + nodes_[i].name + " ---\n" + tail(log(i)) + "\n";
  return all;
}

bool NatsCluster::wait_jetstream_ready(Clock::time_point deadline) {
  for (;;) {
    bool any = false, all = true;
    for (size_t i = 0; i < nodes_.size() && all; ++i) {
      if (!running(i)) continue;
      any = true;
      all = monitor_get(i, "/healthz?js-server-only=true") == 200;
    }
    if (any && all) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
}

int NatsCluster::monitor_get(size_t i, const std::string& path, std::string* body) const {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(nodes_.at(i).monitor_port);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    // HTTP/1.0: the server closes the connection after its answer, so the answer ends at EOF.
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t got;
      while (response.size() < (1 << 20) && (got = ::recv(fd, buf, sizeof buf, 0)) > 0)
        response.append(buf, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  // "HTTP/1.0 200 OK\r\n..."
  int status = 0;
  if (response.starts_with("HTTP/") && response.size() > 12) status = std::atoi(response.c_str() + 9);
  if (body != nullptr) {
    size_t start = response.find("\r\n\r\n");
    *body = start == std::string::npos ? "" : response.substr(start + 4);
  }
  return status;
}

std::string NatsCluster::meta_leader() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::string body;
    if (!running(i) || monitor_get(i, "/jsz", &body) != 200) continue;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object() || !j.contains("meta_cluster")) continue;
    std::string leader = j["meta_cluster"].value("leader", "");
    if (!leader.empty()) return leader;
  }
  return "";
}

std::string NatsCluster::stream_leader(const std::string& stream) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::string body;
    if (!running(i) || monitor_get(i, "/jsz?streams=true", &body) != 200) continue;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& account : j.value("account_details", nlohmann::json::array()))
      for (const auto& s : account.value("stream_detail", nlohmann::json::array()))
        if (s.value("name", "") == stream && s.contains("cluster")) {
          std::string leader = s["cluster"].value("leader", "");
          if (!leader.empty()) return leader;
        }
  }
  return "";
}

void NatsCluster::kill_all() {
  for (size_t i = 0; i < nodes_.size(); ++i) kill(i);
}

void NatsCluster::fail(size_t i, const std::string& what) const {
  throw std::runtime_error("NatsCluster: " + nodes_.at(i).name + " (" + binary_ + " -c " +
                           config_path(i).string() + ") " + what + "\n--- its log ---\n" + tail(log(i)));
}

}  // namespace hooksim::harness
