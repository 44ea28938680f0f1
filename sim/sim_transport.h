// SimTransport: a Transport whose receivers are models answering in virtual time.
#pragma once

#include <random>
#include <string>
#include <unordered_map>

#include "engine/clock.h"
#include "engine/transport.h"
#include "sim/scenario.h"

namespace hooksim::sim {

class SimTransport final : public Transport {
 public:
  // Window times are relative to `start`. Random draws (fail_rate) come from per-subscription generators
  // seeded from `seed` and the subscription id, so they do not depend on other subscriptions' traffic.
  SimTransport(Scheduler& scheduler, TimePoint start, uint64_t seed);

  // Sets the receiver model for subscription `sub_id`. A subscription without one gets ReceiverModel{}
  // (200 after 0ms).
  void set_receiver(const std::string& sub_id, ReceiverModel model);

  // Decides the answer from the model at the attempt's start time and completes it through the scheduler
  // after the answer's latency (or the attempt timeout, whichever is shorter).
  AttemptHandle send(const DeliveryRequest& request, Done done) override;
  void cancel(AttemptHandle handle) override;

 private:
  struct Receiver {
    ReceiverModel model;
    std::mt19937_64 rng;
  };
  Receiver& receiver(const std::string& sub_id);

  Scheduler& scheduler_;
  TimePoint start_;
  uint64_t seed_;
  std::unordered_map<std::string, Receiver> receivers_;
};

}  // namespace hooksim::sim
