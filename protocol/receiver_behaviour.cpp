#include "protocol/receiver_behaviour.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/transport.h"
#include "protocol/json_input.h"

namespace hooksim::protocol {

ReceiverDecision ReceiverBehaviour::decide(std::optional<Duration> t, std::mt19937_64& rng) const {
  if (t) {
    for (const ReceiverWindow& w : windows)
      if (w.from <= *t && *t < w.until) {
        ReceiverDecision d{w.action, w.status, w.error, w.latency.value_or(latency), std::nullopt};
        if (w.action == ReceiverAction::kAnswer && !is_2xx(w.status))
          d.retry_after = w.retry_after.has_value() ? w.retry_after : retry_after;
        return d;
      }
  }
  ReceiverDecision d{ReceiverAction::kAnswer, status, ErrorClass::kNone, latency, std::nullopt};
  if (fail_rate > 0.0 && static_cast<double>(rng() >> 11) * 0x1.0p-53 < fail_rate) d.status = fail_status;
  if (!is_2xx(d.status)) d.retry_after = retry_after;
  return d;
}

namespace {

using namespace json_input;

class Parser {
 public:
  explicit Parser(ReceiverContext context) : served_(context == ReceiverContext::kServed) {}

  ReceiverBehaviour behaviour(const json& j, const std::string& path) {
    Fields f(j, path);
    ReceiverBehaviour b;
    if (const json* v = f.get("clock")) {
      simulated_refuses(f.path("clock"), "runs on the scenario's clock");
      constexpr std::string_view kClocks[] = {"relative", "wall", "virtual"};  // in ReceiverClock's order
      auto it = std::ranges::find(kClocks, v->is_string() ? v->get<std::string>() : "");
      if (it == std::end(kClocks))
        fail(f.path("clock"), "must be one of \"relative\", \"wall\", \"virtual\"");
      b.clock = static_cast<ReceiverClock>(it - std::begin(kClocks));
    }
    clock_ = b.clock;
    if (const json* v = f.get("start")) {
      simulated_refuses(f.path("start"), "has its windows relative to the scenario's start");
      if (b.clock != ReceiverClock::kVirtual) fail(f.path("start"), "only used with \"clock\": \"virtual\"");
      b.start = utc(*v, f.path("start"));
    } else if (b.clock == ReceiverClock::kVirtual) {
      f.need("start");
    }
    if (const json* v = f.get("latency")) b.latency = duration(*v, f.path("latency"));
    if (const json* v = f.get("status")) b.status = status(*v, f.path("status"));
    if (const json* v = f.get("windows")) {
      if (!v->is_array()) fail(f.path("windows"), "must be an array");
      for (size_t i = 0; i < v->size(); ++i)
        b.windows.push_back(window((*v)[i], index(f.path("windows"), i)));
    }
    if (const json* v = f.get("fail_rate")) {
      if (!v->is_number() || v->get<double>() < 0.0 || v->get<double>() > 1.0)
        fail(f.path("fail_rate"), "must be a number from 0 to 1");
      b.fail_rate = v->get<double>();
    }
    if (const json* v = f.get("fail_status")) b.fail_status = status(*v, f.path("fail_status"));
    if (const json* v = f.get("retry_after")) b.retry_after = retry_after(*v, f.path("retry_after"));
    if (const json* v = f.get("seed")) {
      simulated_refuses(f.path("seed"), "draws from the scenario's seed");
      if (!v->is_number_unsigned()) fail(f.path("seed"), "must be a whole number >= 0");
      b.seed = v->get<uint64_t>();
    }
    f.no_unknown();
    return b;
  }

 private:
  // A field only a served receiver's script has: in a scenario it would be silently meaningless.
  void simulated_refuses(const std::string& path, const std::string& because) const {
    if (!served_) fail(path, fmt::format("not for a simulated receiver, which {}", because));
  }

  // A served receiver's answers end an exchange, so a 1xx is not one of them.
  int status(const json& j, const std::string& path) const {
    return http_status(j, path, served_ ? 200 : 100);
  }

  // A window bound: a duration, or an RFC 3339 time on a served receiver's wall clock.
  Duration bound(const json& j, const std::string& path) const {
    if (clock_ == ReceiverClock::kWall) return utc(j, path).time_since_epoch();
    return duration(j, path);
  }

  ReceiverWindow window(const json& j, const std::string& path) const {
    Fields f(j, path);
    ReceiverWindow w;
    w.from = bound(f.need("from"), f.path("from"));
    w.until = bound(f.need("until"), f.path("until"));
    if (w.until <= w.from) fail(f.path("until"), "must be later than from");
    int outcomes = 0;
    if (const json* v = f.get("status")) {
      w.status = status(*v, f.path("status"));
      w.action = ReceiverAction::kAnswer;
      ++outcomes;
    }
    if (const json* v = f.get("timeout"); v != nullptr && flag(*v, f.path("timeout"))) {
      w.action = ReceiverAction::kTimeout;
      ++outcomes;
    }
    if (const json* v = f.get("drop")) {
      if (!served_)
        fail(f.path("drop"),
             "a simulated receiver cannot drop a connection; use \"error\": \"reset\" (what the sender sees "
             "of a dropped connection)");
      if (flag(*v, f.path("drop"))) {
        w.action = ReceiverAction::kDrop;
        ++outcomes;
      }
    }
    if (const json* v = f.get("error")) {
      if (served_)
        fail(f.path("error"),
             "a served receiver cannot make the sender's connect, TLS handshake or DNS lookup fail; use "
             "\"drop\": true to close the connection");
      std::string name = string(*v, f.path("error"));
      auto e = error_class_from_string(name);
      if (!e || (*e != ErrorClass::kConnect && *e != ErrorClass::kTls && *e != ErrorClass::kDns &&
                 *e != ErrorClass::kReset))
        fail(f.path("error"), fmt::format("unknown error '{}' (one of connect, tls, dns, reset)", name));
      w.action = ReceiverAction::kError;
      w.error = *e;
      ++outcomes;
    }
    if (outcomes != 1)
      fail(path, served_ ? "needs exactly one of status, \"timeout\": true, \"drop\": true"
                         : "needs exactly one of status, \"timeout\": true, error");
    if (const json* v = f.get("latency")) {
      if (served_ && w.action == ReceiverAction::kTimeout)
        fail(f.path("latency"), "not allowed in a timeout window (it never answers)");
      w.latency = duration(*v, f.path("latency"));
    }
    if (const json* v = f.get("retry_after")) {
      if (w.action != ReceiverAction::kAnswer) fail(f.path("retry_after"), "only with a status (an answer)");
      w.retry_after = retry_after(*v, f.path("retry_after"));
    }
    f.no_unknown();
    return w;
  }

  // Whole seconds, as the header carries them.
  static Duration retry_after(const json& j, const std::string& path) {
    Duration d = duration(j, path);
    if (d % std::chrono::seconds(1) != Duration(0) || d > std::chrono::days(3650))
      fail(path, "must be whole seconds, at most 3650d");
    return d;
  }

  bool served_;
  ReceiverClock clock_ = ReceiverClock::kRelative;
};

}  // namespace

Result<ReceiverBehaviour> parse_receiver_behaviour(const nlohmann::json& j, const std::string& path,
                                                   ReceiverContext context) {
  try {
    return Parser(context).behaviour(j, path);
  } catch (const ParseError& e) {
    return Status::InvalidArgument(e.message);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(e.what());
  }
}

}  // namespace hooksim::protocol
