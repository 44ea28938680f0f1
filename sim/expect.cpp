#include "sim/expect.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "protocol/json_input.h"
#include "sim/runner.h"

namespace hooksim::sim {
namespace {

using namespace json_input;

constexpr std::array<const char*, 8> kTotals{"events_published", "delivered",       "attempts",
                                             "failed_attempts",  "discarded",       "dropped_inactive",
                                             "exhausted",        "order_violations"};
constexpr std::array<const char*, 7> kPerSubscription{
    "delivered", "attempts", "failed_attempts", "backlog", "discarded", "dropped_inactive", "exhausted"};

uint64_t whole(const json& j, const std::string& path) {
  if (!j.is_number_integer() || (!j.is_number_unsigned() && j.get<int64_t>() < 0))
    fail(path, "must be a whole number >= 0, or {\"min\": N, \"max\": M}");
  return j.get<uint64_t>();
}

ExpectedCount expected_count(const json& j, const std::string& path) {
  if (!j.is_object()) {
    uint64_t v = whole(j, path);
    return {v, v};
  }
  Fields f(j, path);
  const json* lo = f.get("min");
  const json* hi = f.get("max");
  if (lo == nullptr && hi == nullptr) fail(path, "needs min, max or both");
  ExpectedCount c{lo ? whole(*lo, f.path("min")) : 0, hi ? whole(*hi, f.path("max")) : UINT64_MAX};
  if (c.max < c.min) fail(f.path("max"), "must not be less than min");
  f.no_unknown();
  return c;
}

template <size_t N>
void read_counts(Fields& f, const std::array<const char*, N>& names,
                 std::map<std::string, ExpectedCount>& out) {
  for (const char* name : names)
    if (const json* v = f.get(name)) out[name] = expected_count(*v, f.path(name));
}

std::string describe(const ExpectedCount& c) {
  if (c.min == c.max) return fmt::format("{}", c.min);
  if (c.max == UINT64_MAX) return fmt::format("at least {}", c.min);
  if (c.min == 0) return fmt::format("at most {}", c.max);
  return fmt::format("{} to {}", c.min, c.max);
}

void check(const std::string& path, const ExpectedCount& c, uint64_t got, std::vector<std::string>& out) {
  if (got < c.min || got > c.max)
    out.push_back(fmt::format("{}: expected {}, got {}", path, describe(c), got));
}

std::string list(const std::vector<std::string>& v) {
  return nlohmann::json(v).dump();
}

}  // namespace

Result<Expectations> parse_expectations(const nlohmann::json& j, const std::string& path,
                                        const std::set<std::string>& subscription_ids) {
  try {
    Fields f(j, path);
    Expectations e;
    read_counts(f, kTotals, e.counts);
    if (const json* v = f.get("deactivated")) {
      e.deactivated = string_list(v, f.path("deactivated"));
      for (size_t i = 0; i < e.deactivated->size(); ++i)
        if (!subscription_ids.contains((*e.deactivated)[i]))
          fail(index(f.path("deactivated"), i),
               fmt::format("no subscription '{}' in this scenario", (*e.deactivated)[i]));
    }
    if (const json* v = f.get("subscriptions")) {
      if (!v->is_object()) fail(f.path("subscriptions"), "must be an object: {\"<subscription id>\": {...}}");
      for (const auto& [id, sub_json] : v->items()) {
        std::string sub_path = join(f.path("subscriptions"), id);
        if (!subscription_ids.contains(id))
          fail(sub_path, fmt::format("no subscription '{}' in this scenario", id));
        Fields sf(sub_json, sub_path);
        SubscriptionExpectations se;
        if (const json* st = sf.get("state")) {
          se.state = string(*st, sf.path("state"));
          if (*se.state != "active" && *se.state != "retrying" && *se.state != "deactivated")
            fail(sf.path("state"),
                 fmt::format("unknown state '{}' (one of active, retrying, deactivated)", *se.state));
        }
        read_counts(sf, kPerSubscription, se.counts);
        sf.no_unknown();
        e.subscriptions[id] = std::move(se);
      }
    }
    f.no_unknown();
    return e;
  } catch (const ParseError& err) {
    return Status::InvalidArgument(err.message);
  }
}

// The names of the counts are those of the summary's JSON (Summary::to_json()), so they are looked up there.
size_t count_expectations(const Expectations& expect) {
  size_t n = expect.counts.size() + (expect.deactivated ? 1 : 0);
  for (const auto& [id, se] : expect.subscriptions) n += se.counts.size() + (se.state ? 1 : 0);
  return n;
}

std::vector<std::string> check_expectations(const Expectations& expect, const Summary& summary) {
  std::vector<std::string> out;
  const nlohmann::ordered_json got = summary.to_json();
  for (const auto& [name, c] : expect.counts) check("expect." + name, c, got[name].get<uint64_t>(), out);
  if (expect.deactivated && *expect.deactivated != summary.deactivated)
    out.push_back(fmt::format("expect.deactivated: expected {}, got {}", list(*expect.deactivated),
                              list(summary.deactivated)));
  for (const auto& [id, se] : expect.subscriptions) {
    std::string path = "expect.subscriptions." + id;
    if (!got["subscriptions"].contains(id)) {
      out.push_back(fmt::format("{}: not in the run's summary", path));
      continue;
    }
    const auto& s = got["subscriptions"][id];
    if (se.state && *se.state != s["state"])
      out.push_back(
          fmt::format("{}.state: expected {}, got {}", path, *se.state, s["state"].get<std::string>()));
    for (const auto& [name, c] : se.counts) check(path + "." + name, c, s[name].get<uint64_t>(), out);
  }
  return out;
}

}  // namespace hooksim::sim
