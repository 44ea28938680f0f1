#include "sim/sim_transport.h"

namespace hooksim::sim {
namespace {

// FNV-1a: a stable hash (std::hash is not stable across standard libraries).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// A uniform double in [0, 1) from 53 random bits: unlike std::uniform_real_distribution, the same on every
// standard library, so a seed gives the same run everywhere.
double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace

SimTransport::SimTransport(Scheduler& scheduler, TimePoint start, uint64_t seed)
    : scheduler_(scheduler), start_(start), seed_(seed) {}

SimTransport::Receiver& SimTransport::receiver(const std::string& sub_id) {
  auto it = receivers_.find(sub_id);
  if (it == receivers_.end())
    it = receivers_.emplace(sub_id, Receiver{ReceiverModel{}, std::mt19937_64(seed_ ^ fnv1a(sub_id))}).first;
  return it->second;
}

void SimTransport::set_receiver(const std::string& sub_id, ReceiverModel model) {
  receiver(sub_id).model = std::move(model);
}

AttemptHandle SimTransport::send(const DeliveryRequest& request, Done done) {
  Receiver& r = receiver(request.subscription->id);
  const ReceiverModel& m = r.model;
  Duration t = scheduler_.now() - start_;
  AttemptResult result;
  Duration latency = m.latency;
  const ReceiverWindow* window = nullptr;
  for (const ReceiverWindow& w : m.windows) {
    if (t >= w.from && t < w.until) {
      window = &w;
      break;
    }
  }
  if (window != nullptr) {
    if (window->latency) latency = *window->latency;
    if (window->timeout) {
      latency = request.timeout;
      result.error = ErrorClass::kTimeout;
    } else if (window->error != ErrorClass::kNone) {
      result.error = window->error;
    } else {
      result.status = window->status;
    }
  } else if (m.fail_rate > 0.0 && uniform01(r.rng) < m.fail_rate) {
    result.status = m.fail_status;
  } else {
    result.status = m.status;
  }
  if (latency >= request.timeout) {
    latency = request.timeout;
    result.status = 0;
    result.error = ErrorClass::kTimeout;
  }
  result.latency = latency;
  return scheduler_.schedule_at(scheduler_.now() + latency,
                                [done = std::move(done), result] { done(result); });
}

void SimTransport::cancel(AttemptHandle handle) {
  scheduler_.cancel(handle);
}

}  // namespace hooksim::sim
