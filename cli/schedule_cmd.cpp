// hooksim schedule [POLICY|FILE] [--json]: the attempts of a permanent outage under a retry policy and the
// deactivation that ends them. Everything comes from the engine's RetryPolicy (engine/retry_policy.h), the
// one place that knows the schedule, and its failure rule (apply_failure, engine/delivery_rules.h); this
// file only walks them. Docs: README.md and docs/scaffolding.md.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/delivery_rules.h"
#include "protocol/json_input.h"
#include "protocol/policy_json.h"
#include "protocol/presets.h"

namespace hooksim::cli {
namespace {

struct ScheduleArgs {
  std::string policy = "frotcom";
  bool json = false;
};

// One attempt of the outage: when it starts (from the first attempt) and why it is made.
struct Attempt {
  Duration at{0};
  Duration delay{0};       // since the previous attempt ended
  std::string kind;        // "first", "immediate", "scheduled", or "next" (the next event's first attempt)
  uint32_t event = 1;      // which event it carries, from 1 (a new one after each exhausted event)
  bool exhausted = false;  // its failure used up the event's max_attempts
};

// How the outage ends.
struct Outage {
  std::vector<Attempt> attempts;
  Duration deactivation{0};
  bool by_disable_after = false;  // deactivated by disable_after, at the last attempt's failure
  // The listing stops after the first exhausted event: every next event gets the same attempts, one after
  // the other, until the deactivation (give_up_after).
  bool repeats = false;
};

// The most attempts listed once an event is exhausted: a bound for a disable_after that time never reaches
// (all delays 0), past which the listing ends as if no rule could end the streak.
constexpr size_t kMaxListed = 10000;

// The attempts of a streak in which every attempt fails at once (a refused connection: no status, so no
// disable_on_status or Retry-After) with events always queued, walked by the engine's own rules
// (apply_failure, engine/delivery_rules.h) before jitter: until no attempt comes before the deactivation,
// until disable_after deactivates, or, when an event is exhausted and no disable_after rule can end the
// streak before give_up_after, after that first event.
Outage outage_attempts(RetryPolicy p) {
  p.jitter_fraction = 0;
  p.jitter_min = p.jitter_max = Duration(0);
  const TimePoint t0{};
  const bool disable_rule = p.disable_after_failures != 0 || p.disable_after_duration.count() > 0;
  DeliveryState st;
  st.next_seq = std::numeric_limits<uint64_t>::max();  // a backlog that never empties
  Outage out;
  out.attempts = {{Duration(0), Duration(0), "first"}};
  out.deactivation = p.give_up_after;
  for (uint32_t event_attempt = 1;; ++event_attempt) {
    Attempt& last = out.attempts.back();
    TimePoint failed_at = t0 + last.at;
    FailureOutcome o = apply_failure(p, st,
                                     {.seq = st.head_seq,
                                      .attempt = event_attempt,
                                      .status = 0,
                                      .ended = failed_at,
                                      .retry_after = std::nullopt,
                                      .jitter_draw = 0});
    last.exhausted = o.exhausted;
    if (o.disable) {
      out.deactivation = last.at;
      out.by_disable_after = true;
      return out;
    }
    if (!st.next_attempt || *st.next_attempt >= p.deactivation_time(t0)) return out;
    uint32_t event = last.event;
    if (o.exhausted) {
      if (!disable_rule || out.attempts.size() >= kMaxListed) {
        out.repeats = true;
        return out;
      }
      ++event, event_attempt = 0;
    }
    const char* kind = o.exhausted                                    ? "next"
                       : p.is_immediate_retry(st.schedule_failures()) ? "immediate"
                                                                      : "scheduled";
    out.attempts.push_back({*st.next_attempt - t0, *st.next_attempt - failed_at, kind, event});
  }
}

// "7d (168h)": a duration, with its hours when it is a day or more ("6d16h55m (160h55m)").
std::string with_hours(Duration d) {
  if (d < std::chrono::days(1)) return format_duration(d);
  auto h = std::chrono::floor<std::chrono::hours>(d);
  return fmt::format("{} ({}h{})", format_duration(d), h.count(), d == h ? "" : format_duration(d - h));
}

// The policy named or written by `arg`: a preset name (protocol/presets.h), inline JSON (starting with "{"),
// or a JSON file holding either (a policy as in a scenario's "policy"). A preset's name wins over a file of
// that name (give ./svix for the file).
Result<RetryPolicy> read_policy(const std::string& arg) {
  nlohmann::json j;
  if (protocol::preset_policy(arg)) {
    j = arg;
  } else if (arg.starts_with("{")) {
    j = nlohmann::json::parse(arg, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::InvalidArgument(fmt::format("'{}': not valid JSON", arg));
  } else {
    auto file = json_input::load_json_file(arg);
    if (!file.ok())
      return Status::InvalidArgument(fmt::format("{} (give a preset name ({}) or a policy file)",
                                                 file.status().message(),
                                                 fmt::join(protocol::policy_presets(), ", ")));
    j = std::move(*file);
  }
  return parse_policy(j, "policy");
}

int schedule(const ScheduleArgs& a) {
  auto policy = read_policy(a.policy);
  if (!policy.ok()) return fail("schedule", policy.status().message());
  Outage outage = outage_attempts(*policy);
  const std::vector<Attempt>& attempts = outage.attempts;
  const bool per_event = policy->max_attempts != 0;  // events are dropped as exhausted: say which is which
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < attempts.size(); ++i) {
      nlohmann::ordered_json at = {{"attempt", i + 1},
                                   {"at", format_duration(attempts[i].at)},
                                   {"at_s", std::chrono::duration<double>(attempts[i].at).count()},
                                   {"after", format_duration(attempts[i].delay)},
                                   {"kind", attempts[i].kind}};
      if (per_event) {
        at["event"] = attempts[i].event;
        if (attempts[i].exhausted) at["exhausted"] = true;
      }
      list.push_back(std::move(at));
    }
    nlohmann::ordered_json deactivation = {
        {"at", format_duration(outage.deactivation)},
        {"at_s", std::chrono::duration<double>(outage.deactivation).count()}};
    if (outage.by_disable_after) deactivation["by"] = "disable_after";
    nlohmann::ordered_json doc = {
        {"policy", policy_to_json(*policy)}, {"attempts", std::move(list)}, {"deactivation", deactivation}};
    if (outage.repeats) doc["repeats"] = true;
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format(
      "A permanent outage under policy {}: every attempt fails at once; times from the first attempt.\n",
      a.policy);
  std::cout << fmt::format("{:>7}  {:<20}  {}\n", "attempt", "at", "after the previous");
  for (size_t i = 0; i < attempts.size(); ++i) {
    const Attempt& t = attempts[i];
    std::string after = t.kind == "first"       ? "(the first attempt)"
                        : t.kind == "immediate" ? format_duration(t.delay) + " (immediate retry)"
                        : t.kind == "next"      ? fmt::format("(event {}: the next event, at once)", t.event)
                                                : format_duration(t.delay);
    if (t.exhausted) after += fmt::format("; event {} exhausted (max_attempts)", t.event);
    std::cout << fmt::format("{:>7}  {:<20}  {}\n", i + 1, with_hours(t.at), after);
  }
  if (outage.repeats)
    std::cout << fmt::format(
        "each next event gets the same {} attempt{}, from the failure before it, until the deactivation\n",
        attempts.size(), attempts.size() == 1 ? "" : "s");
  if (policy->jitter_fraction > 0 || policy->jitter_max.count() > 0)
    std::cout << "delays before jitter: the policy's jitter moves each retry\n";
  if (policy->ordering == Ordering::kUnordered)
    std::cout << "ordering unordered: each event gets its attempts on its own, from its own first attempt, "
                 "and later events go without waiting for it; the events above follow each other as FIFO "
                 "would send them (docs/policies.md#ordering)\n";
  if (outage.by_disable_after)
    std::cout << fmt::format(
        "deactivated at {} by disable_after: {} attempts, the last one's failure deactivates\n",
        with_hours(outage.deactivation), attempts.size());
  else
    std::cout << fmt::format("deactivated at {}: {}none at or after the deactivation\n",
                             with_hours(outage.deactivation),
                             outage.repeats ? "" : fmt::format("{} attempts, ", attempts.size()));
  return 0;
}

}  // namespace

Command add_schedule(CLI::App& app) {
  auto args = std::make_shared<ScheduleArgs>();
  auto* cmd = app.add_subcommand("schedule", "Print a retry policy's attempts during a permanent outage");
  cmd->add_option(
         "POLICY", args->policy,
         fmt::format("A preset name ({}), a policy file (JSON, as a scenario's policy) or inline JSON",
                     fmt::join(protocol::policy_presets(), ", ")))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  return [cmd, args]() { return *cmd ? schedule(*args) : -1; };
}

}  // namespace hooksim::cli
