// Fuzzes the scenario reader (sim/scenario.h): any bytes either fail to parse as JSON or give a Scenario or
// a clean error naming a field; nothing may crash, hang, leak or throw.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "sim/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto scenario = hooksim::sim::parse_scenario(j);
  if (!scenario.ok() && scenario.status().message().empty()) __builtin_trap();  // errors say why
  return 0;
}
