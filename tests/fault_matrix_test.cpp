// The receiver fault matrix of issue 7: misbehaving receivers on loopback, each driven through the real
// delivery path (`hooksim run`'s wiring, cli::run_scenario: the accelerated clock, the engine, the store,
// CurlTransport on Asio), each a classified failure in the attempt log; and in every case a healthy
// subscription of the same engine, whose events are published interleaved with the faulty one's, delivers
// all of them in order while the faulty one is stuck (head-of-line blocking is per subscription only).
//
// Where the fault is a partial answer the misbehaving server controls (reset mid-response, invalid chunked
// encoding, a 10 MB body, a redirect), it holds the faulty attempt in flight until the engine has logged
// every healthy delivery: the order of the log then proves the healthy subscription was served *while* the
// faulty attempt was in flight, with no timing involved.
//
// The DNS case runs in a child process in its own user, mount and network namespaces: /etc/resolv.conf is
// bind-mounted to point at a stub DNS server on the namespace's own 127.0.0.1:53, so glibc's resolver (in
// curl's resolver thread) makes a real query that never leaves the namespace's loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

#include "cli/scenario_run.h"
#include "net/curl_transport.h"
#include "receiver/server.h"
#include "sim/scenario.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kHealthyEvents = 20;
constexpr int kFaultyEvents = 3;

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("hooksim-fault-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Opens once; wait() returns whether it opened within the limit (a hang guard, not a timing expectation).
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds limit = 30s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// The attempt log as the engine writes it (on the engine's thread): keeps the lines and opens `gate` once
// the healthy subscription's last delivery is logged.
class LogSink : public std::streambuf {
 public:
  explicit LogSink(Gate& gate) : gate_(gate) {}
  std::vector<json> records;

 protected:
  int overflow(int ch) override {
    if (ch == traits_type::eof()) return 0;
    if (ch != '\n') {
      line_ += static_cast<char>(ch);
      return ch;
    }
    json j = json::parse(line_, nullptr, false);
    line_.clear();
    if (j.is_object() && j.value("kind", "") == "attempt") {
      records.push_back(j);
      if (j["sub"] == "healthy" && j["outcome"] == "delivered" && ++healthy_delivered_ == kHealthyEvents)
        gate_.open();
    }
    return ch;
  }

 private:
  Gate& gate_;
  std::string line_;
  int healthy_delivered_ = 0;
};

// --- a raw TCP server that misbehaves as told ---

class FaultServer {
 public:
  // `serve(fd, n)` handles the n-th connection (from 0) on the server's thread; it owns `fd` unless it
  // returns true ("close it for me").
  using Handler = std::function<bool(int fd, int n)>;

  explicit FaultServer(Handler serve) : serve_(std::move(serve)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~FaultServer() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string url(const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + "/hook";
  }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  bool stopping() const { return stopping_; }

  // Reads one request (headers and a Content-Length body). False if the client closed or the server stops.
  bool read_request(int fd) {
    std::string data;
    char buf[4096];
    size_t body_needed = std::string::npos;
    for (;;) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos && body_needed == std::string::npos) {
        body_needed = 0;
        std::string head = data.substr(0, end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (auto p = head.find("content-length:"); p != std::string::npos)
          body_needed = std::stoul(head.substr(p + 15));
        body_needed += end + 4;
      }
      if (body_needed != std::string::npos && data.size() >= body_needed) {
        ++requests_;
        return true;
      }
      if (!readable(fd)) return false;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<size_t>(n));
    }
  }
  // Sends everything; false when the client is gone.
  static bool send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Waits until the client closes the connection (or the server stops).
  void wait_closed(int fd) {
    char buf[4096];
    while (readable(fd) && ::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  }
  // Closes with a TCP reset (RST) instead of an orderly FIN.
  static void reset(int fd) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
  }

 private:
  // Waits for input in short polls so that a stopping server is noticed; false when stopping.
  bool readable(int fd) {
    while (!stopping_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }
  void loop() {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (serve_(fd, connections_++)) ::close(fd);
    }
  }

  Handler serve_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A mock receiver (receiver::MockReceiver) answering 200 on its own thread.
class HealthyReceiver {
 public:
  explicit HealthyReceiver(receiver::ReceiverOptions options = {},
                           const std::string& listen = "127.0.0.1:0") {
    rx_ = std::make_unique<receiver::MockReceiver>(io_, std::move(options));
    Status st = rx_->listen(listen);
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HealthyReceiver() {
    rx_->stop();
    thread_.join();
  }
  std::string url() const { return rx_->url() + "/hook"; }
  uint16_t port() const { return rx_->port(); }
  receiver::ReceiverStats stats() const { return rx_->stats(); }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<receiver::MockReceiver> rx_;
  std::thread thread_;
};

// --- the run ---

struct MatrixRun {
  std::vector<json> records;  // attempt records in log (completion) order
  sim::Summary summary;
  std::string error;  // the run itself failed
};

// Runs the faulty and the healthy subscription through `hooksim run`'s path: kFaultyEvents events for
// `faulty_url` interleaved with kHealthyEvents for `healthy_url`, all published at t=0. The faulty
// subscription makes 2 attempts (one immediate retry; the next retry lies after the end of the run).
MatrixRun run_matrix(const std::string& faulty_url, const std::string& healthy_url, Gate& gate,
                     const std::string& attempt_timeout = "30s", net::CurlOptions curl = {}) {
  json faulty_policy = {{"immediate_retries", 1}, {"delays", {"1h"}}, {"attempt_timeout", attempt_timeout}};
  json events = json::array();
  for (int i = 0; i < kHealthyEvents; ++i) {
    if (i < kFaultyEvents)
      events.push_back({{"at", "0s"}, {"type", "f"}, {"id", "f-" + std::to_string(i + 1)}});
    events.push_back({{"at", "0s"}, {"type", "h"}, {"id", "h-" + std::to_string(i + 1)}});
  }
  json sc = {{"duration", "30m"},
             {"subscriptions",
              {{{"id", "faulty"},
                {"url", faulty_url},
                {"token", "t0k"},
                {"filter", {{"types", {"f"}}}},
                {"policy", faulty_policy}},
               {{"id", "healthy"}, {"url", healthy_url}, {"token", "t0k"}, {"filter", {{"types", {"h"}}}}}}},
             {"events", events}};
  MatrixRun out;
  auto scenario = sim::parse_scenario(sc);
  if (!scenario.ok()) {
    out.error = scenario.status().message();
    return out;
  }
  LogSink sink(gate);
  std::ostream log(&sink);
  sim::RunOptions options;
  options.log = &log;
  auto summary = cli::run_scenario(*scenario, options, "", 1.0, curl);
  gate.open();  // never leave a server waiting
  if (!summary.ok()) {
    out.error = summary.status().message();
    return out;
  }
  out.summary = *summary;
  out.records = std::move(sink.records);
  return out;
}

// The checks every fault shares; "" when they hold, otherwise what failed (a string, so that the DNS case
// can report it from its child process).
std::string check_matrix(const MatrixRun& run, const std::string& error_class, int status = 0,
                         bool held = false) {
  std::ostringstream problems;
  if (!run.error.empty()) return "the run failed: " + run.error;
  std::vector<const json*> faulty, healthy;
  size_t last_healthy = 0, first_faulty = run.records.size();
  for (size_t i = 0; i < run.records.size(); ++i) {
    const json& r = run.records[i];
    if (r["sub"] == "faulty") {
      faulty.push_back(&r);
      first_faulty = std::min(first_faulty, i);
    } else {
      healthy.push_back(&r);
      last_healthy = i;
    }
  }
  // The faulty subscription: its head, attempted twice, each a failure of the expected class.
  if (faulty.size() != 2) problems << "faulty: " << faulty.size() << " attempts, expected 2\n";
  for (const json* r : faulty) {
    if (r->value("outcome", "") != "failed" || r->value("error", "") != error_class ||
        r->value("status", -1) != status || (*r)["seq"] != 1)
      problems << "faulty: expected a failure of class '" << error_class << "' with status " << status
               << " for seq 1, got " << r->dump() << "\n";
  }
  // The healthy subscription: every event delivered, first time, in order.
  if (healthy.size() != static_cast<size_t>(kHealthyEvents))
    problems << "healthy: " << healthy.size() << " attempts, expected " << kHealthyEvents << "\n";
  for (size_t i = 0; i < healthy.size(); ++i) {
    const json& r = *healthy[i];
    if (r["outcome"] != "delivered" || r["seq"] != i + 1 || r["attempt"] != 1)
      problems << "healthy: record " << i << " is not the first, successful attempt of seq " << i + 1 << ": "
               << r.dump() << "\n";
  }
  // Held faults: every healthy delivery completed while the faulty attempt was still in flight.
  if (held && !(last_healthy < first_faulty))
    problems << "healthy deliveries did not all complete while the faulty attempt was held in flight\n";
  // The summary agrees: the faulty subscription is stuck with its backlog, the healthy one drained.
  for (const auto& s : run.summary.subscriptions) {
    if (s.id == "faulty" && (s.delivered != 0 || s.backlog != kFaultyEvents || s.state != "retrying"))
      problems << "faulty summary: delivered " << s.delivered << ", backlog " << s.backlog << ", state "
               << s.state << "\n";
    if (s.id == "healthy" && (s.delivered != kHealthyEvents || s.backlog != 0 || s.state != "active"))
      problems << "healthy summary: delivered " << s.delivered << ", backlog " << s.backlog << ", state "
               << s.state << "\n";
  }
  if (run.summary.order_violations != 0) problems << run.summary.order_violations << " order violations\n";
  return problems.str();
}

// --- the faults ---

TEST(FaultMatrix, ConnectionRefusedIsAConnectFailure) {
  int port;
  {
    FaultServer closed([](int, int) { return true; });
    port = std::stoi(closed.url().substr(std::string("http://127.0.0.1:").size()));
  }  // closed: nothing listens on the port any more
  HealthyReceiver healthy;
  Gate gate;
  MatrixRun run = run_matrix("http://127.0.0.1:" + std::to_string(port) + "/hook", healthy.url(), gate);
  EXPECT_EQ(check_matrix(run, "connect"), "");
}

TEST(FaultMatrix, ResetMidResponseIsAResetFailure) {
  Gate gate;
  FaultServer server([&](int fd, int) {
    if (server.read_request(fd)) {
      // Headers and half of the promised body, then (once the healthy subscription is done) a TCP reset.
      FaultServer::send_all(fd, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":");
      gate.wait();
    }
    FaultServer::reset(fd);
    return false;
  });
  HealthyReceiver healthy;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate);
  EXPECT_EQ(check_matrix(run, "reset", 200, /*held=*/true), "");
  EXPECT_EQ(server.requests(), 2);
}

TEST(FaultMatrix, AReceiverThatNeverAnswersIsATimeout) {
  FaultServer server([&](int fd, int) {
    server.read_request(fd);
    server.wait_closed(fd);  // accepted, read, never answered: the client gives up
    return true;
  });
  HealthyReceiver healthy;
  Gate gate;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate, "1s");
  EXPECT_EQ(check_matrix(run, "timeout"), "");
  EXPECT_EQ(server.requests(), 2);
}

TEST(FaultMatrix, ASlowlorisResponseTricklingPastTheTimeoutIsATimeout) {
  std::atomic<size_t> trickled{0};
  FaultServer server([&](int fd, int) {
    if (!server.read_request(fd)) return true;
    // A valid answer, one byte every 50 ms, with an endless header block: bytes keep coming, the answer
    // never completes, the attempt's total timeout ends it.
    std::string answer = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n";
    for (size_t i = 0; !server.stopping(); ++i) {
      char ch = i < answer.size() ? answer[i] : "x-slow: aaaa\r\n"[(i - answer.size()) % 14];
      if (!FaultServer::send_all(fd, std::string_view(&ch, 1))) break;
      ++trickled;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        char buf[64];
        if (::recv(fd, buf, sizeof buf, 0) <= 0) break;  // the client closed
      }
    }
    return true;
  });
  HealthyReceiver healthy;
  Gate gate;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate, "1s");
  EXPECT_EQ(check_matrix(run, "timeout", /*status=*/200),
            "");  // the status line arrived; the answer never did
  EXPECT_GT(trickled.load(), 0u);
}

TEST(FaultMatrix, ATenMegabyteErrorBodyIsCutOffAndTheStatusIsTheFailure) {
  Gate gate;
  FaultServer server([&](int fd, int) {
    if (server.read_request(fd)) {
      gate.wait();
      std::string chunk(64 * 1024, 'x');
      bool sent =
          FaultServer::send_all(fd, "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 10485760\r\n\r\n");
      for (int i = 0; sent && i < 160; ++i) sent = FaultServer::send_all(fd, chunk);  // 160 x 64 KiB = 10 MiB
    }
    return true;
  });
  HealthyReceiver healthy;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate);
  EXPECT_EQ(check_matrix(run, "status", 500, /*held=*/true), "");
}

// With a 2xx status the receiver accepted the event (rule 3: success is a 2xx answer); the body is not read
// past CurlOptions::max_response_body (64 KiB), so the 10 MB are not waited for.
TEST(FaultMatrix, ATenMegabyteBodyWithA2xxIsDeliveredWithoutReadingIt) {
  std::atomic<int> requests{0};
  FaultServer server([&](int fd, int) {
    while (server.read_request(fd)) {
      ++requests;  // counted before answering: the sender may finish before this thread's writes fail
      std::string chunk(64 * 1024, 'x');
      bool sent = FaultServer::send_all(fd, "HTTP/1.1 200 OK\r\ncontent-length: 10485760\r\n\r\n");
      for (int i = 0; sent && i < 160; ++i) sent = FaultServer::send_all(fd, chunk);
      if (!sent) break;
    }
    return true;
  });
  HealthyReceiver healthy;
  Gate gate;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate);
  ASSERT_EQ(run.error, "");
  std::vector<std::string> outcomes;
  for (const auto& r : run.records)
    if (r["sub"] == "faulty")
      outcomes.push_back(r["outcome"].get<std::string>() + " " + std::to_string(r["status"].get<int>()));
  EXPECT_EQ(outcomes, std::vector<std::string>(kFaultyEvents, "delivered 200"));
  EXPECT_EQ(requests.load(), kFaultyEvents);  // one request per event: none was retried
}

TEST(FaultMatrix, InvalidChunkedEncodingIsAProtocolFailure) {
  Gate gate;
  FaultServer server([&](int fd, int) {
    if (server.read_request(fd)) {
      FaultServer::send_all(fd, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
      gate.wait();
      FaultServer::send_all(fd, "zz-not-hex\r\nworld\r\n0\r\n\r\n");  // a chunk size that is not hexadecimal
      server.wait_closed(fd);
    }
    return true;
  });
  HealthyReceiver healthy;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate);
  EXPECT_EQ(check_matrix(run, "protocol", 200, /*held=*/true), "");
}

TEST(FaultMatrix, ARedirectLoopIsAStatusFailureAndIsNeverFollowed) {
  Gate gate;
  std::string self_url;
  FaultServer server([&](int fd, int) {
    while (server.read_request(fd)) {
      gate.wait();
      // Redirects to itself: following it would loop.
      if (!FaultServer::send_all(
              fd, "HTTP/1.1 302 Found\r\nlocation: " + self_url + "\r\ncontent-length: 0\r\n\r\n"))
        break;
    }
    return true;
  });
  self_url = server.url();
  HealthyReceiver healthy;
  MatrixRun run = run_matrix(server.url(), healthy.url(), gate);
  EXPECT_EQ(check_matrix(run, "status", 302, /*held=*/true), "");
  EXPECT_EQ(server.requests(), 2);  // one request per attempt: the Location was never requested
}

// --- TLS ---

// Writes a self-signed certificate for 127.0.0.1 (and its key) valid from now + `from` to now + `until`.
void write_certificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                       const std::string& name, long from_seconds, long until_seconds) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::hash<std::string>{}(name)&0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(x), from_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), until_seconds);
  X509_set_pubkey(x, pkey);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
  FILE* f = std::fopen(cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

// Three certificates: `valid` and `expired` are trusted (in ca.pem), `untrusted` is not.
struct Certificates {
  std::filesystem::path dir = fresh_dir("tls");
  std::filesystem::path ca = dir / "ca.pem";
  std::filesystem::path cert(const std::string& n) const { return dir / (n + ".pem"); }
  std::filesystem::path key(const std::string& n) const { return dir / (n + ".key"); }
  Certificates() {
    write_certificate(cert("valid"), key("valid"), "hooksim-valid", -3600, 86400);
    write_certificate(cert("expired"), key("expired"), "hooksim-expired", -2 * 86400, -86400);
    write_certificate(cert("untrusted"), key("untrusted"), "hooksim-untrusted", -3600, 86400);
    std::ofstream out(ca);
    for (const char* n : {"valid", "expired"}) out << std::ifstream(cert(n)).rdbuf();
  }
  ~Certificates() { std::filesystem::remove_all(dir); }
  receiver::ReceiverOptions receiver(const std::string& n) const {
    receiver::ReceiverOptions o;
    o.tls_cert_path = cert(n).string();
    o.tls_key_path = key(n).string();
    return o;
  }
};

TEST(FaultMatrix, TlsWithAnUntrustedCertificateIsATlsFailure) {
  Certificates certs;
  HealthyReceiver faulty(certs.receiver("untrusted"));
  HealthyReceiver healthy(certs.receiver("valid"));  // HTTPS too, and trusted: only trust differs
  net::CurlOptions curl;
  curl.ca_file = certs.ca.string();
  Gate gate;
  MatrixRun run = run_matrix(faulty.url(), healthy.url(), gate, "30s", curl);
  EXPECT_EQ(check_matrix(run, "tls"), "");
  EXPECT_EQ(faulty.stats().requests, 0u);  // nothing was sent over the unverified connection
}

TEST(FaultMatrix, TlsWithAnExpiredCertificateIsATlsFailure) {
  Certificates certs;
  HealthyReceiver faulty(certs.receiver("expired"));  // trusted, but expired yesterday
  HealthyReceiver healthy(certs.receiver("valid"));
  net::CurlOptions curl;
  curl.ca_file = certs.ca.string();
  Gate gate;
  MatrixRun run = run_matrix(faulty.url(), healthy.url(), gate, "30s", curl);
  EXPECT_EQ(check_matrix(run, "tls"), "");
  EXPECT_EQ(faulty.stats().requests, 0u);
}

// --- DNS, in private namespaces ---

// A stub DNS server on 127.0.0.1:53 (UDP): `name` has the A record 127.0.0.1 (and no AAAA record), every
// other name is NXDOMAIN. Counts the queries for each name.
class StubDns {
 public:
  explicit StubDns(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (ok_) thread_ = std::thread([this] { loop(); });
  }
  ~StubDns() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  int queries(const std::string& name) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& q : queried_) n += q == name;
    return n;
  }

 private:
  void loop() {
    unsigned char buf[512];
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      // The question: labels from offset 12, then type and class.
      std::string qname;
      size_t i = 12;
      while (i < static_cast<size_t>(n) && buf[i] != 0) {
        if (!qname.empty()) qname += '.';
        qname.append(reinterpret_cast<char*>(buf + i + 1), buf[i]);
        i += buf[i] + 1;
      }
      size_t question_end = i + 5;
      if (question_end > static_cast<size_t>(n)) continue;
      uint16_t qtype = static_cast<uint16_t>(buf[i + 1] << 8 | buf[i + 2]);
      {
        std::lock_guard lock(mu_);
        queried_.push_back(qname);
      }
      std::string answer(reinterpret_cast<char*>(buf), question_end);
      answer[2] = static_cast<char>(0x81);  // QR, RD
      answer[6] = answer[7] = answer[8] = answer[9] = answer[10] = answer[11] = 0;
      if (qname == name_) {
        answer[3] = static_cast<char>(0x80);  // RA, NOERROR
        if (qtype == 1) {
          answer[7] = 1;  // one answer: 127.0.0.1, TTL 0
          answer += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x7f\x00\x00\x01", 16);
        }
      } else {
        answer[3] = static_cast<char>(0x83);  // RA, NXDOMAIN
      }
      ::sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  std::string name_;
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> queried_;
};

bool write_text(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// Moves this (single-threaded) process into new user, mount and network namespaces whose resolver is a
// loopback stub. "" on success, otherwise why not.
std::string enter_private_namespaces(const std::filesystem::path& resolv_conf) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) != 0)
    return std::string("unshare: ") + std::strerror(errno);
  write_text("/proc/self/setgroups", "deny");
  if (!write_text("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
      !write_text("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n"))
    return "cannot write the uid/gid maps";
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return std::string("mount --make-rprivate /: ") + std::strerror(errno);
  std::ofstream(resolv_conf) << "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
  if (::mount(resolv_conf.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
    return std::string("bind-mount /etc/resolv.conf: ") + std::strerror(errno);
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  up = up && ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  ::close(s);
  if (!up) return std::string("cannot bring up lo: ") + std::strerror(errno);
  return "";
}

constexpr int kUnavailable = 77;

// The DNS case, in the child: exit status 0 when every check holds, 1 otherwise, kUnavailable when the
// namespaces cannot be made here; a line on stderr either way.
int dns_case_in_private_namespaces() {
  auto dir = fresh_dir("dns");
  if (std::string why = enter_private_namespaces(dir / "resolv.conf"); !why.empty()) {
    std::fprintf(stderr, "dns case: unavailable (%s)\n", why.c_str());
    return kUnavailable;
  }
  StubDns dns("healthy.hooksim.test");
  if (!dns.ok()) {
    std::fprintf(stderr, "dns case: unavailable (cannot bind 127.0.0.1:53: %s)\n", std::strerror(errno));
    return kUnavailable;
  }
  std::string problems;
  {
    HealthyReceiver healthy;
    Gate gate;
    // Both names go through curl's threaded resolver and glibc: the healthy one resolves (the stub answers
    // 127.0.0.1), the faulty one gets NXDOMAIN.
    std::string port = std::to_string(healthy.port());
    MatrixRun run = run_matrix("http://no-such-receiver.hooksim.test:" + port + "/hook",
                               "http://healthy.hooksim.test:" + port + "/hook", gate);
    problems = check_matrix(run, "dns");
    if (dns.queries("no-such-receiver.hooksim.test") == 0)
      problems += "the stub was never asked for the faulty name\n";
    if (dns.queries("healthy.hooksim.test") == 0)
      problems += "the stub was never asked for the healthy name\n";
  }
  std::filesystem::remove_all(dir);
  std::fprintf(stderr, "dns case: %s\n%s", problems.empty() ? "ok" : "FAILED", problems.c_str());
  return problems.empty() ? 0 : 1;
}

TEST(FaultMatrix, ADnsNameThatDoesNotResolveIsADnsFailure) {
  // "threadsafe": the child re-executes this binary up to here, so it is single-threaded, as unshare()
  // into a new user namespace requires.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  int code = -1;
  EXPECT_EXIT(
      std::_Exit(dns_case_in_private_namespaces()),
      [&](int status) {
        code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return code == 0 || code == kUnavailable;
      },
      "dns case: (ok|unavailable)");
  if (code == kUnavailable) GTEST_SKIP() << "user/network namespaces are not available here";
}

}  // namespace
}  // namespace hooksim
