// sim::run_simulation over what a command wires in: the clock, the store and the transport for real
// receivers are injected (cli/scenario_run.h wires them for simulate and run); the runner plays the scenario.
#include "sim/runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/scenario_run.h"
#include "engine/clock.h"
#include "net/curl_transport.h"
#include "sim/scenario.h"
#include "storage/memory_store.h"

namespace hooksim::sim {
namespace {

using nlohmann::json;

// Real receivers, played in virtual time: every request is answered 200 after 10 ms of the run's clock.
class FakeHttp final : public Transport {
 public:
  explicit FakeHttp(Scheduler& clock) : clock_(clock) {}
  AttemptHandle send(const DeliveryRequest& request, Done done) override {
    ++requests[request.subscription->id];
    AttemptHandle h = next_++;
    timers_[h] = clock_.schedule_at(clock_.now() + Duration(10), [this, h, done = std::move(done)] {
      timers_.erase(h);
      done({200, ErrorClass::kNone, Duration(10)});
    });
    return h;
  }
  void cancel(AttemptHandle h) override {
    if (auto it = timers_.find(h); it != timers_.end()) {
      clock_.cancel(it->second);
      timers_.erase(it);
    }
  }
  std::map<std::string, int> requests;  // by subscription id

 private:
  Scheduler& clock_;
  AttemptHandle next_ = 1;
  std::map<AttemptHandle, TimerId> timers_;
};

Scenario scenario_with_a_real_and_a_simulated_receiver() {
  json j = {{"start", "2026-01-01T00:00:00Z"},
            {"duration", "1h"},
            {"subscriptions",
             {{{"id", "real"}, {"url", "http://receiver.example/hooks"}, {"token", "t"}},
              {{"id", "simulated"}, {"receiver", {{"latency", "20ms"}}}}}},
            {"events", {{{"every", "10m"}, {"type", "tracking"}}}},
            {"actions", {{{"at", "25m"}, {"action", "restart"}}, {{"at", "45m"}, {"action", "restart"}}}}};
  auto sc = parse_scenario(j);
  EXPECT_TRUE(sc.ok()) << sc.status().message();
  return *sc;
}

TEST(Runner, PlaysTheScenarioOnTheWiredClockStoreAndTransport) {
  Scenario sc = scenario_with_a_real_and_a_simulated_receiver();
  VirtualScheduler clock(sc.start);
  FakeHttp http(clock);
  storage::MemoryQueueStore store;
  int opened = 0;
  std::vector<TimePoint> ran_until;
  RunWiring wiring{.scheduler = &clock,
                   .run_until =
                       [&](TimePoint end) {
                         ran_until.push_back(end);
                         clock.run_until(end);
                       },
                   .open_store = [&]() -> Result<QueueStore*> {
                     ++opened;
                     return &store;
                   },
                   .http = &http};
  auto summary = run_simulation(sc, {}, wiring);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(ran_until, std::vector<TimePoint>{sc.start + sc.duration});
  EXPECT_EQ(opened, 3);  // at the start and after each of the two restarts
  EXPECT_EQ(summary->events_published, 6u);
  // The subscription with a url went to the wired transport, the other to its simulated receiver.
  EXPECT_EQ(http.requests, (std::map<std::string, int>{{"real", 6}}));
  EXPECT_EQ(summary->delivered, 12u);
  EXPECT_EQ(summary->attempts, 12u);
}

TEST(Runner, AUrlWithoutATransportForRealReceiversIsRefusedBeforeTheStoreIsOpened) {
  Scenario sc = scenario_with_a_real_and_a_simulated_receiver();
  VirtualScheduler clock(sc.start);
  int opened = 0;
  RunWiring wiring{.scheduler = &clock,
                   .run_until = [&](TimePoint end) { clock.run_until(end); },
                   .open_store = [&]() -> Result<QueueStore*> {
                     ++opened;
                     return Status::IOError("not expected");
                   }};
  auto summary = run_simulation(sc, {}, wiring);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(summary.status().message().rfind("subscriptions[0].url: simulate sends nothing", 0), 0u)
      << summary.status().message();
  EXPECT_EQ(opened, 0);
}

TEST(Runner, AStoreThatCannotBeOpenedEndsTheRunWithItsError) {
  Scenario sc = scenario_with_a_real_and_a_simulated_receiver();
  VirtualScheduler clock(sc.start);
  FakeHttp http(clock);
  RunWiring wiring{.scheduler = &clock,
                   .run_until = [&](TimePoint end) { clock.run_until(end); },
                   .open_store = []() -> Result<QueueStore*> { return Status::IOError("disk gone"); },
                   .http = &http};
  auto summary = run_simulation(sc, {}, wiring);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), Status::Code::kIOError);
  EXPECT_EQ(summary.status().message(), "disk gone");
}

TEST(ScenarioWiring, ADataDirectoryMustBeEmptyUrlsNeedRunAndPrivateHostsAreRefusedOnlyWhenAsked) {
  Scenario sc = scenario_with_a_real_and_a_simulated_receiver();
  std::string dir = testing::TempDir() + "runner_test_not_empty";
  std::filesystem::create_directories(dir + "/x");
  Status st = cli::check_simulate_fits(sc, dir);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "--data " + dir + ": directory is not empty (a scenario starts from an empty store)");
  EXPECT_EQ(cli::check_run_fits(sc, dir, net::CurlOptions{}).message(), st.message());
  std::filesystem::remove_all(dir);

  EXPECT_EQ(cli::check_simulate_fits(sc, "").message().rfind("subscriptions[0].url: ", 0), 0u);
  EXPECT_TRUE(cli::check_run_fits(sc, "", net::CurlOptions{}).ok());
  sc.subscriptions[0].config.endpoint.url = "http://127.0.0.1:8080/hooks";
  net::CurlOptions refuse;
  EXPECT_TRUE(cli::check_run_fits(sc, "", refuse).ok());
  refuse.refuse_private_addresses = true;
  st = cli::check_run_fits(sc, "", refuse);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("subscriptions[0].url: host '127.0.0.1' is a private or loopback address", 0),
            0u)
      << st.message();
}

}  // namespace
}  // namespace hooksim::sim
