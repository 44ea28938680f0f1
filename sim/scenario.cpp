#include "sim/scenario.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "protocol/subscription_json.h"

namespace hooksim::sim {
namespace {

using namespace json_input;

// The value of a parser that returns a Result, its error thrown on as the readers' ParseError.
template <class T>
T or_throw(Result<T> r) {
  if (!r.ok()) throw ParseError{r.status().message()};
  return std::move(*r);
}

ScenarioSubscription subscription(const json& j, const std::string& path, const RetryPolicy& default_policy) {
  Fields f(j, path);
  ScenarioSubscription s;
  s.config.id = string(f.need("id"), f.path("id"));
  if (Status st = validate_subscription_id(s.config.id); !st.ok()) fail(f.path("id"), st.message());
  read_subscription_fields(f, s.config, default_policy);
  const json* receiver_json = f.get("receiver");
  if (receiver_json)
    s.receiver = or_throw(protocol::parse_receiver_behaviour(*receiver_json, f.path("receiver"),
                                                             protocol::ReceiverContext::kSimulated));
  if (receiver_json && s.real())
    fail(f.path("url"), "give either url (a real receiver) or receiver (a simulated one), not both");
  f.no_unknown();
  return s;
}

EventSpec event(const json& j, const std::string& path, Duration scenario_duration) {
  Fields f(j, path);
  EventSpec e;
  const json* at = f.get("at");
  const json* every = f.get("every");
  if ((at != nullptr) == (every != nullptr))
    fail(path, "needs exactly one of at (one event) or every (a series)");
  if (at) {
    e.at = duration(*at, f.path("at"));
    if (e.at >= scenario_duration) fail(f.path("at"), "must be before the scenario's duration");
    if (const json* v = f.get("id")) {
      e.id = string(*v, f.path("id"));
      if (Status st = validate_event_id(e.id); !st.ok()) fail(f.path("id"), st.message());
    }
  } else {
    e.repeating = true;
    e.every = duration(*every, f.path("every"));
    if (e.every.count() <= 0) fail(f.path("every"), "must be greater than 0s");
    const json* from = f.get("from");
    const json* until = f.get("until");
    e.from = from ? duration(*from, f.path("from")) : Duration(0);
    e.until = until ? duration(*until, f.path("until")) : scenario_duration;
    if (e.until <= e.from) fail(f.path(until ? "until" : "from"), "the series must end after it starts");
  }
  e.type = string(f.need("type"), f.path("type"));
  if (const json* v = f.get("account")) e.account = string(*v, f.path("account"), true);
  if (const json* v = f.get("vehicle")) e.vehicle = string(*v, f.path("vehicle"), true);
  if (const json* v = f.get("data")) e.data = v->dump();
  f.no_unknown();
  return e;
}

Action action(const json& j, const std::string& path, const std::set<std::string>& subs,
              Duration scenario_duration) {
  Fields f(j, path);
  Action a;
  a.at = duration(f.need("at"), f.path("at"));
  if (a.at >= scenario_duration) fail(f.path("at"), "must be before the scenario's duration");
  std::string kind = string(f.need("action"), f.path("action"));
  if (kind == "restart") {
    a.kind = Action::Kind::kRestart;
  } else if (kind == "reactivate") {
    a.kind = Action::Kind::kReactivate;
    a.sub = string(f.need("sub"), f.path("sub"));
    if (!subs.contains(a.sub))
      fail(f.path("sub"), fmt::format("no subscription '{}' in this scenario", a.sub));
  } else {
    fail(f.path("action"), fmt::format("unknown action '{}' (one of restart, reactivate)", kind));
  }
  f.no_unknown();
  return a;
}

Scenario scenario(const json& j) {
  if (!j.is_object()) fail("scenario", "must be an object");
  Fields f(j, "");
  Scenario sc;
  if (const json* v = f.get("description")) {
    if (v->is_array()) {
      for (size_t i = 0; i < v->size(); ++i)
        sc.description += (i ? "\n" : "") + string((*v)[i], index("description", i), true);
    } else {
      sc.description = string(*v, "description", true);
    }
  }
  if (const json* v = f.get("seed")) {
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0))
      fail("seed", "must be a whole number >= 0");
    sc.seed = v->get<uint64_t>();
  }
  sc.start = TimePoint(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1).time_since_epoch());
  if (const json* v = f.get("start")) {
    auto t = parse_utc(string(*v, "start"));
    if (!t.ok()) fail("start", t.status().message());
    sc.start = *t;
  }
  sc.duration = duration(f.need("duration"), "duration");
  if (sc.duration.count() <= 0) fail("duration", "must be greater than 0s");
  if (const json* v = f.get("policy")) sc.policy = policy(*v, "policy");

  const json& subs = f.need("subscriptions");
  if (!subs.is_array() || subs.empty()) fail("subscriptions", "must be a non-empty array");
  std::set<std::string> ids;
  for (size_t i = 0; i < subs.size(); ++i) {
    sc.subscriptions.push_back(subscription(subs[i], index("subscriptions", i), sc.policy));
    if (!ids.insert(sc.subscriptions.back().config.id).second)
      fail(index("subscriptions", i) + ".id",
           fmt::format("duplicate id '{}'", sc.subscriptions.back().config.id));
  }
  if (const json* v = f.get("events")) {
    if (!v->is_array()) fail("events", "must be an array");
    std::set<std::string> event_ids;
    for (size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i].is_object() && (*v)[i].contains("fleet")) {
        if ((*v)[i].size() != 1) fail(index("events", i), "a fleet entry has only the field fleet");
        if (sc.fleet)
          fail(index("events", i), "only one fleet per scenario (its vehicles would repeat the first's)");
        sc.fleet = or_throw(parse_fleet((*v)[i].at("fleet"), index("events", i) + ".fleet", sc.duration));
        continue;
      }
      sc.events.push_back(event((*v)[i], index("events", i), sc.duration));
      const std::string& id = sc.events.back().id;
      if (!id.empty() && !event_ids.insert(id).second)
        fail(index("events", i) + ".id", fmt::format("duplicate event id '{}'", id));
      if (id.starts_with("evt_"))
        fail(index("events", i) + ".id", "ids starting with evt_ are reserved for generated ids");
    }
  }
  if (const json* v = f.get("actions")) {
    if (!v->is_array()) fail("actions", "must be an array");
    for (size_t i = 0; i < v->size(); ++i)
      sc.actions.push_back(action((*v)[i], index("actions", i), ids, sc.duration));
  }
  if (const json* v = f.get("expect")) sc.expect = or_throw(parse_expectations(*v, "expect", ids));
  f.no_unknown();
  return sc;
}

}  // namespace

Result<Scenario> parse_scenario(const nlohmann::json& j) {
  try {
    return scenario(j);
  } catch (const ParseError& e) {
    return Status::InvalidArgument(e.message);
  }
}

Result<Scenario> load_scenario(const std::string& path) {
  auto j = load_json_file(path);
  if (!j.ok()) return j.status();
  return parse_scenario(*j);
}

}  // namespace hooksim::sim
