// hooksim report: reading logs back, the aggregation (backlog, outcomes, lag percentiles, lifecycle), the
// HTML and text output, rendering in headless Chromium, and the command line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <regex>

#include "cli_test_util.h"
#include "sim/log_reader.h"
#include "sim/report_render.h"

namespace hooksim::sim {
namespace {

using nlohmann::json;
using namespace hooksim::testutil;

// Two subscriptions; "a" fails, recovers, is deactivated and reactivated; a restart in between.
// Backlog of a: 1 (t=0), 2 (50s), 3 (60s), 2 (201s), 1 (201.5s), 2 (400s), 0 (700s, deactivated), 1 (900s),
// 0.
constexpr char kLog[] =
    R"({"kind":"run","command":"simulate","scenario":"s.json","scenario_sha256":"ab","seed":1,"start":"2026-01-01T00:00:00.000Z","duration_ms":1000000,"subscriptions":["a","b"],"payloads":false}
{"kind":"publish","t_ms":0,"event":"e1","subs":{"a":1,"b":1}}
{"kind":"attempt","t_ms":0,"sub":"b","event":"e1","seq":1,"attempt":1,"outcome":"delivered","status":200,"latency_ms":10}
{"kind":"attempt","t_ms":0,"sub":"a","event":"e1","seq":1,"attempt":1,"outcome":"failed","status":503,"error":"status","latency_ms":20,"next_t_ms":100000}
{"kind":"publish","t_ms":50000,"event":"e2","subs":{"a":2}}
{"kind":"publish","t_ms":60000,"event":"e3","subs":{"a":3,"b":2}}
{"kind":"attempt","t_ms":60000,"sub":"b","event":"e3","seq":2,"attempt":1,"outcome":"delivered","status":200,"latency_ms":30}
{"kind":"attempt","t_ms":100000,"sub":"a","event":"e1","seq":1,"attempt":2,"outcome":"failed","status":0,"error":"timeout","latency_ms":5000,"next_t_ms":200000}
{"kind":"attempt","t_ms":200000,"sub":"a","event":"e1","seq":1,"attempt":3,"outcome":"delivered","status":200,"latency_ms":1000}
{"kind":"attempt","t_ms":201000,"sub":"a","event":"e2","seq":2,"attempt":1,"outcome":"delivered","status":200,"latency_ms":500}
{"kind":"attempt","t_ms":201500,"sub":"a","event":"e3","seq":3,"attempt":1,"outcome":"failed","status":0,"error":"connect","latency_ms":0,"next_t_ms":260000}
{"kind":"restart","t_ms":300000}
{"kind":"publish","t_ms":400000,"event":"e4","subs":{"a":4}}
{"kind":"deactivated","t_ms":700000,"sub":"a","discarded":2}
{"kind":"reactivated","t_ms":800000,"sub":"a"}
{"kind":"publish","t_ms":900000,"event":"e5","subs":{"a":5}}
{"kind":"attempt","t_ms":900000,"sub":"a","event":"e5","seq":5,"attempt":1,"outcome":"delivered","status":204,"latency_ms":100}
)";

Report report_of(const std::string& text, size_t buckets = 500) {
  ReportBuilder b(buckets);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto r = parse_log_line(line);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok() && r->has_value()) b.add(**r);
  }
  return std::move(b).finish();
}

uint64_t sum_outcome(const SubscriptionReport& s, ErrorClass e) {
  uint64_t n = 0;
  for (const auto& b : s.buckets) n += b.attempts[static_cast<size_t>(e)];
  return n;
}

TEST(LagHistogram, SmallValuesAreExactAndPercentilesAreNearestRank) {
  LagHistogram h;
  for (int64_t v : {40, 10, 30, 20, 1000}) h.add(v);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.percentile(0.2), 10);
  EXPECT_EQ(h.percentile(0.5), 30);  // rank ceil(2.5) = 3
  EXPECT_EQ(h.percentile(0.9), 1000);
  EXPECT_EQ(h.percentile(0.99), 1000);
  EXPECT_EQ(h.max(), 1000);
  EXPECT_EQ(LagHistogram().percentile(0.5), 0);
}

TEST(LagHistogram, LargeValuesKeepWithinAFifthOfAPercentAndTheMaxIsExact) {
  for (int64_t v : {1024LL, 1025LL, 151500LL, 604800000LL, 12345678901LL}) {
    int64_t lb = LagHistogram::lower_bound(LagHistogram::bucket_of(v));
    EXPECT_LE(lb, v);
    EXPECT_LT(static_cast<double>(v - lb) / static_cast<double>(v), 1.0 / 512) << v;
    EXPECT_EQ(LagHistogram::bucket_of(lb), LagHistogram::bucket_of(v)) << v;
  }
  EXPECT_EQ(LagHistogram::lower_bound(LagHistogram::bucket_of(1024)), 1024);
  EXPECT_EQ(LagHistogram::lower_bound(LagHistogram::bucket_of(151500)), 151296);  // 591 * 256
  LagHistogram h;
  h.add(604800001);
  EXPECT_EQ(h.max(), 604800001);
  EXPECT_LE(h.percentile(1.0), 604800001);
}

TEST(ReportRender, TheAccountingLineCountsExhaustedEventsWhenThereAreAny) {
  Report r;
  SubscriptionReport s;
  s.id = "svix-like";
  s.published = 10;
  s.delivered = 6;
  s.exhausted = 3;
  s.backlog = 1;
  r.subscriptions.push_back(s);
  r.events_published = 10;
  r.has_publish_records = true;
  std::string text = render_text(r);
  EXPECT_NE(
      text.find("10 = 6 delivered + 1 queued + 0 discarded + 0 dropped while deactivated + 3 exhausted; "),
      std::string::npos)
      << text;
  r.subscriptions[0].exhausted = 0;  // none: the line reads as it always did
  r.subscriptions[0].delivered = 9;
  text = render_text(r);
  EXPECT_NE(text.find("10 = 9 delivered + 1 queued + 0 discarded + 0 dropped while deactivated; 0 events"),
            std::string::npos)
      << text;
}

TEST(ReportBuilder, AggregatesCountsBacklogLagAndLifecycleExactly) {
  Report r = report_of(kLog);
  ASSERT_TRUE(r.run.has_value());
  EXPECT_EQ(r.run->seed, 1u);
  EXPECT_TRUE(r.has_publish_records);
  EXPECT_EQ(r.events_published, 5u);
  EXPECT_EQ(r.end_ms, 1000000);
  EXPECT_EQ(r.bucket_ms, 5000);  // the first round width above 1000000 / 500
  ASSERT_EQ(r.subscriptions.size(), 2u);

  const SubscriptionReport& a = r.subscriptions[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.published, 5u);
  EXPECT_EQ(a.attempts, 6u);
  EXPECT_EQ(a.delivered, 3u);
  EXPECT_EQ(a.failed_attempts, 3u);
  EXPECT_EQ(a.discarded, 2u);
  EXPECT_EQ(a.deactivations, 1u);
  EXPECT_EQ(a.reactivations, 1u);
  EXPECT_EQ(a.max_backlog, 3);
  EXPECT_EQ(a.backlog, 0);
  // lags: e1 201000, e2 151500, e5 100
  EXPECT_EQ(a.lag.count(), 3u);
  EXPECT_EQ(a.lag.percentile(0.5), 151296);  // 151500's bucket
  EXPECT_EQ(a.lag.percentile(0.9), 200960);  // 201000's bucket (785 * 256)
  EXPECT_EQ(a.lag.max(), 201000);
  EXPECT_EQ(a.outcomes[0], 3u);
  EXPECT_EQ(sum_outcome(a, ErrorClass::kNone), 3u);
  EXPECT_EQ(sum_outcome(a, ErrorClass::kStatus), 1u);
  EXPECT_EQ(sum_outcome(a, ErrorClass::kTimeout), 1u);
  EXPECT_EQ(sum_outcome(a, ErrorClass::kConnect), 1u);
  // Attempt marks sit in the bucket of their start time.
  EXPECT_EQ(a.buckets[100000 / 5000].attempts[static_cast<size_t>(ErrorClass::kTimeout)], 1u);
  // Backlog per bucket: 2 at 50 s, 3 at 60 s, back to 1 by the end of the bucket of 201.5 s.
  EXPECT_EQ(a.buckets[50000 / 5000].max_backlog, 2);
  EXPECT_EQ(a.buckets[60000 / 5000].max_backlog, 3);
  EXPECT_EQ(a.buckets[201500 / 5000].last_backlog, 1);
  EXPECT_EQ(a.buckets[700000 / 5000].last_backlog, 0);
  EXPECT_EQ(a.buckets[700000 / 5000].max_backlog, 2);
  EXPECT_FALSE(a.buckets[500000 / 5000].touched);

  const SubscriptionReport& b = r.subscriptions[1];
  EXPECT_EQ(b.published, 2u);
  EXPECT_EQ(b.delivered, 2u);
  EXPECT_EQ(b.max_backlog, 1);
  EXPECT_EQ(b.lag.percentile(0.5), 10);
  EXPECT_EQ(b.lag.percentile(0.99), 30);
  EXPECT_EQ(b.lag.max(), 30);

  ASSERT_EQ(r.markers.size(), 3u);
  EXPECT_EQ(r.markers[0].kind, ReportMarker::Kind::kRestart);
  EXPECT_EQ(r.markers[0].t_ms, 300000);
  EXPECT_EQ(r.markers[1].kind, ReportMarker::Kind::kDeactivated);
  EXPECT_EQ(r.markers[1].sub, "a");
  EXPECT_EQ(r.markers[1].discarded, 2u);
  EXPECT_EQ(r.markers[2].kind, ReportMarker::Kind::kReactivated);
}

TEST(ReportBuilder, WithoutAHeaderBucketsDoubleAndKeepEveryCount) {
  std::string log;
  // 100 attempts one hour apart: far beyond 8 buckets of 1 s, so the width doubles many times.
  for (int i = 0; i < 100; ++i)
    log += fmt::format(
        R"({{"kind":"attempt","t_ms":{},"sub":"s","event":"e{}","seq":{},"attempt":1,"outcome":"{}","status":{}{},"latency_ms":1}})"
        "\n",
        int64_t{i} * 3600000, i, i + 1, i % 4 == 0 ? "failed" : "delivered", i % 4 == 0 ? 500 : 200,
        i % 4 == 0 ? R"(,"error":"status")" : "");
  Report r = report_of(log, 8);
  EXPECT_FALSE(r.has_publish_records);
  ASSERT_EQ(r.subscriptions.size(), 1u);
  const auto& s = r.subscriptions[0];
  EXPECT_EQ(s.buckets.size(), 8u);
  EXPECT_GE(r.bucket_ms * 8, 99 * 3600000LL);
  EXPECT_EQ(r.bucket_ms % 1000, 0);
  EXPECT_EQ(sum_outcome(s, ErrorClass::kNone), 75u);
  EXPECT_EQ(sum_outcome(s, ErrorClass::kStatus), 25u);
  EXPECT_EQ(s.lag.count(), 0u) << "no publish records: no lag";
  EXPECT_NE(render_text(r).find("no publish records"), std::string::npos);
}

TEST(LogReader, MalformedLinesAreErrorsNamingFileLineAndField) {
  TempDir dir;
  struct Case {
    std::string second_line, expected;
  };
  std::vector<Case> cases = {
      {"{not json", ":2: not valid JSON"},
      {"[1,2]", ":2: must be a JSON object"},
      {R"({"kind":"attempt","t_ms":5,"sub":"a","event":"e","attempt":1,"outcome":"delivered","status":200,"latency_ms":1})",
       ":2: seq: is required"},
      {R"({"kind":"attempt","t_ms":5,"sub":"a","event":"e","seq":1,"attempt":1,"outcome":"maybe","status":200,"latency_ms":1})",
       ":2: outcome: must be \"delivered\" or \"failed\""},
      {R"({"kind":"publish","t_ms":-1,"event":"e","subs":{}})", ":2: t_ms: must be an integer >= 0"},
      {R"({"kind":"publish","t_ms":1,"event":"e","subs":{"a":"x"}})",
       ":2: subs.a: must be a sequence number"},
  };
  for (const Case& c : cases) {
    std::string path = dir.file("bad.jsonl");
    write_file(path, std::string(R"({"kind":"restart","t_ms":0})") + "\n" + c.second_line + "\n");
    auto r = build_report(path);
    ASSERT_FALSE(r.ok()) << c.second_line;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(path + c.expected, 0), 0u) << r.status().message();
  }
  // Unknown kinds (from a newer hooksim) and blank lines are skipped.
  write_file(dir.file("future.jsonl"),
             "{\"kind\":\"something-new\",\"x\":1}\n\n{\"kind\":\"restart\",\"t_ms\":7}\n");
  auto ok = build_report(dir.file("future.jsonl"));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->markers.size(), 1u);
  EXPECT_FALSE(build_report(dir.file("missing.jsonl")).ok());
}

// --- the HTML ----------------------------------------------------------------------------------------------

// Counts of `<rect class="mark o-CLASS" data-n="N"` summed per class.
std::map<std::string, uint64_t> mark_counts(const std::string& html) {
  std::map<std::string, uint64_t> out;
  static const std::regex re(R"re(<rect class="mark o-([a-z]+)" data-n="(\d+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    out[(*it)[1]] += std::stoull((*it)[2]);
  return out;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

TEST(ReportHtml, IsSelfContainedWithOneBacklogPathPerSubscriptionMarksAndMarkers) {
  Report r = report_of(kLog);
  std::string html = render_html(r, "t <&> \"x\"");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>t &lt;&amp;&gt; &quot;x&quot;</title>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(count(html, "<path class=\"backlog\""), 2u);
  EXPECT_NE(html.find(R"(<path class="backlog" data-sub="a" data-max="3")"), std::string::npos);
  auto marks = mark_counts(html);
  EXPECT_EQ(marks["delivered"], 5u);
  EXPECT_EQ(marks["status"], 1u);
  EXPECT_EQ(marks["timeout"], 1u);
  EXPECT_EQ(marks["connect"], 1u);
  EXPECT_EQ(count(html, "<line class=\"marker deactivated\" data-sub=\"a\" data-t-ms=\"700000\""), 1u);
  EXPECT_EQ(count(html, "<line class=\"marker reactivated\""), 1u);
  EXPECT_GE(count(html, "<line class=\"marker restart\""), 1u);
  EXPECT_EQ(count(html, "<path class=\"lane-marker deactivated\""), 1u);
  // The lag table: a's p50 151296 ms, shown in whole seconds from a minute on.
  EXPECT_NE(html.find("<td>2m31s</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>10ms</td>"), std::string::npos);  // b's p50
}

TEST(ReportText, SummarizesEachSubscriptionAndTheLifecycle) {
  std::string text = render_text(report_of(kLog));
  EXPECT_NE(text.find("run: simulate s.json (seed 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("2 subscriptions, 5 events published, 8 attempts (3 failed), 5 delivered, 2 discarded"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("0d 00:11:40.000  deactivated a (2 discarded)"), std::string::npos) << text;
  EXPECT_NE(text.find("0d 00:05:00.000  restart"), std::string::npos) << text;
  EXPECT_NE(text.find("3m20s"), std::string::npos) << text;  // a's p90 (200960 ms)
}

TEST(ReportHtml, StaysSmallForALongManySubscriptionLog) {
  // 20 subscriptions, a week, 200k attempts with scattered failures of three kinds.
  TempDir dir;
  std::string path = dir.file("big.jsonl");
  {
    std::ofstream out(path);
    out << R"({"kind":"run","command":"simulate","scenario":"x","scenario_sha256":"","seed":1,"start":"2026-01-01T00:00:00.000Z","duration_ms":604800000,"subscriptions":[],"payloads":false})"
        << "\n";
    uint64_t x = 12345;
    std::vector<uint64_t> seq(20, 0);
    for (int i = 0; i < 200000; ++i) {
      int64_t t = int64_t{i} * 3024;
      int s = i % 20;
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      ++seq[s];
      out << fmt::format(R"({{"kind":"publish","t_ms":{},"event":"e{}","subs":{{"sub-{}":{}}}}})", t, i, s,
                         seq[s])
          << "\n";
      int kind = static_cast<int>((x >> 33) % 10);
      const char* err = kind == 0 ? "status" : kind == 1 ? "timeout" : kind == 2 ? "reset" : nullptr;
      if (err)
        out << fmt::format(
                   R"({{"kind":"attempt","t_ms":{},"sub":"sub-{}","event":"e{}","seq":{},"attempt":1,"outcome":"failed","status":0,"error":"{}","latency_ms":5}})",
                   t, s, i, seq[s], err)
            << "\n";
      out << fmt::format(
                 R"({{"kind":"attempt","t_ms":{},"sub":"sub-{}","event":"e{}","seq":{},"attempt":{},"outcome":"delivered","status":200,"latency_ms":5}})",
                 t + 10, s, i, seq[s], err ? 2 : 1)
          << "\n";
    }
  }
  auto r = build_report(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->subscriptions.size(), 20u);
  std::string html = render_html(*r, "big");
  EXPECT_LT(html.size(), 3u * 1024 * 1024) << "the HTML must stay a few MB";
  EXPECT_EQ(count(html, "<path class=\"backlog\""), 20u);
  auto marks = mark_counts(html);
  uint64_t failed = 0, attempts = 0;
  for (const auto& s : r->subscriptions) {
    failed += s.failed_attempts;
    attempts += s.attempts;
  }
  EXPECT_EQ(marks["delivered"], 200000u);
  EXPECT_EQ(marks["status"] + marks["timeout"] + marks["reset"], failed);
  EXPECT_EQ(attempts, 200000u + failed);
}

// --- the command line and the browser
// ------------------------------------------------------------------------

// Deactivation (twice), a restart and a reactivation, on two subscriptions.
constexpr char kScenario[] = R"({
  "seed": 3, "start": "2026-03-02T08:00:00Z", "duration": "1d",
  "policy": {"immediate_retries": 1, "delays": ["1m", "10m"], "repeat": "1h", "give_up_after": "6h"},
  "subscriptions": [
    {"id": "flaky", "receiver": {"latency": "40ms", "windows": [{"from": "1h", "until": "20h", "status": 503}]}},
    {"id": "steady", "receiver": {"latency": "25ms", "windows": [{"from": "2h", "until": "2h20m", "timeout": true}]}}
  ],
  "events": [{"every": "10m", "until": "23h", "type": "tracking", "account": "acme", "vehicle": "v1", "data": {"n": 1}}],
  "actions": [{"at": "3h", "action": "restart"}, {"at": "10h", "action": "reactivate", "sub": "flaky"}]
})";

TEST(ReportCli, SimulateWritesTheReportAndReportReproducesItFromTheLogWithTheSummaryNumbers) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  RunResult sim =
      run_hooksim("simulate " + shell_quote(dir.file("s.json")) + " --log " +
                      shell_quote(dir.file("log.jsonl")) + " --report " + shell_quote(dir.file("a.html")),
                  dir);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  EXPECT_EQ(sim.err, "") << "no progress line when stderr is not a terminal";
  json summary = json::parse(sim.out);

  RunResult rep = run_hooksim(
      "report " + shell_quote(dir.file("log.jsonl")) + " --html " + shell_quote(dir.file("b.html")), dir);
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  std::string a = read_file(dir.file("a.html")), b = read_file(dir.file("b.html"));
  ASSERT_FALSE(a.empty());
  // Same data; only the title differs.
  auto body = [](const std::string& h) { return h.substr(h.find("<p class=\"meta\">")); };
  EXPECT_EQ(body(a), body(b));

  auto r = build_report(dir.file("log.jsonl"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->events_published, summary["events_published"].get<uint64_t>());
  for (const auto& s : r->subscriptions) {
    SCOPED_TRACE(s.id);
    const json& js = summary["subscriptions"][s.id];
    EXPECT_EQ(s.delivered, js["delivered"].get<uint64_t>());
    EXPECT_EQ(s.attempts, js["attempts"].get<uint64_t>());
    EXPECT_EQ(s.failed_attempts, js["failed_attempts"].get<uint64_t>());
    EXPECT_EQ(s.discarded, js["discarded"].get<uint64_t>());
    EXPECT_EQ(s.backlog, js["backlog"].get<int64_t>());
    EXPECT_EQ(s.lag.count(), s.delivered);
  }
  EXPECT_EQ(r->subscriptions[0].deactivations, 2u);
  auto marks = mark_counts(b);
  EXPECT_EQ(marks["delivered"], summary["delivered"].get<uint64_t>());
  EXPECT_EQ(marks["status"] + marks["timeout"] + marks["abandoned"],
            summary["failed_attempts"].get<uint64_t>());
  EXPECT_NE(rep.out.find("flaky"), std::string::npos);
  EXPECT_NE(rep.out.find("deactivated flaky"), std::string::npos) << rep.out;
}

// Every published event is accounted for, per subscription and in the header, on the library's 8-day outage:
// 1310 published = 230 delivered + 0 queued + 917 discarded + 163 dropped while deactivated.
TEST(ReportAccounting, EveryPublishedEventIsDeliveredQueuedDiscardedOrDropped) {
  TempDir dir;
  const std::string scenario = std::string(HOOKSIM_SOURCE_DIR) + "/scenarios/outage-8d-deactivation.json";
  RunResult sim =
      run_hooksim("simulate " + shell_quote(scenario) + " --log " + shell_quote(dir.file("log.jsonl")), dir);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  json summary = json::parse(sim.out);
  auto r = build_report(dir.file("log.jsonl"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->subscriptions.size(), 1u);
  const SubscriptionReport& s = r->subscriptions[0];
  EXPECT_EQ(r->events_published, 1310u);
  EXPECT_EQ(s.published, 1310u);
  EXPECT_EQ(s.delivered, 230u);
  EXPECT_EQ(s.backlog, 0);
  EXPECT_EQ(s.discarded, 917u);
  EXPECT_EQ(s.dropped_inactive, summary["dropped_inactive"].get<uint64_t>());
  EXPECT_EQ(s.dropped_inactive, 163u);
  EXPECT_EQ(s.published, s.delivered + static_cast<uint64_t>(s.backlog) + s.discarded + s.dropped_inactive);
  EXPECT_EQ(r->events_unmatched, 0u);
  // The lag covers the delivered events; the oldest discarded one (k = 6, at 66m) was 7 days old at t0 + 7d.
  EXPECT_EQ(s.lag.count(), 230u);
  EXPECT_EQ(s.oldest_discarded_ms, 7 * 86'400'000);
  EXPECT_FALSE(s.oldest_queued_ms.has_value());

  std::string text = render_text(*r);
  EXPECT_NE(text.find("1 subscription, 1310 events published, 246 attempts (16 failed), 230 delivered, 917 "
                      "discarded, 0 queued, 163 dropped while deactivated\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("every event accounted for, once per subscription it matched: 1310 = 230 delivered + 0 "
                "queued + 917 discarded + 163 dropped while deactivated; 0 events matched no subscription"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("lag: from publish to delivery, of delivered events only"), std::string::npos) << text;
  std::string html = render_html(*r, "t");
  EXPECT_NE(html.find("<td>1310</td><td>230</td><td>0</td><td>917</td><td>163</td>"), std::string::npos);
  EXPECT_NE(html.find("1 subscription &middot; 1310 events published"), std::string::npos);
  EXPECT_NE(html.find("<td>7d</td>"), std::string::npos);  // oldest discarded

  // Cut at 2d, still down: the undelivered events are queued, and the oldest has waited since 66m.
  json cut = json::parse(read_file(scenario));
  cut["duration"] = "2d";
  cut.erase("actions");
  cut.erase("expect");
  write_file(dir.file("cut.json"), cut.dump());
  sim = run_hooksim(
      "simulate " + shell_quote(dir.file("cut.json")) + " --log " + shell_quote(dir.file("cut.jsonl")), dir);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  r = build_report(dir.file("cut.jsonl"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const SubscriptionReport& c = r->subscriptions[0];
  EXPECT_EQ(c.delivered, 6u);
  EXPECT_EQ(c.published, c.delivered + static_cast<uint64_t>(c.backlog) + c.discarded + c.dropped_inactive);
  EXPECT_EQ(static_cast<uint64_t>(c.backlog), c.published - 6);
  EXPECT_EQ(c.oldest_queued_ms, 2 * 86'400'000 - 66 * 60'000);
  EXPECT_NE(render_text(*r).find("1d22h54m"), std::string::npos);
}

// Events that match no subscription are counted apart, and a dropped event counts for the subscription that
// dropped it (the `dropped` field of publish records).
TEST(ReportAccounting, FanOutAndUnmatchedEventsAreCountedApart) {
  Report r = report_of(
      R"({"kind":"publish","t_ms":0,"event":"e1","subs":{"a":1,"b":1}}
{"kind":"publish","t_ms":1,"event":"e2","subs":{}}
{"kind":"publish","t_ms":2,"event":"e3","subs":{"b":2},"dropped":["a"]}
{"kind":"attempt","t_ms":3,"sub":"b","event":"e1","seq":1,"attempt":1,"outcome":"delivered","status":200,"latency_ms":1}
)");
  EXPECT_EQ(r.events_published, 3u);
  EXPECT_EQ(r.events_unmatched, 1u);
  ASSERT_EQ(r.subscriptions.size(), 2u);
  EXPECT_EQ(r.subscriptions[0].published, 2u);
  EXPECT_EQ(r.subscriptions[0].dropped_inactive, 1u);
  EXPECT_EQ(r.subscriptions[1].published, 2u);
  EXPECT_NE(render_text(r).find(": 4 = 1 delivered + 2 queued + 0 discarded + 1 dropped while deactivated; 1 "
                                "event matched no subscription"),
            std::string::npos)
      << render_text(r);
}

// The backlog and the attempts charts share one time axis: the same ticks at the same x.
TEST(ReportHtml, BothChartsShareOneTimeAxis) {
  std::string html = render_html(report_of(kLog), "t");
  auto ticks = [&](const std::string& id) {
    size_t from = html.find("<svg id=\"" + id + "\""), to = html.find("</svg>", from);
    std::string svg = html.substr(from, to - from);
    static const std::regex re(
        R"re(<text class="tick" x="([0-9.]+)" y="[0-9.]+" text-anchor="middle">([^<]*)<)re");
    std::vector<std::string> out;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
      out.push_back((*it)[1].str() + "@" + (*it)[2].str());
    return out;
  };
  EXPECT_GE(ticks("backlog").size(), 2u);
  EXPECT_EQ(ticks("backlog"), ticks("attempts"));
}

TEST(ReportCli, ReportWithoutALogFileAndWithTheLogOnStdout) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  RunResult r1 = run_hooksim(
      "simulate " + shell_quote(dir.file("s.json")) + " --report " + shell_quote(dir.file("a.html")), dir);
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_NO_THROW(json::parse(r1.out));
  RunResult r2 = run_hooksim(
      "simulate " + shell_quote(dir.file("s.json")) + " --log - --report " + shell_quote(dir.file("b.html")),
      dir);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  auto lines = lines_of(r2.out);
  ASSERT_GT(lines.size(), 10u);
  EXPECT_EQ(json::parse(lines.front())["kind"], "run");
  EXPECT_TRUE(json::parse(lines.back()).contains("events_published"));
  auto body = [](const std::string& h) { return h.substr(h.find("<p class=\"meta\">")); };
  EXPECT_EQ(body(read_file(dir.file("a.html"))), body(read_file(dir.file("b.html"))));
}

TEST(ReportCli, BadLogExitsTwoNamingTheLineAndWritesNoHtml) {
  TempDir dir;
  write_file(dir.file("bad.jsonl"),
             std::string(R"({"kind":"restart","t_ms":0})") + "\n{\"kind\":\"attempt\"\n");
  RunResult r = run_hooksim(
      "report " + shell_quote(dir.file("bad.jsonl")) + " --html " + shell_quote(dir.file("r.html")), dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(dir.file("bad.jsonl") + ":2: not valid JSON"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.html")));
  RunResult missing = run_hooksim("report " + shell_quote(dir.file("nope.jsonl")), dir);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot open the file"), std::string::npos) << missing.err;
  EXPECT_EQ(run_hooksim("report", dir).exit_code, 2);
}

TEST(ReportCli, AFailedRunLeavesNoReportAndAnUnwritableReportIsRefusedBeforeRunning) {
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  std::filesystem::create_directories(dir.file("data"));
  write_file(dir.file("data/x"), "");
  RunResult r = run_hooksim(
      "simulate " + shell_quote(dir.file("s.json")) + " --data " + shell_quote(dir.file("data")) +
          " --report " + shell_quote(dir.file("r.html")) + " --log " + shell_quote(dir.file("r.jsonl")),
      dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("directory is not empty"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.html")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("r.jsonl"))) << "refused before anything was written";
  RunResult bad = run_hooksim("simulate " + shell_quote(dir.file("s.json")) + " --report " +
                                  shell_quote(dir.file("no/such/dir/r.html")) + " --log " +
                                  shell_quote(dir.file("l.jsonl")),
                              dir);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--report " + dir.file("no/such/dir/r.html") + ": cannot open for writing"),
            std::string::npos)
      << bad.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("l.jsonl"))) << "refused before anything was written";
}

constexpr char kChromium[] = "/usr/bin/chromium";

// Runs headless Chromium on a file:// page; returns its stdout. 120 s cap (the machine is shared).
RunResult chromium(const std::string& extra, const std::string& page, const TempDir& dir) {
  std::string cmd = std::string("timeout 120 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                    " --disable-component-update --disable-sync --no-proxy-server --user-data-dir=" +
                    shell_quote(dir.file("profile")) + " " + extra + " " + shell_quote("file://" + page) +
                    " </dev/null >" + shell_quote(dir.file("c.out")) + " 2>" + shell_quote(dir.file("c.err"));
  int rc = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = (rc != -1 && WIFEXITED(rc)) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(dir.file("c.out"));
  r.err = read_file(dir.file("c.err"));
  return r;
}

TEST(ReportBrowser, ChromiumRendersTheChartsWithTheExpectedSeries) {
  ASSERT_EQ(::access(kChromium, X_OK), 0)
      << "headless Chromium (/usr/bin/chromium) is required; scripts/test.sh installs it";
  TempDir dir;
  write_file(dir.file("s.json"), kScenario);
  RunResult sim = run_hooksim(
      "simulate " + shell_quote(dir.file("s.json")) + " --report " + shell_quote(dir.file("r.html")), dir);
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  json summary = json::parse(sim.out);

  // The DOM as Chromium parsed it: the SVG elements are there, in the SVG namespace (serialized inside
  // <svg>).
  RunResult dom = chromium("--dump-dom", dir.file("r.html"), dir);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  ASSERT_NE(dom.out.find("<svg id=\"backlog\""), std::string::npos) << dom.out.substr(0, 2000);
  EXPECT_EQ(count(dom.out, "<path class=\"backlog\""), 2u);
  EXPECT_NE(dom.out.find("data-sub=\"flaky\""), std::string::npos);
  EXPECT_NE(dom.out.find("data-sub=\"steady\""), std::string::npos);
  auto marks = mark_counts(dom.out);
  EXPECT_EQ(marks["delivered"], summary["delivered"].get<uint64_t>());
  uint64_t failed = 0;
  for (const auto& [cls, n] : marks)
    if (cls != "delivered") failed += n;
  EXPECT_EQ(failed, summary["failed_attempts"].get<uint64_t>());
  EXPECT_GT(marks["timeout"], 0u) << "steady's timeouts are drawn in their own class";
  EXPECT_EQ(count(dom.out, "<line class=\"marker deactivated\" data-sub=\"flaky\""), 2u);
  EXPECT_EQ(count(dom.out, "<line class=\"marker reactivated\" data-sub=\"flaky\""), 1u);
  EXPECT_GE(count(dom.out, "<line class=\"marker restart\""), 1u);

  // And it paints: a screenshot of the page is a real PNG, far from blank.
  std::string png = dir.file("report.png");
  RunResult shot =
      chromium("--window-size=1100,1400 --screenshot=" + shell_quote(png), dir.file("r.html"), dir);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::string bytes = read_file(png);
  ASSERT_GT(bytes.size(), 20000u) << "a blank page's screenshot is far smaller";
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  if (const char* keep = std::getenv("HOOKSIM_KEEP_SCREENSHOTS"))
    std::filesystem::copy_file(png, std::filesystem::path(keep) / "report.png",
                               std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace hooksim::sim
