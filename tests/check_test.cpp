// `hooksim check` (check/check.h, cli/check_cmd.cpp) against the mock receiver (receiver/server.h) on
// 127.0.0.1: the well-behaved receiver passes everything, each misbehaviour switch fails exactly its check,
// the HTTPS check judges certificates made here (a test CA, expired, near-expiry, wrong host), and the
// binary's exit codes. Verdicts only: the one timing-dependent verdict (a receiver 5x slower than the
// timeout) cannot flip.
#include "check/check.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/envelope.h"
#include "protocol/signing.h"
#include "receiver/server.h"
#include "tests/cli_test_util.h"
#include "tests/serve_harness.h"

namespace hooksim::check {
namespace {

using harness::kSecret;
using harness::Receiver;
using nlohmann::json;
using receiver::ReceiverOptions;
using receiver::RequestRecord;
using testutil::lines_of;
using testutil::run_hooksim_merged;
using testutil::TempDir;

constexpr const char* kToken = "tok_check_test";

ReceiverOptions with_secret() {
  ReceiverOptions o;
  o.secret = kSecret;
  return o;
}

CheckOptions options_for(const std::string& url) {
  CheckOptions o;
  o.url = url;
  o.secret = kSecret;
  o.backlog_events = 50;  // enough to drain; keeps the suite quick
  return o;
}

std::map<std::string, Verdict> verdicts(const Report& report) {
  std::map<std::string, Verdict> out;
  for (const auto& r : report.results) out[r.name] = r.verdict;
  return out;
}

const CheckResult& result(const Report& report, const std::string& name) {
  for (const auto& r : report.results)
    if (r.name == name) return r;
  throw std::runtime_error("no result for " + name);
}

// Every check PASSes except those named in `expected` (which get the verdict given there).
void expect_verdicts(const Report& report, const std::map<std::string, Verdict>& expected) {
  ASSERT_EQ(report.results.size(), all_checks().size());
  for (const auto& r : report.results) {
    auto it = expected.find(r.name);
    Verdict want = it == expected.end() ? Verdict::kPass : it->second;
    EXPECT_EQ(verdict_label(r.verdict), std::string(verdict_label(want))) << format_line(r);
  }
}

Report run_ok(const CheckOptions& o) {
  auto report = run_checks(o);
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? *report : Report{};
}

// ---------------------------------------------------------------------------------------------------------
// The well-behaved receiver
// ---------------------------------------------------------------------------------------------------------

TEST(Check, WellBehavedReceiverPassesEveryCheckExceptPlainHttp) {
  Receiver rx(with_secret());
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}});
  EXPECT_EQ(report.exit_code(), 0);
  EXPECT_EQ(report.overall(), Verdict::kWarn);

  // The order is the documented one, and the figures carry the measurements.
  std::vector<std::string> names;
  for (const auto& r : report.results) names.push_back(r.name);
  const std::vector<std::string> documented = {
      "accepts_valid", "latency_headroom", "rejects_forged", "rejects_stale", "idempotent_redelivery",
      "probe_order",   "backlog_drain",    "large_payload",  "https"};  // docs/check.md
  EXPECT_EQ(names, documented);
  EXPECT_EQ(result(report, "backlog_drain").measurements["accepted"], 50);
  EXPECT_EQ(result(report, "latency_headroom").measurements["samples"], 20);
  EXPECT_EQ(result(report, "large_payload").measurements["sizes"], json({256 * 1024, 512 * 1024}));
  // The receiver saw the forged, stale and future requests as such.
  int bad = 0, missing = 0, stale = 0;
  for (const auto& r : rx.records()) {
    bad += r.signature == RequestRecord::Signature::kBad;
    missing += r.signature == RequestRecord::Signature::kMissing;
    stale += r.signature == RequestRecord::Signature::kStale;
  }
  EXPECT_EQ(bad, 2);  // a wrong signature, one by another secret
  EXPECT_EQ(missing, 1);
  EXPECT_EQ(stale, 2);  // 10 minutes old, 10 minutes ahead
  EXPECT_EQ(rx.stats().bad_signatures, 5u);
}

TEST(Check, TokenModeTestsTheTokenAndSkipsTimestamps) {
  ReceiverOptions ro;
  ro.token = kToken;
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.secret.clear();
  o.token = kToken;
  Report report = run_ok(o);
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"rejects_stale", Verdict::kSkip}});
  EXPECT_EQ(result(report, "rejects_forged").probes.size(), 2u);  // no token, a wrong token
  EXPECT_EQ(report.exit_code(), 0);
}

TEST(Check, WithoutCredentialsTheSignatureChecksAreSkipped) {
  Receiver rx;
  CheckOptions o = options_for(rx.url());
  o.secret.clear();
  o.only = {"accepts_valid", "rejects_forged", "rejects_stale"};
  Report report = run_ok(o);
  ASSERT_EQ(report.results.size(), 3u);
  EXPECT_EQ(verdicts(report), (std::map<std::string, Verdict>{{"accepts_valid", Verdict::kPass},
                                                              {"rejects_forged", Verdict::kSkip},
                                                              {"rejects_stale", Verdict::kSkip}}));
}

// ---------------------------------------------------------------------------------------------------------
// Each misbehaviour fails its own check and no other
// ---------------------------------------------------------------------------------------------------------

TEST(Check, AcceptingBadSignaturesFailsRejectsForgedOnly) {
  ReceiverOptions ro = with_secret();
  ro.accept_bad_signatures = true;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"rejects_forged", Verdict::kFail}});
  EXPECT_EQ(result(report, "rejects_forged").measurements["accepted"], 3);
  EXPECT_EQ(report.exit_code(), 1);
}

TEST(Check, AcceptingABadTokenFailsRejectsForgedInTokenMode) {
  ReceiverOptions ro;
  ro.token = kToken;
  ro.accept_bad_signatures = true;
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.secret.clear();
  o.token = kToken;
  o.only = {"accepts_valid", "rejects_forged"};
  Report report = run_ok(o);
  EXPECT_EQ(verdicts(report), (std::map<std::string, Verdict>{{"accepts_valid", Verdict::kPass},
                                                              {"rejects_forged", Verdict::kFail}}));
}

TEST(Check, IgnoringTimestampsFailsRejectsStaleOnly) {
  ReceiverOptions ro = with_secret();
  ro.ignore_timestamps = true;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"rejects_stale", Verdict::kFail}});
  EXPECT_EQ(result(report, "rejects_stale").measurements["accepted"], 2);
}

TEST(Check, FailingDuplicatesFailsIdempotentRedeliveryOnly) {
  ReceiverOptions ro = with_secret();
  ro.fail_duplicates = true;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"idempotent_redelivery", Verdict::kFail}});
  const CheckResult& r = result(report, "idempotent_redelivery");
  ASSERT_EQ(r.probes.size(), 2u);
  EXPECT_EQ(r.probes[0].status, 200);
  EXPECT_EQ(r.probes[1].status, 500);
}

TEST(Check, RejectingOutOfOrderFailsProbeOrderOnly) {
  ReceiverOptions ro = with_secret();
  ro.reject_out_of_order = true;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"probe_order", Verdict::kFail}});
  const CheckResult& r = result(report, "probe_order");
  ASSERT_EQ(r.probes.size(), 2u);  // the newest event is accepted, the oldest refused, and the drain stops
  EXPECT_EQ(r.probes[0].status, 200);
  EXPECT_EQ(r.probes[1].status, 409);
}

TEST(Check, RateLimitingFailsBacklogDrainOnly) {
  ReceiverOptions ro = with_secret();
  ro.rate_limit_per_minute = 100;  // far more than any other check sends, far less than the backlog
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.backlog_events = 150;
  Report report = run_ok(o);
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"backlog_drain", Verdict::kFail}});
  const CheckResult& r = result(report, "backlog_drain");
  EXPECT_EQ(r.probes.back().status, 429);
  EXPECT_GE(r.measurements["accepted"].get<int>(), 100);
  EXPECT_LT(r.measurements["accepted"].get<int>(), 150);
}

TEST(Check, ASmallBodyLimitFailsLargePayloadOnly) {
  ReceiverOptions ro = with_secret();
  ro.body_limit = 100 * 1024;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"large_payload", Verdict::kFail}});
  const CheckResult& r = result(report, "large_payload");
  EXPECT_EQ(r.probes.front().status, 413);
  EXPECT_NE(r.figure.find("body too large"), std::string::npos) << r.figure;
}

TEST(Check, TheLargePayloadIsExactlyTheTestedSize) {
  Receiver rx(with_secret());
  CheckOptions o = options_for(rx.url());
  o.only = {"large_payload"};
  o.payload_size = 4096;
  Report report = run_ok(o);
  EXPECT_EQ(result(report, "large_payload").verdict, Verdict::kPass);
  std::vector<uint64_t> sizes;
  for (const auto& r : rx.records()) sizes.push_back(r.bytes);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{4096, 8192}));
}

TEST(Check, ARedirectIsAFailureAsForTheSender) {
  ReceiverOptions ro = with_secret();
  ro.script.status = 302;
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.only = {"accepts_valid"};
  Report report = run_ok(o);
  const CheckResult& r = result(report, "accepts_valid");
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.figure.find("redirects are not followed"), std::string::npos) << r.figure;
}

TEST(Check, AReceiverFiveTimesSlowerThanTheTimeoutFailsLatency) {
  ReceiverOptions ro = with_secret();
  ro.script.latency = std::chrono::milliseconds(1000);
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.timeout = std::chrono::milliseconds(200);
  o.only = {"latency_headroom"};
  Report report = run_ok(o);
  const CheckResult& r = result(report, "latency_headroom");
  EXPECT_EQ(r.verdict, Verdict::kFail) << format_line(r);
  EXPECT_EQ(r.measurements["timeouts"], 1);
  ASSERT_EQ(r.probes.size(), 1u);  // it stops at the first timeout
  EXPECT_EQ(r.probes[0].error.rfind("timeout", 0), 0u) << r.probes[0].error;
}

TEST(Check, ASlowDrainWarnsWhenADaysBacklogWouldTakeLongerThanTheBound) {
  ReceiverOptions ro = with_secret();
  ro.script.latency = std::chrono::milliseconds(5);  // at most 200 events/s: a day's 100000 take >= 500 s
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.only = {"backlog_drain"};
  o.backlog_events = 20;
  o.daily_events = 100000;
  o.drain_bound = std::chrono::minutes(1);
  Report report = run_ok(o);
  const CheckResult& r = result(report, "backlog_drain");
  EXPECT_EQ(r.verdict, Verdict::kWarn) << format_line(r);
  EXPECT_GE(r.measurements["day_drain_s"].get<double>(), 500.0);
  EXPECT_EQ(report.exit_code(), 0);  // a warning does not fail a CI run
}

// ---------------------------------------------------------------------------------------------------------
// Options and reports
// ---------------------------------------------------------------------------------------------------------

TEST(Check, BadOptionsNameTheFlag) {
  CheckOptions o = options_for("http://127.0.0.1:1/");
  auto error = [](CheckOptions o) { return validate(o).message(); };
  EXPECT_EQ(validate(o).code(), Status::Code::kOk);
  CheckOptions bad = o;
  bad.url = "ftp://x/";
  EXPECT_EQ(error(bad), "URL 'ftp://x/': must start with http:// or https://");
  bad = o;
  bad.secret = "nope";
  EXPECT_EQ(error(bad), "--secret: secret must start with whsec_");
  bad = o;
  bad.token = "t";
  EXPECT_EQ(error(bad), "--secret and --token: give one or the other (the receiver's credential)");
  bad = o;
  bad.only = {"https", "bogus"};
  EXPECT_EQ(error(bad).rfind("--only: unknown check 'bogus' (checks: accepts_valid, ", 0), 0u) << error(bad);
  bad = o;
  bad.timeout = Duration(0);
  EXPECT_EQ(error(bad), "--timeout: must be from 1ms to 10m");
  bad = o;
  bad.payload_size = 10;
  EXPECT_EQ(error(bad), "--payload-size: must be from 1024 to 8388608 bytes");
}

TEST(Check, AnUnreachableUrlIsAnErrorAndNothingIsRun) {
  // A port that was just free: bound, then closed without listening.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = a.local_endpoint().port();
  a.close();
  int called = 0;
  CheckOptions o = options_for("http://127.0.0.1:" + std::to_string(port) + "/hooks");
  o.on_result = [&](const CheckResult&) { ++called; };
  auto report = run_checks(o);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Status::Code::kIOError);
  EXPECT_NE(report.status().message().find("cannot reach"), std::string::npos) << report.status().message();
  EXPECT_EQ(called, 0);
}

TEST(Check, JsonReportFollowsTheDocumentedSchema) {
  Receiver rx(with_secret());
  CheckOptions o = options_for(rx.url());
  o.only = {"accepts_valid", "https"};
  Report report = run_ok(o);
  json j = json::parse(report_json(report));
  EXPECT_EQ(j["schema"], "hooksim-check/1");
  EXPECT_EQ(j["url"], rx.url());
  EXPECT_EQ(j["auth"], "secret");
  EXPECT_EQ(j["signature"], "standard-webhooks");
  EXPECT_EQ(j["timeout_ms"], 10000);
  EXPECT_EQ(j["verdict"], "warn");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["counts"], json({{"pass", 1}, {"warn", 1}, {"fail", 0}, {"skip", 0}}));
  ASSERT_EQ(j["checks"].size(), 2u);
  const json& c = j["checks"][0];
  std::vector<std::string> keys;  // in the order written
  auto ordered = nlohmann::ordered_json::parse(report_json(report));
  for (auto it = ordered["checks"][0].begin(); it != ordered["checks"][0].end(); ++it)
    keys.push_back(it.key());
  std::vector<std::string> top;
  for (auto it = ordered.begin(); it != ordered.end(); ++it) top.push_back(it.key());
  EXPECT_EQ(top, (std::vector<std::string>{"schema", "hooksim_version", "url", "auth", "signature",
                                           "timeout_ms", "started_at", "duration_ms", "verdict", "exit_code",
                                           "counts", "checks"}));
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "title", "verdict", "figure", "advice", "duration_ms",
                                            "measurements", "probes"}));
  EXPECT_EQ(c["name"], "accepts_valid");
  EXPECT_EQ(c["verdict"], "pass");
  EXPECT_EQ(c["measurements"], json({{"sent", 3}, {"accepted", 3}}));
  ASSERT_EQ(c["probes"].size(), 3u);
  EXPECT_EQ(c["probes"][1]["what"], "message event");
  EXPECT_EQ(c["probes"][1]["status"], 200);
  EXPECT_TRUE(c["probes"][1]["error"].is_null());
  EXPECT_EQ(c["probes"][1]["met"], true);
  EXPECT_EQ(j["checks"][1]["measurements"]["scheme"], "http");
}

TEST(Check, HtmlReportIsSelfContainedAndEscaped) {
  Report report;
  report.url = "http://example.test/<script>";
  report.auth = "secret";
  report.timeout = Duration(10000);
  CheckResult r;
  r.name = "accepts_valid";
  r.title = "accepts valid deliveries";
  r.verdict = Verdict::kFail;
  r.figure = "0/3 answered 2xx; tracking event: 500";
  r.advice = "Answer 2xx & store.";
  r.probes.push_back({"tracking event", "2xx", 500, "", 1.5, false});
  report.results.push_back(r);
  std::string html = report_html(report);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("http://example.test/&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("Answer 2xx &amp; store."), std::string::npos);
  EXPECT_NE(html.find("Not ready"), std::string::npos);
  // Nothing is loaded from elsewhere.
  for (const char* external : {"src=", "<link", "@import", "url("})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
}

TEST(Check, SampleEventsCoverTheThreeKindsAsValidJson) {
  for (const char* kind : {"tracking", "message", "driving_time"}) {
    Event e = sample_event(kind, 7, TimePoint(Duration(1764374400000)));
    EXPECT_EQ(e.type, kind);
    json envelope = json::parse(protocol::make_envelope(e));
    EXPECT_TRUE(envelope["data"].is_object()) << kind;
    EXPECT_EQ(envelope["occurred_at"], "2025-11-29T00:00:00.000Z");
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTPS: certificates made here, signed by a test CA
// ---------------------------------------------------------------------------------------------------------

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

Key new_key() {
  return Key(EVP_EC_gen("P-256"), EVP_PKEY_free);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, valid from now + from_s until now + until_s, issued by (issuer, issuer_key) or
// self-signed when issuer is null.
Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long from_s, long until_s,
               const char* san) {
  static long serial = 1;
  Cert cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), until_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (issuer == nullptr) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    add_ext(cert.get(), signer, NID_subject_alt_name, san);
  }
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

void write_pem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void write_pem(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

constexpr long kDay = 86400;

// A test CA (ca.pem) and a receiver certificate (leaf.pem, leaf.key) with the given validity and names.
class Pki {
 public:
  Pki(const TempDir& dir, long from_s, long until_s, const char* san = "IP:127.0.0.1,DNS:localhost")
      : ca_(dir.file("ca.pem")), cert_(dir.file("leaf.pem")), key_(dir.file("leaf.key")) {
    Key ca_key = new_key(), leaf_key = new_key();
    Cert ca = make_cert(ca_key.get(), "hooksim check test CA", nullptr, nullptr, -kDay, 30 * kDay, nullptr);
    Cert leaf = make_cert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), from_s, until_s, san);
    write_pem(ca_, ca.get());
    write_pem(cert_, leaf.get());
    write_pem(key_, leaf_key.get());
  }
  ReceiverOptions receiver() const {
    ReceiverOptions o = with_secret();
    o.tls_cert_path = cert_;
    o.tls_key_path = key_;
    return o;
  }
  const std::string& ca() const { return ca_; }

 private:
  std::string ca_, cert_, key_;
};

TEST(CheckHttps, AWellBehavedHttpsReceiverPassesEveryCheck) {
  TempDir dir;
  Pki pki(dir, -kDay, 90 * kDay);
  Receiver rx(pki.receiver());
  ASSERT_EQ(rx.url().rfind("https://", 0), 0u);
  CheckOptions o = options_for(rx.url());
  o.ca_file = pki.ca();
  Report report = run_ok(o);
  expect_verdicts(report, {});
  EXPECT_EQ(report.overall(), Verdict::kPass);
  const CheckResult& r = result(report, "https");
  EXPECT_EQ(r.measurements["verified"], true);
  EXPECT_EQ(r.measurements["days_left"].get<int>() >= 88, true) << r.measurements.dump();
  std::string tls = r.measurements["tls_version"];
  EXPECT_TRUE(tls == "TLSv1.2" || tls == "TLSv1.3") << tls;
}

TEST(CheckHttps, ACertificateExpiringWithinFourteenDaysWarns) {
  TempDir dir;
  Pki pki(dir, -kDay, 7 * kDay);
  Receiver rx(pki.receiver());
  CheckOptions o = options_for(rx.url());
  o.ca_file = pki.ca();
  o.only = {"https", "accepts_valid"};
  Report report = run_ok(o);
  EXPECT_EQ(verdicts(report),
            (std::map<std::string, Verdict>{{"accepts_valid", Verdict::kPass}, {"https", Verdict::kWarn}}));
  EXPECT_NE(result(report, "https").figure.find("expires within 14 days"), std::string::npos);
}

TEST(CheckHttps, AnExpiredCertificateFails) {
  TempDir dir;
  Pki pki(dir, -30 * kDay, -kDay);
  Receiver rx(pki.receiver());
  CheckOptions o = options_for(rx.url());
  o.ca_file = pki.ca();
  o.only = {"https", "accepts_valid"};
  Report report = run_ok(o);
  const CheckResult& r = result(report, "https");
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_NE(r.figure.find("expired"), std::string::npos) << r.figure;
  EXPECT_LT(r.measurements["days_left"].get<int>(), 0);
  // The sender could not deliver either.
  EXPECT_EQ(result(report, "accepts_valid").verdict, Verdict::kFail);
  EXPECT_EQ(result(report, "accepts_valid").probes[0].error.rfind("tls", 0), 0u);
}

TEST(CheckHttps, ACertificateForAnotherHostFails) {
  TempDir dir;
  Pki pki(dir, -kDay, 90 * kDay, "DNS:hooks.example.test");
  Receiver rx(pki.receiver());
  CheckOptions o = options_for(rx.url());
  o.ca_file = pki.ca();
  o.only = {"https"};
  Report report = run_ok(o);
  const CheckResult& r = result(report, "https");
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.figure;
  EXPECT_EQ(r.measurements["verified"], false);
  EXPECT_EQ(r.measurements["days_left"].get<int>() >= 88, true);  // the certificate itself is fine
}

TEST(CheckHttps, AnUntrustedCertificateFails) {
  TempDir dir;
  Pki pki(dir, -kDay, 90 * kDay);
  Receiver rx(pki.receiver());
  CheckOptions o = options_for(rx.url());  // no ca_file: the system's CAs do not know the test CA
  o.only = {"https"};
  Report report = run_ok(o);
  EXPECT_EQ(result(report, "https").verdict, Verdict::kFail);
}

// ---------------------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------------------

TEST(CheckCommand, PrintsOneLinePerCheckWritesReportsAndExitsZero) {
  TempDir dir;
  Receiver rx(with_secret());
  std::string json_path = dir.file("report.json"), html_path = dir.file("report.html");
  auto [code, out] = run_hooksim_merged("check " + rx.url() + " --secret " + kSecret +
                                        " --backlog 30 --json " + json_path + " --html " + html_path);
  EXPECT_EQ(code, 0) << out;
  auto l = lines_of(out, /*keep_empty=*/true);
  ASSERT_EQ(l.size(), all_checks().size() + 1) << out;
  for (size_t i = 0; i < all_checks().size(); ++i) {
    std::string want =
        (all_checks()[i].name == "https" ? "WARN  " : "PASS  ") + std::string(all_checks()[i].name);
    EXPECT_EQ(l[i].rfind(want, 0), 0u) << l[i];
  }
  EXPECT_EQ(l.back(), "WARN: 8 passed, 1 warning, 0 failed, 0 skipped");
  std::ifstream j(json_path);
  json report = json::parse(j);
  EXPECT_EQ(report["verdict"], "warn");
  EXPECT_EQ(report["checks"].size(), all_checks().size());
  std::ifstream h(html_path);
  std::string html((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("Webhook receiver check"), std::string::npos);
}

TEST(CheckCommand, AFailingCheckExitsOne) {
  ReceiverOptions ro = with_secret();
  ro.accept_bad_signatures = true;
  Receiver rx(ro);
  auto [code, out] = run_hooksim_merged("check " + rx.url() + " --secret " + kSecret +
                                        " --only rejects_forged,accepts_valid");
  EXPECT_EQ(code, 1) << out;
  auto l = lines_of(out, /*keep_empty=*/true);
  ASSERT_EQ(l.size(), 3u) << out;
  EXPECT_EQ(l[0].rfind("PASS  accepts_valid", 0), 0u) << l[0];
  EXPECT_EQ(l[1].rfind("FAIL  rejects_forged", 0), 0u) << l[1];
  EXPECT_EQ(l[2], "FAIL: 1 passed, 0 warnings, 1 failed, 0 skipped");
}

TEST(CheckCommand, BadUsageAndAnUnreachableUrlExitTwo) {
  TempDir dir;
  EXPECT_EQ(run_hooksim_merged("check").first, 2);
  EXPECT_EQ(
      run_hooksim_merged("check ftp://127.0.0.1/"),
      std::make_pair(
          2, std::string("hooksim check: URL 'ftp://127.0.0.1/': must start with http:// or https://\n")));
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --secret nope"),
            std::make_pair(2, std::string("hooksim check: --secret: secret must start with whsec_\n")));
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --timeout 1x").first, 2);
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --only bogus").first, 2);
  EXPECT_EQ(run_hooksim_merged(std::string("check http://127.0.0.1:1/ --token t --secret ") + kSecret).first,
            2);
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --backlog 0").first, 2);
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --json /nonexistent-dir/r.json").first, 2);
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --ca-file " + dir.file("missing.pem")).first, 2);

  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::string url = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/hooks";
  a.close();
  auto [code, out] = run_hooksim_merged("check " + url);
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out.rfind("hooksim check: cannot reach " + url + ": connect:", 0), 0u) << out;
}

// ---------------------------------------------------------------------------------------------------------
// Diagnoses: when valid deliveries are refused or time out, accepts_valid says why and the checks that depend
// on it are SKIPped (never judged on the refusals), and a slow receiver is waited out once
// ---------------------------------------------------------------------------------------------------------

constexpr const char* kOtherSecret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY=";

// The checks that depend on valid deliveries being accepted in time: all but accepts_valid and https.
std::map<std::string, Verdict> dependents_skipped(std::map<std::string, Verdict> others) {
  for (const auto& c : all_checks())
    if (c.name != "accepts_valid" && c.name != "https") others.emplace(std::string(c.name), Verdict::kSkip);
  return others;
}

size_t probes_sent(const Report& report) {
  size_t n = 0;
  for (const auto& r : report.results) n += r.probes.size();
  return n;
}

TEST(CheckDiagnosis, AWrongSecretFailsAcceptsValidWithTheCauseAndSkipsEveryDependentCheck) {
  Receiver rx(with_secret());
  CheckOptions o = options_for(rx.url());
  o.secret = kOtherSecret;
  Report report = run_ok(o);
  expect_verdicts(report, dependents_skipped({{"accepts_valid", Verdict::kFail}, {"https", Verdict::kWarn}}));
  const CheckResult& valid = result(report, "accepts_valid");
  EXPECT_EQ(valid.figure,
            "0/3 signed deliveries answered 2xx; tracking event: 401; correctly signed deliveries were "
            "rejected with 401: secret mismatch? (--secret must be the whsec_ secret the receiver verifies "
            "with)");
  for (const char* name : {"latency_headroom", "rejects_forged", "rejects_stale", "backlog_drain"}) {
    const CheckResult& r = result(report, name);
    EXPECT_EQ(r.figure.rfind("not tested, as accepts_valid found: correctly signed deliveries were rejected "
                             "with 401: secret mismatch?",
                             0),
              0u)
        << r.figure;
    EXPECT_TRUE(r.probes.empty()) << name;
  }
  EXPECT_EQ(probes_sent(report), 3u);  // only accepts_valid's three
  EXPECT_EQ(report.exit_code(), 1);
}

TEST(CheckDiagnosis, ATokenMismatchAndMissingCredentialsAreNamed) {
  ReceiverOptions ro;
  ro.token = kToken;
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.secret.clear();
  o.token = "tok_other";
  Report report = run_ok(o);
  expect_verdicts(report, dependents_skipped({{"accepts_valid", Verdict::kFail}, {"https", Verdict::kWarn}}));
  EXPECT_NE(result(report, "accepts_valid")
                .figure.find("deliveries with the bearer token were rejected with 401: token mismatch?"),
            std::string::npos)
      << result(report, "accepts_valid").figure;

  o.token.clear();  // no credential at all
  report = run_ok(o);
  EXPECT_NE(result(report, "accepts_valid")
                .figure.find("deliveries without credentials were rejected with 401: the receiver expects a "
                             "credential (give --secret or --token)"),
            std::string::npos)
      << result(report, "accepts_valid").figure;
  EXPECT_EQ(result(report, "probe_order").verdict, Verdict::kSkip);
}

TEST(CheckDiagnosis, A404NamesThePath) {
  ReceiverOptions ro = with_secret();
  ro.script.status = 404;
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, dependents_skipped({{"accepts_valid", Verdict::kFail}, {"https", Verdict::kWarn}}));
  EXPECT_NE(result(report, "accepts_valid").figure.find("valid deliveries were answered 404: wrong path?"),
            std::string::npos)
      << result(report, "accepts_valid").figure;
}

TEST(CheckDiagnosis, SomeValidDeliveriesAcceptedIsAnOrdinaryFailureThatBlocksNothing) {
  ReceiverOptions ro = with_secret();
  ro.body_limit = 100 * 1024;  // large_payload fails; everything valid and small is accepted
  Receiver rx(ro);
  Report report = run_ok(options_for(rx.url()));
  expect_verdicts(report, {{"https", Verdict::kWarn}, {"large_payload", Verdict::kFail}});
}

TEST(CheckDiagnosis, WithOnlyAForgeryCheckSendsOneValidControlDeliveryFirst) {
  Receiver rx(with_secret());
  CheckOptions o = options_for(rx.url());
  o.secret = kOtherSecret;
  o.only = {"rejects_forged"};
  Report report = run_ok(o);  // before: PASS, judged on 401s that every delivery got
  const CheckResult& r = result(report, "rejects_forged");
  EXPECT_EQ(r.verdict, Verdict::kSkip) << r.figure;
  EXPECT_NE(r.figure.find("secret mismatch?"), std::string::npos) << r.figure;
  ASSERT_EQ(r.probes.size(), 1u);
  EXPECT_EQ(r.probes[0].what, "valid delivery (control)");
  EXPECT_EQ(r.probes[0].status, 401);

  o.secret = kSecret;  // the right secret: the control is accepted and the forgeries are judged
  report = run_ok(o);
  const CheckResult& ok = result(report, "rejects_forged");
  EXPECT_EQ(ok.verdict, Verdict::kPass) << ok.figure;
  EXPECT_EQ(ok.figure, "3/3 answered 4xx (401, 401, 401)");
  ASSERT_EQ(ok.probes.size(), 4u);
  EXPECT_EQ(ok.probes[0].what, "valid delivery (control)");
  EXPECT_EQ(ok.probes[0].status, 200);
}

TEST(CheckDiagnosis, LatencyIsNeverJudgedOnRefusals) {
  Receiver rx(with_secret());
  CheckOptions o = options_for(rx.url());
  o.secret = kOtherSecret;
  o.only = {"latency_headroom"};
  Report report = run_ok(o);
  const CheckResult& r = result(report, "latency_headroom");
  EXPECT_EQ(r.verdict, Verdict::kFail) << r.figure;  // before: PASS on 20 answers of 401
  EXPECT_NE(r.figure.find("secret mismatch?"), std::string::npos) << r.figure;
}

TEST(CheckDiagnosis, AnUntrustedCertificateIsNamedAndBlocksTheDeliveryChecks) {
  TempDir dir;
  Pki pki(dir, -kDay, 90 * kDay);
  Receiver rx(pki.receiver());
  Report report = run_ok(options_for(rx.url()));  // no ca_file
  expect_verdicts(report, dependents_skipped({{"accepts_valid", Verdict::kFail}, {"https", Verdict::kFail}}));
  EXPECT_NE(result(report, "accepts_valid").figure.find("the TLS handshake failed (tls: "), std::string::npos)
      << result(report, "accepts_valid").figure;
  EXPECT_NE(result(report, "accepts_valid").figure.find("give --ca-file"), std::string::npos);
}

TEST(CheckDiagnosis, ASlowReceiverIsWaitedOutOnceAndTheDependentChecksAreSkipped) {
  ReceiverOptions ro = with_secret();
  ro.script.latency = std::chrono::milliseconds(2000);  // 20x the timeout: the verdicts cannot flip
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.timeout = std::chrono::milliseconds(100);
  Report report = run_ok(o);
  expect_verdicts(report, dependents_skipped({{"accepts_valid", Verdict::kFail},
                                              {"latency_headroom", Verdict::kFail},
                                              {"https", Verdict::kWarn}}));
  // One request waited out the timeout; before, every check sent its own (14 requests, 14 timeouts).
  EXPECT_EQ(probes_sent(report), 1u);
  const CheckResult& valid = result(report, "accepts_valid");
  ASSERT_EQ(valid.probes.size(), 1u);
  EXPECT_EQ(valid.probes[0].error.rfind("timeout", 0), 0u) << valid.probes[0].error;
  EXPECT_EQ(valid.measurements["sent"], 1);
  const CheckResult& latency = result(report, "latency_headroom");
  EXPECT_EQ(latency.figure, "no answer within the 100ms timeout, as accepts_valid found (not sent again)");
  EXPECT_EQ(latency.measurements["timeouts"], 1);
  EXPECT_NE(result(report, "rejects_forged").figure.find("the receiver is too slow"), std::string::npos);
  EXPECT_TRUE(harness::eventually([&] { return rx.requests().size() >= 1; }));
  EXPECT_EQ(rx.requests().size(), 1u);
}

TEST(CheckDiagnosis, ATimeoutLaterInTheRunSkipsTheChecksAfterIt) {
  ReceiverOptions ro = with_secret();
  ro.script.latency = std::chrono::milliseconds(2000);
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.timeout = std::chrono::milliseconds(100);
  o.only = {"idempotent_redelivery", "probe_order", "large_payload"};
  Report report = run_ok(o);
  EXPECT_EQ(verdicts(report), (std::map<std::string, Verdict>{{"idempotent_redelivery", Verdict::kFail},
                                                              {"probe_order", Verdict::kSkip},
                                                              {"large_payload", Verdict::kSkip}}));
  EXPECT_EQ(probes_sent(report), 1u);  // the repeat of a delivery that timed out is not sent
}

// ---------------------------------------------------------------------------------------------------------
// Output: JUnit XML, the terminal form, the plain lines
// ---------------------------------------------------------------------------------------------------------

TEST(CheckCommand, JunitXmlHasOneTestCasePerCheckWithFailuresAndSkips) {
  TempDir dir;
  Receiver rx(with_secret());
  std::string path = dir.file("check.xml");
  auto [code, out] =
      run_hooksim_merged("check " + rx.url() + " --secret " + kOtherSecret + " --junit " + path);
  EXPECT_EQ(code, 1) << out;
  boost::property_tree::ptree doc;
  boost::property_tree::read_xml(path, doc);  // throws on malformed XML
  const auto& suites = doc.get_child("testsuites");
  EXPECT_EQ(suites.get<int>("<xmlattr>.tests"), static_cast<int>(all_checks().size()));
  EXPECT_EQ(suites.get<int>("<xmlattr>.failures"), 1);
  const auto& suite = suites.get_child("testsuite");
  EXPECT_EQ(suite.get<int>("<xmlattr>.skipped"), static_cast<int>(all_checks().size()) - 2);
  std::vector<std::string> names;
  for (const auto& [tag, tc] : suite) {
    if (tag != "testcase") continue;
    std::string name = tc.get<std::string>("<xmlattr>.name");
    names.push_back(name);
    EXPECT_EQ(tc.get<std::string>("<xmlattr>.classname"), "hooksim.check");
    if (name == "accepts_valid") {
      EXPECT_NE(tc.get<std::string>("failure.<xmlattr>.message").find("secret mismatch?"), std::string::npos);
      EXPECT_NE(tc.get<std::string>("failure").find("The sender counts only a 2xx"), std::string::npos);
    } else if (name == "https") {
      EXPECT_EQ(tc.get<std::string>("system-out").rfind("WARN: plain http", 0), 0u);
      EXPECT_FALSE(tc.get_child_optional("failure"));
    } else {
      EXPECT_NE(tc.get<std::string>("skipped.<xmlattr>.message").find("not tested, as accepts_valid found"),
                std::string::npos)
          << name;
    }
  }
  std::vector<std::string> want;
  for (const auto& c : all_checks()) want.push_back(std::string(c.name));
  EXPECT_EQ(names, want);
  EXPECT_EQ(run_hooksim_merged("check http://127.0.0.1:1/ --junit /nonexistent-dir/r.xml").first, 2);
}

TEST(CheckReport, JunitEscapesTextAndDropsControlCharacters) {
  Report report;
  report.url = "http://example.test/<a&b>";
  CheckResult r;
  r.name = "accepts_valid";
  r.verdict = Verdict::kFail;
  r.figure = "0/3 \"answered\" <2xx> \x01";
  r.advice = "Answer 2xx & store.";
  report.results.push_back(r);
  std::string xml = report_junit(report);
  EXPECT_NE(xml.find("name=\"hooksim check http://example.test/&lt;a&amp;b&gt;\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("message=\"0/3 &quot;answered&quot; &lt;2xx&gt; \""), std::string::npos) << xml;
  EXPECT_NE(xml.find("Answer 2xx &amp; store.</failure>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
}

// The visible columns of a terminal line: without ANSI escape sequences.
size_t visible_width(const std::string& line) {
  size_t n = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b') {
      i = line.find('m', i);
      continue;
    }
    ++n;
  }
  return n;
}

TEST(CheckReport, TerminalLinesFitTheWidthKeepEveryWordAndColourTheVerdict) {
  CheckResult r;
  r.name = "latency_headroom";
  r.verdict = Verdict::kFail;
  r.figure = "a delivery got no answer within the 10s timeout (after 3 answered, p50 1.20 ms)";
  r.advice = all_checks()[1].advice;
  for (size_t width : {40, 60, 80, 120}) {
    std::string text = format_terminal(r, width, /*colour=*/false);
    auto l = lines_of(text, /*keep_empty=*/true);
    ASSERT_GT(l.size(), 1u);
    EXPECT_EQ(l[0].rfind("FAIL  latency_headroom", 0), 0u) << l[0];
    std::string words;
    for (size_t i = 0; i < l.size(); ++i) {
      EXPECT_LE(l[i].size(), width) << l[i];
      if (i > 0 && width >= 60) {
        EXPECT_EQ(l[i].rfind(std::string(29, ' '), 0), 0u) << l[i];  // the column
      }
      words += " " + l[i];
    }
    // Wrapping only moved words to new lines: the figure and the advice are all there, in order.
    std::string flat;
    for (char c : words)
      if (c != ' ' || (!flat.empty() && flat.back() != ' ')) flat += c;
    EXPECT_NE(flat.find(r.figure + ". " + r.advice), std::string::npos) << flat;
  }
  std::string coloured = format_terminal(r, 80, /*colour=*/true);
  EXPECT_EQ(coloured.rfind("\x1b[1;31mFAIL\x1b[0m  latency_headroom", 0), 0u) << coloured;
  for (const auto& line : lines_of(coloured)) EXPECT_LE(visible_width(line), 80u) << line;
  // A PASS is one short line: the advice is for what needs fixing.
  r.verdict = Verdict::kPass;
  r.figure = "p50 1.20 ms, p99 2.00 ms over 20 deliveries (timeout 10s)";
  EXPECT_EQ(format_terminal(r, 100, false), "PASS  latency_headroom       " + r.figure + ".");
  // A word longer than a line is cut, never past the width.
  r.figure = std::string(150, 'x');
  for (const auto& line : lines_of(format_terminal(r, 50, false))) EXPECT_LE(line.size(), 50u);
}

TEST(CheckCommand, OutputThatIsNotATerminalIsThePlainLines) {
  Receiver rx(with_secret());
  auto [code, out] = run_hooksim_merged("check " + rx.url() + " --secret " + kSecret +
                                        " --only accepts_valid,rejects_forged");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out,
            "PASS  accepts_valid          3/3 signed deliveries answered 2xx. The sender counts only a 2xx "
            "answer as "
            "delivered and holds the subscription's queue on anything else (a 3xx too: redirects are never "
            "followed), so answer 2xx at the registered URL as soon as the event is safely stored.\n"
            "PASS  rejects_forged         3/3 answered 4xx (401, 401, 401). Anyone who learns the URL can "
            "post fake "
            "events, so verify the webhook-signature (Standard Webhooks HMAC-SHA256 over id.timestamp.body "
            "with the "
            "whsec_ secret) or the bearer token on every request and answer 401 when it does not match.\n"
            "PASS: 2 passed, 0 warnings, 0 failed, 0 skipped\n");
}

TEST(CheckCommand, OnATerminalTheOutputIsColouredAndFitsItsWidth) {
  Receiver rx(with_secret());
  winsize ws{};
  ws.ws_col = 64;
  ws.ws_row = 24;
  // Everything the child needs is made before the fork (the test process has threads).
  std::string url = rx.url();
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("NO_COLOR=", 0) != 0) env.push_back(*e);
  env.push_back(nullptr);
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execle(HOOKSIM_BINARY, HOOKSIM_BINARY, "check", url.c_str(), "--secret", kOtherSecret, "--only",
             "accepts_valid,probe_order", static_cast<char*>(nullptr), env.data());
    ::_exit(127);
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 1) << out;
  std::string text;
  for (char c : out)
    if (c != '\r') text += c;  // the terminal turns \n into \r\n
  auto l = lines_of(text);
  ASSERT_GE(l.size(), 4u) << text;
  EXPECT_EQ(l[0].rfind("\x1b[1;31mFAIL\x1b[0m  accepts_valid", 0), 0u) << l[0];
  EXPECT_EQ(l.back(), "\x1b[1;31mFAIL\x1b[0m: 0 passed, 0 warnings, 1 failed, 1 skipped");
  bool skip_seen = false;
  for (const auto& line : l) {
    EXPECT_LE(visible_width(line), 64u) << line;
    skip_seen = skip_seen || line.rfind("\x1b[90mSKIP\x1b[0m  probe_order", 0) == 0;
  }
  EXPECT_TRUE(skip_seen) << text;
}

TEST(ReceiverCommand, MisbehaviourFlagsAreValidated) {
  EXPECT_EQ(
      run_hooksim_merged("receiver --rate-limit -1"),
      std::make_pair(
          2, std::string("hooksim receiver: --rate-limit: must be 0 (none) or more requests per minute\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --latency 1x").first, 2);
  EXPECT_EQ(run_hooksim_merged("receiver --body-limit 0"),
            std::make_pair(2, std::string("hooksim receiver: --body-limit: must be at least 1 byte\n")));
}

}  // namespace
}  // namespace hooksim::check

// ---------------------------------------------------------------------------------------------------------
// --scheme: check signs as another sender does, the receiver verifies it (docs/policies.md, Signatures)
// ---------------------------------------------------------------------------------------------------------

namespace hooksim::check {
namespace {

TEST(CheckScheme, EverySchemePassesTheSignatureChecksAgainstAReceiverOfThatScheme) {
  for (const auto& scheme : protocol::signature_schemes()) {
    SCOPED_TRACE(scheme);
    ReceiverOptions ro;
    ro.secret = protocol::random_secret(scheme);
    ro.scheme = scheme;
    Receiver rx(ro);
    CheckOptions o = options_for(rx.url());
    o.secret = ro.secret;
    o.scheme = scheme;
    o.only = {"accepts_valid", "rejects_forged", "rejects_stale"};
    Report report = run_ok(o);
    Verdict stale = protocol::signs_timestamp(scheme) ? Verdict::kPass : Verdict::kSkip;
    EXPECT_EQ(verdicts(report), (std::map<std::string, Verdict>{{"accepts_valid", Verdict::kPass},
                                                                {"rejects_forged", Verdict::kPass},
                                                                {"rejects_stale", stale}}));
    EXPECT_EQ(report.scheme, scheme);
    EXPECT_EQ(json::parse(report_json(report))["signature"], scheme);
    // The forgeries reached the receiver as such: a wrong signature and one by another secret are bad.
    size_t bad = 0;
    for (const auto& r : rx.records()) bad += r.signature == RequestRecord::Signature::kBad;
    EXPECT_EQ(bad, 2u);
  }
}

TEST(CheckScheme, SigningAsAnotherSenderIsRefusedByTheReceiver) {
  ReceiverOptions ro;
  ro.secret = kSecret;
  ro.scheme = "svix";
  Receiver rx(ro);
  CheckOptions o = options_for(rx.url());
  o.scheme = "stripe";  // kSecret is a stripe secret too
  o.only = {"accepts_valid"};
  Report report = run_ok(o);
  EXPECT_EQ(verdicts(report), (std::map<std::string, Verdict>{{"accepts_valid", Verdict::kFail}}));
}

TEST(CheckScheme, FlagsAreValidated) {
  auto [code, out] = run_hooksim_merged("check http://127.0.0.1:9/ --scheme paypal --secret x");
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--scheme"), std::string::npos) << out;
  EXPECT_EQ(
      run_hooksim_merged("check http://127.0.0.1:9/ --scheme stripe --secret plain"),
      std::make_pair(2, std::string("hooksim check: --secret: a stripe secret must be whsec_ followed by "
                                    "the rest of the key\n")));
  EXPECT_EQ(run_hooksim_merged("receiver --scheme svix --secret plain"),
            std::make_pair(2, std::string("hooksim receiver: --secret: secret must start with whsec_\n")));
}

}  // namespace
}  // namespace hooksim::check
