// Security of issue 7, against the real `hooksim serve` binary: secrets and tokens never appear in any
// output (stderr log, stdout, API answers, error messages, /metrics, the status page, `hooksim status`);
// the admin token guards every API route; --refuse-private-addresses refuses private receivers, on the
// literal URL at registration and on the address actually connected to at delivery (and `hooksim run`'s
// option of the same name, on a scenario's urls before the run and on every connection during it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/address_policy.h"
#include "tests/cli_test_util.h"
#include "tests/serve_harness.h"

namespace hooksim {
namespace {

using namespace harness;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

// --- the address policy ---

TEST(AddressPolicy, PrivateLoopbackAndLinkLocalAddressesAreRecognised) {
  for (const char* a : {"127.0.0.1",
                        "127.255.0.9",
                        "10.1.2.3",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "198.18.0.1",
                        "::1",
                        "::",
                        "fe80::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1",
                        "64:ff9b::a9fe:a9fe",
                        "[::1]"}) {
    EXPECT_EQ(net::is_private_address(a), std::optional<bool>(true)) << a;
  }
  for (const char* a : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1", "2606:4700::1111",
                        "::ffff:8.8.8.8", "64:ff9b::808:808", "2001:4860:4860::8888"}) {
    EXPECT_EQ(net::is_private_address(a), std::optional<bool>(false)) << a;
  }
  EXPECT_EQ(net::is_private_address("hooks.example.com"), std::nullopt);
}

TEST(AddressPolicy, UrlsWhoseHostIsALiteralPrivateAddressAreRefused) {
  for (const char* url :
       {"http://127.0.0.1:8080/hook", "https://10.0.0.5/x", "http://[::1]:9/", "http://2130706433/",
        "http://0x7f.1/", "http://169.254.169.254/latest/meta-data", "http://[::ffff:192.168.0.1]/"}) {
    Status st = net::check_url_host_not_private(url);
    EXPECT_FALSE(st.ok()) << url;
    EXPECT_THAT(st.message(), HasSubstr("private or loopback")) << url;
  }
  // Names are judged on the address connected to, not here.
  for (const char* url :
       {"https://hooks.example.com/frotcom", "http://93.184.216.34/", "http://localhost:8080/"}) {
    EXPECT_TRUE(net::check_url_host_not_private(url).ok()) << url;
  }
}

// --- the service, as a process ---

// A fresh serve process on a fresh store, with optional extra flags.
struct Serve {
  TempDir dir;
  ServerProcess server;
  Serve(const std::string& name, const std::string& admin_token, std::vector<std::string> flags = {})
      : dir(name), server(dir / "data", dir / "serve.log", admin_token, std::move(flags)) {}
};

std::string bearer(const std::string& t) {
  return "Bearer " + t;
}

TEST(PrivateAddresses, ALoopbackReceiverIsRefusedWhenTheOptionIsOnAndDeliveredWhenOff) {
  for (bool refuse : {true, false}) {
    SCOPED_TRACE(refuse ? "--refuse-private-addresses" : "default");
    Receiver rx(R"({})");
    // `localhost` is a name: it passes registration and is judged on the address curl connects to.
    std::string url = "http://localhost:" + rx.url().substr(std::string("http://127.0.0.1:").size());
    Serve s(refuse ? "refuse" : "allow", "",
            refuse ? std::vector<std::string>{"--refuse-private-addresses"} : std::vector<std::string>{});
    ASSERT_TRUE(s.server.start());
    json sub = {{"id", "acme"}, {"url", url}, {"secret", kSecret}, {"policy", {{"immediate_retries", 0}}}};
    Reply created = http("POST", s.server.url("/v1/subscriptions"), sub.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_EQ(http("POST", s.server.url("/v1/events"), R"({"id":"e1","type":"tracking"})").status, 202);
    json status;
    ASSERT_TRUE(eventually([&] {
      status = http("GET", s.server.url("/v1/subscriptions/acme/status")).j();
      return status.value("attempts", 0) >= 1;
    }));
    if (refuse) {
      EXPECT_EQ(status["delivered"], 0) << status.dump();
      EXPECT_EQ(status["last_attempt"]["error"], "private_address") << status.dump();
      EXPECT_EQ(status["last_attempt"]["status"], 0);
      EXPECT_EQ(rx.stats().connections, 0u);  // nothing reached the receiver, not even a connection
      EXPECT_EQ(rx.stats().requests, 0u);
      std::string metrics = http("GET", s.server.url("/metrics")).body;
      EXPECT_THAT(metrics, HasSubstr("hooksim_attempts_failed_total{class=\"private_address\"} 1\n"));
    } else {
      EXPECT_EQ(status["delivered"], 1) << status.dump();
      EXPECT_EQ(rx.stats().requests, 1u);
    }
    // A literal private address is refused at registration (and in a PATCH), naming the field.
    json literal = {{"id", "lit"}, {"url", rx.url()}, {"token", "t"}};
    Reply r = http("POST", s.server.url("/v1/subscriptions"), literal.dump());
    if (refuse) {
      // (Only with the option on: without it the PATCH would succeed, and nothing may leave loopback.)
      Reply p = http("PATCH", s.server.url("/v1/subscriptions/acme"),
                     json({{"url", "http://10.1.2.3/hook"}}).dump());
      EXPECT_EQ(r.status, 400) << r.body;
      EXPECT_EQ(r.j()["error"]["field"], "url") << r.body;
      EXPECT_THAT(r.j()["error"]["message"].get<std::string>(), HasSubstr("private or loopback"));
      EXPECT_EQ(p.status, 400) << p.body;
      EXPECT_EQ(p.j()["error"]["field"], "url") << p.body;
      EXPECT_EQ(http("GET", s.server.url("/v1/subscriptions/lit")).status, 404);  // nothing stored
      EXPECT_EQ(http("GET", s.server.url("/v1/subscriptions/acme")).j()["url"], url);
    } else {
      EXPECT_EQ(r.status, 201) << r.body;
    }
    s.server.signal(SIGTERM);
    EXPECT_EQ(s.server.wait_exit(), 0);
  }
}

// --- hooksim run, as a process ---

// A scenario with a simulated subscription ("sim") and a real one ("acme") at `url`: one event at 0s, no
// immediate retries, one hour of the documented schedule.
json scenario_with_url(const std::string& url) {
  return {{"duration", "1h"},
          {"policy", {{"immediate_retries", 0}}},
          {"subscriptions",
           {{{"id", "sim"}, {"receiver", {{"status", 200}}}},
            {{"id", "acme"}, {"url", url}, {"secret", kSecret}}}},
          {"events", {{{"at", "0s"}, {"type", "tracking"}}}}};
}

// The outcome ("delivered" or the error class) of each attempt of subscription `sub` in an attempt log.
std::vector<std::string> attempt_outcomes(const std::string& log, const std::string& sub) {
  std::vector<std::string> out;
  for (const std::string& line : testutil::lines_of(log)) {
    json j = json::parse(line);
    if (j["kind"] != "attempt" || j["sub"] != sub) continue;
    out.push_back(j["outcome"] == "delivered" ? "delivered" : j["error"].get<std::string>());
  }
  return out;
}

TEST(PrivateAddresses, RunRefusesAScenarioUrlWithALiteralLoopbackAddressBeforeWritingAnything) {
  Receiver rx(R"({})");
  testutil::TempDir dir;
  testutil::write_file(dir.file("s.json"), scenario_with_url(rx.url()).dump());
  const std::string log = dir.file("log.jsonl"), report = dir.file("report.html"), data = dir.file("data");
  const std::string args = "run " + testutil::shell_quote(dir.file("s.json")) + " --log " +
                           testutil::shell_quote(log) + " --report " + testutil::shell_quote(report) +
                           " --data " + testutil::shell_quote(data);

  testutil::RunResult r = testutil::run_hooksim(args + " --refuse-private-addresses", dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(
      r.err,
      "hooksim run: subscriptions[1].url: host '127.0.0.1' is a private or loopback address, refused by "
      "--refuse-private-addresses\n");
  EXPECT_FALSE(std::filesystem::exists(log));
  EXPECT_FALSE(std::filesystem::exists(report));
  EXPECT_FALSE(std::filesystem::exists(data));
  EXPECT_EQ(rx.stats().connections, 0u);
  EXPECT_EQ(rx.stats().requests, 0u);

  // Without the option the same scenario runs and delivers.
  testutil::RunResult plain = testutil::run_hooksim(args, dir);
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(attempt_outcomes(testutil::read_file(log), "acme"), ElementsAre("delivered"));
  EXPECT_EQ(rx.stats().requests, 1u);
}

TEST(PrivateAddresses, RunRefusesEveryConnectionToANameThatResolvesToLoopbackAndDeliversWithoutTheOption) {
  for (bool refuse : {true, false}) {
    SCOPED_TRACE(refuse ? "--refuse-private-addresses" : "default");
    Receiver rx(R"({})");
    // `localhost` is a name: the scenario is accepted, and each connection is judged on its address.
    std::string url = "http://localhost:" + rx.url().substr(std::string("http://127.0.0.1:").size());
    testutil::TempDir dir;
    testutil::write_file(dir.file("s.json"), scenario_with_url(url).dump());
    const std::string log = dir.file("log.jsonl");
    testutil::RunResult r =
        testutil::run_hooksim("run " + testutil::shell_quote(dir.file("s.json")) + " --log " +
                                  testutil::shell_quote(log) + (refuse ? " --refuse-private-addresses" : ""),
                              dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json summary = json::parse(r.out);
    std::vector<std::string> acme = attempt_outcomes(testutil::read_file(log), "acme");
    EXPECT_THAT(attempt_outcomes(testutil::read_file(log), "sim"), ElementsAre("delivered"));
    if (refuse) {
      // Every attempt of the hour's schedule failed without sending anything, not even a connection.
      ASSERT_FALSE(acme.empty());
      EXPECT_THAT(acme, Each(Eq("private_address")));
      EXPECT_EQ(summary["subscriptions"]["acme"]["delivered"], 0) << r.out;
      EXPECT_EQ(summary["subscriptions"]["acme"]["failed_attempts"], acme.size()) << r.out;
      EXPECT_EQ(rx.stats().connections, 0u);
      EXPECT_EQ(rx.stats().requests, 0u);
    } else {
      EXPECT_THAT(acme, ElementsAre("delivered"));
      EXPECT_EQ(summary["subscriptions"]["acme"]["delivered"], 1) << r.out;
      EXPECT_EQ(rx.stats().requests, 1u);
    }
  }
}

TEST(PrivateAddresses, SimulateHasNoOptionToRefusePrivateAddresses) {
  // Simulation never connects anywhere: the option would mean nothing there.
  testutil::TempDir dir;
  testutil::RunResult r =
      testutil::run_hooksim("simulate " + testutil::shell_quote(HOOKSIM_SOURCE_DIR "/scenarios/demo.json") +
                                " --refuse-private-addresses",
                            dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--refuse-private-addresses")) << r.err;
}

TEST(ServeOptions, ARetentionThatIsNotADurationIsRefusedBeforeTheStoreIsCreated) {
  testutil::TempDir dir;
  const std::string data = dir.file("data");
  for (const char* bad : {"3", "7 days", "-1d", ""}) {
    testutil::RunResult r =
        testutil::run_hooksim("serve --data " + testutil::shell_quote(data) +
                                  " --listen 127.0.0.1:0 --event-id-retention " + testutil::shell_quote(bad),
                              dir);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr("--event-id-retention: invalid duration")) << bad << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(data)) << bad;
  }
}

TEST(ServeOptions, AThreadCountOutsideOneTo256IsRefusedBeforeTheStoreIsCreated) {
  testutil::TempDir dir;
  const std::string data = dir.file("data");
  for (const char* bad : {"0", "257"}) {
    testutil::RunResult r = testutil::run_hooksim(
        "serve --data " + testutil::shell_quote(data) + " --listen 127.0.0.1:0 --threads " + bad, dir);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr(std::string("--threads: must be from 1 to 256 (got ") + bad + ")")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(data)) << bad;
  }
}

TEST(ServeOptions, AcceptedRetentionsStartTheServerAndARepeatedIdIsStillADuplicate) {
  for (const char* retention : {"0", "0s", "36h"}) {
    harness::TempDir dir("retention");
    harness::ServerProcess server(dir / "data", dir / "serve.log", "", {"--event-id-retention", retention});
    ASSERT_TRUE(server.start()) << retention << ": " << harness::read_file(dir / "serve.log");
    const std::string event = R"({"id":"e1","type":"tracking","account":"acme"})";
    harness::Reply first = harness::http("POST", server.url("/v1/events"), event);
    harness::Reply again = harness::http("POST", server.url("/v1/events"), event);
    ASSERT_EQ(first.status, 202) << retention << ": " << first.body;
    ASSERT_EQ(again.status, 202) << retention << ": " << again.body;
    EXPECT_EQ(first.j()["accepted"], json::array({"e1"})) << retention;
    EXPECT_EQ(again.j()["duplicates"], json::array({"e1"})) << retention;
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(), 0) << retention;
  }
}

TEST(AdminToken, EveryApiRouteRefusesRequestsWithoutTheTokenAndChangesNothing) {
  const std::string admin = "adm1n-T0ken-for-routes";
  Serve s("routes", admin);
  ASSERT_TRUE(s.server.start());
  json sub = {{"id", "acme"}, {"url", "http://127.0.0.1:9/hook"}, {"token", "tok-1"}};
  ASSERT_EQ(http("POST", s.server.url("/v1/subscriptions"), sub.dump(), {bearer(admin)}).status, 201);
  const std::string before =
      http("GET", s.server.url("/v1/subscriptions/acme"), std::nullopt, {bearer(admin)}).body;
  struct Route {
    const char* method;
    const char* path;
    std::optional<std::string> body;
  };
  const std::vector<Route> routes = {
      {"GET", "/v1/subscriptions", std::nullopt},
      {"POST", "/v1/subscriptions", R"({"id":"other","url":"http://127.0.0.1:9/","token":"x"})"},
      {"GET", "/v1/subscriptions/acme", std::nullopt},
      {"PATCH", "/v1/subscriptions/acme", R"({"url":"http://127.0.0.1:10/changed"})"},
      {"DELETE", "/v1/subscriptions/acme", std::nullopt},
      {"POST", "/v1/subscriptions/acme/reactivate", std::nullopt},
      {"GET", "/v1/subscriptions/acme/status", std::nullopt},
      {"GET", "/v1/subscriptions/acme/attempts?limit=5", std::nullopt},
      {"POST", "/v1/events", R"({"id":"e1","type":"tracking"})"},
      {"GET", "/metrics", std::nullopt},
      {"GET", "/v1/no-such-route", std::nullopt},
  };
  for (const std::string& authorization :
       {std::string(), std::string("Bearer wrong"), admin, "Basic " + admin, std::string("Bearer "),
        bearer(admin + "x"), bearer(admin.substr(1))}) {
    for (const Route& r : routes) {
      SCOPED_TRACE(std::string(r.method) + " " + r.path + " with '" + authorization + "'");
      Reply reply = http(r.method, s.server.url(r.path), r.body, {authorization});
      EXPECT_EQ(reply.status, 401) << reply.body;
      EXPECT_EQ(reply.j()["error"]["field"], "authorization") << reply.body;
    }
  }
  // Nothing changed: the subscription is as it was, no event was published, no other subscription exists.
  EXPECT_EQ(http("GET", s.server.url("/v1/subscriptions/acme"), std::nullopt, {bearer(admin)}).body, before);
  json list = http("GET", s.server.url("/v1/subscriptions"), std::nullopt, {bearer(admin)}).j();
  EXPECT_EQ(list["subscriptions"].size(), 1u);
  EXPECT_EQ(list["subscriptions"][0]["backlog"], 0);
  s.server.signal(SIGTERM);
  EXPECT_EQ(s.server.wait_exit(), 0);
}

// Runs `hooksim ARGS...`; its stdout and stderr together.
std::string run_cli(const std::string& args) {
  std::string out;
  FILE* p = ::popen((std::string(HOOKSIM_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(Secrets, NeverAppearInLogsAnswersErrorsMetricsOrTheStatusPage) {
  const std::string admin = "adm1n-S3cret-Zq81";
  const std::string secret = kSecret;  // the receivers verify signatures with it
  const std::string secret_key = secret.substr(6);
  const std::string token = "tok-S3cret-Vv42";
  const std::string bad_secret = "whsec_@@not-base64-Kp93@@";
  const std::string bad_token = "tok with spaces Lm07";
  const std::vector<std::string> secrets = {
      admin, secret, secret_key, token, bad_secret, "not-base64-Kp93", bad_token, "Lm07"};

  Receiver ok(R"({})");
  Receiver failing(R"({"status":503})");
  Serve s("secrets", admin);
  ASSERT_TRUE(s.server.start());
  std::vector<std::string> outputs;  // every answer and output, to search
  auto call = [&](const std::string& method, const std::string& path,
                  const std::optional<std::string>& body = std::nullopt,
                  const std::string& authorization = "") {
    Reply r = http(method, s.server.url(path), body, {authorization.empty() ? bearer(admin) : authorization});
    outputs.push_back(method + " " + path + " -> " + std::to_string(r.status) + " " + r.body);
    return r;
  };
  // Signed, token and failing subscriptions; deliveries that succeed, fail with a status and cannot connect.
  EXPECT_EQ(call("POST", "/v1/subscriptions",
                 json({{"id", "signed"}, {"url", ok.url()}, {"secret", secret}}).dump())
                .status,
            201);
  EXPECT_EQ(call("POST", "/v1/subscriptions",
                 json({{"id", "bearer"},
                       {"url", failing.url()},
                       {"token", token},
                       {"policy", {{"immediate_retries", 0}}}})
                     .dump())
                .status,
            201);
  EXPECT_EQ(call("POST", "/v1/subscriptions",
                 json({{"id", "gone"},
                       {"url", "http://127.0.0.1:9/hook"},
                       {"secret", secret},
                       {"policy", {{"immediate_retries", 0}}}})
                     .dump())
                .status,
            201);
  EXPECT_EQ(call("POST", "/v1/events", R"([{"id":"e1","type":"t"},{"id":"e2","type":"t"}])").status, 202);
  ASSERT_TRUE(eventually([&] {
    json l = http("GET", s.server.url("/v1/subscriptions"), std::nullopt, {bearer(admin)}).j();
    int done = 0;
    for (const auto& sub : l["subscriptions"])
      done += sub["id"] == "signed" ? sub["delivered"] == 2 : sub["attempts"] >= 1;
    return done == 3;
  }));
  EXPECT_EQ(ok.stats().bad_signatures, 0u);
  // Rejected input that carries secrets, and wrong admin tokens.
  EXPECT_EQ(
      call("POST", "/v1/subscriptions", json({{"id", "x"}, {"url", ok.url()}, {"secret", bad_secret}}).dump())
          .status,
      400);
  EXPECT_EQ(
      call("POST", "/v1/subscriptions", json({{"id", "y"}, {"url", ok.url()}, {"token", bad_token}}).dump())
          .status,
      400);
  EXPECT_EQ(call("PATCH", "/v1/subscriptions/signed", json({{"secret", bad_secret}}).dump()).status, 400);
  EXPECT_EQ(call("PATCH", "/v1/subscriptions/bearer", json({{"token", bad_token}}).dump()).status, 400);
  EXPECT_EQ(call("POST", "/v1/subscriptions",
                 json({{"id", "z"}, {"url", ok.url()}, {"secret", secret}, {"token", token}}).dump())
                .status,
            400);
  EXPECT_EQ(call("GET", "/v1/subscriptions", std::nullopt, bearer(admin + "-wrong")).status, 401);
  EXPECT_EQ(call("GET", "/v1/subscriptions", std::nullopt, bearer(bad_token)).status, 401);
  // Every read: list, one, status, attempts, metrics, the status page.
  for (const char* id : {"signed", "bearer", "gone"}) {
    call("GET", std::string("/v1/subscriptions/") + id);
    call("GET", std::string("/v1/subscriptions/") + id + "/status");
    call("GET", std::string("/v1/subscriptions/") + id + "/attempts");
  }
  call("GET", "/v1/subscriptions");
  call("GET", "/metrics");
  EXPECT_THAT(call("GET", "/").body, HasSubstr("<html"));
  // `hooksim status` (the admin token on its command line) and the server's own output.
  outputs.push_back(run_cli("status --server http://127.0.0.1:" + std::to_string(s.server.port()) +
                            " --admin-token " + admin));
  outputs.push_back(run_cli("status --json --server http://127.0.0.1:" + std::to_string(s.server.port()) +
                            " --admin-token " + admin));
  outputs.push_back(run_cli("status --server http://127.0.0.1:" + std::to_string(s.server.port()) +
                            " --admin-token wrong-" + admin));
  s.server.signal(SIGTERM);
  EXPECT_EQ(s.server.wait_exit(), 0);
  outputs.push_back("serve stdout: " + s.server.drain_stdout());
  outputs.push_back("serve stderr: " + read_file(s.dir / "serve.log"));

  // The fingerprints are shown instead.
  std::string all;
  for (const auto& o : outputs) all += o + "\n";
  EXPECT_THAT(all, HasSubstr("whsec_... sha256:"));
  for (const auto& secret_text : secrets) {
    for (const auto& o : outputs)
      EXPECT_THAT(o, Not(HasSubstr(secret_text))) << "leaks '" << secret_text << "'";
  }
  // The fingerprint is of the secret, not a prefix of it.
  EXPECT_THAT(all, Not(HasSubstr(secret.substr(0, 12))));
}

}  // namespace
}  // namespace hooksim
