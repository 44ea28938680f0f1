#include "receiver/behaviour.h"

#include "protocol/json_input.h"

namespace hooksim::receiver {

Result<protocol::ReceiverBehaviour> load_script(const std::string& path) {
  auto j = json_input::load_json_file(path);
  if (!j.ok()) return j.status();
  return protocol::parse_receiver_behaviour(*j, "", protocol::ReceiverContext::kServed);
}

ServedBehaviour::ServedBehaviour(protocol::ReceiverBehaviour behaviour)
    : behaviour_(std::move(behaviour)), rng_(behaviour_.seed) {}

protocol::ReceiverDecision ServedBehaviour::decide(const std::optional<std::string>& virtual_time) {
  std::optional<Duration> t;
  if (!behaviour_.windows.empty()) {  // no clock to read without windows
    switch (behaviour_.clock) {
      case protocol::ReceiverClock::kRelative:
        t = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - origin_);
        break;
      case protocol::ReceiverClock::kWall:
        t = std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch());
        break;
      case protocol::ReceiverClock::kVirtual:
        if (virtual_time) {
          if (auto vt = parse_utc(*virtual_time); vt.ok()) t = *vt - behaviour_.start;
        }
        break;
    }
  }
  if (behaviour_.fail_rate <= 0.0) return behaviour_.decide(t, rng_);  // draws nothing: no lock needed
  std::lock_guard lock(rng_mu_);
  return behaviour_.decide(t, rng_);
}

}  // namespace hooksim::receiver
