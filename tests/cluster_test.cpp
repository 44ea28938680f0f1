// `hooksim serve --cluster` (docs/cluster.md): three NATS JetStream servers and three hooksim nodes, all on
// loopback, as child processes; receivers in-process. The crash audit's questions, asked of a cluster: is
// every acknowledged event delivered to every subscription, in publish order, with repeats only of what
// was in flight at a kill; does a retry streak keep its schedule across a failover; does a node cut off
// from NATS stop delivering.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cluster/nats.h"
#include "cluster/shard_store.h"
#include "tests/serve_harness.h"
#include "tests/support/nats_cluster.h"

namespace hooksim {
namespace {

using namespace harness;

// One hooksim node of the cluster.
struct Node {
  std::string name;
  std::unique_ptr<ServerProcess> process;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsCluster::available()) GTEST_SKIP() << "nats-server is not installed (scripts/setup.sh)";
  }

  // Starts node `name` on `nats_urls` (every NATS server by default).
  void start_node(const std::string& name, const std::string& nats_urls, const std::string& ttl = "2s",
                  int replicas = 3) {
    Node n;
    n.name = name;
    n.process = std::make_unique<ServerProcess>(
        dir_ / name, dir_ / (name + ".log"), "",
        std::vector<std::string>{"--cluster", nats_urls, "--node", name, "--shards", "4", "--replicas",
                                 std::to_string(replicas), "--lease-ttl", ttl});
    std::filesystem::create_directories(dir_ / name);
    ASSERT_TRUE(n.process->start());
    nodes_.push_back(std::move(n));
  }
  std::string url(size_t node, const std::string& path) { return nodes_[node].process->url(path); }
  json get(size_t node, const std::string& path) { return http("GET", url(node, path)).j(); }
  // The owner of every shard, as node `node` sees it; "" for a shard without one.
  std::vector<std::string> owners(size_t node) {
    std::vector<std::string> out;
    json s = get(node, "/status");
    for (const auto& shard : s.value("shards", json::array()))
      out.push_back(shard["owner"].is_string() ? shard["owner"].get<std::string>() : "");
    return out;
  }
  // Every shard owned, and each of the nodes `names` owning between floor(S / L) and ceil(S / L) of them:
  // no more hand-overs to come.
  bool balanced(size_t node, const std::vector<std::string>& names) {
    auto o = owners(node);
    if (o.size() != 4 || std::count(o.begin(), o.end(), "") > 0) return false;
    const long floor = 4 / static_cast<long>(names.size()), ceil = (4 + names.size() - 1) / names.size();
    for (const auto& n : names) {
      const long c = std::count(o.begin(), o.end(), n);
      if (c < floor || c > ceil) return false;
    }
    return true;
  }
  // Whether each of `subs` has had `count` distinct events delivered (2xx).
  static bool delivered_all(Receiver& rx, const std::vector<std::string>& subs, size_t count) {
    for (const auto& s : subs) {
      std::set<std::string> ids;
      for (auto& [id, seq] : rx.delivered(s)) ids.insert(id);
      if (ids.size() < count) return false;
    }
    return true;
  }
  // Every shard owned by one of the live nodes `live`.
  bool all_owned_by(size_t node, const std::set<std::string>& live) {
    auto o = owners(node);
    if (o.size() != 4) return false;
    for (const auto& x : o)
      if (!live.contains(x)) return false;
    return true;
  }
  std::string owner_of(size_t node, const std::string& sub) {
    json s = get(node, "/v1/subscriptions/" + sub);
    return s.value("owner", "");
  }
  void create(size_t node, const std::string& id, const std::string& rx_url, json policy = nullptr) {
    json body = {{"id", id}, {"url", rx_url}, {"secret", kSecret}};
    if (!policy.is_null()) body["policy"] = policy;
    Reply r = http("POST", url(node, "/v1/subscriptions"), body.dump());
    ASSERT_EQ(r.status, 201) << r;
  }
  // Publishes `ids` through node `node`; true once answered 202. A 503 (JetStream without a stream leader
  // for a few seconds after a NATS server died) is retried as a publisher would, with the same ids: what
  // an earlier try stored comes back as duplicates, stored once.
  bool publish(size_t node, const std::vector<std::string>& ids) {
    json events = json::array();
    for (const auto& id : ids) events.push_back({{"id", id}, {"type", "tracking"}, {"data", {{"n", 1}}}});
    Reply r;
    bool ok = eventually([&] {
      r = http("POST", url(node, "/v1/events"), events.dump());
      return r.status != 503;
    });
    EXPECT_TRUE(ok && r.status == 202) << r;
    return ok && r.status == 202;
  }

  // Per subscription: the 2xx deliveries follow `published`, every published event is there, and each
  // sequence number is the event's position from 1, whichever node sent it. A repeat is only of one of
  // the last two events delivered before it (an attempt in flight, or whose acknowledgement could not be
  // recorded, when its owner died or lost NATS), and comes with the same sequence number; `max_repeats`
  // bounds them per subscription.
  void expect_in_order(Receiver& rx, const std::vector<std::string>& subs,
                       const std::vector<std::string>& published, size_t max_repeats) {
    for (const auto& sub : subs) {
      std::vector<std::string> distinct;
      std::map<std::string, uint64_t> seq_of;
      size_t repeats = 0;
      for (const auto& [id, seq] : rx.delivered(sub)) {
        if (seq_of.contains(id)) {
          EXPECT_EQ(seq_of[id], seq) << sub << ": " << id << " came with two sequence numbers";
          const size_t n = distinct.size();
          EXPECT_TRUE(distinct[n - 1] == id || (n >= 2 && distinct[n - 2] == id))
              << sub << ": " << id << " repeated after later events";
          ++repeats;
          continue;
        }
        seq_of[id] = seq;
        distinct.push_back(id);
      }
      EXPECT_EQ(distinct, published) << sub << ": not every event, or not in publish order";
      EXPECT_LE(repeats, max_repeats) << sub;
      for (size_t i = 0; i < distinct.size(); ++i)
        EXPECT_EQ(seq_of[distinct[i]], i + 1) << sub << " " << distinct[i];
    }
  }

  // No node had to give way to another owner's progress write: without a NATS failure none should (each
  // would stop its shard and repeat what it had in flight).
  void expect_no_progress_conflict() {
    for (const auto& n : nodes_)
      EXPECT_EQ(read_file(dir_ / (n.name + ".log")).find("was written by another owner"), std::string::npos)
          << read_file(dir_ / (n.name + ".log"));
  }

  TempDir dir_{"cluster"};
  std::vector<Node> nodes_;
};

TEST_F(ClusterTest, EveryNodeServesAndAKilledOwnersShardsMoveWithoutLossOrReorder) {
  NatsCluster nats(3);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver rx;
  for (const char* n : {"n1", "n2", "n3"}) ASSERT_NO_FATAL_FAILURE(start_node(n, nats.urls()));
  // Balanced first: a hand-over to a joining node may repeat an attempt too, and this test counts the kill's.
  ASSERT_TRUE(eventually([&] { return balanced(0, {"n1", "n2", "n3"}); }, 30s));

  std::vector<std::string> subs;
  for (int i = 0; i < 6; ++i) {
    subs.push_back("s" + std::to_string(i));
    ASSERT_NO_FATAL_FAILURE(create(i % 3, subs.back(), rx.url()));
  }
  // Any node lists every subscription, each with its owner, once the bucket's change reached it.
  json list;
  ASSERT_TRUE(eventually([&] {
    list = get(2, "/v1/subscriptions");
    return list["subscriptions"].size() == 6u;
  })) << list;
  for (const auto& s : list["subscriptions"]) EXPECT_TRUE(s.contains("owner")) << s;

  std::vector<std::string> published;
  int next = 0;
  auto publish_round = [&](const std::vector<size_t>& through, int per_node) {
    for (size_t node : through) {
      std::vector<std::string> ids;
      for (int k = 0; k < per_node; ++k) ids.push_back("e" + std::to_string(next++));
      ASSERT_TRUE(publish(node, ids));
      published.insert(published.end(), ids.begin(), ids.end());
    }
  };
  ASSERT_NO_FATAL_FAILURE(publish_round({0, 1, 2}, 10));
  auto all_delivered = [&] { return delivered_all(rx, subs, published.size()); };
  ASSERT_TRUE(eventually(all_delivered, 60s));

  // SIGKILL the owner of s0 while events go in through the other two.
  const std::string victim = owner_of(0, "s0");
  ASSERT_FALSE(victim.empty());
  size_t v = 0;
  while (nodes_[v].name != victim) ++v;
  std::vector<size_t> others;
  for (size_t i = 0; i < 3; ++i)
    if (i != v) others.push_back(i);
  ASSERT_NO_FATAL_FAILURE(publish_round(others, 10));
  nodes_[v].process->signal(SIGKILL);
  nodes_[v].process->wait_exit();
  ASSERT_NO_FATAL_FAILURE(publish_round(others, 10));
  std::set<std::string> live;
  for (size_t i : others) live.insert(nodes_[i].name);
  ASSERT_TRUE(eventually([&] { return all_owned_by(others[0], live); }, 30s));
  ASSERT_TRUE(eventually(all_delivered, 60s));
  // A node's death repeats at most the attempt it had in flight.
  expect_in_order(rx, subs, published, /*max_repeats=*/1);

  // Then a NATS server goes (the stream and buckets have 3 replicas: two keep the quorum). Until JetStream
  // has elected new leaders (4 to 9 s in nats-server 2.9), publishes get 503 and are tried again, and an
  // owner that cannot record an acknowledgement stops and starts again from its progress: repeats, never
  // a loss or a reordering.
  nats.kill(2);
  ASSERT_NO_FATAL_FAILURE(publish_round(others, 10));
  ASSERT_TRUE(eventually(all_delivered, 60s));
  expect_in_order(rx, subs, published, /*max_repeats=*/SIZE_MAX);
  // The survivors list every subscription owned by one of them (once their leases are renewed again after
  // JetStream's election).
  json final_list;
  EXPECT_TRUE(eventually(
      [&] {
        final_list = get(others[1], "/v1/subscriptions");
        if (!final_list.contains("subscriptions") || final_list["subscriptions"].size() != subs.size())
          return false;
        for (const auto& s : final_list["subscriptions"])
          if (!live.contains(s.value("owner", ""))) return false;
        return true;
      },
      60s))
      << final_list;
}

TEST_F(ClusterTest, ARetryStreakKeepsItsScheduleAcrossAFailover) {
  NatsCluster nats(3);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver down(R"({"status":503})");
  for (const char* n : {"n1", "n2"}) ASSERT_NO_FATAL_FAILURE(start_node(n, nats.urls()));
  ASSERT_TRUE(eventually([&] { return balanced(0, {"n1", "n2"}); }, 30s));
  // No immediate retries; then every 1 s; give up after 1 minute.
  const json policy =
      json::parse(R"({"immediate_retries":0,"delays":[],"repeat":"1s","give_up_after":"1m"})");
  ASSERT_NO_FATAL_FAILURE(create(0, "slow", down.url(), policy));
  ASSERT_TRUE(publish(1, {"only"}));
  json before;
  ASSERT_TRUE(eventually([&] {
    before = get(0, "/v1/subscriptions/slow/status");
    return before.value("streak_attempts", 0) >= 2;
  }));
  const std::string streak_start = before["streak_start"];
  const std::string victim = owner_of(0, "slow");
  size_t v = victim == "n1" ? 0 : 1;
  nodes_[v].process->signal(SIGKILL);
  nodes_[v].process->wait_exit();
  const size_t survivor = 1 - v;
  ASSERT_TRUE(eventually([&] { return owner_of(survivor, "slow") == nodes_[survivor].name; }, 30s));
  json after;
  ASSERT_TRUE(eventually([&] {
    after = get(survivor, "/v1/subscriptions/slow/status");
    return after.value("streak_attempts", 0) >= before.value("streak_attempts", 0) + 2;
  }));
  // The same streak: its start moved with the shard, and its attempts counted on.
  EXPECT_EQ(after["streak_start"], streak_start) << after;
  EXPECT_EQ(after["state"], "retrying") << after;
  // At the receiver: one event, every attempt of it with the same webhook-id and sequence number 1, and
  // attempt numbers that go on from the old owner's (none starts again at 1).
  auto requests = down.records();
  ASSERT_GE(requests.size(), 4u);
  std::set<uint32_t> attempts;
  for (const auto& r : requests) {
    EXPECT_EQ(r.event.value_or(""), "only");
    EXPECT_EQ(r.seq.value_or(0), 1u);
    attempts.insert(r.attempt.value_or(0));
  }
  EXPECT_EQ(attempts.count(1), 1u);
  EXPECT_GE(attempts.size() + 1, requests.size())
      << "an attempt number came twice (the streak started again)";
  expect_no_progress_conflict();
}

// Any node takes the admin calls: POST …/retry and …/reactivate on a node that does not own the subscription
// are forwarded to the owner and answered with the owner's answer (its success or its refusal); a create
// with an id that cannot be a NATS key is refused like any bad input.
TEST_F(ClusterTest, AnyNodeAnswersAdminCalls) {
  NatsCluster nats(1);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver down(R"({"status":503})");
  for (const char* n : {"n1", "n2"}) ASSERT_NO_FATAL_FAILURE(start_node(n, nats.urls(), "2s", 1));
  ASSERT_TRUE(eventually([&] { return balanced(0, {"n1", "n2"}); }, 30s));
  // Retried only an hour later: what this test sees, /retry made.
  const json policy =
      json::parse(R"({"immediate_retries":0,"delays":[],"repeat":"1h","give_up_after":"2h"})");
  ASSERT_NO_FATAL_FAILURE(create(0, "slow", down.url(), policy));
  ASSERT_TRUE(publish(0, {"only"}));
  ASSERT_TRUE(eventually([&] { return down.records().size() == 1; }));
  const std::string owner = owner_of(0, "slow");
  ASSERT_FALSE(owner.empty());
  const size_t other = owner == "n1" ? 1 : 0;
  ASSERT_NE(nodes_[other].name, owner);
  // Waiting for its retry (the failure recorded) before asking for one.
  ASSERT_TRUE(eventually(
      [&] { return get(1 - other, "/v1/subscriptions/slow/status").value("state", "") == "retrying"; }));

  Reply r = http("POST", url(other, "/v1/subscriptions/slow/retry"));
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.j().value("owner", ""), owner) << r;
  EXPECT_EQ(r.j().value("streak_attempts", 0), 1) << r;
  // The owner made the attempt: the second request, attempt 2 of the same event.
  ASSERT_TRUE(eventually([&] { return down.records().size() == 2; })) << down.records().size();
  EXPECT_EQ(down.records()[1].event.value_or(""), "only");
  EXPECT_EQ(down.records()[1].attempt.value_or(0), 2u);

  // The owner's refusal comes back as it is: it is retrying, not deactivated.
  r = http("POST", url(other, "/v1/subscriptions/slow/reactivate"));
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(r.j()["error"].value("code", ""), "failed_precondition") << r;
  EXPECT_NE(r.body.find("not deactivated"), std::string::npos) << r;
  // An unknown subscription: 404 from the node asked.
  EXPECT_EQ(http("POST", url(other, "/v1/subscriptions/nobody/retry")).status, 404);
  // An id a single serve takes but that is no NATS key: 400 naming it, and nothing stored.
  r = http("POST", url(other, "/v1/subscriptions"),
           json{{"id", "a..b"}, {"url", down.url()}, {"secret", kSecret}}.dump());
  EXPECT_EQ(r.status, 400) << r;
  EXPECT_NE(r.body.find("'a..b'"), std::string::npos) << r;
  EXPECT_EQ(get(1 - other, "/v1/subscriptions")["subscriptions"].size(), 1u);
  expect_no_progress_conflict();
}

// A subscription deleted and created again under the same id is a new one: its owner drops the old queue and
// retry state, and a next owner does not take progress written for the old one (an old owner's late write)
// for the new one's.
TEST_F(ClusterTest, ASubscriptionCreatedAgainUnderItsIdStartsEmpty) {
  NatsCluster nats(1);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver down(R"({"status":503})"), rx;
  ASSERT_NO_FATAL_FAILURE(start_node("n1", nats.urls(), "2s", 1));
  ASSERT_TRUE(eventually([&] { return all_owned_by(0, {"n1"}); }, 30s));
  const json policy =
      json::parse(R"({"immediate_retries":0,"delays":[],"repeat":"1h","give_up_after":"2h"})");
  ASSERT_NO_FATAL_FAILURE(create(0, "again", down.url(), policy));
  ASSERT_TRUE(publish(0, {"a", "b"}));
  ASSERT_TRUE(
      eventually([&] { return get(0, "/v1/subscriptions/again/status").value("state", "") == "retrying"; }));
  // Deleted and created again at once. (The owner mostly sees the delete alone first; when its watcher brings
  // both before it syncs, it tells the new subscription from the old one by the revision that created it.
  // This test does not force that interleaving.)
  ASSERT_EQ(http("DELETE", url(0, "/v1/subscriptions/again")).status, 204);
  ASSERT_NO_FATAL_FAILURE(create(0, "again", rx.url()));
  ASSERT_TRUE(publish(0, {"c", "d"}));
  // In order, so "a" and "b" would come first if the old queue had been kept.
  ASSERT_TRUE(eventually([&] { return rx.delivered("again").size() >= 2; }));
  const std::vector<std::pair<std::string, uint64_t>> want = {{"c", 1}, {"d", 2}};
  EXPECT_EQ(rx.delivered("again"), want);
  json status = get(0, "/v1/subscriptions/again/status");
  EXPECT_EQ(status.value("state", ""), "active") << status;
  EXPECT_EQ(status.value("backlog", -1), 0) << status;
  EXPECT_EQ(down.records().size(), 1u);  // the old subscription's one attempt, never repeated

  // Created a third time; n1 hands over and leaves; then the progress of "again" is overwritten as an old
  // owner's late write for an old subscription would: another order, far ahead in the stream, other
  // sequence numbers.
  ASSERT_EQ(http("DELETE", url(0, "/v1/subscriptions/again")).status, 204);
  ASSERT_NO_FATAL_FAILURE(create(0, "again", rx.url()));
  nodes_[0].process->signal(SIGTERM);
  ASSERT_EQ(nodes_[0].process->wait_exit(), 0);
  {
    auto nc = cluster::Nats::connect({.urls = nats.urls(), .name = "test"});
    ASSERT_TRUE(nc.ok()) << nc.status().message();
    auto kv = (*nc)->bucket("hooksim_progress", 1, {});
    ASSERT_TRUE(kv.ok()) << kv.status().message();
    cluster::Progress stale;
    stale.acked = 1000;
    stale.head_seq = 7;
    stale.order = 1;  // the settings' revision: no subscription's
    ASSERT_TRUE((*kv)->put("again", cluster::encode_progress(stale)).ok());
  }
  nats_CloseAndWait(5000);  // libnats' global state freed with its last handle (for LeakSanitizer)
  // n2 takes the shard: the subscription goes on from its own progress (none: from its creation).
  ASSERT_NO_FATAL_FAILURE(start_node("n2", nats.urls(), "2s", 1));
  ASSERT_TRUE(eventually([&] { return all_owned_by(1, {"n2"}); }, 30s));
  ASSERT_TRUE(publish(1, {"e"}));
  ASSERT_TRUE(eventually([&] { return rx.delivered("again").size() >= 3; })) << rx.delivered("again").size();
  const std::vector<std::pair<std::string, uint64_t>> all = {{"c", 1}, {"d", 2}, {"e", 1}};
  EXPECT_EQ(rx.delivered("again"), all);
  expect_no_progress_conflict();
}

// Progress writes are compare-and-set: an owner whose subscription's progress was written by someone else
// (an owner that took the shard meanwhile) does not overwrite it; it stops the shard and takes it again from
// that progress (what it had not recorded is sent again: a repeat, never a loss).
TEST_F(ClusterTest, AProgressWrittenByAnotherOwnerStopsTheShard) {
  NatsCluster nats(1);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver rx;
  ASSERT_NO_FATAL_FAILURE(start_node("n1", nats.urls(), "2s", 1));
  ASSERT_TRUE(eventually([&] { return all_owned_by(0, {"n1"}); }, 30s));
  ASSERT_NO_FATAL_FAILURE(create(0, "cas", rx.url()));
  ASSERT_TRUE(publish(0, {"a"}));
  ASSERT_TRUE(eventually([&] { return delivered_all(rx, {"cas"}, 1); }));
  ASSERT_TRUE(
      eventually([&] { return get(0, "/v1/subscriptions/cas/status").value("in_flight", true) == false; }));
  // Another owner's write: "a" done, as n1 wrote it, under the subscription's order.
  {
    auto nc = cluster::Nats::connect({.urls = nats.urls(), .name = "test"});
    ASSERT_TRUE(nc.ok()) << nc.status().message();
    auto subs = (*nc)->bucket("hooksim_subs", 1, {});
    auto progress = (*nc)->bucket("hooksim_progress", 1, {});
    ASSERT_TRUE(subs.ok() && progress.ok());
    auto record = (*subs)->get_latest("cas");
    auto current = (*progress)->get_latest("cas");
    ASSERT_TRUE(record.ok() && *record && current.ok() && *current);
    auto p = cluster::decode_progress((*current)->value);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->order, (*record)->revision);  // the owner wrote its order
    ASSERT_TRUE((*progress)->put("cas", cluster::encode_progress(*p)).ok());
  }
  nats_CloseAndWait(5000);  // libnats' global state freed with its last handle (for LeakSanitizer)
  ASSERT_TRUE(publish(0, {"b", "c"}));
  ASSERT_TRUE(eventually([&] { return delivered_all(rx, {"cas"}, 3); }));
  const std::string log = read_file(dir_ / "n1.log");
  EXPECT_NE(log.find("the progress of cas was written by another owner"), std::string::npos) << log;
  EXPECT_NE(log.find("dropped shard"), std::string::npos) << log;
  expect_in_order(rx, {"cas"}, {"a", "b", "c"}, /*max_repeats=*/1);
}

TEST_F(ClusterTest, ANodeCutOffFromNatsStopsDeliveringAndItsShardsMove) {
  NatsCluster nats(3);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver rx;
  // n1 reaches NATS only through server 2; n2 and n3 through servers 0 and 1.
  ASSERT_NO_FATAL_FAILURE(start_node("n1", nats.url(2)));
  ASSERT_NO_FATAL_FAILURE(start_node("n2", nats.url(0) + "," + nats.url(1)));
  // Balanced: two shards each.
  ASSERT_TRUE(eventually(
      [&] {
        auto o = owners(1);
        return std::count(o.begin(), o.end(), "n1") == 2 && std::count(o.begin(), o.end(), "n2") == 2;
      },
      30s));
  std::vector<std::string> subs;
  for (int i = 0; i < 6; ++i) {
    subs.push_back("p" + std::to_string(i));
    ASSERT_NO_FATAL_FAILURE(create(1, subs.back(), rx.url()));
  }
  ASSERT_TRUE(publish(1, {"a", "b"}));
  ASSERT_TRUE(eventually([&] { return delivered_all(rx, subs, 2); }));

  const std::string cut = format_utc(std::chrono::floor<Duration>(std::chrono::system_clock::now()));
  nats.stop(2);  // n1 is cut off
  // n1 stops each of its shards: fenced at its lease's deadline, or at once when a progress write fails
  // (whichever comes first); n2 takes them all.
  auto stopped = [&] {
    const std::string log = read_file(dir_ / "n1.log");
    return log.find("(fenced:") != std::string::npos ||
           log.find("(its progress could not be written") != std::string::npos;
  };
  ASSERT_TRUE(eventually(stopped, 90s)) << read_file(dir_ / "n1.log");
  // (JetStream elects new leaders for what server 2 led first: up to 9 s in nats-server 2.9, during which
  // n2 cannot write either.)
  ASSERT_TRUE(eventually([&] { return all_owned_by(1, {"n2"}); }, 90s));
  // Each shard n1 fenced stopped sending there (its lease's deadline, after which its transport refuses)
  // before n2 took it (the logs' times are of one clock).
  auto times = [&](const std::string& log, const std::regex& line) {
    std::map<std::string, std::string> time_of;  // shard -> the time its last such line gives
    std::istringstream in(read_file(dir_ / log));
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      // Lines from the cut on (each starts with its time).
      if (l.substr(0, l.find(' ')) >= cut && std::regex_match(l, m, line)) time_of[m[1]] = m[2];
    }
    return time_of;
  };
  // When n1 stopped sending each shard: its lease's deadline, or the time a progress write failed (its
  // transport refused from then on) if that came first.
  std::map<std::string, std::string> fenced = times(
      "n1.log",
      std::regex(
          R"(^\S+ hooksim serve: n1: dropped shard (\d+) \(fenced: its lease's deadline (\S+) passed.*)"));
  const std::regex failed(
      R"(^\S+ hooksim serve: n1: dropped shard (\d+) \(its progress could not be written at (\S+); .*)");
  const std::regex deadline(
      R"(^\S+ hooksim serve: n1: dropped shard (\d+) \(its progress .* deadline (\S+)\)$)");
  for (const auto& [shard, at] : times("n1.log", failed)) fenced[shard] = at;
  for (const auto& [shard, at] : times("n1.log", deadline)) fenced[shard] = std::min(fenced[shard], at);
  ASSERT_FALSE(fenced.empty());
  // n2 logs a take once it has read the shard's progress (a read JetStream may refuse during its election).
  const std::regex took(R"(^(?=\S+ hooksim serve: n2: took shard (\d+) )(\S+) .*)");
  std::map<std::string, std::string> taken;
  ASSERT_TRUE(eventually(
      [&] {
        taken = times("n2.log", took);
        for (const auto& [shard, at] : fenced)
          if (!taken.contains(shard)) return false;
        return true;
      },
      90s))
      << read_file(dir_ / "n2.log");
  for (const auto& [shard, at] : fenced) {
    ASSERT_TRUE(taken.contains(shard)) << shard;
    EXPECT_LT(at, taken.at(shard)) << "shard " << shard << ": taken by n2 before n1 stopped delivering it";
  }
  ASSERT_TRUE(publish(1, {"c", "d"}));
  ASSERT_TRUE(eventually([&] { return delivered_all(rx, subs, 4); }));
  // A repeat only of "b": delivered, its progress not yet written when n1 was cut off.
  expect_in_order(rx, subs, {"a", "b", "c", "d"}, /*max_repeats=*/1);
}

TEST_F(ClusterTest, SigtermHandsShardsOverAndAJoiningNodeTakesItsShare) {
  NatsCluster nats(3);
  ASSERT_TRUE(nats.wait_jetstream_ready()) << nats.logs();
  Receiver rx;
  // A TTL of a minute: whatever moves within the 30 s this test waits moved by hand-over, not by expiry.
  ASSERT_NO_FATAL_FAILURE(start_node("n1", nats.urls(), "60s"));
  ASSERT_TRUE(eventually([&] { return all_owned_by(0, {"n1"}); }, 30s));
  std::vector<std::string> subs = {"j0", "j1", "j2", "j3", "j4", "j5"};
  for (const auto& s : subs) ASSERT_NO_FATAL_FAILURE(create(0, s, rx.url()));
  std::vector<std::string> published;
  auto publish_some = [&](size_t node, const std::string& prefix) {
    std::vector<std::string> ids;
    for (int k = 0; k < 10; ++k) ids.push_back(prefix + std::to_string(k));
    ASSERT_TRUE(publish(node, ids));
    published.insert(published.end(), ids.begin(), ids.end());
  };
  auto all_delivered = [&] { return delivered_all(rx, subs, published.size()); };
  ASSERT_NO_FATAL_FAILURE(publish_some(0, "a"));

  // n2 joins while n1 delivers: n1 hands it half of the shards.
  ASSERT_NO_FATAL_FAILURE(start_node("n2", nats.urls(), "60s"));
  ASSERT_NO_FATAL_FAILURE(publish_some(1, "b"));
  ASSERT_TRUE(eventually(
      [&] {
        auto o = owners(0);
        return std::count(o.begin(), o.end(), "n1") == 2 && std::count(o.begin(), o.end(), "n2") == 2;
      },
      30s));
  ASSERT_TRUE(eventually(all_delivered, 30s));

  // SIGTERM: n1 writes its last successes and deletes its leases; n2 takes them at once.
  ASSERT_NO_FATAL_FAILURE(publish_some(1, "c"));
  nodes_[0].process->signal(SIGTERM);
  EXPECT_EQ(nodes_[0].process->wait_exit(), 0);
  EXPECT_NE(read_file(dir_ / "n1.log").find("(handed over)"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return all_owned_by(1, {"n2"}); }, 30s));
  ASSERT_NO_FATAL_FAILURE(publish_some(1, "d"));
  ASSERT_TRUE(eventually(all_delivered, 30s));
  // Each hand-over repeats at most the attempt in flight (two hand-overs per subscription at most).
  expect_in_order(rx, subs, published, /*max_repeats=*/2);
  expect_no_progress_conflict();
}

}  // namespace
}  // namespace hooksim
