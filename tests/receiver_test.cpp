// The mock receiver (receiver/server.h) and `hooksim receiver`, exercised over real sockets on 127.0.0.1
// with libcurl as the client. Nothing waits on the clock: the tests wait for records (a condition variable)
// or for the client to return; scripted latencies and timeouts are far longer or shorter than anything the
// assertions depend on.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "engine/time.h"
#include "protocol/standard_webhooks.h"
#include "receiver/behaviour.h"
#include "receiver/server.h"
#include "tests/cli_test_util.h"

extern char** environ;

namespace hooksim::receiver {
namespace {

using nlohmann::json;
using Action = RequestRecord::Action;
using Order = RequestRecord::Order;
using Signature = RequestRecord::Signature;
using testutil::run_hooksim_merged;
using testutil::TempDir;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

using protocol::ReceiverAction;
using protocol::ReceiverBehaviour;
using protocol::ReceiverClock;

Result<ReceiverBehaviour> parse_script(const std::string& text) {
  return protocol::parse_receiver_behaviour(json::parse(text), "", protocol::ReceiverContext::kServed);
}

ReceiverBehaviour script(const std::string& text) {
  auto s = parse_script(text);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : ReceiverBehaviour{};
}

// Receiver options: answer as the receiver script `text` says.
ReceiverOptions with_script(const std::string& text) {
  ReceiverOptions options;
  options.script = script(text);
  return options;
}

std::string script_error(const std::string& text) {
  auto s = parse_script(text);
  return s.ok() ? "(accepted)" : s.status().message();
}

// ---------------------------------------------------------------------------------------------------------
// A client: one libcurl easy handle. Reusing a Client reuses its connection (keep-alive).
// ---------------------------------------------------------------------------------------------------------
struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  long new_connections = 0;  // connections curl opened for this request (0: it reused one)
};

struct Delivery {
  std::string sub = "sub-a";
  std::string id = "evt_1";
  uint64_t seq = 1;
  int attempt = 1;
  std::string virtual_time;  // omitted when empty
  std::string body = R"({"id":"evt_1","type":"tracking","account":"acme","vehicle":"truck-07",)"
                     R"("occurred_at":"2026-01-01T00:00:00.000Z","data":{}})";
  std::string signature;      // "sign": a correct signature with kSecret; "" : none; else sent as is
  std::string authorization;  // sent as is when not empty
};

class Client {
 public:
  Client() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
  }
  ~Client() { curl_easy_cleanup(handle_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  long timeout_ms = 0;  // 0: none
  std::string ca_file;  // trust this CA (HTTPS tests)

  Reply post(const std::string& url, const Delivery& d) {
    // Now, as a sender stamps it: the receiver refuses a timestamp more than 5 minutes off.
    const int64_t timestamp =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::vector<std::string> headers = {"content-type: application/json",
                                        "user-agent: hooksim/test",
                                        "webhook-id: " + d.id,
                                        "webhook-timestamp: " + std::to_string(timestamp),
                                        "hooksim-sequence: " + std::to_string(d.seq),
                                        "hooksim-attempt: " + std::to_string(d.attempt),
                                        "hooksim-subscription: " + d.sub};
    if (!d.virtual_time.empty()) headers.push_back("hooksim-virtual-time: " + d.virtual_time);
    if (d.signature == "sign") {
      headers.push_back("webhook-signature: " +
                        protocol::sign(*protocol::signing_key(kSecret), d.id, timestamp, d.body));
    } else if (!d.signature.empty()) {
      headers.push_back("webhook-signature: " + d.signature);
    }
    if (!d.authorization.empty()) headers.push_back("authorization: " + d.authorization);
    return request(url, "POST", d.body, headers);
  }

  Reply request(const std::string& url, const std::string& method, const std::string& body,
                const std::vector<std::string>& headers = {}) {
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    Reply reply;
    curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, list);
    if (method == "POST") {
      curl_easy_setopt(handle_, CURLOPT_POST, 1L);
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else {
      curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (!ca_file.empty()) curl_easy_setopt(handle_, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Client::write);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &reply.body);
    reply.code = curl_easy_perform(handle_);
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_easy_getinfo(handle_, CURLINFO_NUM_CONNECTS, &reply.new_connections);
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    return reply;
  }

 private:
  static size_t write(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  CURL* handle_;
};

// ---------------------------------------------------------------------------------------------------------
// A MockReceiver listening on 127.0.0.1 (a free port), run by its own io_context thread.
// ---------------------------------------------------------------------------------------------------------
class Running {
 public:
  explicit Running(ReceiverOptions options = {}) {
    options.on_request = [this](const RequestRecord&) {
      std::lock_guard lock(mu_);
      ++requests_read_;
      cv_.notify_all();
    };
    options.on_record = [this](const RequestRecord& r) {
      std::lock_guard lock(mu_);
      records_.push_back(r);
      cv_.notify_all();
    };
    receiver_.emplace(ioc_, std::move(options));
    Status st = receiver_->listen("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.message();
    if (st.ok()) thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Running() { stop(); }

  // Stops the receiver and waits until its io_context has nothing left to do.
  void stop() {
    receiver_->stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url(const std::string& path = "/hooks") const { return receiver_->url() + path; }
  MockReceiver& receiver() { return *receiver_; }

  // The records so far, after waiting until there are at least `n`. The wait is a safety net against a
  // hang, not a timing assertion.
  std::vector<RequestRecord> records(size_t n = 0) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return records_.size() >= n; }))
      ADD_FAILURE() << "expected " << n << " records, have " << records_.size();
    return records_;
  }

  // Waits until the receiver has read at least `n` requests (answered or not); same safety net.
  void wait_read(size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return requests_read_ >= n; }))
      ADD_FAILURE() << "expected " << n << " requests read, have " << requests_read_;
  }

 private:
  boost::asio::io_context ioc_;
  std::optional<MockReceiver> receiver_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RequestRecord> records_;
  size_t requests_read_ = 0;
};

std::vector<Order> orders(const std::vector<RequestRecord>& records) {
  std::vector<Order> out;
  for (const auto& r : records) out.push_back(r.order);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------------------

TEST(ReceiverScript, ParsesEveryField) {
  ReceiverBehaviour s = script(R"({
    "clock": "virtual", "start": "2026-01-01T00:00:00Z", "status": 204, "latency": "5ms",
    "windows": [
      {"from": "1h", "until": "2h", "status": 503, "latency": "1s"},
      {"from": "2h", "until": "3h", "timeout": true},
      {"from": "3h", "until": "4h", "drop": true}
    ],
    "fail_rate": 0.25, "fail_status": 500, "seed": 9})");
  EXPECT_EQ(s.clock, ReceiverClock::kVirtual);
  EXPECT_EQ(format_utc(s.start), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(s.status, 204);
  EXPECT_EQ(s.latency, Duration(5));
  ASSERT_EQ(s.windows.size(), 3u);
  EXPECT_EQ(s.windows[0].from, std::chrono::hours(1));
  EXPECT_EQ(s.windows[0].until, std::chrono::hours(2));
  EXPECT_EQ(s.windows[0].action, ReceiverAction::kAnswer);
  EXPECT_EQ(s.windows[0].status, 503);
  EXPECT_EQ(s.windows[0].latency, Duration(1000));
  EXPECT_EQ(s.windows[1].action, ReceiverAction::kTimeout);
  EXPECT_EQ(s.windows[2].action, ReceiverAction::kDrop);
  EXPECT_FALSE(s.windows[2].latency.has_value());
  EXPECT_EQ(s.fail_rate, 0.25);
  EXPECT_EQ(s.fail_status, 500);
  EXPECT_EQ(s.seed, 9u);
}

TEST(ReceiverScript, EmptyScriptAlwaysAnswers200AtOnce) {
  ReceiverBehaviour s = script("{}");
  EXPECT_EQ(s.clock, ReceiverClock::kRelative);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.latency, Duration(0));
  EXPECT_TRUE(s.windows.empty());
  EXPECT_EQ(s.fail_rate, 0.0);
}

TEST(ReceiverScript, WallClockWindowsAreTimestamps) {
  ReceiverBehaviour s = script(
      R"({"clock": "wall", "windows": [{"from": "2026-01-01T00:00:00Z", "until": "2026-01-01T01:00:00Z", "drop": true}]})");
  ASSERT_EQ(s.windows.size(), 1u);
  EXPECT_EQ(format_utc(TimePoint(s.windows[0].from)), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(format_utc(TimePoint(s.windows[0].until)), "2026-01-01T01:00:00.000Z");
}

TEST(ReceiverScript, ErrorsNameTheFieldAndTheProblem) {
  EXPECT_EQ(script_error(R"({"windows": [{"from": "2h", "until": "1h", "status": 503}]})"),
            "windows[0].until: must be later than from");
  EXPECT_EQ(script_error(R"({"windows": [{"from": "0s", "until": "1h", "status": 503, "drop": true}]})"),
            "windows[0]: needs exactly one of status, \"timeout\": true, \"drop\": true");
  EXPECT_EQ(script_error(R"({"windows": [{"from": "0s", "until": "1h"}]})"),
            "windows[0]: needs exactly one of status, \"timeout\": true, \"drop\": true");
  EXPECT_EQ(script_error(R"({"windows": [{"from": "0s", "until": "1h", "timeout": true, "latency": "1s"}]})"),
            "windows[0].latency: not allowed in a timeout window (it never answers)");
  EXPECT_EQ(script_error(R"({"windows": [{"from": "0s", "until": "1h", "status": 503, "colour": 1}]})"),
            "windows[0].colour: unknown field");
  EXPECT_EQ(script_error(R"({"statsu": 200})"), "statsu: unknown field (did you mean \"status\"?)");
  EXPECT_EQ(script_error(R"({"clock": "virtual"})"), "start: is required");
  EXPECT_EQ(script_error(R"({"start": "2026-01-01T00:00:00Z"})"),
            "start: only used with \"clock\": \"virtual\"");
  EXPECT_EQ(script_error(R"({"clock": "lunar"})"),
            "clock: must be one of \"relative\", \"wall\", \"virtual\"");
  EXPECT_EQ(script_error(R"({"status": 99})"), "status: must be an HTTP status code from 200 to 599");
  EXPECT_EQ(script_error(R"({"fail_rate": 1.5})"), "fail_rate: must be a number from 0 to 1");
  EXPECT_EQ(script_error(R"({"seed": -1})"), "seed: must be a whole number >= 0");
  EXPECT_EQ(script_error(R"([])"), "(root): must be a JSON object");
  EXPECT_NE(script_error(R"({"latency": "1x"})").find("latency: "), std::string::npos);
  EXPECT_NE(script_error(R"({"clock": "wall", "windows": [{"from": "1h", "until": "2h", "status": 503}]})")
                .find("windows[0].from: "),
            std::string::npos);
}

TEST(ReceiverScript, LoadReportsMissingFilesAndBadJson) {
  TempDir dir;
  EXPECT_FALSE(load_script(dir.file("absent.json")).ok());
  std::ofstream(dir.file("bad.json")) << "{not json";
  auto bad = load_script(dir.file("bad.json"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not valid JSON"), std::string::npos);
  std::ofstream(dir.file("good.json")) << R"({"status": 202})";
  auto good = load_script(dir.file("good.json"));
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->status, 202);
}

// ---------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------

TEST(MockReceiver, AnswersEveryPostWith200ByDefault) {
  Running rx;
  Client client;
  Reply reply = client.post(rx.url(), Delivery{});
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 200);
  auto records = rx.records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sub, "sub-a");
  EXPECT_EQ(records[0].event, "evt_1");
  EXPECT_EQ(records[0].seq, 1u);
  EXPECT_EQ(records[0].attempt, 1u);
  EXPECT_EQ(records[0].action, Action::kAnswer);
  EXPECT_EQ(records[0].status, 200);
  EXPECT_EQ(records[0].signature, Signature::kUnchecked);
  EXPECT_EQ(records[0].order, Order::kOk);
  EXPECT_EQ(records[0].bytes, Delivery{}.body.size());
  ReceiverStats stats = rx.receiver().stats();
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.answered_2xx, 1u);
  EXPECT_EQ(stats.connections, 1u);
}

TEST(MockReceiver, RelativeWindowCoveringNowAnswersItsStatus) {
  Running rx(with_script(R"({"windows": [{"from": "0s", "until": "1h", "status": 503}]})"));
  Client client;
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 503);
  auto records = rx.records(1);
  EXPECT_EQ(records[0].status, 503);
  EXPECT_EQ(records[0].order, Order::kNotApplicable);
  EXPECT_EQ(rx.receiver().stats().answered_other, 1u);
}

TEST(MockReceiver, RelativeWindowInTheFutureDoesNotApply) {
  Running rx(with_script(R"({"status": 202, "windows": [{"from": "1h", "until": "2h", "status": 503}]})"));
  Client client;
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 202);
}

TEST(MockReceiver, WallClockWindowCoveringNowAnswersItsStatus) {
  auto now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  Running rx(with_script(json{
      {"clock", "wall"},
      {"windows",
       {{{"from", format_utc(now - std::chrono::hours(1))},
         {"until", format_utc(now + std::chrono::hours(1))},
         {"status", 500}}}}}.dump()));
  Client client;
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 500);
}

TEST(MockReceiver, VirtualClockWindowIsChosenByTheVirtualTimeHeader) {
  Running rx(with_script(R"({"clock": "virtual", "start": "2026-01-01T00:00:00Z",
                             "windows": [{"from": "1h", "until": "2h", "status": 503}]})"));
  Client client;
  Delivery d;
  d.virtual_time = "2026-01-01T01:30:00.000Z";
  EXPECT_EQ(client.post(rx.url(), d).status, 503);
  d.virtual_time = "2026-01-01T00:30:00.000Z";
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  d.virtual_time = "2026-01-01T02:00:00.000Z";  // until is exclusive
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  d.virtual_time = "";  // no header: no window
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  d.virtual_time = "yesterday";  // unreadable: no window
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  auto records = rx.records(5);
  EXPECT_EQ(records[0].virtual_time, "2026-01-01T01:30:00.000Z");
  EXPECT_EQ(records[3].virtual_time, std::nullopt);
}

TEST(MockReceiver, FirstMatchingWindowWins) {
  Running rx(with_script(R"({"windows": [{"from": "0s", "until": "1h", "status": 502},
                                         {"from": "0s", "until": "2h", "status": 504}]})"));
  Client client;
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 502);
}

TEST(MockReceiver, FailRateDrawsFromTheSeededGenerator) {
  auto statuses = [](uint64_t seed) {
    Running rx(with_script(json{{"fail_rate", 0.5}, {"fail_status", 500}, {"seed", seed}}.dump()));
    Client client;
    std::vector<long> out;
    for (int i = 0; i < 32; ++i) out.push_back(client.post(rx.url(), Delivery{}).status);
    return out;
  };
  std::vector<long> first = statuses(7);
  EXPECT_EQ(first, statuses(7));
  EXPECT_NE(std::count(first.begin(), first.end(), 200), 0);
  EXPECT_NE(std::count(first.begin(), first.end(), 500), 0);
  EXPECT_EQ(std::count(first.begin(), first.end(), 200) + std::count(first.begin(), first.end(), 500), 32);
}

TEST(MockReceiver, LatencyDelaysOneAnswerWithoutHoldingUpOthers) {
  Running rx(with_script(R"({"clock": "virtual", "start": "2026-01-01T00:00:00Z",
                             "windows": [{"from": "1h", "until": "2h", "status": 200, "latency": "1h"}]})"));
  auto slow = std::async(std::launch::async, [&] {
    Client client;
    Delivery d;
    d.virtual_time = "2026-01-01T01:00:00.000Z";
    return client.post(rx.url(), d);
  });
  rx.wait_read(1);  // the slow request is in, waiting out its latency
  Client client;
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 200);  // one server thread, yet answered
  EXPECT_NE(slow.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  rx.stop();  // closes the slow connection: its answer never comes
  Reply reply = slow.get();
  EXPECT_NE(reply.code, CURLE_OK);
  auto records = rx.records(2);
  EXPECT_EQ(records[1].action, Action::kTimeout);
  EXPECT_EQ(records[1].status, 0);
}

TEST(MockReceiver, TimeoutWindowNeverAnswers) {
  Running rx(with_script(R"({"windows": [{"from": "0s", "until": "1h", "timeout": true}]})"));
  Client client;
  client.timeout_ms = 200;
  Reply reply = client.post(rx.url(), Delivery{});
  EXPECT_EQ(reply.code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_EQ(reply.status, 0);
  auto records = rx.records(1);  // written when the client gives up and closes
  EXPECT_EQ(records[0].action, Action::kTimeout);
  EXPECT_EQ(records[0].status, 0);
  EXPECT_EQ(records[0].order, Order::kNotApplicable);
  EXPECT_EQ(rx.receiver().stats().timeouts, 1u);
}

TEST(MockReceiver, DropWindowClosesTheConnectionWithoutAnAnswer) {
  Running rx(with_script(R"({"windows": [{"from": "0s", "until": "1h", "drop": true}]})"));
  Client client;
  Reply reply = client.post(rx.url(), Delivery{});
  EXPECT_EQ(reply.code, CURLE_GOT_NOTHING);
  EXPECT_EQ(reply.status, 0);
  auto records = rx.records(1);
  EXPECT_EQ(records[0].action, Action::kDrop);
  EXPECT_EQ(records[0].status, 0);
  EXPECT_EQ(rx.receiver().stats().drops, 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------------

TEST(MockReceiver, SignaturesAreVerifiedWithTheSecret) {
  ReceiverOptions options;
  options.secret = kSecret;
  Running rx(options);
  Client client;
  Delivery good;
  good.signature = "sign";
  EXPECT_EQ(client.post(rx.url(), good).status, 200);
  Delivery bad;
  bad.signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  EXPECT_EQ(client.post(rx.url(), bad).status, 401);
  Delivery missing;
  EXPECT_EQ(client.post(rx.url(), missing).status, 401);
  auto records = rx.records(3);
  EXPECT_EQ(records[0].signature, Signature::kOk);
  EXPECT_EQ(records[1].signature, Signature::kBad);
  EXPECT_EQ(records[2].signature, Signature::kMissing);
  EXPECT_EQ(records[1].order, Order::kNotApplicable);
  ReceiverStats stats = rx.receiver().stats();
  EXPECT_EQ(stats.bad_signatures, 2u);
  EXPECT_EQ(stats.answered_2xx, 1u);
  EXPECT_EQ(stats.answered_other, 2u);
}

TEST(MockReceiver, AcceptBadSignaturesAnswersAsScriptedButStillRecords) {
  ReceiverOptions options;
  options.secret = kSecret;
  options.accept_bad_signatures = true;
  Running rx(options);
  Client client;
  Delivery bad;
  bad.signature = "v1,AAAA";
  EXPECT_EQ(client.post(rx.url(), bad).status, 200);
  EXPECT_EQ(rx.records(1)[0].signature, Signature::kBad);
  EXPECT_EQ(rx.receiver().stats().bad_signatures, 1u);
}

TEST(MockReceiver, BearerTokenMustMatch) {
  ReceiverOptions options;
  options.token = "s3cret";
  Running rx(options);
  Client client;
  Delivery d;
  d.authorization = "Bearer s3cret";
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  d.authorization = "Bearer wrong";
  EXPECT_EQ(client.post(rx.url(), d).status, 401);
  d.authorization = "";
  EXPECT_EQ(client.post(rx.url(), d).status, 401);
  auto records = rx.records(3);
  EXPECT_EQ(records[0].signature, Signature::kOk);
  EXPECT_EQ(records[1].signature, Signature::kBad);
  EXPECT_EQ(records[2].signature, Signature::kMissing);
}

TEST(MockReceiver, TracksOrderAndDuplicatesPerSubscription) {
  Running rx;
  Client client;
  auto send = [&](const std::string& sub, const std::string& id, uint64_t seq) {
    Delivery d;
    d.sub = sub;
    d.id = id;
    d.seq = seq;
    return client.post(rx.url(), d).status;
  };
  EXPECT_EQ(send("a", "e1", 1), 200);
  EXPECT_EQ(send("a", "e2", 2), 200);
  EXPECT_EQ(send("a", "e2", 2), 200);  // a retry of an event already accepted
  EXPECT_EQ(send("a", "e4", 4), 200);  // 3 is missing
  EXPECT_EQ(send("a", "e3", 3), 200);  // late
  EXPECT_EQ(send("b", "e9", 9), 200);  // another subscription: its own order, first one seen
  EXPECT_EQ(send("b", "e10", 10), 200);
  auto records = rx.records(7);
  EXPECT_EQ(orders(records), (std::vector<Order>{Order::kOk, Order::kOk, Order::kDuplicate, Order::kGap,
                                                 Order::kOutOfOrder, Order::kOk, Order::kOk}));
  ReceiverStats stats = rx.receiver().stats();
  EXPECT_EQ(stats.duplicates, 1u);
  EXPECT_EQ(stats.order_violations, 2u);
  EXPECT_EQ(stats.sequence_gaps, 1u);  // e4 after e2
  EXPECT_EQ(stats.out_of_order, 1u);   // e3 after e4: order broken
}

TEST(MockReceiver, OnlyAcceptedRequestsCountForOrder) {
  Running rx(with_script(R"({"clock": "virtual", "start": "2026-01-01T00:00:00Z",
                             "windows": [{"from": "1h", "until": "2h", "status": 503}]})"));
  Client client;
  Delivery d;
  d.virtual_time = "2026-01-01T00:00:00.000Z";
  EXPECT_EQ(client.post(rx.url(), d).status, 200);  // seq 1 accepted
  d.id = "evt_2";
  d.seq = 2;
  d.virtual_time = "2026-01-01T01:00:00.000Z";
  EXPECT_EQ(client.post(rx.url(), d).status, 503);  // refused: n/a
  d.attempt = 2;
  d.virtual_time = "2026-01-01T02:00:00.000Z";
  EXPECT_EQ(client.post(rx.url(), d).status, 200);  // the retry is accepted, in order
  auto records = rx.records(3);
  EXPECT_EQ(orders(records), (std::vector<Order>{Order::kOk, Order::kNotApplicable, Order::kOk}));
  EXPECT_EQ(records[2].attempt, 2u);
}

TEST(MockReceiver, SubscriptionIsTheRequestPathWithoutTheHeader) {
  Running rx;
  Client client;
  Reply reply = client.request(rx.url("/hooks/acme?x=1"), "POST", "{}", {"hooksim-sequence: 5"});
  EXPECT_EQ(reply.status, 200);
  auto records = rx.records(1);
  EXPECT_EQ(records[0].sub, "/hooks/acme");
  EXPECT_EQ(records[0].event, std::nullopt);
  EXPECT_EQ(records[0].seq, 5u);
}

// ---------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------

TEST(MockReceiver, KeepAliveServesManyRequestsOverOneConnection) {
  Running rx;
  Client client;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    Delivery d;
    d.id = "evt_" + std::to_string(seq);
    d.seq = seq;
    Reply reply = client.post(rx.url(), d);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.new_connections, seq == 1 ? 1 : 0) << "request " << seq;
  }
  ReceiverStats stats = rx.receiver().stats();
  EXPECT_EQ(stats.connections, 1u);
  EXPECT_EQ(stats.requests, 5u);
  EXPECT_EQ(stats.order_violations, 0u);
}

TEST(MockReceiver, NonPostIsAnswered405) {
  Running rx;
  Client client;
  Reply reply = client.request(rx.url(), "GET", "");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(rx.records(1)[0].status, 405);
  // The connection stays usable.
  EXPECT_EQ(client.post(rx.url(), Delivery{}).status, 200);
  EXPECT_EQ(rx.receiver().stats().connections, 1u);
}

TEST(MockReceiver, HonoursExpect100ContinueBeforeTheBodyIsSent) {
  Running rx;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), rx.receiver().port()});
  std::string head =
      "POST /hooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(head));
  boost::asio::streambuf in;
  size_t n = boost::asio::read_until(socket, in, "\r\n\r\n");  // the receiver speaks first
  std::string interim(boost::asio::buffers_begin(in.data()), boost::asio::buffers_begin(in.data()) + n);
  in.consume(n);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  boost::asio::write(socket, boost::asio::buffer(std::string("{}")));
  n = boost::asio::read_until(socket, in, "\r\n\r\n");
  std::string final_head(boost::asio::buffers_begin(in.data()), boost::asio::buffers_begin(in.data()) + n);
  EXPECT_EQ(final_head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << final_head;
  EXPECT_EQ(rx.records(1)[0].bytes, 2u);
}

TEST(MockReceiver, BodyOverTenMebibytesIsAnswered413) {
  Running rx;
  Client client;
  Delivery d;
  d.body = std::string(10 * 1024 * 1024, 'x');
  EXPECT_EQ(client.post(rx.url(), d).status, 200);  // exactly the limit
  d.body.push_back('x');
  Reply reply = client.post(rx.url(), d);
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 413);
  auto records = rx.records(2);
  EXPECT_EQ(records[1].status, 413);
  EXPECT_EQ(records[1].bytes, 10u * 1024 * 1024 + 1);
  EXPECT_EQ(records[1].order, Order::kNotApplicable);
}

TEST(MockReceiver, ChunkedBodyOverTheLimitIsAnswered413) {
  ReceiverOptions options;
  options.body_limit = 1024;
  Running rx(options);
  Client client;
  Reply reply = client.request(rx.url(), "POST", std::string(4096, 'x'), {"transfer-encoding: chunked"});
  EXPECT_EQ(reply.code, CURLE_OK);
  EXPECT_EQ(reply.status, 413);
}

TEST(MockReceiver, RecordFileHasOneJsonLinePerRequest) {
  TempDir dir;
  ReceiverOptions options;
  options.record_path = dir.file("record.jsonl");
  options.secret = kSecret;
  Running rx(options);
  Client client;
  Delivery d;
  d.signature = "sign";
  d.virtual_time = "2026-01-01T00:05:00.000Z";
  d.attempt = 3;
  EXPECT_EQ(client.post(rx.url(), d).status, 200);
  EXPECT_EQ(client.request(rx.url("/other"), "GET", "").status, 405);
  rx.stop();
  ASSERT_TRUE(rx.receiver().flush().ok());

  std::ifstream in(options.record_path);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  const json& first = lines[0];
  EXPECT_TRUE(first["t_ms"].is_number_integer());
  EXPECT_EQ(first["sub"], "sub-a");
  EXPECT_EQ(first["event"], "evt_1");
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["attempt"], 3);
  EXPECT_EQ(first["virtual_time"], "2026-01-01T00:05:00.000Z");
  EXPECT_EQ(first["action"], "answer");
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["signature"], "ok");
  EXPECT_EQ(first["order"], "ok");
  EXPECT_EQ(first["bytes"], d.body.size());
  EXPECT_EQ(first.size(), 11u);
  const json& second = lines[1];
  EXPECT_EQ(second["sub"], "/other");
  EXPECT_TRUE(second["event"].is_null());
  EXPECT_TRUE(second["seq"].is_null());
  EXPECT_EQ(second["status"], 405);
  EXPECT_EQ(second["signature"], "unchecked");
  EXPECT_EQ(second["order"], "n/a");
}

TEST(MockReceiver, RecordLineEscapesWhatClientsSend) {
  RequestRecord r;
  r.sub = "a\"b\\c\n\xc3\xa9";
  json line = json::parse(r.to_json_line());
  EXPECT_EQ(line["sub"], "a\"b\\c\n\xc3\x83\xc2\xa9");  // octets read as ISO-8859-1, the record stays UTF-8
}

TEST(MockReceiver, ListenRejectsBadAddressesAndOptions) {
  boost::asio::io_context ioc;
  EXPECT_EQ(MockReceiver(ioc, {}).listen("127.0.0.1:99999").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(MockReceiver(ioc, {}).listen("nonsense").code(), Status::Code::kInvalidArgument);
  ReceiverOptions bad_secret;
  bad_secret.secret = "not-a-secret";
  EXPECT_EQ(MockReceiver(ioc, bad_secret).listen("127.0.0.1:0").code(), Status::Code::kInvalidArgument);
  ReceiverOptions half_tls;
  half_tls.tls_cert_path = "cert.pem";
  EXPECT_EQ(MockReceiver(ioc, half_tls).listen("127.0.0.1:0").code(), Status::Code::kInvalidArgument);
  ReceiverOptions bad_record;
  bad_record.record_path = "/nonexistent-dir/record.jsonl";
  EXPECT_EQ(MockReceiver(ioc, bad_record).listen("127.0.0.1:0").code(), Status::Code::kInvalidArgument);

  MockReceiver first(ioc, {});
  ASSERT_TRUE(first.listen("127.0.0.1:0").ok());
  EXPECT_EQ(MockReceiver(ioc, {}).listen("127.0.0.1:" + std::to_string(first.port())).code(),
            Status::Code::kIOError);
}

TEST(MockReceiver, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  std::string key = dir.file("key.pem"), cert = dir.file("cert.pem");
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -days 2 -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ReceiverOptions options;
  options.tls_cert_path = cert;
  options.tls_key_path = key;
  Running rx(options);
  ASSERT_EQ(rx.url().rfind("https://127.0.0.1:", 0), 0u) << rx.url();

  Client trusting;
  trusting.ca_file = cert;
  Reply ok = trusting.post(rx.url(), Delivery{});
  EXPECT_EQ(ok.code, CURLE_OK) << curl_easy_strerror(ok.code);
  EXPECT_EQ(ok.status, 200);
  Delivery second;
  second.id = "evt_2";
  second.seq = 2;
  Reply again = trusting.post(rx.url(), second);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.new_connections, 0);  // keep-alive over TLS too

  Client default_trust;
  Reply refused = default_trust.post(rx.url(), Delivery{});
  EXPECT_EQ(refused.code, CURLE_PEER_FAILED_VERIFICATION) << curl_easy_strerror(refused.code);
  EXPECT_EQ(rx.receiver().stats().requests, 2u);
}

// ---------------------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------------------

// `hooksim` with its stdout on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), HOOKSIM_BINARY);
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    EXPECT_EQ(posix_spawn(&pid_, HOOKSIM_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_ != nullptr) std::fclose(out_);
  }

  // The next stdout line without its newline; nullopt at end of file.
  std::optional<std::string> line() {
    std::string text;
    for (int c; (c = std::fgetc(out_)) != EOF;) {
      if (c == '\n') return text;
      text.push_back(static_cast<char>(c));
    }
    if (text.empty()) return std::nullopt;
    return text;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit status, or -1 when it did not exit normally.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

TEST(ReceiverCommand, PrintsItsAddressServesAndSummarizesOnSigterm) {
  TempDir dir;
  std::string record = dir.file("record.jsonl");
  Child child({"receiver", "--listen", "127.0.0.1:0", "--record", record, "--threads", "2"});
  auto first = child.line();
  ASSERT_TRUE(first.has_value());
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_EQ(first->rfind(prefix, 0), 0u) << *first;
  int port = std::stoi(first->substr(prefix.size()));
  ASSERT_GT(port, 0);

  Client client;
  EXPECT_EQ(client.post("http://127.0.0.1:" + std::to_string(port) + "/hooks", Delivery{}).status, 200);
  child.signal(SIGTERM);
  std::vector<std::string> rest;
  while (auto l = child.line()) rest.push_back(*l);
  EXPECT_EQ(child.wait(), 0);
  ASSERT_EQ(rest.size(), 1u);
  json summary = json::parse(rest[0]);
  EXPECT_EQ(summary["requests"], 1);
  EXPECT_EQ(summary["answered_2xx"], 1);
  for (const char* key :
       {"answered_other", "timeouts", "drops", "duplicates", "order_violations", "bad_signatures"})
    EXPECT_EQ(summary[key], 0) << key;

  std::ifstream in(record);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(json::parse(line)["event"], "evt_1");
  EXPECT_FALSE(std::getline(in, line));
}

TEST(ReceiverCommand, FollowPrintsALinePerRequestAsItArrivesAndRecordBodiesKeepsThem) {
  TempDir dir;
  std::string record = dir.file("record.jsonl");
  Child child({"receiver", "--secret", kSecret, "--follow", "--record", record, "--record-bodies"});
  auto first = child.line();
  ASSERT_TRUE(first.has_value());
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_EQ(first->rfind(prefix, 0), 0u) << *first;
  const std::string url = "http://127.0.0.1:" + first->substr(prefix.size()) + "/hooks";

  Client client;
  Delivery signed_one;
  signed_one.sub = "acme";
  signed_one.id = "evt_17";
  signed_one.seq = 17;
  signed_one.signature = "sign";
  ASSERT_EQ(client.post(url, signed_one).status, 200);
  // The line is there before the receiver stops: read while it runs.
  const std::regex time_first(R"(\d\d:\d\d:\d\d\.\d\d\dZ (.*))");
  std::smatch m;
  auto line = child.line();
  ASSERT_TRUE(line.has_value());
  ASSERT_TRUE(std::regex_match(*line, m, time_first)) << *line;
  EXPECT_EQ(m[1], "acme seq=17 attempt=1 signature=ok answer=200 order=ok event=evt_17");

  Delivery forged = signed_one;
  forged.id = "evt_19";
  forged.seq = 19;
  forged.attempt = 3;
  forged.signature = "v1,AAAA";
  ASSERT_EQ(client.post(url, forged).status, 401);
  line = child.line();
  ASSERT_TRUE(line.has_value());
  ASSERT_TRUE(std::regex_match(*line, m, time_first)) << *line;
  EXPECT_EQ(m[1], "acme seq=19 attempt=3 signature=bad answer=401 order=n/a event=evt_19");

  child.signal(SIGTERM);
  auto summary = child.line();
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(json::parse(*summary)["requests"], 2);
  EXPECT_FALSE(child.line().has_value());
  EXPECT_EQ(child.wait(), 0);

  std::ifstream in(record);
  std::string text;
  ASSERT_TRUE(std::getline(in, text));
  EXPECT_EQ(json::parse(text)["body"], signed_one.body);
  ASSERT_TRUE(std::getline(in, text));
  EXPECT_EQ(json::parse(text)["body"], forged.body);
}

TEST(ReceiverCommand, RecordBodiesNeedsARecordFile) {
  Child child({"receiver", "--record-bodies"});
  EXPECT_FALSE(child.line().has_value());
  EXPECT_EQ(child.wait(), 2);
}

TEST(ReceiverCommand, BadScriptOrFlagsExit2WithOneLineNamingTheProblem) {
  TempDir dir;
  std::string path = dir.file("script.json");
  std::ofstream(path) << R"({"windows": [{"from": "1h", "until": "1h", "status": 503}]})";
  EXPECT_EQ(
      run_hooksim_merged("receiver --script '" + path + "'"),
      std::make_pair(2, std::string("hooksim receiver script: windows[0].until: must be later than from\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --threads 0"),
            std::make_pair(2, std::string("hooksim receiver: --threads: must be from 1 to 256\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --secret nope"),
            std::make_pair(2, std::string("hooksim receiver: --secret: secret must start with whsec_\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --secret whsec_YQ=a"),  // data after the base64 padding
            std::make_pair(2, std::string("hooksim receiver: --secret: secret after whsec_ must be base64: "
                                          "base64: invalid character\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --tls-cert x.pem").first, 2);
  EXPECT_EQ(run_hooksim_merged("receiver --no-such-flag").first, 2);
}

}  // namespace
}  // namespace hooksim::receiver
