// The NatsCluster fixture (tests/support/nats_cluster.h) against the real nats-server, through the NATS C
// client (libnats): a replicated JetStream stream keeps taking writes and serving reads after one of three
// nodes is SIGKILLed, a stopped node comes back with its data and catches up, and a KV bucket gives the
// compare-and-set and TTL behaviour the cluster mode's leases rely on (create-if-absent, update-if-revision,
// silent expiry after the TTL). Each test prints the timings it saw (cluster start, fail-over, expiry).
#include "tests/support/nats_cluster.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using hooksim::harness::NatsCluster;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// RAII for libnats' handles.
struct NatsFree {
  void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
  void operator()(natsConnection* p) const { natsConnection_Destroy(p); }
  void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
  void operator()(jsPubAck* p) const { jsPubAck_Destroy(p); }
  void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
  void operator()(kvStore* p) const { kvStore_Destroy(p); }
  void operator()(kvEntry* p) const { kvEntry_Destroy(p); }
  void operator()(kvWatcher* p) const { kvWatcher_Destroy(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, NatsFree>;

// Declared first in a test, destroyed last: releases libnats' global state once every handle is gone (so
// LeakSanitizer sees no library allocations at exit).
struct NatsLibrary {
  ~NatsLibrary() { nats_CloseAndWait(5000); }
};

// Prints every node's log when the test has failed (or HOOKSIM_NATS_LOGS is set).
struct LogsOnFailure {
  const NatsCluster& cluster;
  ~LogsOnFailure() {
    if (::testing::Test::HasFailure() || std::getenv("HOOKSIM_NATS_LOGS") != nullptr)
      std::cerr << cluster.logs();
  }
};

// A status with the library's text for it and the thread's last error.
std::string why(natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string text = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') text += std::string(" (") + last + ")";
  if (code != 0) text += " jsErrCode " + std::to_string(static_cast<int>(code));
  return text;
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

struct Client {
  Owned<natsConnection> nc;
  Owned<jsCtx> js;
};

// A connection to every node of the cluster (node 0 first: no randomizing; reconnecting to another after
// 100 ms, for ever) with a JetStream context whose API requests wait `wait_ms` for their answer.
Client connect(const NatsCluster& cluster, int64_t wait_ms) {
  Client c;
  natsOptions* raw = nullptr;
  EXPECT_EQ(natsOptions_Create(&raw), NATS_OK);
  Owned<natsOptions> opts(raw);
  std::vector<std::string> urls;
  for (size_t i = 0; i < cluster.size(); ++i) urls.push_back(cluster.url(i));
  std::vector<const char*> servers;
  for (auto& u : urls) servers.push_back(u.c_str());
  EXPECT_EQ(natsOptions_SetServers(opts.get(), servers.data(), static_cast<int>(servers.size())), NATS_OK);
  EXPECT_EQ(natsOptions_SetNoRandomize(opts.get(), true), NATS_OK);
  EXPECT_EQ(natsOptions_SetReconnectWait(opts.get(), 100), NATS_OK);
  EXPECT_EQ(natsOptions_SetMaxReconnect(opts.get(), -1), NATS_OK);
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_Connect(&nc, opts.get());
  EXPECT_EQ(s, NATS_OK) << why(s);
  c.nc.reset(nc);
  if (s != NATS_OK) return c;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = wait_ms;
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, &jo);
  EXPECT_EQ(s, NATS_OK) << why(s);
  c.js.reset(js);
  return c;
}

std::string body_of(natsMsg* m) {
  return std::string(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
}

// Creates the stream EVENTS (subjects events.>, file storage) with `replicas` replicas; its info, or null
// (with a failure).
Owned<jsStreamInfo> add_events_stream(jsCtx* js, int replicas) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"events.>"};
  cfg.Name = "EVENTS";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&raw, js, &cfg, nullptr, &jerr);
  Owned<jsStreamInfo> si(raw);
  EXPECT_EQ(s, NATS_OK) << why(s, jerr);
  if (s != NATS_OK) si.reset();
  return si;
}

struct Published {
  uint64_t seq = 0;  // the acknowledged sequence; 0 if none by the deadline (with a failure)
  int attempts = 0;
  bool duplicate = false;   // the acknowledgement says an earlier attempt had stored it already
  std::string first_error;  // of the first failed attempt
};

// Publishes "event K" on events.K with the message id msg-K (so that an attempt sent again after a lost
// acknowledgement is not stored twice), retrying every 50 ms until it is acknowledged or `deadline` passes.
Published publish_event(jsCtx* js, int k, Clock::time_point deadline) {
  Published r;
  std::string subject = "events." + std::to_string(k), data = "event " + std::to_string(k);
  std::string id = "msg-" + std::to_string(k);
  for (r.attempts = 1;; ++r.attempts) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.MaxWait = 1000;  // per attempt
    jsPubAck* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s =
        js_Publish(&raw, js, subject.c_str(), data.data(), static_cast<int>(data.size()), &po, &jerr);
    Owned<jsPubAck> pa(raw);
    if (s == NATS_OK) {
      EXPECT_STREQ(pa->Stream, "EVENTS");
      r.seq = pa->Sequence;
      r.duplicate = pa->Duplicate;
      return r;
    }
    if (r.first_error.empty()) r.first_error = why(s, jerr);
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "publish " << k << ": " << why(s, jerr) << " after " << r.attempts << " attempts";
      return r;
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::string describe(const Published& p) {
  return std::to_string(p.attempts) + " attempt(s)" + (p.duplicate ? ", an earlier one had stored it" : "") +
         (p.first_error.empty() ? "" : ", first error: " + p.first_error);
}

// Reads EVENTS by sequence (js_GetMsg, answered by the stream leader): 1..n are events.K with "event K".
void expect_events(jsCtx* js, int n) {
  for (int k = 1; k <= n; ++k) {
    natsMsg* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&raw, js, "EVENTS", static_cast<uint64_t>(k), nullptr, &jerr);
    Owned<natsMsg> m(raw);
    ASSERT_EQ(s, NATS_OK) << "seq " << k << ": " << why(s, jerr);
    EXPECT_EQ(natsMsg_GetSequence(m.get()), static_cast<uint64_t>(k));
    EXPECT_EQ(std::string(natsMsg_GetSubject(m.get())), "events." + std::to_string(k));
    EXPECT_EQ(body_of(m.get()), "event " + std::to_string(k));
  }
}

// How many messages node i's own copy of `stream` holds (its /jsz), 0 if it does not say.
uint64_t messages_on(const NatsCluster& cluster, size_t i, const std::string& stream) {
  std::string body;
  if (cluster.monitor_get(i, "/jsz?streams=true", &body) != 200) return 0;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return 0;
  for (const auto& account : j.value("account_details", nlohmann::json::array()))
    for (const auto& s : account.value("stream_detail", nlohmann::json::array()))
      if (s.value("name", "") == stream && s.contains("state")) return s["state"].value("messages", 0ull);
  return 0;
}

// A 3-node cluster, a stream with 3 replicas: 10 acknowledged publishes read back in order; after the SIGKILL
// of node 0 (which the client is connected to) the two left are a quorum: an 11th publish is acknowledged
// once they have a stream leader (a Raft election: 4-9 s in nats-server 2.9 if node 0 led the stream), and
// all 11 are readable.
TEST(NatsCluster, ReplicatedStreamKeepsWorkingWithoutOneNode) {
  if (!NatsCluster::available()) GTEST_SKIP() << "no nats-server (scripts/setup.sh installs it)";
  NatsLibrary library;
  auto t0 = Clock::now();
  NatsCluster cluster(3);
  LogsOnFailure dump{cluster};
  auto t_up = Clock::now();
  ASSERT_TRUE(cluster.wait_jetstream_ready(20s)) << "no JetStream meta leader";
  std::cout << "cluster: nodes up in " << ms(t_up - t0) << " ms, meta leader known to all after "
            << ms(Clock::now() - t0) << " ms\n";

  Client c = connect(cluster, 5000);
  ASSERT_TRUE(c.js);
  jsCtx* js = c.js.get();
  auto t_add = Clock::now();
  Owned<jsStreamInfo> si = add_events_stream(js, 3);
  ASSERT_TRUE(si);
  std::cout << "js_AddStream (R3): " << ms(Clock::now() - t_add) << " ms\n";
  ASSERT_NE(si->Cluster, nullptr);
  EXPECT_EQ(si->Config->Replicas, 3);
  EXPECT_EQ(si->Cluster->ReplicasLen, 2);  // the followers (the leader is Cluster->Leader)
  EXPECT_STRNE(si->Cluster->Leader, "");

  for (int k = 1; k <= 10; ++k) {
    Published p = publish_event(js, k, Clock::now() + 5s);
    EXPECT_EQ(p.seq, static_cast<uint64_t>(k)) << describe(p);
  }
  expect_events(js, 10);

  std::string meta_leader = cluster.meta_leader(), stream_leader = cluster.stream_leader("EVENTS");
  EXPECT_EQ(stream_leader, si->Cluster->Leader);
  cluster.kill(0);
  EXPECT_FALSE(cluster.running(0));
  auto t_kill = Clock::now();
  Published p = publish_event(js, 11, t_kill + 12s);
  EXPECT_EQ(p.seq, 11u) << describe(p);
  std::cout << "publish after kill(0): acknowledged after " << ms(Clock::now() - t_kill) << " ms, "
            << describe(p) << "; before: meta leader " << meta_leader << ", stream leader " << stream_leader
            << "\n";
  expect_events(js, 11);

  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, js, "EVENTS", nullptr, &jerr);
  Owned<jsStreamInfo> after(raw);
  ASSERT_EQ(s, NATS_OK) << why(s, jerr);
  EXPECT_EQ(after->State.Msgs, 11u);
  EXPECT_EQ(after->State.LastSeq, 11u);
  ASSERT_NE(after->Cluster, nullptr);
  EXPECT_STRNE(after->Cluster->Leader, "node-0");
}

// stop() (SIGTERM) of a node, writes without it, start() of it again: it comes back with its data and catches
// up with what it missed. The node stopped leads neither the stream nor the JetStream meta group, so that no
// election (4-9 s after a leader's SIGKILL; usually quick after its SIGTERM, not always) sets the pace.
TEST(NatsCluster, AStoppedNodeRestartsWithItsDataAndCatchesUp) {
  if (!NatsCluster::available()) GTEST_SKIP() << "no nats-server (scripts/setup.sh installs it)";
  NatsLibrary library;
  NatsCluster cluster(3);
  LogsOnFailure dump{cluster};
  ASSERT_TRUE(cluster.wait_jetstream_ready(20s)) << "no JetStream meta leader";
  Client c = connect(cluster, 5000);
  ASSERT_TRUE(c.js);
  jsCtx* js = c.js.get();
  Owned<jsStreamInfo> si = add_events_stream(js, 3);
  ASSERT_TRUE(si);
  for (int k = 1; k <= 5; ++k)
    EXPECT_EQ(publish_event(js, k, Clock::now() + 5s).seq, static_cast<uint64_t>(k));

  std::string meta_leader = cluster.meta_leader(), stream_leader = si->Cluster->Leader;
  size_t victim = cluster.size();
  for (size_t i = 0; i < cluster.size() && victim == cluster.size(); ++i)
    if (cluster.name(i) != meta_leader && cluster.name(i) != stream_leader) victim = i;
  ASSERT_LT(victim, cluster.size()) << "meta leader " << meta_leader << ", stream leader " << stream_leader;
  // An acknowledgement means a quorum has the message; a follower applies it to its store a moment later.
  auto all_hold = [&](uint64_t n) {
    auto deadline = Clock::now() + 5s;
    for (size_t i = 0; i < cluster.size(); ++i) {
      if (!cluster.running(i)) continue;
      while (messages_on(cluster, i, "EVENTS") != n && Clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
      EXPECT_EQ(messages_on(cluster, i, "EVENTS"), n) << cluster.name(i);
    }
  };
  all_hold(5);
  cluster.stop(victim);
  EXPECT_FALSE(cluster.running(victim));
  for (int k = 6; k <= 10; ++k) {
    Published p = publish_event(js, k, Clock::now() + 5s);
    EXPECT_EQ(p.seq, static_cast<uint64_t>(k)) << describe(p);
  }
  all_hold(10);

  auto t_start = Clock::now();
  cluster.start(victim);
  EXPECT_TRUE(cluster.running(victim));
  auto t_up = Clock::now();
  EXPECT_GE(messages_on(cluster, victim, "EVENTS"), 5u);  // what it had stored before stop()
  uint64_t held = 0;
  for (auto deadline = Clock::now() + 10s; (held = messages_on(cluster, victim, "EVENTS")) != 10;) {
    if (Clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(held, 10u) << cluster.name(victim) << " did not catch up";
  std::cout << "start(" << cluster.name(victim) << "): answering in " << ms(t_up - t_start)
            << " ms, caught up after " << ms(Clock::now() - t_start) << " ms\n";
  expect_events(js, 10);
  Published p = publish_event(js, 11, Clock::now() + 5s);
  EXPECT_EQ(p.seq, 11u) << describe(p);
}

// One node: no cluster block in its config, plain single-server JetStream.
TEST(NatsCluster, OneNodeIsAPlainJetStreamServer) {
  if (!NatsCluster::available()) GTEST_SKIP() << "no nats-server (scripts/setup.sh installs it)";
  NatsLibrary library;
  NatsCluster cluster(1);
  LogsOnFailure dump{cluster};
  EXPECT_EQ(cluster.urls(), cluster.url(0));
  std::ifstream config(cluster.config_path(0));
  std::string text((std::istreambuf_iterator<char>(config)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("cluster"), std::string::npos) << text;
  ASSERT_TRUE(cluster.wait_jetstream_ready(20s));
  Client c = connect(cluster, 5000);
  ASSERT_TRUE(c.js);
  Owned<jsStreamInfo> si = add_events_stream(c.js.get(), 1);
  ASSERT_TRUE(si);
  EXPECT_EQ(si->Cluster, nullptr);
  Published p = publish_event(c.js.get(), 1, Clock::now() + 5s);
  EXPECT_EQ(p.seq, 1u) << describe(p);
  expect_events(c.js.get(), 1);
}

// The last value of a KV key as the bucket's stream leader has it: js_GetLastMsg is a JetStream API request,
// answered by the leader only. kvStore_Get in nats.c 3.4 uses a direct get instead (js_CreateKeyValue sets
// AllowDirect), which any replica the server deems current may answer, so it can miss the latest write.
struct LeaderView {
  natsStatus status = NATS_OK;  // NATS_NOT_FOUND: no value
  uint64_t revision = 0;
  std::string value;
};
LeaderView leader_get(jsCtx* js, const std::string& bucket, const std::string& key) {
  LeaderView v;
  natsMsg* m_raw = nullptr;
  std::string subject = "$KV." + bucket + "." + key;
  v.status = js_GetLastMsg(&m_raw, js, ("KV_" + bucket).c_str(), subject.c_str(), nullptr, nullptr);
  Owned<natsMsg> m(m_raw);
  if (v.status == NATS_OK) {
    v.revision = natsMsg_GetSequence(m.get());
    v.value = body_of(m.get());
  }
  return v;
}

// A KV bucket (history 1, TTL 1 s, 3 replicas) used as a lease: create-if-absent, compare-and-set on the
// revision, and the key's silent disappearance once it has not been written for the TTL (no delete marker: a
// watcher of the key hears nothing), after which a create succeeds again.
TEST(NatsCluster, KvLeaseCreateUpdateAndExpiry) {
  if (!NatsCluster::available()) GTEST_SKIP() << "no nats-server (scripts/setup.sh installs it)";
  NatsLibrary library;
  NatsCluster cluster(3);
  LogsOnFailure dump{cluster};
  ASSERT_TRUE(cluster.wait_jetstream_ready(20s)) << "no JetStream meta leader";
  Client c = connect(cluster, 5000);
  ASSERT_TRUE(c.js);
  jsCtx* js = c.js.get();

  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = "leases";
  kc.History = 1;
  kc.TTL = 1'000'000'000;  // nanoseconds (nats.c 3.4 passes it on as the stream's MaxAge)
  kc.Replicas = 3;
  kc.StorageType = js_FileStorage;
  kvStore* kv_raw = nullptr;
  natsStatus s = js_CreateKeyValue(&kv_raw, js, &kc);
  Owned<kvStore> kv(kv_raw);
  ASSERT_EQ(s, NATS_OK) << why(s);

  const char* key = "shard.0";
  uint64_t rev1 = 0, rev2 = 0, rev3 = 0, rev = 0;
  s = kvStore_CreateString(&rev1, kv.get(), key, "node-a");
  ASSERT_EQ(s, NATS_OK) << why(s);
  EXPECT_GT(rev1, 0u);

  // The key exists: a second create fails (kvStore_Create is an update expecting no message on the key; the
  // client does not return the jsErrCode, only the text).
  s = kvStore_CreateString(&rev, kv.get(), key, "node-b");
  EXPECT_NE(s, NATS_OK);
  EXPECT_NE(why(s).find("wrong last sequence"), std::string::npos) << why(s);

  // Renewal by the holder, on its revision.
  s = kvStore_UpdateString(&rev2, kv.get(), key, "node-a", rev1);
  ASSERT_EQ(s, NATS_OK) << why(s);
  EXPECT_GT(rev2, rev1);
  // A stale revision loses.
  s = kvStore_UpdateString(&rev, kv.get(), key, "node-b", rev1);
  EXPECT_NE(s, NATS_OK);
  EXPECT_NE(why(s).find("wrong last sequence"), std::string::npos) << why(s);
  // The current one wins.
  s = kvStore_UpdateString(&rev3, kv.get(), key, "node-b", rev2);
  ASSERT_EQ(s, NATS_OK) << why(s);
  auto written = Clock::now();
  EXPECT_GT(rev3, rev2);

  // The leader has it at once; kvStore_Get (any current replica) shows it within a moment.
  LeaderView v = leader_get(js, "leases", key);
  ASSERT_EQ(v.status, NATS_OK) << why(v.status);
  EXPECT_EQ(v.revision, rev3);
  EXPECT_EQ(v.value, "node-b");
  int stale_reads = 0;
  for (auto deadline = Clock::now() + 2s;;) {
    kvEntry* e_raw = nullptr;
    s = kvStore_Get(&e_raw, kv.get(), key);
    Owned<kvEntry> e(e_raw);
    ASSERT_EQ(s, NATS_OK) << why(s);
    if (kvEntry_Revision(e.get()) == rev3) {
      EXPECT_STREQ(kvEntry_ValueString(e.get()), "node-b");
      break;
    }
    EXPECT_EQ(kvEntry_Revision(e.get()), rev2);  // not older than the write before
    ++stale_reads;
    ASSERT_LT(Clock::now(), deadline) << "kvStore_Get still at revision " << kvEntry_Revision(e.get());
    std::this_thread::sleep_for(1ms);
  }

  // A watcher of the key: it gets the current value, then the end of the initial values (no entry).
  kvWatcher* w_raw = nullptr;
  s = kvStore_Watch(&w_raw, kv.get(), key, nullptr);
  Owned<kvWatcher> watcher(w_raw);
  ASSERT_EQ(s, NATS_OK) << why(s);
  auto next_update = [&](int64_t timeout_ms) -> std::pair<natsStatus, Owned<kvEntry>> {
    kvEntry* raw = nullptr;
    natsStatus ws = kvWatcher_Next(&raw, watcher.get(), timeout_ms);
    return {ws, Owned<kvEntry>(raw)};
  };
  {
    auto [ws, entry] = next_update(2000);
    ASSERT_EQ(ws, NATS_OK) << why(ws);
    ASSERT_TRUE(entry);
    EXPECT_EQ(kvEntry_Revision(entry.get()), rev3);
    auto [end_status, end] = next_update(2000);
    EXPECT_EQ(end_status, NATS_OK) << why(end_status);
    EXPECT_FALSE(end);
  }

  // No more writes: after the TTL the key is gone, first for kvStore_Get (whichever replica answers), then
  // for the leader too (each replica expires messages by its own timer).
  auto deadline = written + 5s;
  natsStatus gs = NATS_OK;
  while (Clock::now() < deadline) {
    kvEntry* g_raw = nullptr;
    gs = kvStore_Get(&g_raw, kv.get(), key);
    Owned<kvEntry> g(g_raw);
    if (gs == NATS_NOT_FOUND) break;
    ASSERT_EQ(gs, NATS_OK) << why(gs);
    EXPECT_LE(kvEntry_Revision(g.get()), rev3);  // nobody writes
    std::this_thread::sleep_for(5ms);
  }
  auto gone = Clock::now();
  ASSERT_EQ(gs, NATS_NOT_FOUND) << "still there " << ms(gone - written) << " ms after the last write";
  // Not before the TTL (measured from the acknowledgement, which comes after the server stamped the message).
  EXPECT_GE(ms(gone - written), 950);
  int leader_polls = 0;
  while ((v = leader_get(js, "leases", key)).status == NATS_OK && Clock::now() < deadline) {
    ++leader_polls;
    std::this_thread::sleep_for(1ms);
  }
  auto leader_gone = Clock::now();
  ASSERT_EQ(v.status, NATS_NOT_FOUND) << why(v.status) << " (revision " << v.revision << ")";
  std::cout << "kv: " << stale_reads << " stale kvStore_Get(s) after the update; key gone for kvStore_Get "
            << ms(gone - written) << " ms after its last write (TTL 1000 ms), for the leader "
            << ms(leader_gone - written) << " ms (" << leader_polls << " polls still saw it)\n";

  // The expiry is silent: no delete marker, nothing for the watcher.
  {
    auto [ws, entry] = next_update(200);
    EXPECT_EQ(ws, NATS_TIMEOUT) << "the watcher got revision " << kvEntry_Revision(entry.get());
  }

  // Free again: a create succeeds, with a revision after the expired one; the watcher sees it.
  uint64_t rev4 = 0;
  s = kvStore_CreateString(&rev4, kv.get(), key, "node-c");
  ASSERT_EQ(s, NATS_OK) << why(s);
  EXPECT_GT(rev4, rev3);
  {
    auto [ws, entry] = next_update(2000);
    ASSERT_EQ(ws, NATS_OK) << why(ws);
    ASSERT_TRUE(entry);
    EXPECT_EQ(kvEntry_Revision(entry.get()), rev4);
    EXPECT_EQ(kvEntry_Operation(entry.get()), kvOp_Put);
  }
  v = leader_get(js, "leases", key);
  ASSERT_EQ(v.status, NATS_OK) << why(v.status);
  EXPECT_EQ(v.revision, rev4);
  EXPECT_EQ(v.value, "node-c");
}

}  // namespace
