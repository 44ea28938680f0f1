// The receiver-behaviour model (protocol/receiver_behaviour.h): its one decision function and its one parser
// in both contexts, a scenario's simulated receiver and a served receiver's script.
#include "protocol/receiver_behaviour.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace hooksim::protocol {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

Result<ReceiverBehaviour> parse(const std::string& text, ReceiverContext context,
                                const std::string& path = "") {
  return parse_receiver_behaviour(json::parse(text), path, context);
}

std::string error(const std::string& text, ReceiverContext context, const std::string& path = "") {
  auto b = parse(text, context, path);
  return b.ok() ? "(accepted)" : b.status().message();
}

ReceiverBehaviour behaviour(const std::string& text, ReceiverContext context) {
  auto b = parse(text, context);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? *b : ReceiverBehaviour{};
}

constexpr auto kSimulated = ReceiverContext::kSimulated;
constexpr auto kServed = ReceiverContext::kServed;

// --- decide ---

TEST(ReceiverBehaviourDecide, TheFirstWindowContainingTheTimeDecides) {
  ReceiverBehaviour b;
  b.latency = 5ms;
  b.windows = {{1h, 2h, ReceiverAction::kAnswer, 503, ErrorClass::kNone, 1s, std::nullopt},
               {1h, 3h, ReceiverAction::kTimeout, 200, ErrorClass::kNone, std::nullopt, std::nullopt},
               {3h, 4h, ReceiverAction::kError, 200, ErrorClass::kDns, std::nullopt, std::nullopt}};
  std::mt19937_64 rng(1);
  ReceiverDecision d = b.decide(90min, rng);
  EXPECT_EQ(d.action, ReceiverAction::kAnswer);
  EXPECT_EQ(d.status, 503);
  EXPECT_EQ(d.latency, 1s);  // the window's own latency
  d = b.decide(2h, rng);     // `until` is exclusive: the second window
  EXPECT_EQ(d.action, ReceiverAction::kTimeout);
  EXPECT_EQ(d.latency, 5ms);  // the behaviour's latency
  d = b.decide(3h, rng);
  EXPECT_EQ(d.action, ReceiverAction::kError);
  EXPECT_EQ(d.error, ErrorClass::kDns);
  d = b.decide(4h, rng);  // outside every window
  EXPECT_EQ(d.action, ReceiverAction::kAnswer);
  EXPECT_EQ(d.status, 200);
}

TEST(ReceiverBehaviourDecide, AnUnreadableTimeMatchesNoWindow) {
  ReceiverBehaviour b;
  b.windows = {{Duration::min(), Duration::max(), ReceiverAction::kTimeout, 200, ErrorClass::kNone, {}, {}}};
  std::mt19937_64 rng(1);
  EXPECT_EQ(b.decide(0ms, rng).action, ReceiverAction::kTimeout);
  EXPECT_EQ(b.decide(std::nullopt, rng).action, ReceiverAction::kAnswer);
}

TEST(ReceiverBehaviourDecide, FailRateDrawsFiftyThreeBitsOnlyOutsideWindows) {
  ReceiverBehaviour b;
  b.fail_rate = 0.5;
  b.fail_status = 500;
  b.windows = {{0ms, 1h, ReceiverAction::kAnswer, 204, ErrorClass::kNone, {}, {}}};
  std::mt19937_64 rng(42), expected(42);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(b.decide(30min, rng).status, 204);  // inside a window: no draw
    double u = static_cast<double>(expected() >> 11) * 0x1.0p-53;
    EXPECT_EQ(b.decide(2h, rng).status, u < 0.5 ? 500 : 200) << i;
  }
  EXPECT_EQ(rng(), expected());  // the same number of draws
}

TEST(ReceiverBehaviourDecide, NoFailRateDrawsNothing) {
  ReceiverBehaviour b;
  std::mt19937_64 rng(7), untouched(7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.decide(1h, rng).status, 200);
  EXPECT_EQ(rng(), untouched());
}

// --- parse: both contexts ---

TEST(ReceiverBehaviourParse, AnObjectBothContextsAcceptMeansTheSameInBoth) {
  const std::string text = R"({"latency": "40ms", "status": 204, "fail_rate": 0.25, "fail_status": 500,
      "windows": [{"from": "1h", "until": "2h", "status": 503, "latency": "1s"},
                  {"from": "3h", "until": "4h", "timeout": true}]})";
  ReceiverBehaviour simulated = behaviour(text, kSimulated), served = behaviour(text, kServed);
  for (const ReceiverBehaviour* b : {&simulated, &served}) {
    EXPECT_EQ(b->latency, 40ms);
    EXPECT_EQ(b->status, 204);
    EXPECT_EQ(b->fail_rate, 0.25);
    EXPECT_EQ(b->fail_status, 500);
    ASSERT_EQ(b->windows.size(), 2u);
    EXPECT_EQ(b->windows[0].from, 1h);
    EXPECT_EQ(b->windows[0].until, 2h);
    EXPECT_EQ(b->windows[0].action, ReceiverAction::kAnswer);
    EXPECT_EQ(b->windows[0].status, 503);
    EXPECT_EQ(b->windows[0].latency, std::optional<Duration>(1s));
    EXPECT_EQ(b->windows[1].action, ReceiverAction::kTimeout);
    EXPECT_FALSE(b->windows[1].latency.has_value());
    EXPECT_EQ(b->clock, ReceiverClock::kRelative);
    EXPECT_EQ(b->seed, 0u);
  }
}

TEST(ReceiverBehaviourParse, ErrorsNameTheFieldUnderThePathGiven) {
  EXPECT_EQ(error(R"({"windows": [{"from": "2h", "until": "1h", "status": 503}]})", kSimulated,
                  "subscriptions[3].receiver"),
            "subscriptions[3].receiver.windows[0].until: must be later than from");
  EXPECT_EQ(error(R"({"windows": [{"from": "2h", "until": "1h", "status": 503}]})", kServed),
            "windows[0].until: must be later than from");
  EXPECT_EQ(error("[]", kSimulated, "subscriptions[0].receiver"),
            "subscriptions[0].receiver: must be a JSON object");
}

TEST(ReceiverBehaviourParse, EachContextNamesTheOutcomesItHas) {
  const std::string none = R"({"windows": [{"from": "0s", "until": "1h"}]})";
  EXPECT_EQ(error(none, kSimulated), "windows[0]: needs exactly one of status, \"timeout\": true, error");
  EXPECT_EQ(error(none, kServed),
            "windows[0]: needs exactly one of status, \"timeout\": true, \"drop\": true");
}

TEST(ReceiverBehaviourParse, ASimulatedReceiverRefusesWhatOnlyAServedOneHas) {
  EXPECT_EQ(error(R"({"clock": "wall"})", kSimulated, "r"),
            "r.clock: not for a simulated receiver, which runs on the scenario's clock");
  EXPECT_EQ(error(R"({"start": "2026-01-01T00:00:00Z"})", kSimulated, "r"),
            "r.start: not for a simulated receiver, which has its windows relative to the scenario's start");
  EXPECT_EQ(error(R"({"seed": 1})", kSimulated, "r"),
            "r.seed: not for a simulated receiver, which draws from the scenario's seed");
  EXPECT_EQ(
      error(R"({"windows": [{"from": "0s", "until": "1h", "drop": true}]})", kSimulated, "r"),
      "r.windows[0].drop: a simulated receiver cannot drop a connection; use \"error\": \"reset\" (what "
      "the sender sees of a dropped connection)");
}

TEST(ReceiverBehaviourParse, AServedReceiverRefusesWhatOnlyASimulatedOneHas) {
  for (const char* e : {"connect", "tls", "dns", "reset"}) {
    SCOPED_TRACE(e);
    const std::string text =
        std::string(R"({"windows": [{"from": "0s", "until": "1h", "error": ")") + e + R"("}]})";
    EXPECT_EQ(behaviour(text, kSimulated).windows.at(0).action, ReceiverAction::kError);
    EXPECT_EQ(error(text, kServed),
              "windows[0].error: a served receiver cannot make the sender's connect, TLS handshake or DNS "
              "lookup fail; use \"drop\": true to close the connection");
  }
  // A 1xx cannot end an exchange on the wire.
  EXPECT_EQ(behaviour(R"({"status": 102})", kSimulated).status, 102);
  EXPECT_EQ(error(R"({"status": 102})", kServed), "status: must be an HTTP status code from 200 to 599");
  EXPECT_EQ(error(R"({"fail_status": 199})", kServed),
            "fail_status: must be an HTTP status code from 200 to 599");
  EXPECT_EQ(error(R"({"fail_status": 99})", kSimulated),
            "fail_status: must be an HTTP status code from 100 to 599");
  // A served timeout never answers, so a latency there means nothing; a simulated one accepts it.
  const std::string timeout_with_latency =
      R"({"windows": [{"from": "0s", "until": "1h", "timeout": true, "latency": "1s"}]})";
  EXPECT_EQ(behaviour(timeout_with_latency, kSimulated).windows.at(0).latency, std::optional<Duration>(1s));
  EXPECT_EQ(error(timeout_with_latency, kServed),
            "windows[0].latency: not allowed in a timeout window (it never answers)");
}

TEST(ReceiverBehaviourParse, AServedReceiverReadsItsClock) {
  ReceiverBehaviour b = behaviour(
      R"({"clock": "virtual", "start": "2026-01-01T00:00:00Z", "seed": 9, "windows": [
          {"from": "1h", "until": "2h", "drop": true, "latency": "1s"}]})",
      kServed);
  EXPECT_EQ(b.clock, ReceiverClock::kVirtual);
  EXPECT_EQ(b.start, *parse_utc("2026-01-01T00:00:00Z"));
  EXPECT_EQ(b.seed, 9u);
  EXPECT_EQ(b.windows.at(0).action, ReceiverAction::kDrop);
  EXPECT_EQ(b.windows.at(0).latency, std::optional<Duration>(1s));
  // On the wall clock window bounds are RFC 3339 times, kept as offsets from the Unix epoch.
  b = behaviour(R"({"clock": "wall", "windows": [
                    {"from": "2026-01-01T00:00:00Z", "until": "2026-01-01T01:00:00Z", "status": 503}]})",
                kServed);
  EXPECT_EQ(TimePoint(b.windows.at(0).from), *parse_utc("2026-01-01T00:00:00Z"));
  EXPECT_EQ(TimePoint(b.windows.at(0).until), *parse_utc("2026-01-01T01:00:00Z"));
}

}  // namespace
}  // namespace hooksim::protocol
