#include "sim/sim_transport.h"

#include "engine/seeded.h"

namespace hooksim::sim {

SimTransport::SimTransport(Scheduler& scheduler, TimePoint start, uint64_t seed)
    : scheduler_(scheduler), start_(start), seed_(seed) {}

SimTransport::Receiver& SimTransport::receiver(const std::string& sub_id) {
  auto it = receivers_.find(sub_id);
  if (it == receivers_.end())
    it = receivers_.emplace(sub_id, Receiver{{}, std::mt19937_64(seed_ ^ fnv1a(sub_id))}).first;
  return it->second;
}

void SimTransport::set_receiver(const std::string& sub_id, protocol::ReceiverBehaviour behaviour) {
  receiver(sub_id).behaviour = std::move(behaviour);
}

AttemptHandle SimTransport::send(const DeliveryRequest& request, Done done) {
  using protocol::ReceiverAction;
  Receiver& r = receiver(request.subscription->id);
  protocol::ReceiverDecision d = r.behaviour.decide(scheduler_.now() - start_, r.rng);
  AttemptResult result;
  Duration latency = d.latency;
  switch (d.action) {
    case ReceiverAction::kAnswer:
      result.status = d.status;
      result.retry_after = d.retry_after;
      break;
    case ReceiverAction::kTimeout:
      latency = request.timeout;
      result.error = ErrorClass::kTimeout;
      break;
    case ReceiverAction::kDrop:  // what a sender sees of a connection closed without an answer
      result.error = ErrorClass::kReset;
      break;
    case ReceiverAction::kError:
      result.error = d.error;
      break;
  }
  if (latency >= request.timeout) {
    latency = request.timeout;
    result.status = 0;
    result.error = ErrorClass::kTimeout;
    result.retry_after.reset();
  }
  result.latency = latency;
  return scheduler_.schedule_at(scheduler_.now() + latency,
                                [done = std::move(done), result] { done(result); });
}

void SimTransport::cancel(AttemptHandle handle) {
  scheduler_.cancel(handle);
}

}  // namespace hooksim::sim
