// The checks of `hooksim check` (docs/check.md). Each sends its deliveries on its own subscription id
// (`hooksim-subscription`), with sequence numbers from 1 and event ids unique to the run, so checks do not
// disturb each other and a receiver's duplicate and order bookkeeping sees each check as a fresh
// subscription.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "check/check.h"
#include "check/gate.h"
#include "engine/transport.h"
#include "net/http_client.h"
#include "protocol/delivery.h"
#include "protocol/envelope.h"
#include "protocol/signing.h"
#include "protocol/standard_webhooks.h"
#include "util/percentile.h"

namespace hooksim::check {

namespace {

using net::HttpAnswer;
using nlohmann::json;
using std::chrono::minutes;

constexpr int kLatencySamples = 20;
constexpr int kProbeOrderEvents = 5;
constexpr auto kTimestampTolerance = minutes(5);
// Stale and future probes are this far off: twice the tolerance, so a few minutes of clock skew between
// this machine and the receiver cannot change the verdict.
constexpr auto kTimestampOffset = minutes(10);
constexpr int kExpiryWarningDays = 14;
constexpr const char* kKinds[] = {"tracking", "message", "driving_time"};

TimePoint wall_now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// How a delivery authenticates itself.
enum class Auth {
  kValid,           // as the sender: the right signature or token
  kWrongSignature,  // a well-formed signature that does not match the body
  kNoSignature,     // no signature header
  kOtherSecret,     // correctly computed, with a different secret
  kNoToken,         // no authorization header
  kWrongToken,      // "Bearer <something else>"
};

// Signs like `real` but over other bytes than the body sent: a signature of the right shape that does not
// match.
class TamperedSigner final : public protocol::Signer {
 public:
  explicit TamperedSigner(const std::unique_ptr<protocol::Signer>& real) : real_(real) {}
  void sign(std::string_view event_id, int64_t timestamp, std::string_view body,
            const protocol::HeaderSink& add) const override {
    real_->sign(event_id, timestamp, std::string(body) + " ", add);
  }
  protocol::AuthCheck verify(const protocol::HeaderLookup&, std::string_view, int64_t,
                             std::optional<Duration>) const override {
    return protocol::AuthCheck::kBad;  // never used: check only sends
  }

 private:
  const std::unique_ptr<protocol::Signer>& real_;
};

// One delivery to send.
struct Outgoing {
  std::string what;  // for the report
  Event event;
  uint64_t seq = 1;
  uint32_t attempt = 1;
  Auth auth = Auth::kValid;
  Duration timestamp_offset{0};  // added to the wall clock for webhook-timestamp
};

std::string human_bytes(uint64_t n) {
  if (n % (1024 * 1024) == 0) return fmt::format("{} MiB", n / (1024 * 1024));
  if (n % 1024 == 0) return fmt::format("{} KiB", n / 1024);
  return fmt::format("{} bytes", n);
}

std::string human_ms(double ms) {
  if (ms < 10) return fmt::format("{:.2f} ms", ms);
  if (ms < 1000) return fmt::format("{:.0f} ms", ms);
  return fmt::format("{:.2f} s", ms / 1000);
}

// Gives `r` its verdict and its figure.
void judge(CheckResult& r, Verdict verdict, std::string figure) {
  r.verdict = verdict;
  r.figure = std::move(figure);
}

// The state of one run: the options, the client, the run's unique id, what it learnt (the gate).
class Run {
 public:
  explicit Run(const CheckOptions& o)
      : opts_(o),
        probe_({.timeout = o.timeout, .ca_file = o.ca_file}),
        run_id_(protocol::random_hex(8)),
        wrong_signature_(signer_) {
    if (!o.secret.empty()) signer_ = *protocol::make_signer(o.secret, o.scheme);
    other_signer_ = *protocol::make_signer(protocol::random_secret(o.scheme), o.scheme);
  }

  const CheckOptions& opts() const { return opts_; }
  net::HttpClient& probe() { return probe_; }
  Gate& gate() { return gate_; }
  // Report::auth: "secret", "token" or "none".
  std::string_view auth() const { return signing() ? "secret" : token_mode() ? "token" : "none"; }
  bool signing() const { return signer_ != nullptr; }
  bool token_mode() const { return !opts_.token.empty(); }

  // Event number n of check `check`: an id unique to this run and check.
  Event event(std::string_view check, std::string_view kind, uint64_t n) {
    Event e = sample_event(kind, n, wall_now());
    e.id = fmt::format("evt_chk{}_{}_{}", run_id_, check, n);
    return e;
  }

  // Sends `o` on the subscription of check `check` and records it in `result`.
  HttpAnswer send(CheckResult& result, const Outgoing& o, std::string expected,
                  const std::function<bool(const HttpAnswer&)>& met) {
    std::string body = protocol::make_envelope(o.event);
    TimePoint now = wall_now();
    int64_t timestamp =
        std::chrono::duration_cast<std::chrono::seconds>((now + o.timestamp_offset).time_since_epoch())
            .count();
    // The forgeries are built by the same function as a real delivery, with other credentials.
    const protocol::Signer* signer = o.auth == Auth::kValid            ? signer_.get()
                                     : o.auth == Auth::kWrongSignature ? &wrong_signature_
                                     : o.auth == Auth::kOtherSecret    ? other_signer_.get()
                                                                       : nullptr;
    std::string token = o.auth == Auth::kValid        ? opts_.token
                        : o.auth == Auth::kWrongToken ? opts_.token + "-forged"
                                                      : "";
    std::string user_agent = fmt::format("{} (check)", protocol::user_agent());
    std::string subscription = fmt::format("check-{}-{}", run_id_, result.name);
    std::vector<std::string> h;
    protocol::build_delivery_headers({.event_id = o.event.id,
                                      .timestamp = timestamp,
                                      .seq = o.seq,
                                      .attempt = o.attempt,
                                      .virtual_time = now,
                                      .subscription = subscription,
                                      .user_agent = user_agent},
                                     {.signer = signer, .bearer_token = token}, body,
                                     [&](std::string_view name, std::string_view value) {
                                       h.push_back(fmt::format("{}: {}", name, value));
                                     });
    HttpAnswer a = probe_.post(opts_.url, body, h);
    result.probes.push_back({o.what, std::move(expected), a.status,
                             a.error == ErrorClass::kNone ? "" : a.describe(), a.latency_ms, met(a)});
    return a;
  }

  // Sends a valid delivery expecting 2xx, and tells the gate.
  HttpAnswer deliver(CheckResult& result, const Outgoing& o) {
    HttpAnswer a = send(result, o, "2xx", [](const HttpAnswer& a) { return a.is_2xx(); });
    gate_.saw_valid(result.probes.back(), a.error);
    return a;
  }

  // The precondition of every check that depends on valid deliveries being accepted in time: true, with `r`
  // judged SKIP and the gate's cause, when an earlier check closed the gate. With `control` (checks that
  // send no valid delivery of their own), when nothing is known yet (accepts_valid was not selected), one
  // valid delivery is sent first to learn it; it is put in `*control`, and in r.probes when skipping.
  bool skipped(CheckResult& r, std::optional<ProbeRecord>* control = nullptr) {
    if (control != nullptr && gate_.state() == Gate::State::kUnknown) {
      CheckResult scratch;
      scratch.name = "accepts_valid";  // its subscription and event ids: the delivery accepts_valid sends
      deliver(scratch, {"valid delivery (control)", event(scratch.name, "tracking", 1), 1});
      *control = scratch.probes.front();
      gate_.end_check("a valid control delivery", auth(), opts_.timeout);
      gate_.start_check();
    }
    if (!gate_.closed()) return false;
    if (control != nullptr && *control) r.probes.push_back(**control);
    judge(r, Verdict::kSkip, fmt::format("not tested, as {} found: {}", gate_.found_by(), gate_.cause()));
    return true;
  }

 private:
  const CheckOptions& opts_;
  net::HttpClient probe_;  // as the sender: a 5 s connect timeout, bodies read up to 64 KiB
  std::string run_id_;
  std::unique_ptr<protocol::Signer> signer_;        // of the secret; null in token mode
  std::unique_ptr<protocol::Signer> other_signer_;  // of a different secret, for "signed with another secret"
  TamperedSigner wrong_signature_;                  // signer_'s signature of other bytes
  Gate gate_;
};

size_t count_met(const CheckResult& r) {
  return static_cast<size_t>(std::ranges::count(r.probes, true, &ProbeRecord::met));
}

// "message event: 302 (redirects are not followed)" for the first probe that missed its expectation.
std::string first_miss(const CheckResult& r) {
  for (const auto& p : r.probes) {
    if (p.met) continue;
    std::string answer = p.answer();
    if (p.error.empty() && p.status >= 300 && p.status < 400) answer += " (redirects are not followed)";
    return fmt::format("{}: {}", p.what, answer);
  }
  return "";
}

// Judges probes that must all be accepted: PASS when `total` of them answered 2xx, else FAIL. The figure is
// "<accepted>/<total> <what>", and on a FAIL "; " and the first miss.
void judge_accepted(CheckResult& r, size_t total, std::string_view what) {
  size_t ok = count_met(r);
  r.measurements["accepted"] = ok;
  judge(r, ok == total ? Verdict::kPass : Verdict::kFail, fmt::format("{}/{} {}", ok, total, what));
  if (r.verdict == Verdict::kFail) r.figure += "; " + first_miss(r);
}

// ---------------------------------------------------------------------------------------------------------

void accepts_valid(Run& run, CheckResult& r) {
  for (uint64_t seq = 1; const char* kind : kKinds) {
    run.deliver(r, {fmt::format("{} event", kind), run.event(r.name, kind, seq), seq++});
    if (run.gate().timed_out_in_check()) break;  // the next would wait out the timeout too
  }
  r.measurements["sent"] = r.probes.size();
  judge_accepted(r, std::size(kKinds),
                 run.signing() ? "signed deliveries answered 2xx" : "deliveries answered 2xx");
}

void latency_headroom(Run& run, CheckResult& r) {
  const double timeout_ms = static_cast<double>(run.opts().timeout.count());
  std::string limit = format_duration(run.opts().timeout);
  if (run.gate().state() == Gate::State::kTimedOut) {  // measured once: not waited out again
    r.measurements = {{"samples", 0},
                      {"timeouts", 1},
                      {"p50_ms", 0.0},
                      {"p99_ms", 0.0},
                      {"timeout_ms", run.opts().timeout.count()}};
    return judge(r, Verdict::kFail,
                 fmt::format("no answer within the {} timeout, as {} found (not sent again)", limit,
                             run.gate().found_by()));
  }
  if (run.skipped(r)) return;
  std::vector<double> samples;
  bool timed_out = false, accepted = false;
  for (uint64_t seq = 1; seq <= kLatencySamples; ++seq) {
    Outgoing o{fmt::format("tracking event {}", seq), run.event(r.name, "tracking", seq), seq};
    HttpAnswer a = run.deliver(r, o);
    if (a.error == ErrorClass::kTimeout) {
      timed_out = true;  // the rest would only time out too: stop here
      break;
    }
    if (!a.answered()) break;  // a connection problem: no latency to measure
    samples.push_back(a.latency_ms);
    accepted = accepted || a.is_2xx();
  }
  std::sort(samples.begin(), samples.end());
  double p50 = util::percentile(samples, 0.50), p99 = util::percentile(samples, 0.99);
  r.measurements = {{"samples", samples.size()},
                    {"timeouts", timed_out ? 1 : 0},
                    {"p50_ms", p50},
                    {"p99_ms", p99},
                    {"timeout_ms", run.opts().timeout.count()}};
  if (timed_out && samples.empty())
    return judge(r, Verdict::kFail, fmt::format("no answer within the {} timeout", limit));
  if (timed_out)
    return judge(r, Verdict::kFail,
                 fmt::format("a delivery got no answer within the {} timeout (after {} answered, p50 {})",
                             limit, samples.size(), human_ms(p50)));
  if (samples.empty()) return judge(r, Verdict::kFail, "no answer: " + first_miss(r));
  // The latency of refusals says nothing about the receiver's work (the gate adds the likely cause).
  if (!accepted) return judge(r, Verdict::kFail, "no delivery was accepted; " + first_miss(r));
  std::string figure = fmt::format("p50 {}, p99 {} over {} deliveries (timeout {})", human_ms(p50),
                                   human_ms(p99), samples.size(), limit);
  if (p99 > timeout_ms) return judge(r, Verdict::kFail, figure + ": p99 above the timeout");
  if (p99 > timeout_ms / 2) return judge(r, Verdict::kWarn, figure + ": p99 above half the timeout");
  judge(r, Verdict::kPass, figure);
}

// Judges probes that must be refused: FAIL if one was accepted (2xx), WARN if one was refused otherwise
// than expected, PASS if all got the expected answer.
void judge_refusals(CheckResult& r, std::string_view refused_as) {
  size_t accepted = 0;
  std::string which;
  for (const auto& p : r.probes) {
    if (!p.error.empty() || !is_2xx(p.status)) continue;
    ++accepted;
    which += (which.empty() ? "" : ", ") + p.what;
  }
  size_t met = count_met(r);
  r.measurements = {{"sent", r.probes.size()}, {"rejected_as_expected", met}, {"accepted", accepted}};
  if (accepted > 0)
    return judge(r, Verdict::kFail,
                 fmt::format("{}/{} accepted with 2xx ({})", accepted, r.probes.size(), which));
  if (met < r.probes.size())
    return judge(r, Verdict::kWarn,
                 fmt::format("{}/{} answered {}; {}", met, r.probes.size(), refused_as, first_miss(r)));
  std::string statuses;
  for (const auto& p : r.probes) statuses += (statuses.empty() ? "" : ", ") + std::to_string(p.status);
  judge(r, Verdict::kPass, fmt::format("{}/{} answered {} ({})", met, r.probes.size(), refused_as, statuses));
}

void rejects_forged(Run& run, CheckResult& r) {
  if (!run.signing() && !run.token_mode())
    return judge(r, Verdict::kSkip,
                 "not tested: give --secret or --token (the credentials the receiver expects)");
  std::optional<ProbeRecord> control;
  if (run.skipped(r, &control)) return;
  using Forgeries = std::vector<std::pair<std::string, Auth>>;
  const Forgeries forgeries = run.signing() ? Forgeries{{"wrong signature", Auth::kWrongSignature},
                                                        {"no signature", Auth::kNoSignature},
                                                        {"signed with another secret", Auth::kOtherSecret}}
                                            : Forgeries{{"no bearer token", Auth::kNoToken},
                                                        {"wrong bearer token", Auth::kWrongToken}};
  for (uint64_t seq = 1; const auto& [what, auth] : forgeries) {
    Outgoing o{what, run.event(r.name, "tracking", seq), seq++, 1, auth};
    if (run.signing())
      run.send(r, o, "4xx", [](const HttpAnswer& a) { return a.is_4xx(); });
    else
      run.send(r, o, "401 or 403",
               [](const HttpAnswer& a) { return a.answered() && (a.status == 401 || a.status == 403); });
  }
  judge_refusals(r, run.signing() ? "4xx" : "401/403");
  if (control) r.probes.insert(r.probes.begin(), *control);
}

void rejects_stale(Run& run, CheckResult& r) {
  if (!run.signing())
    return judge(r, Verdict::kSkip,
                 run.token_mode()
                     ? "not tested: with a bearer token the timestamp is not signed, so it cannot "
                       "protect against replays (use a whsec_ secret)"
                     : "not tested: give --secret (timestamps are protected by the signature)");
  if (!protocol::signs_timestamp(run.opts().scheme))
    return judge(r, Verdict::kSkip,
                 fmt::format("not tested: the {} scheme signs no timestamp, so it cannot protect against "
                             "replays",
                             run.opts().scheme));
  std::optional<ProbeRecord> control;
  if (run.skipped(r, &control)) return;
  Duration offset = kTimestampOffset;
  for (uint64_t seq = 1; auto [when, sign] : {std::pair{"old", -1}, {"ahead", 1}}) {
    Outgoing o{.what = fmt::format("timestamp {} {}", format_duration(offset), when),
               .event = run.event(r.name, "tracking", seq),
               .seq = seq++,
               .timestamp_offset = sign * offset};
    run.send(r, o, "4xx", [](const HttpAnswer& a) { return a.is_4xx(); });
  }
  judge_refusals(r, "4xx");
  r.measurements["offset_s"] = std::chrono::seconds(kTimestampOffset).count();
  r.measurements["tolerance_s"] = std::chrono::seconds(kTimestampTolerance).count();
  if (control) r.probes.insert(r.probes.begin(), *control);
}

void idempotent_redelivery(Run& run, CheckResult& r) {
  if (run.skipped(r)) return;
  Event e = run.event(r.name, "tracking", 1);
  run.deliver(r, Outgoing{"first delivery", e, 1, 1});
  if (!run.gate().timed_out_in_check())
    run.deliver(r, Outgoing{"same webhook-id again (attempt 2)", e, 1, 2});
  r.measurements["sent"] = r.probes.size();
  judge_accepted(r, r.probes.size(), "deliveries of the same event answered 2xx");
}

void probe_order(Run& run, CheckResult& r) {
  // The default schedule's immediate retries repeat the head (event 1, attempts 1-4); a scheduled retry
  // in live mode then carries the newest event, and on success the backlog drains oldest-first.
  if (run.skipped(r)) return;
  std::vector<Outgoing> order;
  order.push_back({fmt::format("newest event {} (live probe)", kProbeOrderEvents),
                   run.event(r.name, "tracking", kProbeOrderEvents), kProbeOrderEvents, 1});
  for (uint64_t seq = 1; seq < kProbeOrderEvents; ++seq)
    order.push_back(
        {fmt::format("backlog event {}", seq), run.event(r.name, "tracking", seq), seq, seq == 1 ? 5u : 1u});
  for (const auto& o : order)
    if (!run.deliver(r, o).is_2xx()) break;  // the sender would stop here and retry this event
  r.measurements = {{"events", kProbeOrderEvents}, {"sent", r.probes.size()}};
  judge_accepted(r, kProbeOrderEvents, "answered 2xx in the order 5, 1, 2, 3, 4");
}

void backlog_drain(Run& run, CheckResult& r) {
  if (run.skipped(r)) return;
  const CheckOptions& o = run.opts();
  auto start = std::chrono::steady_clock::now();
  uint64_t accepted = 0;
  for (uint64_t seq = 1; seq <= o.backlog_events; ++seq) {
    const char* kind = kKinds[(seq - 1) % 3];
    HttpAnswer a = run.deliver(r, {fmt::format("backlog event {} ({})", seq, kind),
                                   run.event(r.name, kind, seq), seq, seq == 1 ? 5u : 1u});
    if (!a.is_2xx()) break;  // the sender stops the drain and retries this event
    ++accepted;
  }
  double elapsed_ms = ms_since(start);
  double rate = elapsed_ms > 0 ? static_cast<double>(accepted) * 1000.0 / elapsed_ms : 0;
  r.measurements = {
      {"events", o.backlog_events},
      {"sent", r.probes.size()},
      {"accepted", accepted},
      {"elapsed_ms", elapsed_ms},
      {"rate_per_s", rate},
      {"daily_events", o.daily_events},
      {"drain_bound_s", std::chrono::duration_cast<std::chrono::seconds>(o.drain_bound).count()}};
  if (accepted < o.backlog_events) {
    r.verdict = Verdict::kFail;
    const ProbeRecord& miss = r.probes.back();
    r.figure = fmt::format("event {} of {} answered {}: the sender stops the drain there and retries it",
                           r.probes.size(), o.backlog_events, miss.answer());
    r.measurements["day_drain_s"] = nullptr;
    // Keep the report readable: the successful part of a long run is summarised, not listed.
    if (r.probes.size() > 10) r.probes.erase(r.probes.begin(), r.probes.end() - 10);
    return;
  }
  double day_s = static_cast<double>(o.daily_events) / rate;
  r.measurements["day_drain_s"] = day_s;
  auto day = Duration(static_cast<int64_t>(std::min(day_s, 1e12) * 1000));
  r.figure = fmt::format("{} events in {}: {:.0f}/s; a day's {} events would drain in {} (bound {})",
                         o.backlog_events, human_ms(elapsed_ms), rate, o.daily_events,
                         day < std::chrono::seconds(1)
                             ? "under 1s"
                             : format_duration(std::chrono::floor<std::chrono::seconds>(day)),
                         format_duration(o.drain_bound));
  r.verdict = day > o.drain_bound ? Verdict::kWarn : Verdict::kPass;
  // Every delivery succeeded: list only the slowest few, the rest is in the figures.
  std::sort(r.probes.begin(), r.probes.end(), [](auto& a, auto& b) { return a.latency_ms > b.latency_ms; });
  if (r.probes.size() > 5) r.probes.resize(5);
}

void large_payload(Run& run, CheckResult& r) {
  if (run.skipped(r)) return;
  uint64_t base = run.opts().payload_size;
  std::vector<uint64_t> sizes = {base, base * 2};
  for (uint64_t seq = 1; uint64_t size : sizes) {
    Event e = run.event(r.name, "message", seq);
    // Grow the message text until the envelope is exactly `size` bytes (ASCII: one byte per character).
    json data = json::parse(e.data);
    data["text"] = "";
    e.data = data.dump();
    size_t empty = protocol::make_envelope(e).size();
    std::string text;
    static constexpr std::string_view kFiller =
        "Delivery note: pallet checked, seal intact, signed by the driver. ";
    while (text.size() + empty < size) text += kFiller;
    text.resize(size > empty ? size - empty : 0);
    data["text"] = text;
    e.data = data.dump();
    std::string what =
        fmt::format("message event of {}{}", human_bytes(size), size == base ? "" : " (2x margin)");
    if (!run.deliver(r, {what, e, seq++}).is_2xx()) break;
  }
  r.measurements["sizes"] = sizes;
  judge_accepted(r, sizes.size(), "answered 2xx");
  r.figure.insert(0, fmt::format("{} and {} bodies: ", human_bytes(sizes[0]), human_bytes(sizes[1])));
  if (r.verdict == Verdict::kFail && r.probes.back().status == 413) r.figure += " (body too large)";
}

void https(Run& run, CheckResult& r) {
  if (!run.opts().url.starts_with("https://")) {
    r.measurements = {{"scheme", "http"}};
    return judge(r, Verdict::kWarn,
                 "plain http: events (and any bearer token) travel unencrypted and can be read or altered "
                 "on the way");
  }
  net::TlsFacts t = run.probe().inspect_tls(run.opts().url);
  TimePoint now = wall_now();
  std::optional<int64_t> days_left;
  if (t.not_after) days_left = std::chrono::floor<std::chrono::days>(*t.not_after - now).count();
  r.measurements = {{"scheme", "https"},
                    {"verified", t.verified},
                    {"verify_error", t.verify_error.empty() ? json(nullptr) : json(t.verify_error)},
                    {"tls_version", t.protocol.empty() ? json(nullptr) : json(t.protocol)},
                    {"subject", t.subject.empty() ? json(nullptr) : json(t.subject)},
                    {"not_after", t.not_after ? json(format_utc(*t.not_after)) : json(nullptr)},
                    {"days_left", days_left ? json(*days_left) : json(nullptr)}};
  std::string cert = t.not_after ? fmt::format("certificate {} valid until {} ({} days)", t.subject,
                                               format_utc(*t.not_after).substr(0, 10), *days_left)
                                 : "no certificate seen";
  if (!t.verified)
    return judge(r, Verdict::kFail,
                 fmt::format("the sender cannot verify the certificate: {}; {}", t.verify_error, cert));
  if (t.protocol_version != 0 && t.protocol_version < 0x0303)
    return judge(r, Verdict::kFail, fmt::format("{} negotiated, below TLS 1.2; {}", t.protocol, cert));
  if (days_left && *days_left < kExpiryWarningDays)
    return judge(r, Verdict::kWarn,
                 fmt::format("{}, {}: expires within {} days", t.protocol, cert, kExpiryWarningDays));
  judge(r, Verdict::kPass, fmt::format("{}, {}", t.protocol, cert));
}

using CheckFn = void (*)(Run&, CheckResult&);
struct Check {
  CheckInfo info;
  CheckFn run;
};

// Every check, in run order. The advice names the delivery headers by protocol's constants.
const std::vector<Check>& checks() {
  static const std::string forged_advice = fmt::format(
      "Anyone who learns the URL can post fake events, so verify the {} (Standard Webhooks HMAC-SHA256 over "
      "id.timestamp.body with the whsec_ secret) or the bearer token on every request and answer 401 when it "
      "does not match.",
      protocol::kSignatureHeader);
  static const std::string order_advice = fmt::format(
      "During an outage a scheduled retry may carry the newest event, and the backlog follows oldest-first "
      "once it succeeds, so accept an older event after a newer one and order by occurred_at or {} "
      "yourself.",
      protocol::header::kSequence);
  static const std::vector<Check> list = {
      {{"accepts_valid", "accepts valid deliveries",
        "The sender counts only a 2xx answer as delivered and holds the subscription's queue on anything "
        "else (a 3xx too: redirects are never followed), so answer 2xx at the registered URL as soon as the "
        "event is safely stored."},
       accepts_valid},
      {{"latency_headroom", "latency headroom",
        "An answer slower than the attempt timeout is a failed attempt that is retried while every later "
        "event waits, so acknowledge at once (store the event, answer 2xx) and do slow work in the "
        "background."},
       latency_headroom},
      {{"rejects_forged", "rejects forged signatures", forged_advice}, rejects_forged},
      {{"rejects_stale", "rejects stale or future timestamps",
        "A captured delivery can be replayed later, so reject a webhook-timestamp more than 5 minutes away "
        "from your clock with a 4xx (the signature covers it) and keep the clock in sync with NTP."},
       rejects_stale},
      {{"idempotent_redelivery", "idempotent on redelivery",
        "Delivery is at-least-once: after a lost answer or a sender crash the same event (same webhook-id) "
        "comes again, so remember processed ids and answer 2xx to a repeat without processing it twice."},
       idempotent_redelivery},
      {{"probe_order", "tolerates the live-probe order", order_advice}, probe_order},
      {{"backlog_drain", "keeps up with a backlog drain",
        "After an outage the whole backlog (up to 7 days of events) arrives back to back, one at a time, so "
        "answer each quickly, never rate-limit or fail the burst, and queue the processing behind the 2xx."},
       backlog_drain},
      {{"large_payload", "large payloads",
        "A body-size limit in the receiver or a proxy in front of it (413) blocks the queue on the first "
        "large event until it is discarded, so accept request bodies of at least the tested size (e.g. nginx "
        "client_max_body_size)."},
       large_payload},
      {{"https", "HTTPS",
        "Deliveries carry vehicle positions and driver messages and the platform strongly recommends HTTPS, "
        "so serve the URL over TLS 1.2 or later with a certificate valid for its host name, renewed well "
        "before it expires."},
       https},
  };
  return list;
}

}  // namespace

const char* verdict_label(Verdict v) {
  static constexpr const char* kLabels[] = {"PASS", "WARN", "FAIL", "SKIP"};
  return kLabels[static_cast<int>(v)];
}

const char* verdict_name(Verdict v) {
  static constexpr const char* kNames[] = {"pass", "warn", "fail", "skip"};
  return kNames[static_cast<int>(v)];
}

const std::vector<CheckInfo>& all_checks() {
  static const std::vector<CheckInfo> infos = [] {
    std::vector<CheckInfo> v;
    for (const Check& c : checks()) v.push_back(c.info);
    return v;
  }();
  return infos;
}

Verdict Report::overall() const {
  Verdict v = Verdict::kPass;
  for (const auto& r : results) {
    if (r.verdict == Verdict::kFail) return Verdict::kFail;
    if (r.verdict == Verdict::kWarn) v = Verdict::kWarn;
  }
  return v;
}

int Report::exit_code() const {
  return overall() == Verdict::kFail ? 1 : 0;
}

Status validate(const CheckOptions& o) {
  if (!o.url.starts_with("http://") && !o.url.starts_with("https://"))
    return Status::InvalidArgument(fmt::format("URL '{}': must start with http:// or https://", o.url));
  if (o.url.find_first_of(" \r\n\t") != std::string::npos)
    return Status::InvalidArgument(fmt::format("URL '{}': must not contain whitespace", o.url));
  if (!o.secret.empty() && !o.token.empty())
    return Status::InvalidArgument("--secret and --token: give one or the other (the receiver's credential)");
  const auto& schemes = protocol::signature_schemes();
  if (std::find(schemes.begin(), schemes.end(), o.scheme) == schemes.end())
    return Status::InvalidArgument(fmt::format("--scheme: unknown signature scheme '{}'", o.scheme));
  if (!o.secret.empty()) {
    if (auto k = protocol::make_signer(o.secret, o.scheme); !k.ok())
      return Status::InvalidArgument("--secret: " + k.status().message());
  }
  if (!o.token.empty() && o.token.find_first_of("\r\n") != std::string::npos)
    return Status::InvalidArgument("--token: must not contain line breaks");
  if (o.timeout < Duration(1) || o.timeout > minutes(10))
    return Status::InvalidArgument("--timeout: must be from 1ms to 10m");
  for (const auto& name : o.only) {
    if (std::ranges::any_of(checks(), [&](const Check& c) { return c.info.name == name; })) continue;
    std::string names;
    for (const auto& c : checks()) names += (names.empty() ? "" : ", ") + std::string(c.info.name);
    return Status::InvalidArgument(fmt::format("--only: unknown check '{}' (checks: {})", name, names));
  }
  if (o.backlog_events < 1 || o.backlog_events > 100000)
    return Status::InvalidArgument("--backlog: must be from 1 to 100000 events");
  if (o.daily_events < 1) return Status::InvalidArgument("--daily-events: must be at least 1");
  if (o.drain_bound < Duration(1)) return Status::InvalidArgument("--drain-bound: must be more than 0");
  if (o.payload_size < 1024 || o.payload_size > 8 * 1024 * 1024)
    return Status::InvalidArgument("--payload-size: must be from 1024 to 8388608 bytes");
  return Status::OK();
}

Result<Report> run_checks(const CheckOptions& o) {
  HOOKSIM_RETURN_IF_ERROR(validate(o));
  Report report;
  report.url = o.url;
  report.timeout = o.timeout;
  report.started_at = wall_now();
  auto start = std::chrono::steady_clock::now();

  Run run(o);
  report.auth = std::string(run.auth());
  if (run.signing()) report.scheme = o.scheme;
  HttpAnswer reach = run.probe().reach(o.url);
  if (reach.error == ErrorClass::kDns || reach.error == ErrorClass::kConnect ||
      reach.error == ErrorClass::kTimeout || reach.error == ErrorClass::kOther)
    return Status::IOError(fmt::format("cannot reach {}: {}", o.url, reach.describe()));

  std::set<std::string> only(o.only.begin(), o.only.end());
  for (const auto& [c, fn] : checks()) {
    if (!only.empty() && !only.contains(std::string(c.name))) continue;
    CheckResult r;
    r.name = std::string(c.name);
    r.title = std::string(c.title);
    r.advice = std::string(c.advice);
    auto t0 = std::chrono::steady_clock::now();
    run.gate().start_check();
    fn(run, r);
    // The check that finds valid deliveries refused says why (a timeout already says so in the figure).
    if (run.gate().end_check(r.name, run.auth(), o.timeout) && run.gate().state() == Gate::State::kRejected &&
        r.verdict == Verdict::kFail)
      r.figure += "; " + run.gate().cause();
    r.duration_ms = ms_since(t0);
    if (o.on_result) o.on_result(r);
    report.results.push_back(std::move(r));
  }
  report.duration_ms = ms_since(start);
  return report;
}

}  // namespace hooksim::check
