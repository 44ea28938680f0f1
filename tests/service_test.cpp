// The service API of `hooksim serve` (issue 4, docs/api.md), driven over real HTTP: the Service runs
// in-process on its own io_context thread with a fresh RocksDB store; deliveries go to in-process mock
// receivers. Every wait polls a condition with a deadline; no test depends on how fast anything runs.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/serve_run.h"
#include "net/asio_scheduler.h"
#include "protocol/delivery.h"
#include "receiver/server.h"
#include "service/api.h"
#include "service/attempt_history.h"
#include "service/metrics.h"
#include "service/publish_batcher.h"
#include "service/shards.h"
#include "storage/rocks_store.h"
#include "tests/serve_harness.h"
#include "tests/support/disk_faults.h"

namespace hooksim::service {
namespace {

using namespace std::chrono_literals;
using cli::Service;
using cli::ServiceOptions;
using harness::eventually;
using harness::http;
using harness::HttpOptions;
using harness::kSecret;
using harness::Reply;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kToken = "tok-0123456789abcdef";
constexpr size_t kBodyLimit = 4 * 1024 * 1024;
// Retries every 100ms, for ever (give_up_after stays 7d): a failing subscription stays "retrying".
const json kFastRetry = json::parse(R"({"immediate_retries":0,"delays":[],"repeat":"100ms"})");

// Checks the documented error shape {"error":{"code","field","message"}} and its code and field.
void expect_error(const Reply& r, long status, const std::string& code, const std::string& field) {
  EXPECT_EQ(r.status, status) << r;
  EXPECT_EQ(r.content_type, "application/json") << r;
  json j = r.j();
  ASSERT_TRUE(j.is_object()) << r;
  ASSERT_EQ(j.size(), 1u) << r;
  ASSERT_TRUE(j.contains("error")) << r;
  const json& e = j["error"];
  ASSERT_TRUE(e.is_object()) << r;
  EXPECT_EQ(e.size(), 3u) << r;
  EXPECT_EQ(e.value("code", "?"), code) << r;
  EXPECT_EQ(e.value("field", "?"), field) << r;
  ASSERT_TRUE(e.contains("message") && e["message"].is_string()) << r;
  EXPECT_FALSE(e["message"].get<std::string>().empty()) << r;
}

TimePoint utc(const json& j) {
  auto t = parse_utc(j.get<std::string>());
  EXPECT_TRUE(t.ok()) << j;
  return t.ok() ? *t : TimePoint{};
}

// --- the mock receiver ---

// The shared receiver (tests/serve_harness.h), answering as `script` says even to a bad signature: it is
// recorded, and the tests check the signature field themselves.
class Receiver : public harness::Receiver {
 public:
  explicit Receiver(const std::string& script = "{}") : harness::Receiver(accepting_bad_signatures(script)) {}

 private:
  static receiver::ReceiverOptions accepting_bad_signatures(const std::string& script) {
    receiver::ReceiverOptions options = harness::receiver_options(script);
    options.accept_bad_signatures = true;
    return options;
  }
};

// (event id, sequence number): an entry of Receiver::delivered.
using P = std::pair<std::string, uint64_t>;

// --- the service ---

// A Service on its own io_context thread; destroying it stops it the way SIGTERM does.
class RunningService {
 public:
  explicit RunningService(ServiceOptions options) {
    svc_ = std::make_unique<Service>(io_, std::move(options));
    start_status_ = svc_->start();
    if (!start_status_.ok()) return;
    base_ = "http://127.0.0.1:" + std::to_string(svc_->port());
    thread_ = std::thread([this] { svc_->run(); });
  }
  ~RunningService() {
    if (thread_.joinable()) {
      boost::asio::post(io_, [this] { svc_->shutdown(); });
      thread_.join();
    }
    svc_.reset();
  }
  const Status& start_status() const { return start_status_; }
  const std::string& base() const { return base_; }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Service> svc_;
  Status start_status_;
  std::string base_;
  std::thread thread_;
};

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');  // a parameterized test's name ends in "/PARAM"
    dir_ = std::filesystem::temp_directory_path() /
           ("hooksim-service-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
  }
  ~ServiceTest() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(const std::string& admin_token = "",
             std::shared_ptr<storage::DiskFaults> disk_faults = nullptr) {
    ServiceOptions o;
    if (disk_faults) o.store_file_system = disk_faults->file_system();
    o.data_dir = dir_.string();
    o.listen = "127.0.0.1:0";
    o.threads = threads_;
    o.admin_token = admin_token;
    admin_token_ = admin_token;
    service_ = std::make_unique<RunningService>(o);
    ASSERT_TRUE(service_->start_status().ok()) << service_->start_status().message();
  }
  void stop() { service_.reset(); }
  void restart() {
    stop();
    ASSERT_NO_FATAL_FAILURE(start(admin_token_));
  }

  std::string url(const std::string& path) const { return service_->base() + path; }
  HttpOptions auth() const { return {admin_token_.empty() ? "" : "Bearer " + admin_token_}; }
  Reply get(const std::string& path) { return http("GET", url(path), std::nullopt, auth()); }
  Reply post(const std::string& path, const std::string& body) {
    return http("POST", url(path), body, auth());
  }
  Reply patch(const std::string& path, const std::string& body) {
    return http("PATCH", url(path), body, auth());
  }
  Reply del(const std::string& path) { return http("DELETE", url(path), std::nullopt, auth()); }

  // Creates a subscription; returns the 201 body (or an empty object after a failed expectation).
  json create(const json& body) {
    Reply r = post("/v1/subscriptions", body.dump());
    EXPECT_EQ(r.status, 201) << r;
    return r.status == 201 ? r.j() : json::object();
  }
  json create(const std::string& id, const std::string& url, const json& filter = json::object(),
              const json& policy = nullptr) {
    json body = {{"id", id}, {"url", url}, {"secret", kSecret}, {"filter", filter}};
    if (!policy.is_null()) body["policy"] = policy;
    return create(body);
  }
  // Publishes; returns the 202 body.
  json publish(const json& events) {
    Reply r = post("/v1/events", events.dump());
    EXPECT_EQ(r.status, 202) << r;
    return r.status == 202 ? r.j() : json::object();
  }
  json status(const std::string& id) {
    Reply r = get("/v1/subscriptions/" + id + "/status");
    EXPECT_EQ(r.status, 200) << r;
    return r.j();
  }
  // Waits until the subscription's status satisfies `pred`; returns that status.
  template <typename Pred>
  json wait_status(const std::string& id, Pred pred) {
    json s;
    bool ok = eventually([&] {
      s = status(id);
      return !s.is_discarded() && pred(s);
    });
    EXPECT_TRUE(ok) << "condition never held; last status of " << id << ": " << s.dump();
    return s;
  }
  json wait_drained(const std::string& id) {
    return wait_status(id, [](const json& s) { return s["backlog"] == 0 && s["in_flight"] == false; });
  }

  std::filesystem::path dir_;
  std::string admin_token_;
  // serve --threads: two shards, so that every call crosses to a shard's thread (ShardsTest: 1, 2 and 4).
  size_t threads_ = 2;
  std::unique_ptr<RunningService> service_;
};

json event(const std::string& id, const std::string& type = "tracking") {
  return {{"id", id}, {"type", type}, {"account", "acme"}, {"vehicle", "truck-07"}, {"data", {{"n", 1}}}};
}

// --- subscriptions ---

TEST_F(ServiceTest, CreateSubscriptionAnswers201AndNeverShowsTheSecret) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  Reply r = post("/v1/subscriptions", json({{"id", "acme"},
                                            {"url", rx.url()},
                                            {"secret", kSecret},
                                            {"filter", {{"types", {"tracking"}}, {"accounts", {"acme"}}}}})
                                          .dump());
  ASSERT_EQ(r.status, 201) << r;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  json j = r.j();
  EXPECT_EQ(j["id"], "acme");
  EXPECT_EQ(j["url"], rx.url());
  EXPECT_EQ(j["auth"], "secret");
  ASSERT_TRUE(j["secret"].is_string());  // something that tells secrets apart, never the secret itself
  EXPECT_THAT(j["secret"].get<std::string>(), Not(HasSubstr(std::string(kSecret).substr(6, 8))));
  EXPECT_TRUE(j["token"].is_null());
  EXPECT_EQ(j["filter"], json::parse(R"({"types":["tracking"],"accounts":["acme"],"vehicles":[]})"));
  EXPECT_EQ(j["policy"]["immediate_retries"], 3);
  EXPECT_EQ(j["status"]["state"], "active");
  EXPECT_EQ(j["status"]["backlog"], 0);

  // Nowhere else either, even after deliveries.
  publish(event("e1"));
  wait_drained("acme");
  for (const std::string path :
       {"/v1/subscriptions", "/v1/subscriptions/acme", "/v1/subscriptions/acme/status",
        "/v1/subscriptions/acme/attempts", "/metrics"}) {
    Reply g = get(path);
    EXPECT_EQ(g.status, 200) << path << ": " << g;
    EXPECT_THAT(g.body, Not(HasSubstr(kSecret))) << path;
    EXPECT_THAT(g.body, Not(HasSubstr(std::string(kSecret).substr(6)))) << path;
  }
  // Deliveries are signed with the full secret.
  auto records = rx.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].signature, receiver::RequestRecord::Signature::kOk);
}

TEST_F(ServiceTest, CreateSubscriptionWithoutIdGeneratesOneAndMasksTheToken) {
  ASSERT_NO_FATAL_FAILURE(start());
  Reply r =
      post("/v1/subscriptions", json({{"url", "https://hooks.example.test/in"}, {"token", kToken}}).dump());
  ASSERT_EQ(r.status, 201) << r;
  EXPECT_THAT(r.body, Not(HasSubstr(kToken)));
  json j = r.j();
  ASSERT_TRUE(j["id"].is_string());
  std::string id = j["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("sub_[0-9a-f]{12}"))) << id;
  EXPECT_EQ(j["auth"], "token");
  EXPECT_TRUE(j["secret"].is_null());
  ASSERT_TRUE(j["token"].is_string());
  EXPECT_THAT(j["token"].get<std::string>(), Not(HasSubstr(std::string(kToken).substr(0, 8))));
  EXPECT_EQ(j["filter"], json::parse(R"({"types":[],"accounts":[],"vehicles":[]})"));
  // A second one gets another id.
  Reply r2 =
      post("/v1/subscriptions", json({{"url", "https://hooks.example.test/in"}, {"token", kToken}}).dump());
  ASSERT_EQ(r2.status, 201) << r2;
  EXPECT_NE(r2.j()["id"], id);
  Reply one = get("/v1/subscriptions/" + id);
  EXPECT_EQ(one.status, 200) << one;
  EXPECT_THAT(one.body, Not(HasSubstr(kToken)));
}

TEST_F(ServiceTest, CreateSubscriptionWithDuplicateIdIs409AndKeepsTheFirst) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/first");
  Reply r = post("/v1/subscriptions",
                 json({{"id", "acme"}, {"url", "http://127.0.0.1:9/second"}, {"secret", kSecret}}).dump());
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(r.j()["error"]["code"], "already_exists") << r;
  EXPECT_EQ(get("/v1/subscriptions/acme").j()["url"], "http://127.0.0.1:9/first");
  EXPECT_EQ(get("/v1/subscriptions").j()["subscriptions"].size(), 1u);
}

// Issue 4: "Bad input gets a JSON error with the field and the reason: ... duplicate id."
TEST_F(ServiceTest, DuplicateSubscriptionIdErrorNamesTheIdField) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/first");
  Reply r = post("/v1/subscriptions",
                 json({{"id", "acme"}, {"url", "http://127.0.0.1:9/second"}, {"secret", kSecret}}).dump());
  expect_error(r, 409, "already_exists", "id");
}

TEST_F(ServiceTest, CreateSubscriptionRejectsBadInputNamingTheFieldAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string ok_url = R"("url":"http://127.0.0.1:9/hook")";
  const std::string ok_secret = std::string(R"("secret":")") + kSecret + "\"";
  struct Case {
    std::string body, code, field;
  };
  const std::vector<Case> cases = {
      {"{not json", "invalid_json", "body"},
      {"", "invalid_json", "body"},
      {"[]", "invalid_argument", "(root)"},
      {"{" + ok_secret + "}", "invalid_argument", "url"},
      {R"({"url":5,)" + ok_secret + "}", "invalid_argument", "url"},
      {R"({"url":"ftp://127.0.0.1/hook",)" + ok_secret + "}", "invalid_argument", "url"},
      {R"({"url":"127.0.0.1:9/hook",)" + ok_secret + "}", "invalid_argument", "url"},
      {R"({"url":"http://",)" + ok_secret + "}", "invalid_argument", "url"},
      {"{" + ok_url + R"(,"secret":"not-a-secret"})", "invalid_argument", "secret"},
      {"{" + ok_url + R"(,"secret":"whsec_"})", "invalid_argument", "secret"},
      {"{" + ok_url + R"(,"secret":7})", "invalid_argument", "secret"},
      {"{" + ok_url + "," + ok_secret + R"(,"token":"t"})", "invalid_argument", "token"},
      {"{" + ok_url + "}", "invalid_argument", "secret"},
      {"{" + ok_url + R"(,"token":""})", "invalid_argument", "token"},
      {"{" + ok_url + "," + ok_secret + R"(,"colour":"blue"})", "invalid_argument", "colour"},
      {"{" + ok_url + "," + ok_secret + R"(,"id":7})", "invalid_argument", "id"},
      {"{" + ok_url + "," + ok_secret + R"(,"id":"has space"})", "invalid_argument", "id"},
      {"{" + ok_url + "," + ok_secret + R"(,"id":""})", "invalid_argument", "id"},
      {"{" + ok_url + "," + ok_secret + R"(,"filter":[]})", "invalid_argument", "filter"},
      {"{" + ok_url + "," + ok_secret + R"(,"filter":{"types":"tracking"}})", "invalid_argument",
       "filter.types"},
      {"{" + ok_url + "," + ok_secret + R"(,"filter":{"types":[1]}})", "invalid_argument", "filter.types[0]"},
      {"{" + ok_url + "," + ok_secret + R"(,"filter":{"colours":[]}})", "invalid_argument", "filter.colours"},
      {"{" + ok_url + "," + ok_secret + R"(,"policy":"weekly"})", "invalid_argument", "policy"},
      {"{" + ok_url + "," + ok_secret + R"(,"policy":{"delays":["5x"]}})", "invalid_argument",
       "policy.delays[0]"},
      {"{" + ok_url + "," + ok_secret + R"(,"policy":{"give_up_after":"0s"}})", "invalid_argument",
       "policy.give_up_after"},
      {"{" + ok_url + "," + ok_secret + R"(,"policy":{"retries":3}})", "invalid_argument", "policy.retries"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    Reply r = post("/v1/subscriptions", c.body);
    expect_error(r, 400, c.code, c.field);
  }
  // The secret is not echoed in errors either.
  Reply r = post("/v1/subscriptions", "{" + ok_url + "," + ok_secret + R"(,"token":"t"})");
  EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  Reply list = get("/v1/subscriptions");
  ASSERT_EQ(list.status, 200) << list;
  EXPECT_EQ(list.j(), json::parse(R"({"subscriptions":[]})"));
}

TEST_F(ServiceTest, ListAndGetShowEverySubscriptionInRegistrationOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("zeta", "http://127.0.0.1:9/z");
  create("alpha", "http://127.0.0.1:9/a", {{"types", {"tracking"}}});
  Reply r = get("/v1/subscriptions");
  ASSERT_EQ(r.status, 200) << r;
  json list = r.j()["subscriptions"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "zeta");
  EXPECT_EQ(list[1]["id"], "alpha");
  EXPECT_EQ(list[1]["url"], "http://127.0.0.1:9/a");
  for (const char* field : {"state", "backlog", "oldest_queued_age_ms", "streak_start", "streak_attempts",
                            "last_attempt", "next_attempt", "delivered", "discarded", "dropped_inactive",
                            "deactivated_at", "deactivation_reason"})
    EXPECT_TRUE(list[1].contains(field)) << field;
  Reply one = get("/v1/subscriptions/alpha");
  ASSERT_EQ(one.status, 200) << one;
  EXPECT_EQ(one.j()["filter"]["types"], json({"tracking"}));
}

TEST_F(ServiceTest, PatchedFilterAppliesToTheNextPublish) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url(), {{"types", {"tracking"}}});
  publish(json::array({event("t1", "tracking"), event("m1", "message")}));
  Reply p = patch("/v1/subscriptions/acme", R"({"filter":{"types":["message"]}})");
  ASSERT_EQ(p.status, 200) << p;
  EXPECT_EQ(p.j()["filter"]["types"], json({"message"}));
  EXPECT_EQ(p.j()["url"], rx.url());  // what the PATCH does not name stays
  EXPECT_EQ(p.j()["auth"], "secret");
  publish(json::array({event("t2", "tracking"), event("m2", "message")}));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() >= 2; }));
  wait_drained("acme");
  EXPECT_THAT(rx.delivered("acme"), ::testing::ElementsAre(P{"t1", 1}, P{"m2", 2}));
  EXPECT_EQ(status("acme")["delivered"], 2);
}

TEST_F(ServiceTest, PatchRejectsAnIdChangeAndBadInputAndKeepsTheSubscription) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/hook");
  json before = get("/v1/subscriptions/acme").j();
  expect_error(patch("/v1/subscriptions/acme", R"({"id":"other"})"), 400, "invalid_argument", "id");
  expect_error(patch("/v1/subscriptions/acme", "{oops"), 400, "invalid_json", "body");
  expect_error(patch("/v1/subscriptions/acme", R"({"url":"gopher://x"})"), 400, "invalid_argument", "url");
  expect_error(patch("/v1/subscriptions/acme", R"({"filter":{"types":"x"}})"), 400, "invalid_argument",
               "filter.types");
  expect_error(
      patch("/v1/subscriptions/acme", R"({"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","token":"t"})"),
      400, "invalid_argument", "token");
  expect_error(patch("/v1/subscriptions/acme", R"({"shade":1})"), 400, "invalid_argument", "shade");
  expect_error(patch("/v1/subscriptions/nope", R"({"url":"http://127.0.0.1:9/x"})"), 404, "not_found", "");
  EXPECT_EQ(get("/v1/subscriptions/acme").j(), before);

  // The same id is not a change; a token replaces the secret.
  Reply ok = patch("/v1/subscriptions/acme", std::string(R"({"id":"acme","token":")") + kToken + "\"}");
  ASSERT_EQ(ok.status, 200) << ok;
  EXPECT_EQ(ok.j()["auth"], "token");
  EXPECT_TRUE(ok.j()["secret"].is_null());
  EXPECT_THAT(ok.body, Not(HasSubstr(kToken)));
}

TEST_F(ServiceTest, AnOrderingChangeWithEventsQueuedIs409AndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/hook");  // refused: the event stays queued
  create("idle", "http://127.0.0.1:9/hook", {{"types", {"none"}}});
  publish(event("e1"));
  json before = get("/v1/subscriptions/acme").j()["policy"];
  expect_error(patch("/v1/subscriptions/acme", R"({"policy":{"ordering":"unordered","concurrency":3}})"), 409,
               "failed_precondition", "policy.ordering");
  EXPECT_EQ(get("/v1/subscriptions/acme").j()["policy"], before);
  // With nothing queued it applies, and the policy says so.
  Reply ok = patch("/v1/subscriptions/idle", R"({"policy":{"ordering":"unordered","concurrency":3}})");
  ASSERT_EQ(ok.status, 200) << ok;
  EXPECT_EQ(ok.j()["policy"]["ordering"], "unordered");
  EXPECT_EQ(ok.j()["policy"]["concurrency"], 3);
}

TEST_F(ServiceTest, DeleteAnswers204ThenTheSubscriptionIsGone) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/hook");
  create("other", "http://127.0.0.1:9/hook");
  Reply d = del("/v1/subscriptions/acme");
  EXPECT_EQ(d.status, 204) << d;
  EXPECT_EQ(d.body, "");
  expect_error(get("/v1/subscriptions/acme"), 404, "not_found", "");
  expect_error(del("/v1/subscriptions/acme"), 404, "not_found", "");
  expect_error(get("/v1/subscriptions/acme/status"), 404, "not_found", "");
  json list = get("/v1/subscriptions").j()["subscriptions"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "other");
  // Gone after a restart too, and the id is free again.
  ASSERT_NO_FATAL_FAILURE(restart());
  expect_error(get("/v1/subscriptions/acme"), 404, "not_found", "");
  create("acme", "http://127.0.0.1:9/hook");
}

TEST_F(ServiceTest, UnknownSubscriptionIs404OnEveryRoute) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_error(get("/v1/subscriptions/nope"), 404, "not_found", "");
  expect_error(patch("/v1/subscriptions/nope", "{}"), 404, "not_found", "");
  expect_error(del("/v1/subscriptions/nope"), 404, "not_found", "");
  expect_error(get("/v1/subscriptions/nope/status"), 404, "not_found", "");
  expect_error(get("/v1/subscriptions/nope/attempts"), 404, "not_found", "");
  expect_error(post("/v1/subscriptions/nope/reactivate", ""), 404, "not_found", "");
  expect_error(get("/v2/things"), 404, "not_found", "");
  expect_error(http("PUT", url("/v1/subscriptions")), 405, "method_not_allowed", "");
  expect_error(http("POST", url("/metrics"), "x"), 405, "method_not_allowed", "");
}

// --- publishing ---

TEST_F(ServiceTest, PublishAcceptsOneObjectOrAnArrayAndGeneratesMissingIds) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url());
  Reply one = post("/v1/events", event("e1").dump());
  ASSERT_EQ(one.status, 202) << one;
  EXPECT_EQ(one.j(), json::parse(R"({"accepted":["e1"],"duplicates":[]})"));

  json many = publish(json::array({event("e2"), json::parse(R"({"type":"message"})"),
                                   json::parse(R"({"type":"tracking","data":[1,2]})")}));
  ASSERT_EQ(many["accepted"].size(), 3u);
  EXPECT_EQ(many["accepted"][0], "e2");
  std::string g1 = many["accepted"][1], g2 = many["accepted"][2];
  EXPECT_TRUE(std::regex_match(g1, std::regex("evt_[0-9a-f]+_[0-9]+"))) << g1;
  EXPECT_NE(g1, g2);
  EXPECT_EQ(many["duplicates"], json::array());

  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() == 4; }));
  EXPECT_EQ(rx.delivered_ids("acme"), (std::vector<std::string>{"e1", "e2", g1, g2}));
}

TEST_F(ServiceTest, RepeatedEventIdIsListedAsDuplicateAndDeliveredOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url());
  EXPECT_EQ(publish(event("x")), json::parse(R"({"accepted":["x"],"duplicates":[]})"));
  EXPECT_EQ(publish(json::array({event("x"), event("y")})),
            json::parse(R"({"accepted":["y"],"duplicates":["x"]})"));
  EXPECT_EQ(publish(json::array({event("z"), event("z")})),
            json::parse(R"({"accepted":["z"],"duplicates":["z"]})"));
  EXPECT_EQ(publish(event("y")), json::parse(R"({"accepted":[],"duplicates":["y"]})"));
  publish(event("last"));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() >= 4; }));
  wait_drained("acme");
  EXPECT_THAT(rx.delivered("acme"), ::testing::ElementsAre(P{"x", 1}, P{"y", 2}, P{"z", 3}, P{"last", 4}));
  EXPECT_EQ(rx.records().size(), 4u);
}

TEST_F(ServiceTest, EventIdsAreRememberedAcrossRestarts) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url());
  publish(json::array({event("a"), event("b")}));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() == 2; }));
  // Both acknowledged before the restart: the receiver has counted "b" before the service has stored its
  // acknowledgement, and an event in flight at a restart is sent again.
  wait_drained("acme");
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(publish(json::array({event("b"), event("c"), event("a")})),
            json::parse(R"({"accepted":["c"],"duplicates":["b","a"]})"));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() >= 3; }));
  wait_drained("acme");
  EXPECT_THAT(rx.delivered("acme"), ::testing::ElementsAre(P{"a", 1}, P{"b", 2}, P{"c", 3}));
}

TEST_F(ServiceTest, RejectedPublishStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver up;
  create("acme", down.url(), json::object(), kFastRetry);
  publish(json::array({event("e1"), event("e2")}));
  wait_status("acme", [](const json& s) { return s["state"] == "retrying"; });

  struct Case {
    std::string body, code, field;
  };
  const std::string big_id(201, 'i');
  const std::vector<Case> cases = {
      {"{not json", "invalid_json", "body"},
      {"", "invalid_json", "body"},
      {"5", "invalid_argument", "(root)"},
      {"[]", "invalid_argument", "(root)"},
      {R"({"id":"g1"})", "invalid_argument", "type"},
      {R"({"id":"g1","type":7})", "invalid_argument", "type"},
      {R"({"id":"g1","type":""})", "invalid_argument", "type"},
      {R"({"id":7,"type":"t"})", "invalid_argument", "id"},
      {R"({"id":"","type":"t"})", "invalid_argument", "id"},
      {R"({"id":")" + big_id + R"(","type":"t"})", "invalid_argument", "id"},
      {R"({"id":"g1","type":"t","account":5})", "invalid_argument", "account"},
      {R"({"id":"g1","type":"t","vehicle":[]})", "invalid_argument", "vehicle"},
      {R"({"id":"g1","type":"t","occurred_at":"yesterday"})", "invalid_argument", "occurred_at"},
      {R"({"id":"g1","type":"t","colour":"red"})", "invalid_argument", "colour"},
      {R"([{"id":"g1","type":"t"},{"id":"g2"}])", "invalid_argument", "[1].type"},
      {R"([{"id":"g1","type":"t"},5])", "invalid_argument", "[1]"},
      {R"([{"id":"g1","type":"t"},{"id":"g2","type":"t","extra":1}])", "invalid_argument", "[1].extra"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    expect_error(post("/v1/events", c.body), 400, c.code, c.field);
  }
  // Over the body limit, with the rest of the batch valid.
  std::string huge = R"({"id":"g1","type":"t","data":")" + std::string(kBodyLimit, 'x') + "\"}";
  expect_error(post("/v1/events", huge), 413, "too_large", "");

  json s = status("acme");
  EXPECT_EQ(s["backlog"], 2);
  EXPECT_EQ(s["dropped_inactive"], 0);
  // g1 was never stored, so it is not a duplicate; and no sequence number was used up.
  EXPECT_EQ(publish(event("g1")), json::parse(R"({"accepted":["g1"],"duplicates":[]})"));
  EXPECT_EQ(status("acme")["backlog"], 3);
  Reply p = patch("/v1/subscriptions/acme", json({{"url", up.url()}}).dump());
  ASSERT_EQ(p.status, 200) << p;
  wait_drained("acme");
  EXPECT_THAT(up.delivered("acme"), ::testing::ElementsAre(P{"e1", 1}, P{"e2", 2}, P{"g1", 3}));
}

TEST_F(ServiceTest, BodyLimitIsFourMebibytes) {
  ASSERT_NO_FATAL_FAILURE(start());
  // Exactly 4 MiB is accepted.
  const std::string head = R"({"id":"big","type":"t","data":")", tail = "\"}";
  std::string exact = head + std::string(kBodyLimit - head.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(exact.size(), kBodyLimit);
  Reply ok = post("/v1/events", exact);
  EXPECT_EQ(ok.status, 202) << ok;
  // One byte more is not: with a Content-Length (with and without Expect: 100-continue) or chunked.
  const std::string head2 = R"({"id":"big2","type":"t","data":")";
  std::string over = head2 + std::string(kBodyLimit + 1 - head2.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(over.size(), kBodyLimit + 1);
  for (bool expect_continue : {true, false}) {
    HttpOptions o = auth();
    o.expect_continue = expect_continue;
    SCOPED_TRACE(expect_continue ? "Expect: 100-continue" : "no Expect");
    expect_error(http("POST", url("/v1/events"), over, o), 413, "too_large", "");
  }
  HttpOptions chunked = auth();
  chunked.chunked = true;
  expect_error(http("POST", url("/v1/events"), over, chunked), 413, "too_large", "");
  // Nothing was stored: big2 is new.
  EXPECT_EQ(publish(json::array({event("big"), event("big2")})),
            json::parse(R"({"accepted":["big2"],"duplicates":["big"]})"));
}

// --- status, attempts, reactivation, metrics ---

TEST_F(ServiceTest, StatusWhileRetryingAndAfterRecovery) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver up;
  create("acme", down.url(), json::object(), kFastRetry);
  json accepted = publish(json::array({event("e1"), event("e2"), event("e3")}));
  TimePoint published_by = std::chrono::floor<Duration>(std::chrono::system_clock::now());

  // A consistent snapshot between two attempts, after at least two failures.
  json s =
      wait_status("acme", [](const json& s) { return s["streak_attempts"] >= 2 && s["in_flight"] == false; });
  EXPECT_EQ(s["id"], "acme");
  EXPECT_EQ(s["state"], "retrying");
  EXPECT_EQ(s["backlog"], 3);
  ASSERT_TRUE(s["oldest_queued_at"].is_string()) << s;
  EXPECT_LE(utc(s["oldest_queued_at"]), published_by);
  ASSERT_TRUE(s["oldest_queued_age_ms"].is_number_integer()) << s;
  EXPECT_GE(s["oldest_queued_age_ms"].get<int64_t>(), 0);
  ASSERT_TRUE(s["streak_start"].is_string()) << s;
  EXPECT_GE(utc(s["streak_start"]), utc(s["oldest_queued_at"]));
  ASSERT_TRUE(s["last_attempt"].is_object()) << s;
  EXPECT_EQ(s["last_attempt"]["status"], 503);
  EXPECT_EQ(s["last_attempt"]["error"], "status");
  EXPECT_GE(utc(s["last_attempt"]["at"]), utc(s["streak_start"]) - Duration(1));
  ASSERT_TRUE(s["next_attempt"].is_string()) << s;
  EXPECT_GT(utc(s["next_attempt"]), utc(s["last_attempt"]["at"]));
  EXPECT_EQ(s["delivered"], 0);
  EXPECT_EQ(s["failed_attempts"], s["attempts"]);
  EXPECT_GE(s["failed_attempts"], s["streak_attempts"]);
  EXPECT_EQ(s["discarded"], 0);
  EXPECT_EQ(s["dropped_inactive"], 0);
  EXPECT_TRUE(s["deactivated_at"].is_null());
  EXPECT_TRUE(s["deactivation_reason"].is_null());
  // Only the head is tried during the streak.
  for (const auto& r : down.records()) EXPECT_EQ(r.event, "e1");

  // The receiver comes back (the subscription moves to one that answers): the backlog drains in order.
  Reply p = patch("/v1/subscriptions/acme", json({{"url", up.url()}}).dump());
  ASSERT_EQ(p.status, 200) << p;
  json after =
      wait_status("acme", [](const json& s) { return s["delivered"] == 3 && s["in_flight"] == false; });
  EXPECT_EQ(after["state"], "active");
  EXPECT_EQ(after["backlog"], 0);
  EXPECT_TRUE(after["oldest_queued_at"].is_null());
  EXPECT_TRUE(after["oldest_queued_age_ms"].is_null());
  EXPECT_TRUE(after["streak_start"].is_null());
  EXPECT_EQ(after["streak_attempts"], 0);
  EXPECT_TRUE(after["next_attempt"].is_null());
  EXPECT_EQ(after["last_attempt"]["status"], 200);
  EXPECT_TRUE(after["last_attempt"]["error"].is_null());
  EXPECT_EQ(after["attempts"].get<int64_t>(), after["failed_attempts"].get<int64_t>() + 3);
  EXPECT_TRUE(after["deactivated_at"].is_null());
  EXPECT_EQ(up.delivered_ids("acme"), (std::vector<std::string>{"e1", "e2", "e3"}));
}

TEST_F(ServiceTest, RetryingStatusFollowsTheDefaultSchedule) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  create("acme", down.url());  // frotcom: the first failure, 3 immediate retries, then 5m
  publish(event("e1"));
  json s =
      wait_status("acme", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });
  EXPECT_EQ(s["state"], "retrying");
  EXPECT_EQ(s["attempts"], 4);
  TimePoint last = utc(s["last_attempt"]["at"]);
  TimePoint next = utc(s["next_attempt"]);
  // 5m after the end of the fourth attempt, which ended within its timeout (10s) of its start.
  EXPECT_GE(next - last, Duration(5min));
  EXPECT_LE(next - last, Duration(5min + 10s));
  Reply a = get("/v1/subscriptions/acme/attempts");
  ASSERT_EQ(a.status, 200) << a;
  json list = a.j()["attempts"];
  ASSERT_EQ(list.size(), 4u) << a;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(list[i]["attempt"], 4 - i);
    EXPECT_EQ(list[i]["event"], "e1");
    EXPECT_EQ(list[i]["outcome"], "failed");
    EXPECT_EQ(list[i]["status"], 503);
    EXPECT_EQ(list[i]["error"], "status");
  }
}

TEST_F(ServiceTest, AttemptsAreNewestFirstAndLimitIsValidated) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url());
  for (int i = 1; i <= 5; ++i) publish(event("e" + std::to_string(i)));
  wait_status("acme", [](const json& s) { return s["delivered"] == 5; });

  Reply r = get("/v1/subscriptions/acme/attempts?limit=3");
  ASSERT_EQ(r.status, 200) << r;
  json j = r.j();
  EXPECT_EQ(j["id"], "acme");
  ASSERT_EQ(j["attempts"].size(), 3u) << r;
  for (size_t i = 0; i < 3; ++i) {
    const json& a = j["attempts"][i];
    EXPECT_EQ(a["event"], "e" + std::to_string(5 - i));
    EXPECT_EQ(a["seq"], 5 - i);
    EXPECT_EQ(a["attempt"], 1);
    EXPECT_EQ(a["outcome"], "delivered");
    EXPECT_EQ(a["status"], 200);
    EXPECT_TRUE(a["error"].is_null());
    EXPECT_TRUE(a["latency_ms"].is_number_integer());
    EXPECT_EQ(a["probe"], false);
    if (i > 0) {
      EXPECT_LE(utc(a["at"]), utc(j["attempts"][i - 1]["at"]));
    }
  }
  EXPECT_EQ(get("/v1/subscriptions/acme/attempts").j()["attempts"].size(), 5u);
  EXPECT_EQ(get("/v1/subscriptions/acme/attempts?limit=1000").j()["attempts"].size(), 5u);
  EXPECT_EQ(get("/v1/subscriptions/acme/attempts?limit=1").j()["attempts"][0]["event"], "e5");
  for (const std::string bad : {"0", "-1", "abc", "1001", "5x", "2.5", "+3"}) {
    SCOPED_TRACE(bad);
    expect_error(get("/v1/subscriptions/acme/attempts?limit=" + bad), 400, "invalid_argument", "limit");
  }
}

TEST_F(ServiceTest, ReactivateAfterDeactivationStartsActiveAndEmpty) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  create("acme", down.url(), json::object(),
         json::parse(R"({"give_up_after":"1s","immediate_retries":0,"delays":[]})"));
  expect_error(post("/v1/subscriptions/acme/reactivate", ""), 409, "failed_precondition", "");
  publish(json::array({event("e1"), event("e2"), event("e3")}));
  json s = wait_status("acme", [](const json& s) { return s["state"] == "deactivated"; });
  EXPECT_EQ(s["backlog"], 0);
  EXPECT_EQ(s["discarded"], 3);
  EXPECT_EQ(s["attempts"], 1);
  ASSERT_TRUE(s["deactivated_at"].is_string()) << s;
  EXPECT_GE(utc(s["deactivated_at"]), utc(s["last_attempt"]["at"]) + Duration(1s));
  ASSERT_TRUE(s["deactivation_reason"].is_string()) << s;
  EXPECT_THAT(s["deactivation_reason"].get<std::string>(), HasSubstr("1s"));
  EXPECT_TRUE(s["streak_start"].is_null());
  EXPECT_TRUE(s["next_attempt"].is_null());

  // Published while deactivated: accepted, dropped for this subscription.
  EXPECT_EQ(publish(json::array({event("e4"), event("e5")}))["accepted"].size(), 2u);
  EXPECT_EQ(status("acme")["dropped_inactive"], 2);

  Reply r = post("/v1/subscriptions/acme/reactivate", "");
  ASSERT_EQ(r.status, 200) << r;
  json j = r.j();
  EXPECT_EQ(j["id"], "acme");
  EXPECT_EQ(j["state"], "active");
  EXPECT_EQ(j["backlog"], 0);
  EXPECT_TRUE(j["deactivated_at"].is_null());
  EXPECT_TRUE(j["deactivation_reason"].is_null());
  EXPECT_EQ(j["discarded"], 3);
  EXPECT_EQ(j["dropped_inactive"], 2);
  expect_error(post("/v1/subscriptions/acme/reactivate", ""), 409, "failed_precondition", "");
  // The metrics counted the deactivation.
  EXPECT_THAT(get("/metrics").body, HasSubstr("\nhooksim_deactivations_total 1\n"));
}

TEST_F(ServiceTest, RetryNowMakesTheWaitingAttemptAtOnceAndKeepsTheStreakStart) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver up;
  create("acme", down.url());  // frotcom: after 4 failures the next attempt is 5 minutes away
  publish(json::array({event("e1"), event("e2")}));
  json s =
      wait_status("acme", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });
  ASSERT_TRUE(s["next_attempt"].is_string()) << s;
  TimePoint planned = utc(s["next_attempt"]);
  ASSERT_EQ(patch("/v1/subscriptions/acme", json({{"url", up.url()}}).dump()).status, 200);
  EXPECT_EQ(status("acme")["next_attempt"], s["next_attempt"]);  // a new url does not re-plan

  Reply r = post("/v1/subscriptions/acme/retry", "");
  ASSERT_EQ(r.status, 200) << r;
  json j = r.j();
  EXPECT_EQ(j["id"], "acme");
  EXPECT_EQ(j["state"], "retrying");
  EXPECT_EQ(j["streak_start"], s["streak_start"]);  // the streak, and its deadline, go on
  EXPECT_EQ(j["streak_attempts"], 4);
  ASSERT_TRUE(j["next_attempt"].is_string()) << j;
  EXPECT_LT(utc(j["next_attempt"]), planned);
  json after = wait_drained("acme");
  EXPECT_EQ(after["state"], "active");
  EXPECT_EQ(after["delivered"], 2);
  EXPECT_EQ(up.delivered_ids("acme"), (std::vector<std::string>{"e1", "e2"}));
  Reply a = get("/v1/subscriptions/acme/attempts?limit=3");
  EXPECT_EQ(a.j()["attempts"][1]["attempt"], 5);  // the retry counted as the streak's next attempt
}

TEST_F(ServiceTest, RetryNowOnASubscriptionThatIsNotWaitingIs409NamingItsState) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  create("acme", down.url());
  create("gone", down.url(), json::object(),
         json::parse(R"({"give_up_after":"1s","immediate_retries":0,"delays":[]})"));
  Reply r = post("/v1/subscriptions/acme/retry", "");
  expect_error(r, 409, "failed_precondition", "");
  EXPECT_EQ(r.j()["error"]["message"], "subscription 'acme' is active, not waiting for a retry");
  publish(event("e1", "alarm"));
  wait_status("gone", [](const json& s) { return s["state"] == "deactivated"; });
  r = post("/v1/subscriptions/gone/retry", "");
  expect_error(r, 409, "failed_precondition", "");
  EXPECT_EQ(r.j()["error"]["message"],
            "subscription 'gone' is deactivated, not waiting for a retry (reactivate it)");
  expect_error(post("/v1/subscriptions/nope/retry", ""), 404, "not_found", "");
}

TEST_F(ServiceTest, APolicyPatchReplansTheWaitingRetry) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  create("acme", down.url());
  publish(event("e1"));
  json s =
      wait_status("acme", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });
  TimePoint last = utc(s["last_attempt"]["at"]);
  Reply p = patch("/v1/subscriptions/acme", R"({"policy":{"delays":["1s"]}})");
  ASSERT_EQ(p.status, 200) << p;
  // The new delay for the same attempt number, from the end of the 4th failure (within its timeout).
  TimePoint next = utc(p.j()["status"]["next_attempt"]);
  EXPECT_GE(next - last, Duration(1s));
  EXPECT_LE(next - last, Duration(1s + 10s));
  EXPECT_EQ(p.j()["status"]["streak_start"], s["streak_start"]);
  wait_status("acme", [](const json& s) { return s["streak_attempts"] == 5; });
}

TEST_F(ServiceTest, AKnownPathWithTheWrongMethodIs405WithAllow) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/hook");
  struct Case {
    std::string method, path, allow;
  };
  for (const Case& c : std::vector<Case>{{"GET", "/v1/events", "POST"},
                                         {"DELETE", "/v1/events", "POST"},
                                         {"GET", "/v1/subscriptions/acme/reactivate", "POST"},
                                         {"GET", "/v1/subscriptions/acme/retry", "POST"},
                                         {"DELETE", "/v1/subscriptions/acme/status", "GET"},
                                         {"POST", "/v1/subscriptions/acme/attempts", "GET"},
                                         {"PUT", "/v1/subscriptions", "GET, POST"},
                                         {"POST", "/v1/subscriptions/acme", "GET, PATCH, DELETE"},
                                         {"POST", "/metrics", "GET"}}) {
    SCOPED_TRACE(c.method + " " + c.path);
    Reply r =
        http(c.method, url(c.path), c.method == "GET" ? std::nullopt : std::optional<std::string>("{}"));
    expect_error(r, 405, "method_not_allowed", "");
    EXPECT_EQ(r.headers["allow"], c.allow);
  }
  // Another spelling of the publish route is no route, not "use POST" to a POST.
  expect_error(http("POST", url("/v1/events/"), "{}"), 404, "not_found", "");
  EXPECT_EQ(http("PUT", url("/v1/subscriptions"), "{}").j()["error"]["message"], "use GET or POST");
  EXPECT_EQ(http("PUT", url("/v1/subscriptions/acme"), "{}").j()["error"]["message"],
            "use GET, PATCH or DELETE");
}

// Parses Prometheus text: "name{labels} value" per sample; HELP and TYPE per family.
struct Metrics {
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::vector<std::string> bad_lines;

  explicit Metrics(const std::string& text) {
    static const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+))");
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    static const std::regex type(
        R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
    std::istringstream in(text);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, help)) {
        helped.insert(m[1]);
      } else if (std::regex_match(line, m, type)) {
        types[m[1]] = m[2];
      } else if (std::regex_match(line, m, sample)) {
        samples[m[1]] = std::stod(m[3]);
      } else {
        bad_lines.push_back(line);
      }
    }
  }
  double at(const std::string& key) const {
    auto it = samples.find(key);
    EXPECT_NE(it, samples.end()) << "no sample " << key;
    return it == samples.end() ? -1 : it->second;
  }
};

TEST_F(ServiceTest, MetricsArePrometheusTextWithTheDocumentedNames) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver up;
  Receiver down(R"({"status":503})");
  create("ok", up.url());
  create("failing", down.url(), {{"types", {"alarm"}}});  // frotcom: 4 attempts, then 5m
  publish(json::array({event("e1"), event("e2"), event("a1", "alarm")}));
  publish(event("e1"));  // a duplicate
  wait_status("ok", [](const json& s) { return s["delivered"] == 3; });
  wait_status("failing", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });

  Reply r = get("/metrics");
  ASSERT_EQ(r.status, 200) << r;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");
  Metrics m(r.body);
  EXPECT_TRUE(m.bad_lines.empty()) << ::testing::PrintToString(m.bad_lines);
  const std::map<std::string, std::string> families = {{"hooksim_events_published_total", "counter"},
                                                       {"hooksim_events_duplicate_total", "counter"},
                                                       {"hooksim_deliveries_total", "counter"},
                                                       {"hooksim_deactivations_total", "counter"},
                                                       {"hooksim_store_errors_total", "counter"},
                                                       {"hooksim_attempts_failed_total", "counter"},
                                                       {"hooksim_backlog", "gauge"},
                                                       {"hooksim_subscription_state", "gauge"},
                                                       {"hooksim_store_memory_bytes", "gauge"},
                                                       {"hooksim_delivery_lag_seconds", "histogram"}};
  for (const auto& [name, type] : families) {
    EXPECT_EQ(m.types[name], type) << name;
    EXPECT_TRUE(m.helped.contains(name)) << name;
  }
  EXPECT_EQ(m.at("hooksim_events_published_total"), 3);
  EXPECT_EQ(m.at("hooksim_events_duplicate_total"), 1);
  EXPECT_EQ(m.at("hooksim_deliveries_total"), 3);
  EXPECT_EQ(m.at("hooksim_deactivations_total"), 0);
  EXPECT_EQ(m.at("hooksim_store_errors_total"), 0);
  EXPECT_EQ(m.at(R"(hooksim_attempts_failed_total{class="status"})"), 4);
  for (const char* cls : {"timeout", "connect", "tls", "dns", "reset", "abandoned", "other"})
    EXPECT_EQ(m.at(std::string(R"(hooksim_attempts_failed_total{class=")") + cls + "\"}"), 0) << cls;
  EXPECT_EQ(m.at(R"(hooksim_backlog{subscription="ok"})"), 0);
  EXPECT_EQ(m.at(R"(hooksim_backlog{subscription="failing"})"), 1);
  EXPECT_EQ(m.at(R"(hooksim_subscription_state{subscription="ok",state="active"})"), 1);
  EXPECT_EQ(m.at(R"(hooksim_subscription_state{subscription="failing",state="retrying"})"), 1);
  EXPECT_EQ(m.at(R"(hooksim_delivery_lag_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(m.at("hooksim_delivery_lag_seconds_count"), 3);
  EXPECT_GE(m.at("hooksim_delivery_lag_seconds_sum"), 0);
  // The store's memory: the published events are in a memtable (nothing was flushed yet), within budget.
  const double memtables = m.at(R"(hooksim_store_memory_bytes{part="memtables"})");
  EXPECT_GT(memtables, 0);
  EXPECT_LE(memtables, storage::RocksQueueStore::kMemtableBudget);
  EXPECT_LE(m.at(R"(hooksim_store_memory_bytes{part="block_cache"})"),
            storage::RocksQueueStore::kBlockCacheBytes);
  EXPECT_GE(m.at(R"(hooksim_store_memory_bytes{part="table_readers"})"), 0);
  // Buckets are cumulative, in increasing order of their bounds, ending with +Inf.
  std::vector<double> buckets;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("hooksim_delivery_lag_seconds_bucket"))
      buckets.push_back(std::stod(line.substr(line.rfind(' '))));
  EXPECT_GE(buckets.size(), 2u);
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end())) << r.body;
}

TEST_F(ServiceTest, MetricsCountPerSubscriptionAndTimeTheReceiversAnswers) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver slow(R"({"latency":"30ms"})");
  Receiver down(R"({"status":503})");
  create("ok", slow.url());
  create("failing", down.url());                 // frotcom: 4 attempts, then 5m
  create("refused", "http://127.0.0.1:9/hook");  // nothing answers: no response time
  publish(json::array({event("e1"), event("e2"), event("e3")}));
  wait_status("ok", [](const json& s) { return s["delivered"] == 3; });
  wait_status("failing", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });
  wait_status("refused", [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });

  Reply r = get("/metrics");
  ASSERT_EQ(r.status, 200) << r;
  Metrics m(r.body);
  EXPECT_TRUE(m.bad_lines.empty()) << ::testing::PrintToString(m.bad_lines);
  EXPECT_EQ(m.types["hooksim_subscription_delivered_total"], "counter");
  EXPECT_EQ(m.types["hooksim_subscription_failed_attempts_total"], "counter");
  EXPECT_EQ(m.types["hooksim_receiver_response_seconds"], "histogram");
  for (const char* name : {"hooksim_subscription_delivered_total",
                           "hooksim_subscription_failed_attempts_total", "hooksim_receiver_response_seconds"})
    EXPECT_TRUE(m.helped.contains(name)) << name;
  EXPECT_EQ(m.at(R"(hooksim_subscription_delivered_total{subscription="ok"})"), 3);
  EXPECT_EQ(m.at(R"(hooksim_subscription_delivered_total{subscription="failing"})"), 0);
  EXPECT_EQ(m.at(R"(hooksim_subscription_delivered_total{subscription="refused"})"), 0);
  EXPECT_EQ(m.at(R"(hooksim_subscription_failed_attempts_total{subscription="ok"})"), 0);
  EXPECT_EQ(m.at(R"(hooksim_subscription_failed_attempts_total{subscription="failing"})"), 4);
  EXPECT_EQ(m.at(R"(hooksim_subscription_failed_attempts_total{subscription="refused"})"), 4);
  // Answered attempts only: 3 deliveries and 4 answers of 503; the refused connections have no answer.
  EXPECT_EQ(m.at("hooksim_receiver_response_seconds_count"), 7);
  EXPECT_EQ(m.at(R"(hooksim_receiver_response_seconds_bucket{le="+Inf"})"), 7);
  EXPECT_LE(m.at(R"(hooksim_receiver_response_seconds_bucket{le="0.025"})"), 4);  // "ok" answers after 30ms
  EXPECT_GE(m.at("hooksim_receiver_response_seconds_sum"), 3 * 0.030);
  std::vector<std::pair<double, double>> buckets;  // (le, count), in the order given
  static const std::regex bucket(R"re(hooksim_receiver_response_seconds_bucket\{le="([^"]+)"\} (\S+))re");
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    std::smatch b;
    if (std::regex_match(line, b, bucket))
      buckets.emplace_back(b[1] == "+Inf" ? INFINITY : std::stod(b[1]), std::stod(b[2]));
  }
  ASSERT_GE(buckets.size(), 2u) << r.body;
  EXPECT_EQ(buckets.back().first, INFINITY);
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1].first, buckets[i].first) << r.body;    // bounds ascend
    EXPECT_LE(buckets[i - 1].second, buckets[i].second) << r.body;  // counts are cumulative
  }

  // The per-subscription totals are the engine's, kept across a restart; the others start again at 0.
  ASSERT_NO_FATAL_FAILURE(restart());
  Metrics again(get("/metrics").body);
  EXPECT_EQ(again.at(R"(hooksim_subscription_delivered_total{subscription="ok"})"), 3);
  EXPECT_EQ(again.at("hooksim_deliveries_total"), 0);
}

// The text format requires all lines of a metric family in one group, HELP and TYPE before its samples.
TEST_F(ServiceTest, MetricFamiliesAreContiguousGroups) {
  ASSERT_NO_FATAL_FAILURE(start());
  create("acme", "http://127.0.0.1:9/hook");
  create("globex", "http://127.0.0.1:9/hook");
  Reply r = get("/metrics");
  ASSERT_EQ(r.status, 200) << r;
  Metrics m(r.body);
  // The family of each line, in order.
  auto family_of = [&](const std::string& line) {
    std::smatch match;
    static const std::regex comment(R"(# (HELP|TYPE) (\S+).*)"), sample(R"(([^{ ]+).*)");
    if (std::regex_match(line, match, comment)) return match[2].str();
    if (!std::regex_match(line, match, sample)) return line;
    std::string name = match[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string base = name.substr(0, name.size() - std::min(name.size(), std::strlen(suffix)));
      if (name.ends_with(suffix) && m.types[base] == "histogram") return base;
    }
    return name;
  };
  std::vector<std::string> groups;  // family of each group of consecutive lines
  std::map<std::string, bool> sampled;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    std::string family = family_of(line);
    if (groups.empty() || groups.back() != family) {
      EXPECT_EQ(std::count(groups.begin(), groups.end(), family), 0) << family << " appears in two groups:\n"
                                                                     << r.body;
      groups.push_back(family);
    }
    if (line.starts_with("#")) {
      EXPECT_FALSE(sampled[family]) << "HELP/TYPE after samples: " << line;
    } else {
      sampled[family] = true;
    }
  }
}

TEST_F(ServiceTest, AdminTokenIsRequiredOnApiAndMetricsButNotOnTheStatusPage) {
  ASSERT_NO_FATAL_FAILURE(start("admin-s3cret"));
  const std::string sub =
      json({{"id", "acme"}, {"url", "http://127.0.0.1:9/hook"}, {"secret", kSecret}}).dump();
  for (const std::string authorization :
       {"", "Bearer wrong", "admin-s3cret", "Basic admin-s3cret", "Bearer "}) {
    SCOPED_TRACE("Authorization: " + authorization);
    HttpOptions o{authorization};
    expect_error(http("GET", url("/v1/subscriptions"), std::nullopt, o), 401, "unauthorized",
                 "authorization");
    expect_error(http("POST", url("/v1/subscriptions"), sub, o), 401, "unauthorized", "authorization");
    expect_error(http("POST", url("/v1/events"), event("e1").dump(), o), 401, "unauthorized",
                 "authorization");
    expect_error(http("GET", url("/v1/subscriptions/acme/status"), std::nullopt, o), 401, "unauthorized",
                 "authorization");
    expect_error(http("GET", url("/metrics"), std::nullopt, o), 401, "unauthorized", "authorization");
    Reply page = http("GET", url("/"), std::nullopt, o);
    EXPECT_EQ(page.status, 200) << page;
    EXPECT_THAT(page.content_type, ::testing::StartsWith("text/html"));
    EXPECT_THAT(page.body, HasSubstr("<html"));
  }
  // With the token: everything works, and nothing was stored by the rejected calls.
  Reply list = get("/v1/subscriptions");
  ASSERT_EQ(list.status, 200) << list;
  EXPECT_EQ(list.j()["subscriptions"].size(), 0u);
  EXPECT_EQ(post("/v1/subscriptions", sub).status, 201);
  EXPECT_EQ(publish(event("e1")), json::parse(R"({"accepted":["e1"],"duplicates":[]})"));
  EXPECT_EQ(get("/metrics").status, 200);
  EXPECT_EQ(get("/").status, 200);
}

TEST_F(ServiceTest, StatusIsNoRouteOnASingleServeAndNoSubscriptionHasAnOwner) {
  ASSERT_NO_FATAL_FAILURE(start("admin-s3cret"));
  // /status needs the token like every API route, before it says there is no such route.
  expect_error(http("GET", url("/status")), 401, "unauthorized", "authorization");
  for (const std::string method : {"GET", "POST", "DELETE"}) {
    SCOPED_TRACE(method);
    Reply r = http(method, url("/status"), method == "GET" ? std::nullopt : std::optional<std::string>("{}"),
                   auth());
    expect_error(r, 404, "not_found", "");
    EXPECT_EQ(r.j()["error"]["message"], "no route for " + method + " /status");
    EXPECT_FALSE(r.headers.contains("allow")) << r;
  }
  // "owner" is a cluster's: a single serve's answers have none.
  EXPECT_FALSE(create("acme", "http://127.0.0.1:9/hook").contains("owner"));
  EXPECT_FALSE(get("/v1/subscriptions/acme").j().contains("owner"));
  EXPECT_FALSE(get("/v1/subscriptions").j()["subscriptions"][0].contains("owner"));
  EXPECT_FALSE(status("acme").contains("owner"));
}

// --- the API over another Backend ---

// A backend as a cluster node is one (service/backend.h): its subscriptions name their owner (added ones:
// "node-b") and it has a /status of its own.
class OwningBackend final : public Backend {
 public:
  Result<std::vector<SubscriptionSnapshot>> list(bool) override { return subs; }
  Result<std::optional<SubscriptionSnapshot>> find(std::string_view id, bool) override {
    for (const SubscriptionSnapshot& s : subs)
      if (s.config.id == id) return std::optional<SubscriptionSnapshot>(s);
    return std::optional<SubscriptionSnapshot>();
  }
  Result<SubscriptionSnapshot> add(const SubscriptionConfig& config) override {
    if (auto found = find(config.id, false); found.ok() && *found)
      return Status::AlreadyExists(fmt::format("subscription '{}' exists", config.id));
    subs.push_back({.key = subs.size() + 1, .config = config, .owner = "node-b"});
    return subs.back();
  }
  Result<SubscriptionSnapshot> update(const SubscriptionConfig& config) override {
    return changed(config.id, &config);
  }
  Result<SubscriptionSnapshot> reactivate(std::string_view id) override { return changed(id, nullptr); }
  Result<SubscriptionSnapshot> retry_now(std::string_view id) override { return changed(id, nullptr); }
  Status remove(std::string_view id) override {
    std::erase_if(subs, [&](const SubscriptionSnapshot& s) { return s.config.id == id; });
    return Status::OK();
  }
  Status publish(std::span<const Event>, PublishResult* result) override {
    if (result) *result = PublishResult{};
    return Status::OK();
  }
  BackendMemory memory() override { return {.memtables = 11, .block_cache = 22, .table_readers = 33}; }
  std::optional<std::string> status_json() override { return status; }

  std::vector<SubscriptionSnapshot> subs;
  std::optional<std::string> status;

 private:
  Result<SubscriptionSnapshot> changed(std::string_view id, const SubscriptionConfig* config) {
    for (SubscriptionSnapshot& s : subs) {
      if (s.config.id != id) continue;
      if (config) s.config = *config;
      return s;
    }
    return Status::NotFound(fmt::format("no subscription '{}'", id));
  }
};

// The Api over an OwningBackend, called directly (no HTTP): every answer but a publish's comes at once.
class ApiBackendTest : public ::testing::Test {
 protected:
  ApiBackendTest()
      : scheduler_(io_, {.wall_clock = true}),
        history_(10),
        metrics_(history_),
        publishes_(io_, [this](std::span<const Event> events,
                               PublishResult* result) { return backend_.publish(events, result); }),
        api_(backend_, scheduler_, publishes_, history_, metrics_, {.admin_token = kToken}) {}

  net::HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::string& token = kToken) {
    net::HttpRequest req{method, target, token.empty() ? "" : protocol::bearer_authorization(token),
                         "application/json", body};
    std::optional<net::HttpResponse> answer;
    api_.handle(std::move(req), [&](net::HttpResponse r) { answer = std::move(r); });
    EXPECT_TRUE(answer) << method << " " << target << " was not answered at once";
    return answer.value_or(net::HttpResponse{});
  }
  // An answer's JSON object's keys, in their order.
  static std::vector<std::string> keys(const nlohmann::ordered_json& o) {
    std::vector<std::string> k;
    for (const auto& [key, value] : o.items()) k.push_back(key);
    return k;
  }
  static nlohmann::ordered_json parse(const net::HttpResponse& r) {
    return nlohmann::ordered_json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }

  boost::asio::io_context io_;
  net::AsioScheduler scheduler_;
  AttemptHistory history_;
  service::Metrics metrics_;
  OwningBackend backend_;
  PublishBatcher publishes_;
  Api api_;
};

TEST_F(ApiBackendTest, AnOwnerIsShownRightAfterTheUrlOrIdWhenTheBackendNamesOne) {
  net::HttpResponse created =
      call("POST", "/v1/subscriptions",
           json({{"id", "acme"}, {"url", "http://127.0.0.1:9/a"}, {"secret", kSecret}}).dump());
  ASSERT_EQ(created.status, 201) << created.body;
  auto o = parse(created);
  EXPECT_EQ(o["owner"], "node-b");
  EXPECT_THAT(keys(o), ::testing::ElementsAre("id", "url", "owner", "auth", "secret", "token", "filter",
                                              "policy", "status"));
  // One the backend names no owner of (a cluster's subscription no node owns right now).
  backend_.subs.push_back({.key = 2, .config = backend_.subs[0].config});
  backend_.subs.back().config.id = "orphan";

  net::HttpResponse list = call("GET", "/v1/subscriptions");
  ASSERT_EQ(list.status, 200) << list.body;
  auto subs = parse(list)["subscriptions"];
  ASSERT_EQ(subs.size(), 2u) << list.body;
  EXPECT_EQ(keys(subs[0])[2], "owner");
  EXPECT_EQ(subs[0]["owner"], "node-b");
  EXPECT_FALSE(subs[1].contains("owner")) << list.body;
  EXPECT_EQ(keys(subs[1])[2], "state");

  for (const std::string path : {"/v1/subscriptions/acme/status", "/v1/subscriptions/acme/reactivate",
                                 "/v1/subscriptions/acme/retry"}) {
    SCOPED_TRACE(path);
    net::HttpResponse r = call(path.ends_with("status") ? "GET" : "POST", path);
    ASSERT_EQ(r.status, 200) << r.body;
    auto s = parse(r);
    EXPECT_EQ(keys(s)[0], "id");
    EXPECT_EQ(keys(s)[1], "owner");
    EXPECT_EQ(s["owner"], "node-b");
  }
  EXPECT_FALSE(parse(call("GET", "/v1/subscriptions/orphan/status")).contains("owner"));
  EXPECT_FALSE(parse(call("GET", "/v1/subscriptions/orphan")).contains("owner"));
  net::HttpResponse patched = call("PATCH", "/v1/subscriptions/acme", R"({"url":"http://127.0.0.1:9/b"})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(parse(patched)["owner"], "node-b");
  EXPECT_EQ(backend_.subs[0].config.endpoint.url, "http://127.0.0.1:9/b");
  EXPECT_EQ(call("DELETE", "/v1/subscriptions/orphan").status, 204);
  EXPECT_EQ(backend_.subs.size(), 1u);
}

TEST_F(ApiBackendTest, StatusIsTheBackendsOwnWhenItHasOne) {
  backend_.status = R"({"nodes":[{"id":"node-b"}]})";
  net::HttpResponse r = call("GET", "/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, *backend_.status);
  net::HttpResponse post = call("POST", "/status", "{}");
  EXPECT_EQ(post.status, 405) << post.body;
  EXPECT_EQ(post.headers["Allow"], "GET");
  EXPECT_EQ(call("GET", "/status", "", "wrong").status, 401);
  EXPECT_EQ(call("GET", "/status", "", "").status, 401);
  // Without one it is no route, whatever the method.
  backend_.status.reset();
  for (const std::string method : {"GET", "POST"}) {
    net::HttpResponse none = call(method, "/status");
    EXPECT_EQ(none.status, 404) << none.body;
    EXPECT_EQ(parse(none)["error"]["message"], "no route for " + method + " /status");
    EXPECT_FALSE(none.headers.contains("Allow"));
  }
}

TEST_F(ApiBackendTest, MetricsShowTheBackendsMemory) {
  net::HttpResponse r = call("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("hooksim_store_memory_bytes{part=\"memtables\"} 11\n"));
  EXPECT_THAT(r.body, HasSubstr("hooksim_store_memory_bytes{part=\"block_cache\"} 22\n"));
  EXPECT_THAT(r.body, HasSubstr("hooksim_store_memory_bytes{part=\"table_readers\"} 33\n"));
}

// --- group commit and concurrency ---

// Runs `body(t)` on `n` threads, t = 0..n-1, started together; returns once all are done.
template <typename Body>
void run_together(int n, Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready < n) std::this_thread::yield();
      body(t);
    });
  }
  for (auto& th : threads) th.join();
}

TEST_F(ServiceTest, ConcurrentPublishesAreAllAcknowledgedAndDeliveredOnceInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("all", rx.url());
  create("even", rx.url(), {{"types", {"even"}}});
  constexpr int kThreads = 8, kRequests = 20, kPerRequest = 3;
  std::vector<std::vector<std::string>> sent(kThreads);  // per thread, in publish order
  std::vector<std::vector<Reply>> replies(kThreads);
  run_together(kThreads, [&](int t) {
    for (int r = 0; r < kRequests; ++r) {
      json batch = json::array();
      for (int i = 0; i < kPerRequest; ++i) {
        int n = r * kPerRequest + i;
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(n);
        batch.push_back(event(id, n % 2 == 0 ? "even" : "odd"));
        sent[t].push_back(id);
      }
      replies[t].push_back(http("POST", url("/v1/events"), batch.dump()));
    }
  });

  std::map<std::string, std::string> type_of;
  for (int t = 0; t < kThreads; ++t) {
    for (int r = 0; r < kRequests; ++r) {
      const Reply& reply = replies[t][r];
      ASSERT_EQ(reply.status, 202) << reply;
      json expected = json::array();
      for (int i = 0; i < kPerRequest; ++i) expected.push_back(sent[t][r * kPerRequest + i]);
      EXPECT_EQ(reply.j()["accepted"], expected);
      EXPECT_EQ(reply.j()["duplicates"], json::array());
    }
    for (size_t n = 0; n < sent[t].size(); ++n) type_of[sent[t][n]] = n % 2 == 0 ? "even" : "odd";
  }
  const size_t total = kThreads * kRequests * kPerRequest;
  wait_status("all", [&](const json& s) { return s["delivered"] == total; });
  wait_status("even", [&](const json& s) { return s["delivered"] == total / 2; });

  for (const std::string sub : {"all", "even"}) {
    SCOPED_TRACE(sub);
    auto delivered = rx.delivered(sub);
    ASSERT_EQ(delivered.size(), sub == "all" ? total : total / 2);
    std::map<std::string, uint64_t> seq_of;
    for (size_t i = 0; i < delivered.size(); ++i) {
      EXPECT_EQ(delivered[i].second, i + 1) << "sequence numbers run 1, 2, 3... in delivery order";
      EXPECT_TRUE(seq_of.emplace(delivered[i].first, delivered[i].second).second)
          << delivered[i].first << " twice";
      if (sub == "even") {
        EXPECT_EQ(type_of[delivered[i].first], "even");
      }
    }
    // Each publisher's events keep its publish order.
    for (int t = 0; t < kThreads; ++t) {
      uint64_t last = 0;
      for (const std::string& id : sent[t]) {
        if (sub == "even" && type_of[id] != "even") continue;
        ASSERT_TRUE(seq_of.contains(id)) << id;
        EXPECT_GT(seq_of[id], last) << id;
        last = seq_of[id];
      }
    }
  }
  EXPECT_EQ(rx.records().size(), total + total / 2);  // no extra requests
}

TEST_F(ServiceTest, ConcurrentRepeatsOfAnIdArePublishedOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  create("acme", rx.url());
  constexpr int kThreads = 6, kIds = 30;
  std::vector<std::vector<Reply>> replies(kThreads);
  run_together(kThreads, [&](int t) {
    for (int i = 0; i < kIds; ++i)
      replies[t].push_back(http("POST", url("/v1/events"), event("same-" + std::to_string(i)).dump()));
  });
  std::map<std::string, int> accepted, duplicates;
  for (const auto& list : replies) {
    for (const Reply& r : list) {
      ASSERT_EQ(r.status, 202) << r;
      json j = r.j();
      for (const auto& id : j["accepted"]) ++accepted[id];
      for (const auto& id : j["duplicates"]) ++duplicates[id];
    }
  }
  for (int i = 0; i < kIds; ++i) {
    std::string id = "same-" + std::to_string(i);
    EXPECT_EQ(accepted[id], 1) << id;
    EXPECT_EQ(duplicates[id], kThreads - 1) << id;
  }
  wait_status("acme", [&](const json& s) { return s["delivered"] == kIds && s["in_flight"] == false; });
  publish(event("sentinel"));
  wait_status("acme", [&](const json& s) { return s["delivered"] == kIds + 1; });
  EXPECT_EQ(rx.delivered("acme").size(), static_cast<size_t>(kIds + 1));
  EXPECT_EQ(rx.records().size(), static_cast<size_t>(kIds + 1));
}

// --- restart and shutdown ---

TEST_F(ServiceTest, AttemptsSurviveARestartWithinTheirBound) {
  ServiceOptions o;
  o.data_dir = dir_.string();
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.attempts_kept = 3;
  auto run = [&] {
    service_ = std::make_unique<RunningService>(o);
    ASSERT_TRUE(service_->start_status().ok()) << service_->start_status().message();
  };
  ASSERT_NO_FATAL_FAILURE(run());
  Receiver rx;
  Receiver down(R"({"status":503})");
  create("acme", rx.url());
  create("gone-later", down.url());
  for (int i = 1; i <= 5; ++i) publish(event("e" + std::to_string(i)));
  wait_status("acme", [](const json& s) { return s["delivered"] == 5; });
  wait_status("gone-later",
              [](const json& s) { return s["streak_attempts"] == 4 && s["in_flight"] == false; });
  json before = get("/v1/subscriptions/acme/attempts").j();
  ASSERT_EQ(before["attempts"].size(), 3u) << before;  // the bound
  EXPECT_EQ(before["attempts"][0]["event"], "e5");
  json failing = get("/v1/subscriptions/gone-later/attempts").j();
  ASSERT_EQ(failing["attempts"].size(), 3u) << failing;

  stop();
  ASSERT_NO_FATAL_FAILURE(run());
  EXPECT_EQ(get("/v1/subscriptions/acme/attempts").j(), before);  // the same attempts, newest first
  // The stored history goes on from there: a new attempt is the newest, the oldest leaves.
  publish(event("e6"));
  wait_status("acme", [](const json& s) { return s["delivered"] == 6; });
  json after = get("/v1/subscriptions/acme/attempts").j();
  ASSERT_EQ(after["attempts"].size(), 3u) << after;
  EXPECT_EQ(after["attempts"][0]["event"], "e6");
  EXPECT_EQ(after["attempts"][2]["event"], "e4");

  // A deleted subscription's history is gone, also from the store: the id starts afresh.
  ASSERT_EQ(del("/v1/subscriptions/gone-later").status, 204);
  stop();
  {
    auto store = storage::RocksQueueStore::open(dir_.string(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto stored = (*store)->scan_side("attempts/");
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->size(), 3u);  // acme's 3; the bound holds on disk too
    for (const auto& [key, value] : *stored) EXPECT_EQ(key.rfind(std::string("attempts/acme") + '\0', 0), 0u);
  }
  ASSERT_NO_FATAL_FAILURE(run());
  create("gone-later", down.url());
  EXPECT_TRUE(get("/v1/subscriptions/gone-later/attempts").j()["attempts"].empty());
  EXPECT_EQ(get("/v1/subscriptions/acme/attempts").j(), after);
}

TEST_F(ServiceTest, RestartResumesTheQueueAndTheRetryStreak) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver up;
  create("acme", down.url(), {{"types", {"tracking"}}}, kFastRetry);
  publish(json::array({event("e1"), event("e2")}));
  json before = wait_status("acme", [](const json& s) { return s["streak_attempts"] >= 1; });
  ASSERT_NO_FATAL_FAILURE(restart());
  json s = status("acme");
  EXPECT_EQ(s["state"], "retrying");
  EXPECT_EQ(s["backlog"], 2);
  EXPECT_EQ(s["streak_start"], before["streak_start"]);
  EXPECT_EQ(s["oldest_queued_at"], before["oldest_queued_at"]);
  json config = get("/v1/subscriptions/acme").j();
  EXPECT_EQ(config["filter"]["types"], json({"tracking"}));
  EXPECT_EQ(config["policy"]["repeat"], "100ms");
  // Retries go on after the restart; then the receiver recovers and the queue drains in order.
  size_t seen = down.records().size();
  ASSERT_TRUE(eventually([&] { return down.records().size() > seen; }));
  publish(event("e3"));
  ASSERT_EQ(patch("/v1/subscriptions/acme", json({{"url", up.url()}}).dump()).status, 200);
  wait_drained("acme");
  EXPECT_THAT(up.delivered("acme"), ::testing::ElementsAre(P{"e1", 1}, P{"e2", 2}, P{"e3", 3}));
}

// A retry in flight when an event is published, then a restart (or crash): the publish writes the
// subscription's state while the retry is under way, and after the restart that state must still say a
// retry is due. Otherwise the subscription stays "retrying" with nothing scheduled or in flight until
// give_up_after deactivates it and discards acknowledged events.
TEST_F(ServiceTest, RetryInFlightDuringAPublishIsMadeAgainAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver hangs(R"({"windows":[{"from":"0s","until":"1d","timeout":true}]})");
  create("acme", down.url(), json::object(),
         json::parse(R"({"immediate_retries":0,"delays":[],"repeat":"100ms","attempt_timeout":"1h"})"));
  publish(event("e1"));
  wait_status("acme", [](const json& s) { return s["streak_attempts"] >= 1; });
  // The next retry goes to a receiver that never answers: it stays in flight.
  ASSERT_EQ(patch("/v1/subscriptions/acme", json({{"url", hangs.url()}}).dump()).status, 200);
  auto retries_of_e1 = [&] {
    size_t n = 0;
    for (const auto& r : hangs.requests()) n += r.event == "e1";
    return n;
  };
  ASSERT_TRUE(eventually([&] { return retries_of_e1() == 1; }));
  ASSERT_EQ(status("acme")["in_flight"], true);
  publish(event("e2"));  // persists the subscription's state while the retry is in flight
  ASSERT_NO_FATAL_FAILURE(restart());
  json s = status("acme");
  EXPECT_EQ(s["state"], "retrying");
  EXPECT_EQ(s["backlog"], 2);
  ASSERT_TRUE(s["in_flight"] == true || s["next_attempt"].is_string())
      << "retrying with nothing scheduled or in flight: " << s.dump();
  EXPECT_TRUE(eventually([&] { return retries_of_e1() == 2; }));
}

TEST_F(ServiceTest, ShutdownAbandonsTheAttemptInFlightAndRestartMakesItAgain) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver hangs(R"({"windows":[{"from":"0s","until":"1d","timeout":true}]})");
  create("acme", hangs.url());
  publish(event("e1"));
  auto requests_for_e1 = [&] {
    size_t n = 0;
    for (const auto& r : hangs.requests()) n += r.event == "e1" && r.attempt == 1u && r.seq == 1u;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return requests_for_e1() == 1; }));
  EXPECT_EQ(status("acme")["in_flight"], true);
  ASSERT_NO_FATAL_FAILURE(restart());
  // The same event, the same attempt number: the abandoned attempt was never recorded.
  ASSERT_TRUE(eventually([&] { return requests_for_e1() == 2; }));
  json s = status("acme");
  EXPECT_EQ(s["attempts"], 0);
  EXPECT_EQ(s["backlog"], 1);
  EXPECT_EQ(s["state"], "active");
  // The receiver saw the first connection go away unanswered.
  ASSERT_TRUE(eventually([&] { return !hangs.records().empty(); }));
  EXPECT_EQ(hangs.records()[0].action, receiver::RequestRecord::Action::kTimeout);
}

// --- disk faults (tests/support/disk_faults.h: RocksDB's file writes fail as on a full disk) ---

TEST_F(ServiceTest, PublishOnAFullDiskIs503AndNothingOfItIsKept) {
  auto faults = std::make_shared<storage::DiskFaults>();
  ASSERT_NO_FATAL_FAILURE(start("", faults));
  Receiver rx;
  create("acme", rx.url());
  publish(event("e1"));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() == 1; }));
  wait_drained("acme");

  faults->set_full(true);
  Reply r = post("/v1/events", json::array({event("e2"), event("e3")}).dump());
  expect_error(r, 503, "unavailable", "");
  EXPECT_NE(r.body.find("No space left on device"), std::string::npos) << r;
  // Neither is a subscription created, nor is the refused publish counted or queued.
  expect_error(
      post("/v1/subscriptions", json({{"id", "other"}, {"url", rx.url()}, {"secret", kSecret}}).dump()), 503,
      "unavailable", "");
  EXPECT_EQ(status("acme")["backlog"], 0);
  Metrics m(get("/metrics").body);
  EXPECT_EQ(m.at("hooksim_events_published_total"), 1);

  // Room again: the service writes again without a restart, once RocksDB has recovered (it checks for
  // room every 5 seconds); until then publishes keep getting 503.
  faults->set_full(false);
  Reply again;
  EXPECT_TRUE(eventually([&] {
    again = post("/v1/events", event("e4").dump());
    EXPECT_TRUE(again.status == 202 || again.status == 503) << again;
    return again.status == 202;
  }));
  EXPECT_EQ(again.j(), json::parse(R"({"accepted":["e4"],"duplicates":[]})"));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() == 2; }));
  wait_drained("acme");

  // After a restart on the same directory: e2 was never remembered (not a duplicate) and used no sequence
  // number; "other" does not exist.
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(publish(event("e2")), json::parse(R"({"accepted":["e2"],"duplicates":[]})"));
  ASSERT_TRUE(eventually([&] { return rx.delivered("acme").size() == 3; }));
  wait_drained("acme");
  EXPECT_THAT(rx.delivered("acme"), ::testing::ElementsAre(P{"e1", 1}, P{"e4", 2}, P{"e2", 3}));
  EXPECT_EQ(get("/v1/subscriptions/other").status, 404);
}

// --- shards (serve --threads N): the same behaviour for every N ---

class ShardsTest : public ServiceTest, public ::testing::WithParamInterface<size_t> {
 protected:
  ShardsTest() { threads_ = GetParam(); }

  // `n` subscription ids that fall on every shard (Shards::shard_of), in creation order.
  std::vector<std::string> ids_on_every_shard(size_t n) {
    std::vector<std::string> ids;
    std::set<size_t> shards;
    for (size_t i = 0; ids.size() < n; ++i) {
      std::string id = "sub-" + std::to_string(i);
      // The first ones cover the shards, then any.
      if (shards.size() < threads_ && shards.contains(Shards::shard_of(id, threads_))) continue;
      shards.insert(Shards::shard_of(id, threads_));
      ids.push_back(id);
    }
    EXPECT_EQ(shards.size(), threads_);
    return ids;
  }
};

// Two publishers at once, each event to one vehicle's subscription and to "all" (a body shared by queues on
// different shards): every subscription gets exactly its events, once each, with consecutive sequence
// numbers, in each publisher's order.
TEST_P(ShardsTest, EverySubscriptionGetsItsEventsInOrderWhilePublishersRunConcurrently) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx(R"({"latency":"1ms"})");
  const std::vector<std::string> ids = ids_on_every_shard(6);
  for (size_t i = 0; i < ids.size(); ++i) create(ids[i], rx.url(), {{"vehicles", {"v" + std::to_string(i)}}});
  create("all", rx.url());
  constexpr int kBatches = 20, kPerBatch = 5;
  std::map<std::string, std::vector<std::string>> expected;  // per subscription, per publisher: in order
  std::vector<std::vector<std::pair<std::string, size_t>>> published(2);  // (event id, vehicle index)
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p) {
    publishers.emplace_back([&, p] {
      for (int b = 0; b < kBatches; ++b) {
        json batch = json::array();
        for (int k = 0; k < kPerBatch; ++k) {
          const size_t v = static_cast<size_t>((b * kPerBatch + k + p) % static_cast<int>(ids.size()));
          const std::string id = fmt::format("p{}-b{}-e{}", p, b, k);
          json e = event(id);
          e["vehicle"] = "v" + std::to_string(v);
          batch.push_back(e);
          published[p].emplace_back(id, v);
        }
        Reply r = post("/v1/events", batch.dump());
        EXPECT_EQ(r.status, 202) << r;
      }
    });
  }
  for (auto& t : publishers) t.join();
  for (const std::string& id : ids) wait_drained(id);
  wait_drained("all");
  auto check = [&](const std::string& sub, std::optional<size_t> vehicle) {
    const auto got = rx.delivered(sub);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].second, i + 1) << sub << " " << got[i].first;
    // Each publisher's events, in its order.
    for (int p = 0; p < 2; ++p) {
      std::vector<std::string> want, seen;
      for (const auto& [id, v] : published[p])
        if (!vehicle || v == *vehicle) want.push_back(id);
      const std::string prefix = fmt::format("p{}-", p);
      for (const auto& [id, seq] : got)
        if (id.starts_with(prefix)) seen.push_back(id);
      EXPECT_EQ(seen, want) << sub;
    }
  };
  for (size_t i = 0; i < ids.size(); ++i) check(ids[i], i);
  check("all", std::nullopt);
  EXPECT_EQ(rx.delivered("all").size(), 2u * kBatches * kPerBatch);
}

// Failing receivers on every shard: each subscription follows the policy's schedule (no attempt before its
// delay), gives up after give_up_after and discards its backlog, whichever thread delivers it.
TEST_P(ShardsTest, TheScheduleAndTheDeactivationHoldOnEveryShard) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  const json policy =
      json::parse(R"({"immediate_retries":1,"delays":["200ms"],"repeat":"300ms","give_up_after":"1s"})");
  const std::vector<std::string> ids = ids_on_every_shard(threads_);
  for (const std::string& id : ids) create(id, down.url(), json::object(), policy);
  publish(json::array({event("e1"), event("e2")}));
  for (const std::string& id : ids) {
    json s = wait_status(id, [](const json& s) { return s["state"] == "deactivated"; });
    EXPECT_EQ(s["backlog"], 0) << s;
    EXPECT_EQ(s["discarded"], 2) << s;
    Reply r = get("/v1/subscriptions/" + id + "/attempts?limit=100");
    ASSERT_EQ(r.status, 200) << r;
    std::vector<TimePoint> at;
    const json attempts = r.j()["attempts"];
    for (const json& a : attempts) {
      EXPECT_EQ(a["event"], "e1") << a;  // e2 waited behind it
      at.insert(at.begin(), utc(a["at"]));
    }
    // The first, one immediate retry, then after 200ms, then every 300ms: how many fit in the second
    // before it gives up depends on the machine's speed, but none comes early.
    ASSERT_GE(at.size(), 1u) << r;
    if (at.size() > 2) EXPECT_GE(at[2] - at[1], 200ms);
    for (size_t i = 3; i < at.size(); ++i) EXPECT_GE(at[i] - at[i - 1], 300ms) << i;
    // It gave up give_up_after (1s) after the streak began (at the first failure, so after the first
    // attempt started), and no attempt started after that.
    const TimePoint deactivated_at = utc(s["deactivated_at"]);
    EXPECT_GE(deactivated_at - at.front(), 1s) << s;
    EXPECT_LE(at.back(), deactivated_at) << s;
  }
}

// The list and /metrics name every subscription in creation order, with the same counts, for every N.
TEST_P(ShardsTest, TheListAndTheMetricsAreInCreationOrderWithTheSameCounts) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver rx;
  Receiver down(R"({"status":503})");
  std::vector<std::string> ids = ids_on_every_shard(5);
  std::reverse(ids.begin(), ids.end());  // creation order is not id order
  for (size_t i = 0; i < ids.size(); ++i)
    create(ids[i], i == 0 ? down.url() : rx.url(), json::object(), i == 0 ? kFastRetry : json(nullptr));
  publish(json::array({event("e1"), event("e2"), event("e3")}));
  for (size_t i = 1; i < ids.size(); ++i) wait_drained(ids[i]);
  Reply list = get("/v1/subscriptions");
  ASSERT_EQ(list.status, 200) << list;
  std::vector<std::string> listed;
  const json subscriptions = list.j()["subscriptions"];
  for (const json& s : subscriptions) {
    listed.push_back(s["id"]);
    EXPECT_EQ(s["backlog"], s["id"] == ids[0] ? 3 : 0) << s;
  }
  EXPECT_EQ(listed, ids);
  Reply r = get("/metrics");
  Metrics m(r.body);
  EXPECT_EQ(m.at("hooksim_events_published_total"), 3);
  EXPECT_EQ(m.at("hooksim_deliveries_total"), 3.0 * (ids.size() - 1));
  std::vector<std::string> series;
  for (size_t at = r.body.find("hooksim_backlog{"); at != std::string::npos;
       at = r.body.find("hooksim_backlog{", at + 1)) {
    const size_t open = r.body.find('"', at) + 1;
    series.push_back(r.body.substr(open, r.body.find('"', open) - open));
  }
  EXPECT_EQ(series, ids);
  EXPECT_EQ(m.at("hooksim_backlog{subscription=\"" + ids[0] + "\"}"), 3);
}

// A publish that cannot be written (a full disk) leaves nothing on any shard; the next one is numbered as
// if it had never been tried.
TEST_P(ShardsTest, APublishToEveryShardIsAllOrNothing) {
  auto faults = std::make_shared<storage::DiskFaults>();
  ASSERT_NO_FATAL_FAILURE(start("", faults));
  Receiver down(R"({"status":503})");
  const std::vector<std::string> ids = ids_on_every_shard(threads_);
  for (const std::string& id : ids) create(id, down.url(), json::object(), kFastRetry);
  faults->set_full(true);
  expect_error(post("/v1/events", json::array({event("e1"), event("e2")}).dump()), 503, "unavailable", "");
  for (const std::string& id : ids) EXPECT_EQ(status(id)["backlog"], 0) << id;
  faults->set_full(false);
  EXPECT_TRUE(eventually([&] { return post("/v1/events", event("e3").dump()).status == 202; }));
  ASSERT_NO_FATAL_FAILURE(restart());
  for (const std::string& id : ids) {
    json s = status(id);
    EXPECT_EQ(s["backlog"], 1) << s;
    json attempts;
    EXPECT_TRUE(eventually([&] {
      attempts = get("/v1/subscriptions/" + id + "/attempts").j()["attempts"];
      return attempts.is_array() && !attempts.empty();
    }));
    for (const json& a : attempts) EXPECT_EQ(a["seq"], 1) << a;  // e3 took sequence number 1
  }
}

// A restart with another number of shards moves subscriptions between threads: each queue resumes in
// order, its sequence numbers going on.
TEST_P(ShardsTest, ARestartWithAnotherShardCountResumesEveryQueueInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  Receiver down(R"({"status":503})");
  Receiver rx;
  const std::vector<std::string> ids = ids_on_every_shard(4);
  for (const std::string& id : ids) create(id, down.url(), json::object(), kFastRetry);
  json batch = json::array();
  for (int i = 1; i <= 10; ++i) batch.push_back(event("e" + std::to_string(i)));
  publish(batch);
  for (const std::string& id : ids) wait_status(id, [](const json& s) { return s["backlog"] == 10; });
  stop();
  threads_ = threads_ % 4 + 1;  // 1 -> 2, 2 -> 3, 4 -> 1
  ASSERT_NO_FATAL_FAILURE(start());
  for (const std::string& id : ids) {
    Reply r = patch("/v1/subscriptions/" + id, json({{"url", rx.url()}}).dump());
    ASSERT_EQ(r.status, 200) << r;
  }
  publish(event("e11"));
  for (const std::string& id : ids) {
    wait_drained(id);
    std::vector<P> want;
    for (uint64_t i = 1; i <= 11; ++i) want.emplace_back("e" + std::to_string(i), i);
    EXPECT_EQ(rx.delivered(id), want) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ShardsTest, ::testing::Values(1, 2, 4),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::to_string(info.param);
                         });

}  // namespace
}  // namespace hooksim::service
