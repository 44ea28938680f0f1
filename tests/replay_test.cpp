// hooksim replay: the plan read from a log (filters, order, bodies, errors), the pacing on a virtual clock,
// and the command line against the mock receiver over real HTTP.
#include "sim/replay.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_test_util.h"
#include "engine/clock.h"
#include "receiver/server.h"
#include "sim/log_reader.h"
#include "sim/progress.h"

namespace hooksim::sim {
namespace {

using nlohmann::json;
using namespace hooksim::testutil;
using namespace std::chrono_literals;

// b's attempt on e3 began at 150 s but took 100 s, so its record comes after a's record of 200 s.
constexpr char kLog[] =
    R"({"kind":"run","command":"simulate","scenario":"s.json","scenario_sha256":"","seed":1,"start":"2026-01-01T00:00:00.000Z","duration_ms":1000000,"subscriptions":["a","b"],"payloads":true}
{"kind":"publish","t_ms":0,"event":"e1","subs":{"a":1,"b":1},"body":"{\"id\":\"e1\",\"n\":1}"}
{"kind":"attempt","t_ms":0,"sub":"b","event":"e1","seq":1,"attempt":1,"outcome":"delivered","status":200,"latency_ms":10}
{"kind":"attempt","t_ms":0,"sub":"a","event":"e1","seq":1,"attempt":1,"outcome":"failed","status":503,"error":"status","latency_ms":20,"next_t_ms":100000}
{"kind":"publish","t_ms":50000,"event":"e2","subs":{"a":2},"body":"{\"id\":\"e2\"}"}
{"kind":"publish","t_ms":60000,"event":"e3","subs":{"b":2},"body":"{\"id\":\"e3\",\"big\":\"\u00e9\"}"}
{"kind":"attempt","t_ms":100000,"sub":"a","event":"e1","seq":1,"attempt":2,"outcome":"failed","status":0,"error":"timeout","latency_ms":5000,"next_t_ms":200000}
{"kind":"attempt","t_ms":200000,"sub":"a","event":"e1","seq":1,"attempt":3,"outcome":"delivered","status":200,"latency_ms":40}
{"kind":"attempt","t_ms":150000,"sub":"b","event":"e3","seq":2,"attempt":1,"outcome":"failed","status":0,"error":"timeout","latency_ms":100000}
{"kind":"attempt","t_ms":200050,"sub":"a","event":"e2","seq":2,"attempt":1,"outcome":"delivered","status":200,"latency_ms":40}
{"kind":"attempt","t_ms":250000,"sub":"b","event":"e3","seq":2,"attempt":2,"outcome":"delivered","status":200,"latency_ms":40}
)";

std::vector<std::string> keys(const ReplayPlan& p) {
  std::vector<std::string> out;
  for (const auto& i : p.items) out.push_back(fmt::format("{}/{}#{}@{}", i.sub, i.event, i.attempt, i.t_ms));
  return out;
}

TEST(ReplayPlan, AllAttemptsInRecordedStartOrderWithTheirBodies) {
  TempDir dir;
  write_file(dir.file("log.jsonl"), kLog);
  auto plan = load_replay_plan(dir.file("log.jsonl"), {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->start, parse_utc("2026-01-01T00:00:00Z").value());
  EXPECT_EQ(keys(*plan), (std::vector<std::string>{"b/e1#1@0", "a/e1#1@0", "a/e1#2@100000", "b/e3#1@150000",
                                                   "a/e1#3@200000", "a/e2#1@200050", "b/e3#2@250000"}));
  EXPECT_EQ(*plan->items[0].body, R"({"id":"e1","n":1})");
  EXPECT_EQ(plan->items[0].body, plan->items[1].body) << "one copy per event";
  EXPECT_EQ(*plan->items[3].body, "{\"id\":\"e3\",\"big\":\"\xc3\xa9\"}");
  EXPECT_EQ(plan->items[1].recorded_error, ErrorClass::kStatus);
  EXPECT_EQ(plan->items[1].recorded_status, 503);
  EXPECT_EQ(plan->items[3].seq, 2u);
  EXPECT_EQ(plan->subscriptions, (std::vector<std::string>{"a", "b"}));
}

TEST(ReplayPlan, OnlyFailedOnlyDeliveredAndSubSelectAttempts) {
  TempDir dir;
  write_file(dir.file("log.jsonl"), kLog);
  auto failed = load_replay_plan(dir.file("log.jsonl"), {ReplayFilter::Only::kFailed, ""});
  ASSERT_TRUE(failed.ok()) << failed.status().message();
  EXPECT_EQ(keys(*failed), (std::vector<std::string>{"a/e1#1@0", "a/e1#2@100000", "b/e3#1@150000"}));
  auto delivered_a = load_replay_plan(dir.file("log.jsonl"), {ReplayFilter::Only::kDelivered, "a"});
  ASSERT_TRUE(delivered_a.ok()) << delivered_a.status().message();
  EXPECT_EQ(keys(*delivered_a), (std::vector<std::string>{"a/e1#3@200000", "a/e2#1@200050"}));
  auto b = load_replay_plan(dir.file("log.jsonl"), {ReplayFilter::Only::kAll, "b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(keys(*b), (std::vector<std::string>{"b/e1#1@0", "b/e3#1@150000", "b/e3#2@250000"}));
}

TEST(ReplayPlan, RejectsALogWithoutPayloadsAnUnknownSubAndBadLines) {
  TempDir dir;
  write_file(dir.file("log.jsonl"), kLog);
  auto unknown = load_replay_plan(dir.file("log.jsonl"), {ReplayFilter::Only::kAll, "zz"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "--sub zz: no such subscription in " + dir.file("log.jsonl") + " (it has: a, b)");

  write_file(
      dir.file("plain.jsonl"),
      "{\"kind\":\"publish\",\"t_ms\":0,\"event\":\"e1\",\"subs\":{\"a\":1}}\n"
      "{\"kind\":\"attempt\",\"t_ms\":0,\"sub\":\"a\",\"event\":\"e1\",\"seq\":1,\"attempt\":1,\"outcome\":"
      "\"delivered\",\"status\":200,\"latency_ms\":1}\n");
  auto plain = load_replay_plan(dir.file("plain.jsonl"), {});
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("no payloads"), std::string::npos) << plain.status().message();
  EXPECT_NE(plain.status().message().find("--log-payloads"), std::string::npos);

  write_file(dir.file("bad.jsonl"), std::string(kLog) + "{\"kind\":\"attempt\",\"t_ms\":\"x\"}\n");
  auto bad = load_replay_plan(dir.file("bad.jsonl"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind(dir.file("bad.jsonl") + ":12: t_ms: must be an integer", 0), 0u)
      << bad.status().message();
}

// A transport on the virtual clock: records each request and answers 200 after `latency`.
class RecordingTransport final : public Transport {
 public:
  struct Sent {
    TimePoint at;
    std::string sub, url, secret, event, body;
    uint64_t seq;
    uint32_t attempt;
    TimePoint virtual_time;
  };
  RecordingTransport(Scheduler& s, Duration latency) : s_(s), latency_(latency) {}
  AttemptHandle send(const DeliveryRequest& r, Done done) override {
    sent.push_back({s_.now(), r.subscription->id, r.subscription->endpoint.url,
                    r.subscription->endpoint.secret, std::string(r.event_id), std::string(r.body), r.seq,
                    r.attempt, r.virtual_time});
    s_.schedule_at(s_.now() + latency_, [this, done] { done({200, ErrorClass::kNone, latency_}); });
    return ++handles_;
  }
  void cancel(AttemptHandle) override {}
  std::vector<Sent> sent;

 private:
  Scheduler& s_;
  Duration latency_;
  AttemptHandle handles_ = 0;
};

// The replay plan of kLog (written to a file in `dir`).
Result<ReplayPlan> plan_of_log(const TempDir& dir) {
  write_file(dir.file("log.jsonl"), kLog);
  return load_replay_plan(dir.file("log.jsonl"), {});
}

// kLog's plan, and a virtual clock with a transport that answers 200 after 10 ms.
struct ReplayRig {
  TempDir dir;
  Result<ReplayPlan> plan = plan_of_log(dir);
  TimePoint t0 = from_unix_ms(5'000'000);
  VirtualScheduler clock{t0};
  RecordingTransport transport{clock, Duration(10)};
};

TEST(Replayer, SendsInOrderAtTheRecordedGapsDividedBySpeedOneAtATime) {
  ReplayRig rig;
  ASSERT_TRUE(rig.plan.ok());
  auto& [dir, plan, t0, clock, transport] = rig;
  Replayer replayer(clock, transport, {"http://r.test/hook", "whsec_x", "", Duration(1000)}, /*speed=*/1000);
  bool done = false;
  replayer.start(*plan, [&] { done = true; });
  clock.run_until(t0 + Duration(10'000));
  ASSERT_TRUE(done);
  ASSERT_EQ(transport.sent.size(), 7u);
  // Recorded starts 0, 0, 100 s, 150 s, 200 s, 200.05 s, 250 s at speed 1000: 0, 0, 100, 150, 200, 200, 250
  // ms; the second and sixth wait for the answer before them (10 ms).
  std::vector<int64_t> at;
  for (const auto& s : transport.sent) at.push_back(to_ms(s.at - t0));
  EXPECT_EQ(at, (std::vector<int64_t>{0, 10, 100, 150, 200, 210, 250}));
  const auto& second = transport.sent[1];
  EXPECT_EQ(second.sub, "a");
  EXPECT_EQ(second.event, "e1");
  EXPECT_EQ(second.body, R"({"id":"e1","n":1})");
  EXPECT_EQ(second.seq, 1u);
  EXPECT_EQ(second.attempt, 1u);
  EXPECT_EQ(second.url, "http://r.test/hook");
  EXPECT_EQ(second.secret, "whsec_x");
  EXPECT_EQ(transport.sent[2].virtual_time, plan->start + Duration(100000)) << "the recorded virtual time";
  ASSERT_EQ(replayer.outcomes().size(), 7u);
  EXPECT_TRUE(replayer.outcomes()[0].delivered());
}

// The progress line of `hooksim replay`: the observer hears each answer at its recorded time, so the meter
// shows how far through the recorded run the replay got, and how many of the attempts were sent.
TEST(Replayer, AnObserverHearsEachAnswerAtTheRecordedTime) {
  ReplayRig rig;
  ASSERT_TRUE(rig.plan.ok());
  auto& [dir, plan, t0, clock, transport] = rig;
  Replayer replayer(clock, transport, {"http://r.test/hook", "", "", Duration(1000)}, /*speed=*/1000);
  std::chrono::steady_clock::time_point wall{};
  std::ostringstream out;
  ProgressMeter meter(
      out, plan->start, Duration(plan->items.back().t_ms), [&] { return wall += 1s; },
      std::chrono::milliseconds(250), /*check_every=*/1);
  meter.count_sent_of(plan->items.size());
  replayer.set_observer(&meter);
  replayer.start(*plan, [] {});
  clock.run_until(t0 + Duration(10'000));
  EXPECT_EQ(meter.draws(), 7u);
  EXPECT_NE(out.str().find("]  40%  0d 00:01 of 4m10s  sent 3 of 7"), std::string::npos) << out.str();
  EXPECT_TRUE(out.str().ends_with("[########################] 100%  0d 00:04 of 4m10s  sent 7 of 7\x1b[K"))
      << out.str();
}

// --- the command line against the mock receiver
// ---------------------------------------------------------------

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class ReplayCli : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver::ReceiverOptions o;
    o.secret = kSecret;
    o.record_bodies = true;
    o.on_record = [this](const receiver::RequestRecord& r) {
      std::lock_guard lock(mu_);
      records_.push_back(r);
    };
    receiver_ = std::make_unique<receiver::MockReceiver>(io_, o);
    ASSERT_TRUE(receiver_->listen("127.0.0.1:0").ok());
    thread_ = std::thread([this] { io_.run(); });
    // A run with failures (503 windows), its bodies in the log.
    RunResult r = run_hooksim("simulate " + shell_quote(HOOKSIM_SOURCE_DIR "/scenarios/demo.json") +
                                  " --log-payloads --log " + shell_quote(dir_.file("log.jsonl")),
                              dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& line : lines_of(read_file(dir_.file("log.jsonl"))))
      log_.push_back(json::parse(line));
  }
  void TearDown() override {
    receiver_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<receiver::RequestRecord> records() {
    std::lock_guard lock(mu_);
    return records_;
  }

  boost::asio::io_context io_;
  std::unique_ptr<receiver::MockReceiver> receiver_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<receiver::RequestRecord> records_;
  TempDir dir_;
  std::vector<json> log_;
};

TEST_F(ReplayCli, ResendsEveryAttemptWithTheRecordedIdsBodiesOrderAndVirtualTimes) {
  RunResult r = run_hooksim("replay " + shell_quote(dir_.file("log.jsonl")) + " --target " +
                                receiver_->url() + "/hook --secret " + kSecret + " --speed 100000000",
                            dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no progress line when stderr is not a terminal";
  std::map<std::string, std::string> bodies;
  std::vector<json> attempts;
  for (const json& j : log_) {
    if (j["kind"] == "publish") bodies[j["event"]] = j["body"];
    if (j["kind"] == "attempt") attempts.push_back(j);
  }
  std::stable_sort(attempts.begin(), attempts.end(), [](const json& a, const json& b) {
    return a["t_ms"].get<int64_t>() < b["t_ms"].get<int64_t>();
  });
  auto got = records();
  ASSERT_EQ(got.size(), attempts.size()) << r.out << receiver_->stats().to_json_line();
  TimePoint start = parse_utc("2026-03-02T08:00:00Z").value();
  uint64_t failed_before = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    const json& a = attempts[i];
    EXPECT_EQ(got[i].sub, a["sub"]);
    EXPECT_EQ(got[i].event, a["event"].get<std::string>());
    EXPECT_EQ(got[i].seq, a["seq"].get<uint64_t>());
    EXPECT_EQ(got[i].attempt, a["attempt"].get<uint64_t>());
    EXPECT_EQ(got[i].body, bodies[a["event"]]);
    EXPECT_EQ(got[i].virtual_time, format_utc(start + Duration(a["t_ms"].get<int64_t>())));
    EXPECT_EQ(got[i].signature, receiver::RequestRecord::Signature::kOk);
    EXPECT_EQ(got[i].status, 200);
    if (a["outcome"] == "failed") ++failed_before;
  }
  ASSERT_GT(failed_before, 0u);
  json summary = json::parse(r.out);
  EXPECT_EQ(summary["sent"], attempts.size());
  EXPECT_EQ(summary["delivered"], attempts.size());
  EXPECT_EQ(summary["changed_outcome"], failed_before) << "the fixed receiver accepts what failed before";
}

TEST_F(ReplayCli, OnlyFailedAndSubFilterWhatIsSent) {
  RunResult r =
      run_hooksim("replay " + shell_quote(dir_.file("log.jsonl")) + " --target " + receiver_->url() +
                      " --secret " + kSecret + " --speed 100000000 --only failed --sub acme-tracking",
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::pair<std::string, uint64_t>> expected;
  for (const json& j : log_)
    if (j["kind"] == "attempt" && j["outcome"] == "failed" && j["sub"] == "acme-tracking")
      expected.emplace_back(j["event"], j["attempt"]);
  auto got = records();
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_GT(got.size(), 0u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event, expected[i].first);
    EXPECT_EQ(got[i].attempt, expected[i].second);
  }

  RunResult d =
      run_hooksim("replay " + shell_quote(dir_.file("log.jsonl")) + " --target " + receiver_->url() +
                      " --secret " + kSecret + " --speed 100000000 --only delivered --sub acme-messages",
                  dir_);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(records().size(), got.size() + 1) << "acme-messages got one event, delivered at once";
  EXPECT_EQ(records().back().sub, "acme-messages");
}

TEST_F(ReplayCli, BadFlagsAndLogsExitTwoWithAClearMessage) {
  std::string log = shell_quote(dir_.file("log.jsonl"));
  std::string target = " --target " + receiver_->url();
  struct Case {
    std::string args, message;
  };
  write_file(dir_.file("plain.jsonl"), "");
  RunResult plain_run = run_hooksim("simulate " + shell_quote(HOOKSIM_SOURCE_DIR "/scenarios/demo.json") +
                                        " --log " + shell_quote(dir_.file("plain.jsonl")),
                                    dir_);
  ASSERT_EQ(plain_run.exit_code, 0);
  std::vector<Case> cases = {
      {log + " --target ftp://x", "--target ftp://x: must be an http:// or https:// URL"},
      {log + target + " --only sometimes", "--only"},
      {log + target + " --speed 0", "--speed"},
      {log + target + " --secret nope", "--secret: "},
      {log + target + " --secret " + kSecret + " --token t", "at most one"},
      {log + target + " --timeout 1x", "--timeout 1x"},
      {log + target + " --sub nobody", "--sub nobody: no such subscription"},
      {log, "--target"},
      {shell_quote(dir_.file("missing.jsonl")) + target, "cannot open the file"},
      {shell_quote(dir_.file("plain.jsonl")) + target, "--log-payloads"},
  };
  for (const Case& c : cases) {
    RunResult r = run_hooksim("replay " + c.args, dir_);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
  EXPECT_TRUE(records().empty()) << "nothing is sent on bad input";
}

}  // namespace
}  // namespace hooksim::sim
