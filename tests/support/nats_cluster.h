// NatsCluster: a throwaway NATS JetStream cluster of N `nats-server` processes on 127.0.0.1, for the tests of
// hooksim's cluster mode.
//
// Test support, not part of hooksim's libraries. Each node gets three ports that were free a moment before
// (client, cluster route, HTTP monitor; the kernel's pick for a socket bound to port 0), a config file, a
// JetStream store and a log file (its stdout and stderr), all in a fresh temporary directory that the
// destructor removes. With more than one node every node routes to every other under the cluster name
// "hooksim-test", with no_advertise (a client knows only the URLs it was given, so stopping those cuts it
// off); one node runs without a cluster block (plain single-server JetStream).
//
// Readiness: the constructor and start() return once each node they started answers
// GET /healthz?js-enabled-only=true with 200 on its monitor port (the server accepts connections and
// JetStream is enabled). That is not enough to create a replicated stream: the JetStream meta group must have
// elected a leader first, which wait_jetstream_ready() waits for (GET /healthz?js-server-only=true: 200 once
// the node knows the meta leader and is current with it). nats-server 2.9 elects a fresh cluster's meta
// leader in well under a second on loopback; after the SIGKILL of a leader the others wait out a Raft
// election timeout of 4-9 s (not configurable in 2.9) before electing a new one.
//
// Nodes are children of the test process (fork + exec, PR_SET_PDEATHSIG: they get SIGKILL if the thread that
// started them ends, so a crashed test leaves no server behind; start them from the test's main thread).
// Failures to come up throw std::runtime_error carrying the node's log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hooksim::harness {

class NatsCluster {
 public:
  using Clock = std::chrono::steady_clock;

  // Whether a nats-server binary can be found: $HOOKSIM_NATS_SERVER if set, else `nats-server` on PATH or in
  // /usr/sbin, /usr/local/sbin or /sbin (Debian installs it in /usr/sbin, which a non-root PATH often lacks).
  // Tests GTEST_SKIP without it.
  static bool available();
  // Its path; empty when !available().
  static std::string server_binary();

  // Starts `nodes` servers and waits (20 s at most) until each answers /healthz?js-enabled-only=true. A node
  // that cannot bind its ports (taken in between by another process) makes the whole cluster start again on
  // new ports, twice at most.
  explicit NatsCluster(size_t nodes = 3);
  ~NatsCluster();  // SIGKILLs every node and removes the directory
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  size_t size() const { return nodes_.size(); }
  // "nats://127.0.0.1:PORT", the client URL of node i.
  std::string url(size_t i) const;
  // Every node's url(), comma-joined (what natsConnection_ConnectTo and `hooksim serve --cluster` take).
  std::string urls() const;
  // "http://127.0.0.1:PORT", node i's monitoring endpoint (/healthz, /jsz, /varz, ...).
  std::string monitor_url(size_t i) const;
  uint16_t client_port(size_t i) const { return nodes_.at(i).client_port; }
  uint16_t cluster_port(size_t i) const { return nodes_.at(i).cluster_port; }
  uint16_t monitor_port(size_t i) const { return nodes_.at(i).monitor_port; }
  // The temporary directory: node-I.conf, node-I.log and node-I/ (the JetStream store_dir) for each node.
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path config_path(size_t i) const;

  // SIGKILL + waitpid: a crash (no leadership hand-over, no flush).
  void kill(size_t i);
  // SIGTERM + waitpid (a clean shutdown; SIGKILL after 15 s if it has not ended).
  void stop(size_t i);
  // Starts a node that was killed or stopped again, with the same config, ports and data, and waits until it
  // answers /healthz?js-enabled-only=true (20 s at most; throws otherwise). No-op if it is running.
  void start(size_t i);
  // Whether node i's process is alive (reaps it if it has ended).
  bool running(size_t i);
  // Everything node i has written to its log so far.
  std::string log(size_t i) const;
  // Every node's log, each under a "--- node-I ---" line (for a failing test's message).
  std::string logs() const;

  // Waits until every running node answers GET /healthz?js-server-only=true with 200: it knows the JetStream
  // meta leader and is current with it, so streams and KV buckets (replicated ones too, given enough nodes
  // up) can be created. False if the deadline passes first.
  bool wait_jetstream_ready(Clock::time_point deadline);
  bool wait_jetstream_ready(Clock::duration within = std::chrono::seconds(20)) {
    return wait_jetstream_ready(Clock::now() + within);
  }
  // The HTTP status of GET monitor_url(i) + path (0 when the node does not answer), with its body in *body.
  int monitor_get(size_t i, const std::string& path, std::string* body = nullptr) const;
  // Node i's server_name, "node-I" (what /jsz and jsStreamInfo.Cluster->Leader call it).
  const std::string& name(size_t i) const { return nodes_.at(i).name; }
  // The name of the JetStream meta leader, and of the leader of a stream (a KV bucket "B" is the stream
  // "KV_B"), as the first running node that knows one reports it (/jsz); empty if none does.
  std::string meta_leader();
  std::string stream_leader(const std::string& stream);

 private:
  struct Node {
    std::string name;  // node-I (its server_name)
    uint16_t client_port = 0;
    uint16_t cluster_port = 0;
    uint16_t monitor_port = 0;
    pid_t pid = -1;
  };

  void pick_ports();
  void write_config(size_t i) const;
  void spawn(size_t i);
  // Polls /healthz?js-enabled-only=true until 200; false if the process ends or the deadline passes.
  bool wait_up(size_t i, Clock::time_point deadline);
  void kill_all();
  [[noreturn]] void fail(size_t i, const std::string& what) const;

  std::filesystem::path dir_;
  std::string binary_;
  std::vector<Node> nodes_;
};

}  // namespace hooksim::harness
