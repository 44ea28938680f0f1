// `hooksim check URL`: a black-box conformance suite for webhook receivers (docs/check.md).
//
// run_checks() sends deliveries to a receiver — signed and enveloped exactly as the sender does
// (protocol/signing.h, engine/event.h), plus deliberately forged, stale, repeated, reordered, bulk and
// oversized ones — and judges each answer as the sender would (only 2xx is a delivery). Each check has a
// stable name, usable with `--only` and in the JSON report, and gives one verdict with a measured figure.
// When valid deliveries are refused or time out, the checks that depend on them are SKIPped with the likely
// cause instead of being judged (check/gate.h; docs/check.md).
//
//   check::CheckOptions o;
//   o.url = "https://hooks.example.test/frotcom";
//   o.secret = "whsec_...";
//   auto report = check::run_checks(o);          // IOError when the URL cannot be reached at all
//   std::cout << check::report_json(*report);
//   return report->exit_code();                   // 0 nothing failed, 1 a check failed
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event.h"
#include "engine/status.h"
#include "engine/time.h"

namespace hooksim::check {

enum class Verdict {
  kPass,
  kWarn,  // works today, but close to a limit or against a recommendation
  kFail,  // the sender would lose, block or misdeliver events, or the endpoint accepts forgeries
  kSkip,  // not applicable with the given options (e.g. no --secret: signatures cannot be tested)
};
// "PASS", "WARN", "FAIL", "SKIP".
const char* verdict_label(Verdict v);
// "pass", "warn", "fail", "skip" (the JSON report's spelling).
const char* verdict_name(Verdict v);

// A check's stable identity and its one-sentence advice (why it matters and how to fix it).
struct CheckInfo {
  std::string_view name;   // e.g. "accepts_valid"; never changes (CI scripts and --only use it)
  std::string_view title;  // e.g. "accepts valid deliveries"
  std::string_view advice;
};
// Every check, in the order run_checks() runs them.
const std::vector<CheckInfo>& all_checks();

struct CheckResult;

struct CheckOptions {
  std::string url;                 // http:// or https://
  std::string secret;              // sign deliveries with this secret, as `scheme` says; exclusive with token
  std::string token;               // send "authorization: Bearer <token>"; exclusive with secret
  Duration timeout{10000};         // the sender's attempt timeout, 1 ms to 10 min
  std::string ca_file;             // trust these CAs (PEM) instead of the system's
  std::vector<std::string> only;   // names of the checks to run; empty: all
  uint64_t backlog_events = 200;   // backlog_drain: events sent back to back (1 to 100000)
  uint64_t daily_events = 100000;  // backlog_drain: events in one day's backlog (>= 1)
  Duration drain_bound = std::chrono::hours(1);  // backlog_drain: WARN when a day's backlog drains slower
  uint64_t payload_size = 256 * 1024;  // large_payload: the largest payload expected, in bytes (1 KiB-8 MiB)
  // How `secret` signs: one of protocol::signature_schemes() (docs/policies.md, "Signatures").
  std::string scheme = "standard-webhooks";
  // Called after each check with its result (e.g. to print a line at once). May be empty.
  std::function<void(const CheckResult&)> on_result;
};

// One request a check sent and what came back.
struct ProbeRecord {
  std::string what;      // e.g. "tracking event, valid signature"
  std::string expected;  // e.g. "2xx", "4xx", "401 or 403"
  int status = 0;        // 0 when no answer
  std::string error;     // "" when answered; else the error class and reason ("timeout: ...")
  double latency_ms = 0;
  bool met = false;  // the answer was the expected one

  // The status, or the error when there was no answer.
  std::string answer() const { return error.empty() ? std::to_string(status) : error; }
};

struct CheckResult {
  std::string name;
  std::string title;
  Verdict verdict = Verdict::kPass;
  std::string figure;  // the measured figure, one phrase: "3/3 answered 2xx", "p50 1.2 ms, p99 3.4 ms ..."
  std::string advice;
  double duration_ms = 0;
  nlohmann::json measurements = nlohmann::json::object();  // check-specific numbers (docs/check.md)
  std::vector<ProbeRecord> probes;
};

struct Report {
  std::string url;
  std::string auth;  // "secret", "token" or "none"
  // With a secret: its signing scheme (CheckOptions::scheme).
  std::string scheme;
  Duration timeout{0};
  TimePoint started_at{};  // wall clock
  double duration_ms = 0;
  std::vector<CheckResult> results;  // in run order

  // kFail if any check failed, else kWarn if any warned, else kPass.
  Verdict overall() const;
  // 1 if any check failed, else 0.
  int exit_code() const;
};

// InvalidArgument naming the option ("--secret: ...", "--only: unknown check 'x' ...") when the options
// cannot be run; OK otherwise. Touches nothing.
Status validate(const CheckOptions& options);

// Validates, checks that the URL can be reached (DNS, TCP connect, a TLS handshake for https), then runs
// the selected checks one after another, one request at a time. InvalidArgument for bad options; IOError
// when the URL cannot be reached (nothing else is sent). Otherwise the report, whatever the verdicts.
Result<Report> run_checks(const CheckOptions& options);

// The sample events of the platform's three kinds ("tracking", "message", "driving_time"), number `n`
// (used in its id), occurring at `at`. The one place check's payloads come from.
Event sample_event(std::string_view kind, uint64_t n, TimePoint at);

// One line, without a newline: "PASS  accepts_valid          3/3 answered 2xx. <advice>". What the command
// prints when its output is not a terminal (a file, a pipe, a CI log).
std::string format_line(const CheckResult& result);
// What the command prints on a terminal `width` columns wide: format_line()'s verdict, name and figure, and
// for WARN and FAIL the advice, word-wrapped so that no line is wider than `width` (a word longer than a line
// is cut), continuation lines indented under the figure; PASS and SKIP leave the advice out. With `colour`
// the verdict is coloured (ANSI SGR: PASS green, WARN yellow, FAIL bold red, SKIP grey); the escape codes
// take no columns. Lines are separated by '\n', with none at the end.
std::string format_terminal(const CheckResult& result, size_t width, bool colour);
// `label` ("PASS", "WARN", "FAIL", "SKIP") in its colour, as format_terminal() shows it.
std::string coloured_label(Verdict v);
// The JSON report (docs/check.md, "JSON report"), pretty-printed, ending with a newline.
std::string report_json(const Report& report);
// JUnit XML (docs/check.md, "JUnit XML"): one <testsuite> with one <testcase> per check run, in run order
// (classname "hooksim.check", name the check's name, time in seconds). A FAIL has a <failure>, a SKIP a
// <skipped>, both with the figure as their message; a WARN passes, with its figure in <system-out>. Ends with
// a newline.
std::string report_junit(const Report& report);
// A self-contained HTML page (no external resources) explaining the results to someone new to hooksim.
std::string report_html(const Report& report);

}  // namespace hooksim::check
