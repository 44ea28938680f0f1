// SimTransport: a Transport whose receivers are models answering in virtual time.
#pragma once

#include <random>
#include <string>
#include <unordered_map>

#include "engine/clock.h"
#include "engine/transport.h"
#include "protocol/receiver_behaviour.h"

namespace hooksim::sim {

class SimTransport final : public Transport {
 public:
  // Window times are relative to `start`. Random draws (fail_rate) come from per-subscription generators
  // seeded from `seed` and the subscription id, so they do not depend on other subscriptions' traffic.
  SimTransport(Scheduler& scheduler, TimePoint start, uint64_t seed);

  // Sets the receiver behaviour for subscription `sub_id` (a ReceiverContext::kSimulated one: no kDrop
  // windows). A subscription without one gets ReceiverBehaviour{} (200 after 0ms).
  void set_receiver(const std::string& sub_id, protocol::ReceiverBehaviour behaviour);

  // Asks the behaviour for its decision at the attempt's start time (relative to `start`) and completes the
  // attempt through the scheduler after the decision's latency, or after the attempt timeout when that is
  // shorter or the decision is a timeout.
  AttemptHandle send(const DeliveryRequest& request, Done done) override;
  void cancel(AttemptHandle handle) override;

 private:
  struct Receiver {
    protocol::ReceiverBehaviour behaviour;
    std::mt19937_64 rng;
  };
  Receiver& receiver(const std::string& sub_id);

  Scheduler& scheduler_;
  TimePoint start_;
  uint64_t seed_;
  std::unordered_map<std::string, Receiver> receivers_;
};

}  // namespace hooksim::sim
