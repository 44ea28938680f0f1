#include "engine/event.h"

#include <nlohmann/json.hpp>

namespace hooksim {

namespace {
std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }
}  // namespace

std::string make_envelope(const Event& event) {
  std::string out;
  out.reserve(96 + event.id.size() + event.type.size() + event.account.size() + event.vehicle.size() +
              event.data.size());
  out += "{\"id\":";
  out += quoted(event.id);
  out += ",\"type\":";
  out += quoted(event.type);
  out += ",\"account\":";
  out += quoted(event.account);
  out += ",\"vehicle\":";
  out += quoted(event.vehicle);
  out += ",\"occurred_at\":\"";
  out += format_utc(event.occurred_at);
  out += "\",\"data\":";
  out += event.data;
  out += '}';
  return out;
}

}  // namespace hooksim
