// hooksim init [DIR] [--url URL] and hooksim secret: a receiver team's first files. `init` writes two
// starting scenarios, each explained in its description (one for simulate, one for run); `secret` prints a
// fresh Standard Webhooks secret. Docs: README.md ("hooksim init, schedule, secret") and docs/scaffolding.md.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "protocol/signing.h"

namespace hooksim::cli {
namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:8000/webhooks";
constexpr const char* kSimulateFile = "simulated-outage.json";
constexpr const char* kRunFile = "my-receiver.json";

// A fresh Standard Webhooks secret: "whsec_" and the base64 of 32 random bytes (OpenSSL's RAND_bytes).
std::string new_secret() {
  std::string hex = protocol::random_hex(64), bytes;
  for (size_t i = 0; i < hex.size(); i += 2)
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return "whsec_" + protocol::base64_encode(bytes);
}

// Runs as is under `hooksim simulate`: a fleet source and a simulated receiver with an outage.
constexpr const char* kSimulateScenario = R"({
  "description": [
    "A starting scenario for hooksim simulate (written by hooksim init). Run it as is:",
    "  hooksim simulate simulated-outage.json --timeline",
    "A fleet of 5 vehicles in one account reports for 3 days: tracking every 5 minutes, driving-time",
    "updates every 15 minutes and now and then a driver message (docs/fleet-events.md). Two subscriptions,",
    "each with a simulated receiver. 'tracking' is down (503) from 6h to 30h of the run: the timeline shows",
    "the documented retry schedule (the failure at 6h, 3 immediate retries, then 5m, 15m, 35m, 1h, 2h30m,",
    "5h, 10h30m, 21h later), the backlog held in order meanwhile, and its drain after the retry at 46h55m",
    "succeeds. 'driving-time' is never down: subscriptions are independent. The expect block states what the",
    "run must show (simulate exits 1 otherwise). Things to try: make the outage longer than 7 days",
    "(\"until\": \"8d\", \"duration\": \"9d\") to see the deactivation, or set \"policy\" to an object to try",
    "another schedule (docs/scenario.md; hooksim schedule prints one)."
  ],
  "seed": 1,
  "start": "2026-03-02T00:00:00Z",
  "duration": "4d",
  "policy": "frotcom",
  "subscriptions": [
    {"id": "tracking", "filter": {"types": ["tracking"]},
     "receiver": {"latency": "80ms", "windows": [{"from": "6h", "until": "30h", "status": 503}]}},
    {"id": "driving-time", "filter": {"types": ["driving_time", "message"]}, "receiver": {"latency": "40ms"}}
  ],
  "events": [
    {"fleet": {"accounts": 1, "vehicles": 5, "until": "3d", "tracking_every": "5m", "messages_per_hour": 0.5,
               "driving_time_every": "15m"}}
  ],
  "expect": {
    "failed_attempts": 11, "discarded": 0, "deactivated": [], "order_violations": 0,
    "subscriptions": {
      "tracking": {"state": "active", "delivered": 4320, "failed_attempts": 11, "backlog": 0},
      "driving-time": {"state": "active", "failed_attempts": 0, "backlog": 0}
    }
  }
}
)";

// For `hooksim run`: real HTTP to @URL@, signed with @SECRET@.
constexpr const char* kRunScenario = R"({
  "description": [
    "A starting scenario for hooksim run (written by hooksim init): real, signed HTTP deliveries to the url",
    "below, as the platform sends them (docs/wire-format.md). To try it against hooksim's own mock receiver",
    "at the default url (http://127.0.0.1:8000/webhooks), in two terminals:",
    "  hooksim receiver --listen 127.0.0.1:8000 --secret @SECRET@",
    "  hooksim run my-receiver.json --timeline",
    "For your receiver: set url to its webhook route and secret to the whsec_ secret it verifies with",
    "(hooksim secret prints a new one), or use \"token\" instead of \"secret\" for a bearer token. A fleet of",
    "2 vehicles reports for an hour (tracking every minute, driving time every 15 minutes, a few messages).",
    "Time is accelerated: idle time is skipped, so the hour takes seconds, and so would a week of retries",
    "(README.md, hooksim run). Before going live, run hooksim check against the same url."
  ],
  "seed": 1,
  "duration": "2h",
  "subscriptions": [
    {"id": "my-receiver", "url": @URL@, "secret": "@SECRET@",
     "filter": {"types": ["tracking", "message", "driving_time"]}}
  ],
  "events": [
    {"fleet": {"accounts": 1, "vehicles": 2, "until": "1h", "tracking_every": "1m", "messages_per_hour": 2,
               "driving_time_every": "15m"}}
  ]
}
)";

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

struct InitArgs {
  std::string dir = ".";
  std::string url = kDefaultUrl;
};

int init(const InitArgs& a) {
  if ((!a.url.starts_with("http://") && !a.url.starts_with("https://")) ||
      a.url.find_first_of(" \t\r\n") != std::string::npos)
    return fail("init", fmt::format("--url '{}': must be an http:// or https:// URL", a.url));
  namespace fs = std::filesystem;
  const fs::path dir(a.dir);
  const fs::path files[] = {dir / kSimulateFile, dir / kRunFile};
  for (const auto& f : files) {  // all or nothing: never overwrite, never write half
    std::error_code ec;
    if (fs::exists(f, ec) || ec)
      return fail("init", fmt::format("{} already exists (nothing written; move it away or choose another "
                                      "directory)",
                                      f.string()));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail("init", fmt::format("cannot create the directory {}: {}", dir.string(), ec.message()), 1);
  std::string secret = new_secret();
  const std::string texts[] = {
      kSimulateScenario,
      replace_all(replace_all(kRunScenario, "@URL@", nlohmann::json(a.url).dump()), "@SECRET@", secret)};
  for (size_t i = 0; i < 2; ++i) {
    std::ofstream out(files[i], std::ios::trunc);
    if (!(out << texts[i]) || !out.flush())
      return fail("init", fmt::format("cannot write {}", files[i].string()), 1);
  }
  std::cout << fmt::format(
      "wrote {}: hooksim simulate {} --timeline\nwrote {}: hooksim run {} --timeline (deliveries to {})\n",
      files[0].string(), files[0].string(), files[1].string(), files[1].string(), a.url);
  return 0;
}

}  // namespace

Command add_init(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  auto* cmd = app.add_subcommand("init", "Write two starting scenarios (one for simulate, one for run)");
  cmd->add_option("DIR", args->dir, "Where to write them (created if missing)")->capture_default_str();
  cmd->add_option("--url", args->url, "The receiver URL of the run scenario")->capture_default_str();
  return [cmd, args]() { return *cmd ? init(*args) : -1; };
}

Command add_secret(CLI::App& app) {
  auto* cmd = app.add_subcommand("secret", "Print a fresh Standard Webhooks secret (whsec_...)");
  return [cmd]() {
    if (!*cmd) return -1;
    std::cout << new_secret() << "\n";
    return 0;
  };
}

}  // namespace hooksim::cli
