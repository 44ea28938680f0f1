// hooksim schedule [POLICY|FILE] [--json]: the attempts of a permanent outage under a retry policy and the
// deactivation that ends them. Everything comes from the engine's RetryPolicy (engine/retry_policy.h), the
// one place that knows the schedule; this file only walks it. Docs: README.md and docs/scaffolding.md.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "protocol/json_input.h"
#include "protocol/policy_json.h"

namespace hooksim::cli {
namespace {

struct ScheduleArgs {
  std::string policy = "frotcom";
  bool json = false;
};

// One attempt of the outage: when it starts (from the first attempt) and why it is made.
struct Attempt {
  Duration at{0};
  Duration delay{0};  // since the previous attempt ended
  std::string kind;   // "first", "immediate" or "scheduled"
};

// The attempts of a streak in which every attempt fails at once (a 503, a refused connection), from the
// first one at 0 until RetryPolicy::next_after_failure() says no attempt comes before the deactivation.
std::vector<Attempt> outage_attempts(const RetryPolicy& p) {
  const TimePoint t0{};
  std::vector<Attempt> out = {{Duration(0), Duration(0), "first"}};
  for (uint32_t failures = 1;; ++failures) {
    TimePoint failed_at = t0 + out.back().at;
    auto next = p.next_after_failure(failures, /*streak_start=*/t0, failed_at);
    if (!next) return out;
    out.push_back(
        {*next - t0, *next - failed_at, p.is_immediate_retry(failures) ? "immediate" : "scheduled"});
  }
}

// "7d (168h)": a duration, with its hours when it is a day or more ("6d16h55m (160h55m)").
std::string with_hours(Duration d) {
  if (d < std::chrono::days(1)) return format_duration(d);
  auto h = std::chrono::floor<std::chrono::hours>(d);
  return fmt::format("{} ({}h{})", format_duration(d), h.count(), d == h ? "" : format_duration(d - h));
}

// The policy named or written by `arg`: a preset name, inline JSON (starting with "{"), or a JSON file
// holding either (a policy as in a scenario's "policy").
Result<RetryPolicy> read_policy(const std::string& arg) {
  nlohmann::json j;
  if (arg == "frotcom") {
    j = arg;
  } else if (arg.starts_with("{")) {
    j = nlohmann::json::parse(arg, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::InvalidArgument(fmt::format("'{}': not valid JSON", arg));
  } else {
    auto file = json_input::load_json_file(arg);
    if (!file.ok())
      return Status::InvalidArgument(
          fmt::format("{} (give a preset name, frotcom, or a policy file)", file.status().message()));
    j = std::move(*file);
  }
  return parse_policy(j, "policy");
}

int schedule(const ScheduleArgs& a) {
  auto policy = read_policy(a.policy);
  if (!policy.ok()) return fail("schedule", policy.status().message());
  std::vector<Attempt> attempts = outage_attempts(*policy);
  Duration deactivation = policy->give_up_after;
  if (a.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < attempts.size(); ++i)
      list.push_back({{"attempt", i + 1},
                      {"at", format_duration(attempts[i].at)},
                      {"at_s", std::chrono::duration<double>(attempts[i].at).count()},
                      {"after", format_duration(attempts[i].delay)},
                      {"kind", attempts[i].kind}});
    nlohmann::ordered_json doc = {{"policy", policy_to_json(*policy)},
                                  {"attempts", std::move(list)},
                                  {"deactivation",
                                   {{"at", format_duration(deactivation)},
                                    {"at_s", std::chrono::duration<double>(deactivation).count()}}}};
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
                                                : format_duration(t.delay);
    std::cout << fmt::format("{:>7}  {:<20}  {}\n", i + 1, with_hours(t.at), after);
  }
  std::cout << fmt::format("deactivated at {}: {} attempts, none at or after the deactivation\n",
                           with_hours(deactivation), attempts.size());
  return 0;
}

}  // namespace

Command add_schedule(CLI::App& app) {
  auto args = std::make_shared<ScheduleArgs>();
  auto* cmd = app.add_subcommand("schedule", "Print a retry policy's attempts during a permanent outage");
  cmd->add_option("POLICY", args->policy,
                  "A preset name, a policy file (JSON, as a scenario's policy) or inline JSON")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  return [cmd, args]() { return *cmd ? schedule(*args) : -1; };
}

}  // namespace hooksim::cli
