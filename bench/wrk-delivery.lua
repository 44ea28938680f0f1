-- wrk script for scripts/bench.sh: POSTs what hooksim serve sends to a receiver (docs/wire-format.md): the same
-- headers (unsigned, like a subscription without secret), a fresh webhook-id and sequence per request, and a
-- 300-byte tracking envelope. It is the ceiling the delivery throughput is compared with.
local n = 0
local body = '{"id":"evt","type":"tracking","account":"acme","vehicle":"v-1","occurred_at":"2026-03-02T08:00:00.000Z",' ..
  '"data":{"lat":38.72231,"lon":-9.13934,"speed_kmh":72,"heading":184,"ignition":true,"odometer_km":182734.2,' ..
  '"gps_time":"2026-03-02T08:00:00Z"}}'

function setup(thread)
  thread:set("sub", "wrk-" .. tostring(thread))
end

request = function()
  n = n + 1
  return wrk.format("POST", "/", {
    ["content-type"] = "application/json",
    ["user-agent"] = "hooksim/0.1.0",
    ["webhook-id"] = "wrk-" .. n,
    ["webhook-timestamp"] = "1764374400",
    ["hooksim-sequence"] = tostring(n),
    ["hooksim-attempt"] = "1",
    ["hooksim-virtual-time"] = "2026-03-02T08:00:00.000Z",
    ["hooksim-subscription"] = sub,
  }, body)
end
