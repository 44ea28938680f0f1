// Real HTTP delivery: CurlTransport against the mock receiver, and `hooksim run`'s accelerated clock
// driving the real engine against a real receiver. Loopback only, ephemeral ports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/scenario_run.h"
#include "net/asio_scheduler.h"
#include "net/curl_transport.h"
#include "protocol/signing.h"
#include "receiver/server.h"
#include "sim/scenario.h"
#include "tests/cli_test_util.h"
#include "tests/serve_harness.h"

namespace hooksim {
namespace {

using namespace std::chrono_literals;
using harness::kSecret;
using harness::Receiver;
using nlohmann::json;
using ::testing::ElementsAreArray;

const TimePoint kStart = TimePoint(std::chrono::days(20454));  // 2026-01-01

receiver::ReceiverOptions script(const std::string& text) {
  receiver::ReceiverOptions o;
  o.script = harness::receiver_script(text);
  return o;
}

// A port on which nothing listens (bound, then closed).
uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

// Sends single attempts through a CurlTransport and waits for each outcome.
class Sender {
 public:
  explicit Sender(net::CurlOptions options = {})
      : scheduler_(io_, {.start = kStart, .speed = 1.0, .skip_idle = false, .busy = {}}),
        transport_(io_, scheduler_, std::move(options)) {}

  // Sends one attempt per seq in `seqs` at once (cancelling those in `cancel` right away) and runs until the
  // others are done. Results in seq order; a cancelled attempt's stays empty.
  std::vector<std::optional<AttemptResult>> send_all(const SubscriptionConfig& sub, Duration timeout,
                                                     int count, const std::set<int>& cancel = {}) {
    std::vector<std::optional<AttemptResult>> out(count);
    std::vector<std::string> bodies(count);
    std::vector<std::string> ids(count);
    int pending = count - static_cast<int>(cancel.size());
    for (int i = 0; i < count; ++i) {
      ids[i] = "evt_" + std::to_string(i + 1);
      bodies[i] = R"({"id":")" + ids[i] + R"("})";
      DeliveryRequest req{&sub, ids[i], bodies[i], static_cast<uint64_t>(i + 1), 1, kStart, timeout};
      AttemptHandle h = transport_.send(req, [&out, &pending, i](const AttemptResult& r) {
        out[i] = r;
        --pending;
      });
      if (cancel.contains(i)) transport_.cancel(h);
    }
    while (pending > 0) io_.run_one();
    EXPECT_EQ(transport_.in_flight(), 0u);
    return out;
  }

  AttemptResult send(const SubscriptionConfig& sub, Duration timeout = 5s, uint64_t seq = 1,
                     uint32_t attempt = 1, const std::string& event_id = "evt_1") {
    std::string body = R"({"id":")" + event_id + R"(","type":"tracking","data":{}})";
    DeliveryRequest req{&sub, event_id, body, seq, attempt, kStart + 1h, timeout};
    std::optional<AttemptResult> out;
    transport_.send(req, [&](const AttemptResult& r) { out = r; });
    EXPECT_EQ(transport_.in_flight(), 1u);
    while (!out) io_.run_one();
    EXPECT_EQ(transport_.in_flight(), 0u);
    return *out;
  }

 private:
  boost::asio::io_context io_;
  // run_one() must block for I/O even when, between attempts, nothing is pending.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  net::AsioScheduler scheduler_;
  net::CurlTransport transport_;
};

SubscriptionConfig sub_to(const std::string& url, const std::string& secret = kSecret,
                          const std::string& token = "") {
  SubscriptionConfig c;
  c.id = "acme";
  c.endpoint = {url, secret, token};
  return c;
}

TEST(CurlTransport, DeliversWithTheDocumentedHeadersAndAValidSignature) {
  receiver::ReceiverOptions o;
  o.secret = kSecret;
  Receiver rx(o);
  Sender sender;
  AttemptResult r = sender.send(sub_to(rx.url()), 5s, 7, 3, "evt_42");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, ErrorClass::kNone);
  auto records = rx.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sub, "acme");
  EXPECT_EQ(records[0].event, "evt_42");
  EXPECT_EQ(records[0].seq, 7u);
  EXPECT_EQ(records[0].attempt, 3u);
  EXPECT_EQ(records[0].virtual_time, "2026-01-01T01:00:00.000Z");
  EXPECT_EQ(records[0].signature, receiver::RequestRecord::Signature::kOk);
}

// The policy's signature picks the scheme: the sender signs as that sender does and a receiver verifying that
// scheme accepts it, one verifying another refuses it. One sender for all: the same secret under another
// scheme must get a signer of its own.
TEST(CurlTransport, SignsWithThePolicysSchemeAndOnlyThatScheme) {
  Sender sender;
  for (const auto& scheme : protocol::signature_schemes()) {
    SCOPED_TRACE(scheme);
    std::string secret = scheme == "stripe" || scheme == "svix" ? kSecret : protocol::random_secret(scheme);
    receiver::ReceiverOptions o;
    o.secret = secret;
    o.scheme = scheme;
    Receiver rx(o);
    receiver::ReceiverOptions other_options;  // another scheme, with a secret of its form
    other_options.secret = kSecret;
    other_options.scheme = scheme == "svix" ? "stripe" : "svix";
    Receiver other(other_options);
    SubscriptionConfig sub = sub_to(rx.url(), secret);
    sub.policy.signature = scheme;
    EXPECT_EQ(sender.send(sub, 5s, 1, 1, "evt_" + scheme).status, 200);
    auto records = rx.records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].signature, receiver::RequestRecord::Signature::kOk);
    EXPECT_EQ(records[0].event, "evt_" + scheme);  // hooksim's own headers travel with every scheme
    sub.endpoint.url = other.url();
    EXPECT_EQ(sender.send(sub).status, 401);
  }
}

TEST(CurlTransport, BearerTokenModeSendsTheToken) {
  receiver::ReceiverOptions o;
  o.token = "tok-123";
  Receiver rx(o);
  Sender sender;
  EXPECT_EQ(sender.send(sub_to(rx.url(), "", "tok-123")).status, 200);
  EXPECT_EQ(sender.send(sub_to(rx.url(), "", "wrong")).status, 401);
}

TEST(CurlTransport, NonSuccessStatusesAreReportedAndRedirectsAreNotFollowed) {
  Receiver rx(script(R"({"windows":[{"from":"0s","until":"1d","status":301}]})"));
  Sender sender;
  AttemptResult r = sender.send(sub_to(rx.url()));
  EXPECT_EQ(r.status, 301);  // the engine counts it as a failure (ErrorClass::kStatus)
  EXPECT_EQ(rx.stats().requests, 1u);
  Receiver rx503(script(R"({"status":503})"));
  EXPECT_EQ(sender.send(sub_to(rx503.url())).status, 503);
}

TEST(CurlTransport, ExposesTheRetryAfterTheServedReceiverSends) {
  Receiver rx(script(R"({"status": 429, "retry_after": "30s",
                         "windows": [{"from": "0s", "until": "1d", "status": 503, "retry_after": "2m"}]})"));
  Receiver ok(script(R"({"retry_after": "30s"})"));
  Sender sender;
  AttemptResult r = sender.send(sub_to(rx.url()));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, 2min);
  AttemptResult delivered = sender.send(sub_to(ok.url()));
  EXPECT_EQ(delivered.status, 200);
  EXPECT_EQ(delivered.retry_after, std::nullopt) << "a 2xx carries none";
}

TEST(CurlTransport, AReceiverThatNeverAnswersTimesOut) {
  Receiver rx(script(R"({"windows":[{"from":"0s","until":"1d","timeout":true}]})"));
  Sender sender;
  AttemptResult r = sender.send(sub_to(rx.url()), 300ms);
  EXPECT_EQ(r.error, ErrorClass::kTimeout);
  EXPECT_EQ(r.status, 0);
}

TEST(CurlTransport, RefusedConnectionsAndDroppedConnectionsAreClassified) {
  Sender sender;
  AttemptResult refused = sender.send(sub_to("http://127.0.0.1:" + std::to_string(closed_port()) + "/hook"));
  EXPECT_EQ(refused.error, ErrorClass::kConnect);
  Receiver rx(script(R"({"windows":[{"from":"0s","until":"1d","drop":true}]})"));
  EXPECT_EQ(sender.send(sub_to(rx.url())).error, ErrorClass::kReset);
}

TEST(CurlTransport, ConnectionsAreKeptAliveAcrossAttempts) {
  Receiver rx;
  Sender sender;
  for (uint64_t seq = 1; seq <= 5; ++seq) EXPECT_EQ(sender.send(sub_to(rx.url()), 5s, seq).status, 200);
  EXPECT_EQ(rx.stats().connections, 1u);
  EXPECT_EQ(rx.stats().requests, 5u);
}

// Eight attempts to one host with two connections allowed: they go out two at a time, and the timeout of
// each starts when it gets a connection. Each answer takes 300 ms, so the last two finish about 1.2 s after
// they were sent; with a 1 s timeout they would fail if waiting for a connection counted.
TEST(CurlTransport, AttemptsBeyondTheHostLimitWaitForAConnectionBeforeTheirTimeoutStarts) {
  Receiver rx(script(R"({"latency":"300ms"})"));
  net::CurlOptions options;
  options.max_host_connections = 2;
  Sender sender(options);
  auto results = sender.send_all(sub_to(rx.url()), 1s, 8);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i]->status, 200) << "attempt " << i + 1 << " error " << to_string(results[i]->error);
  }
  EXPECT_EQ(rx.stats().requests, 8u);
  EXPECT_EQ(rx.stats().connections, 2u);
}

// A cancelled attempt that was still waiting for a connection is never sent and never reported.
TEST(CurlTransport, CancellingAWaitingAttemptSendsNothingForIt) {
  Receiver rx(script(R"({"latency":"50ms"})"));
  net::CurlOptions options;
  options.max_host_connections = 1;
  Sender sender(options);
  auto results = sender.send_all(sub_to(rx.url()), 5s, 4, {1, 2});
  EXPECT_FALSE(results[1].has_value());
  EXPECT_FALSE(results[2].has_value());
  ASSERT_TRUE(results[0] && results[3]);
  EXPECT_EQ(results[0]->status, 200);
  EXPECT_EQ(results[3]->status, 200);
  auto records = rx.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].event, "evt_1");
  EXPECT_EQ(records[1].event, "evt_4");
}

TEST(CurlTransport, HttpsVerifiesTheCertificateAgainstTheGivenCa) {
  harness::TempDir dir("http-tls");
  std::string key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext "
      "subjectAltName=IP:127.0.0.1,DNS:localhost -days 2 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  receiver::ReceiverOptions o;
  o.tls_cert_path = cert;
  o.tls_key_path = key;
  Receiver rx(o);
  ASSERT_EQ(rx.url().rfind("https://", 0), 0u);

  Sender untrusting;
  EXPECT_EQ(untrusting.send(sub_to(rx.url())).error, ErrorClass::kTls);
  net::CurlOptions trust;
  trust.ca_file = cert;
  Sender trusting(trust);
  EXPECT_EQ(trusting.send(sub_to(rx.url())).status, 200);
  net::CurlOptions no_checks;
  no_checks.insecure = true;
  Sender insecure(no_checks);
  EXPECT_EQ(insecure.send(sub_to(rx.url())).status, 200);
}

// --- hooksim run: the engine on the accelerated clock against a real receiver ------------------------------

struct LoggedAttempt {
  int64_t t_ms;
  uint64_t seq;
  uint32_t attempt;
  std::string outcome;
  int64_t latency_ms;
};

std::vector<LoggedAttempt> parse_log(const std::string& text) {
  std::vector<LoggedAttempt> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["kind"] != "attempt") continue;
    out.push_back({j["t_ms"], j["seq"], j["attempt"], j["outcome"], j["latency_ms"]});
  }
  return out;
}

// Runs the scenario `sc` as `hooksim run` does, at `speed` (skipping idle time unless `skip_idle` is false),
// with the attempt log in `log`.
Result<sim::Summary> run_logged(const json& sc, std::ostringstream& log, double speed = 1.0,
                                bool skip_idle = true) {
  auto scenario = sim::parse_scenario(sc);
  if (!scenario.ok()) return scenario.status();
  sim::RunOptions options;
  options.log = &log;
  return cli::run_scenario(*scenario, options, "", speed, net::CurlOptions{}, skip_idle);
}

TEST(RunCommand, AThreeDayOutageOfARealReceiverReplaysTheDocumentedScheduleInSeconds) {
  Receiver rx(R"({"clock":"virtual","start":"2026-01-01T00:00:00Z",
                 "windows":[{"from":"0s","until":"3d","status":503}]})");  // signatures checked with kSecret
  json sc = {{"duration", "5d"},
             {"subscriptions", {{{"id", "acme"}, {"url", rx.url()}, {"secret", kSecret}}}},
             {"events", {{{"every", "12h"}, {"type", "tracking"}, {"account", "a"}, {"vehicle", "v"}}}}};
  std::ostringstream log;
  auto summary = run_logged(sc, log);
  ASSERT_TRUE(summary.ok()) << summary.status().message();

  auto attempts = parse_log(log.str());
  // The head (seq 1) follows the documented schedule until the first attempt after the outage (88h55m).
  const std::vector<int64_t> expected_ms = {
      0, 0, 0, 0, 300000, 1200000, 3300000, 6900000, 15900000, 33900000, 71700000, 147300000, 320100000};
  std::vector<LoggedAttempt> head;
  for (const auto& a : attempts)
    if (a.seq == 1) head.push_back(a);
  ASSERT_EQ(head.size(), expected_ms.size());
  int64_t drift_budget = 0;  // the clock runs in real time while a request is in flight
  for (size_t i = 0; i < head.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(head[i].attempt, i + 1);
    EXPECT_EQ(head[i].outcome, i + 1 < head.size() ? "failed" : "delivered");
    EXPECT_GE(head[i].t_ms, expected_ms[i]);
    EXPECT_LE(head[i].t_ms, expected_ms[i] + drift_budget + 1000);  // within the real latencies so far
    drift_budget += head[i].latency_ms;
  }
  // Then the backlog drained in order, and everything published was delivered.
  EXPECT_EQ(summary->order_violations, 0u);
  EXPECT_EQ(summary->delivered, summary->events_published);
  EXPECT_EQ(summary->events_published, 10u);

  // The receiver saw exactly that sequence, correctly signed.
  auto records = rx.records();
  ASSERT_EQ(records.size(), attempts.size());
  for (size_t i = 0; i < expected_ms.size(); ++i) EXPECT_EQ(records[i].attempt, i + 1);
  EXPECT_EQ(rx.stats().bad_signatures, 0u);
  EXPECT_EQ(rx.stats().order_violations, 0u);
  EXPECT_EQ(rx.stats().duplicates, 0u);
}

TEST(RunCommand, TimeoutsAndRefusedConnectionsAreFailuresInTheLog) {
  Receiver rx(script(R"({"clock":"virtual","start":"2026-01-01T00:00:00Z",
                         "windows":[{"from":"0s","until":"1m","timeout":true}]})"));
  json sc = {
      {"duration", "1h"},
      {"policy", {{"attempt_timeout", "2s"}, {"immediate_retries", 0}}},
      {"subscriptions",
       {{{"id", "slow"}, {"url", rx.url()}, {"token", "t"}},
        {{"id", "gone"}, {"url", "http://127.0.0.1:" + std::to_string(closed_port())}, {"token", "t"}}}},
      {"events", {{{"at", "0s"}, {"type", "tracking"}}}}};
  auto scenario = sim::parse_scenario(sc);
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  std::ostringstream log;
  sim::RunOptions options;
  options.log = &log;
  auto summary = cli::run_scenario(*scenario, options, "", /*speed=*/10,
                                   net::CurlOptions{});  // the 2s timeout takes 200ms of real time
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  std::vector<std::string> slow, gone;
  std::istringstream in(log.str());
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    if (j["kind"] != "attempt") continue;
    std::string what = j["outcome"] == "delivered" ? "delivered" : j["error"].get<std::string>();
    (j["sub"] == "slow" ? slow : gone).push_back(what);
  }
  // slow: a timeout at 0s, then the 5m retry (after the 1-minute silence) is delivered.
  EXPECT_THAT(slow, ElementsAreArray({"timeout", "delivered"}));
  ASSERT_FALSE(gone.empty());
  for (const auto& g : gone) EXPECT_EQ(g, "connect");
  EXPECT_EQ(summary->subscriptions[1].state, "retrying");
}

// --time-scale: the clock runs at a constant scale x real time, so a receiver down for R real seconds is
// down R x scale of virtual time, and the documented schedule plays out against it (no idle time skipped).
TEST(RunCommand, TimeScaleKeepsVirtualTimeInStepWithRealTime) {
  // Down (503) for the first 500 ms of real time after the receiver started, then 200.
  Receiver rx(R"({"windows":[{"from":"0s","until":"500ms","status":503}]})");
  constexpr double kScale = 7200;  // a real second is two virtual hours: the outage is 1h of virtual time
  // 4h: the attempt at 1h55m (or an earlier one) is after the outage, with 2h to spare for slow requests.
  json sc = {{"duration", "4h"},
             {"subscriptions", {{{"id", "acme"}, {"url", rx.url()}, {"secret", kSecret}}}},
             {"events", {{{"at", "0s"}, {"type", "tracking"}, {"account", "a"}, {"vehicle", "v"}}}}};
  std::ostringstream log;
  auto summary = run_logged(sc, log, kScale, /*skip_idle=*/false);
  ASSERT_TRUE(summary.ok()) << summary.status().message();

  // No jumps: the 4h of virtual time took at least 4h / 7200 = 2 s of real time.
  EXPECT_GE(summary->wall_ms, 2000);
  auto attempts = parse_log(log.str());
  auto records = rx.records();
  ASSERT_EQ(records.size(), attempts.size());
  ASSERT_GE(attempts.size(), 2u);
  // The run started at most `first` real ms after the receiver (its first request came after the start).
  const int64_t first = records.front().t_ms + 1;
  const std::vector<int64_t> schedule_ms = {0, 0, 0, 0, 300000, 1200000, 3300000, 6900000};
  for (size_t i = 0; i < attempts.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(attempts[i].attempt, i + 1);
    ASSERT_LT(i, schedule_ms.size());
    EXPECT_GE(attempts[i].t_ms, schedule_ms[i]);  // the documented schedule, never early
    if (attempts[i].outcome == "failed") {
      // Answered within the outage's 500 real ms: started within its 1h of virtual time.
      EXPECT_LE(attempts[i].t_ms, 3600000);
      EXPECT_NE(i + 1, attempts.size());
    } else {
      // Answered after the outage: it ended at least (500 - first) real ms after the start, times the scale.
      EXPECT_GE(static_cast<double>(attempts[i].t_ms + attempts[i].latency_ms),
                kScale * static_cast<double>(500 - first));
      EXPECT_EQ(i + 1, attempts.size());
    }
  }
  EXPECT_EQ(attempts.back().outcome, "delivered");
  EXPECT_TRUE(summary->deactivated.empty());
  EXPECT_EQ(summary->delivered, 1u);
}

// Skipping idle time, a receiver that never answers sees the whole 7-day schedule in a moment: run says so.
TEST(RunCommand, ADeactivationInAMomentOfRealTimeIsExplainedOnStderr) {
  testutil::TempDir dir;
  json sc = {
      {"duration", "8d"},
      {"subscriptions",
       {{{"id", "down"}, {"url", "http://127.0.0.1:" + std::to_string(closed_port())}, {"token", "t"}}}},
      {"events", {{{"at", "0s"}, {"type", "tracking"}}}}};
  testutil::write_file(dir.file("s.json"), sc.dump());
  auto run = testutil::run_hooksim("run " + testutil::shell_quote(dir.file("s.json")), dir);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, ::testing::HasSubstr("hooksim run: subscription down was deactivated after "));
  EXPECT_THAT(run.err, ::testing::HasSubstr(" of real time: run skips idle time, so its whole retry schedule "
                                            "(16 attempts, deactivation after 7d of virtual time)"));
  EXPECT_THAT(run.err, ::testing::HasSubstr("use --time-scale 3600"));
  EXPECT_EQ(testutil::lines_of(run.err).size(), 1u) << run.err;

  // Under --time-scale nothing is skipped, so there is nothing to explain; --speed and --time-scale exclude
  // each other.
  json shorter = sc;
  shorter["duration"] = "1h";
  testutil::write_file(dir.file("short.json"), shorter.dump());
  auto scaled =
      testutil::run_hooksim("run --time-scale 36000 " + testutil::shell_quote(dir.file("short.json")), dir);
  EXPECT_EQ(scaled.exit_code, 0) << scaled.err;
  EXPECT_EQ(scaled.err, "");
  auto both = testutil::run_hooksim(
      "run --speed 2 --time-scale 3600 " + testutil::shell_quote(dir.file("s.json")), dir);
  EXPECT_EQ(both.exit_code, 2);
}

// The warnings come from what the watch saw: a deactivation, or only failures, within a moment of real time.
TEST(SkippedIdleWatch, NamesTheSubscriptionsThatFailedInAMomentAndOnlyThose) {
  json sc = {{"duration", "8d"},
             {"subscriptions",
              {{{"id", "gone"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}},
               {{"id", "failing"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}},
               {{"id", "fine"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}},
               {{"id", "late"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}},
               {{"id", "slow"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}},
               {{"id", "simulated"}, {"receiver", {{"windows", json::array()}}}}}}};
  auto scenario = sim::parse_scenario(sc);
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  auto wall = std::chrono::steady_clock::time_point{};
  cli::SkippedIdleWatch watch(*scenario, [&] { return wall; });
  auto attempt = [&](std::string_view sub, uint32_t n, Duration at, bool ok) {
    AttemptRecord r;
    r.sub = sub;
    r.attempt = n;
    r.started = kStart + at;
    r.error = ok ? ErrorClass::kNone : ErrorClass::kConnect;
    watch.on_attempt(r);
  };
  wall += 200ms;
  attempt("gone", 1, 0s, false);
  attempt("failing", 1, 0s, false);
  attempt("failing", 2, 5min, false);
  attempt("fine", 1, 0s, false);
  attempt("fine", 2, 5min, true);
  attempt("simulated", 1, 0s, false);
  watch.on_lifecycle({.kind = LifecycleRecord::Kind::kDeactivated, .sub = "gone", .at = kStart + 168h});
  wall += 2300ms;  // from a second on, real time in seconds
  attempt("late", 1, 0s, false);
  watch.on_lifecycle({.kind = LifecycleRecord::Kind::kDeactivated, .sub = "late", .at = kStart + 168h});
  wall += 2min;
  attempt("slow", 1, 0s, false);  // the first failure after more than a minute of real time: no warning
  EXPECT_THAT(
      watch.warnings(),
      ElementsAreArray({"subscription gone was deactivated after 200 ms of real time: run skips idle "
                        "time, so its whole retry schedule (1 attempt, deactivation after 7d of "
                        "virtual time) ran while the receiver was down; to keep the schedule in step "
                        "with real time, use --time-scale 3600 (a real second is a virtual hour)",
                        "every attempt to subscription failing failed (2 attempts over 5m of virtual "
                        "time, in 200 ms of real time): run skips idle time, so its retries ran back "
                        "to back; if the receiver was down for a while only, use --time-scale 3600 (a "
                        "real second is a virtual hour)",
                        "subscription late was deactivated after 2.5 s of real time: run skips idle "
                        "time, so its whole retry schedule (1 attempt, deactivation after 7d of "
                        "virtual time) ran while the receiver was down; to keep the schedule in step "
                        "with real time, use --time-scale 3600 (a real second is a virtual hour)"}));
}

TEST(RunCommand, SimulateRefusesScenariosWithRealUrls) {
  json sc = {{"duration", "1h"},
             {"subscriptions", {{{"id", "x"}, {"url", "http://127.0.0.1:1/"}, {"token", "t"}}}}};
  auto scenario = sim::parse_scenario(sc);
  ASSERT_TRUE(scenario.ok());
  auto summary = cli::simulate_scenario(*scenario, {});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(summary.status().message().rfind("subscriptions[0].url: ", 0), 0u) << summary.status().message();
}

}  // namespace
}  // namespace hooksim
