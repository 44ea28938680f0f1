// hooksim status --server URL: lists a running service's subscriptions (GET /v1/subscriptions) as an aligned
// table (with an OWNER column when a cluster node names their owners), or its JSON as is; --watch SECONDS
// lists them again and again; --retry ID asks for a waiting subscription's next attempt now (POST
// /v1/subscriptions/ID/retry). Exit codes: 0 listed (or retried); 1 the server is unreachable or answered
// an error (its message is printed); 2 bad usage. docs/status.md.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "engine/time.h"
#include "net/http_client.h"
#include "protocol/delivery.h"
#include "util/url_display.h"

namespace hooksim::cli {
namespace {

using nlohmann::json;

struct StatusArgs {
  std::string server;
  std::string admin_token;
  bool json = false;
  double timeout_s = 10;
  double watch_s = 0;    // > 0: list again every this many seconds, until interrupted
  std::string retry_id;  // non-empty: POST .../retry for this subscription instead of listing
};

// GETs `url` (or POSTs an empty body to it), keeping the whole body; `timeout_s` bounds the whole request,
// connecting included.
net::HttpAnswer http_call(const std::string& url, const std::string& token, double timeout_s, bool post) {
  Duration timeout(static_cast<int64_t>(timeout_s * 1000));
  net::HttpClient client({.timeout = timeout,
                          .connect_timeout = timeout,
                          .max_response_body = std::numeric_limits<size_t>::max(),
                          .keep_body = true});
  std::vector<std::string> headers = {"Accept: application/json",
                                      "User-Agent: hooksim-status/" HOOKSIM_VERSION};
  if (!token.empty()) headers.push_back("Authorization: " + protocol::bearer_authorization(token));
  return post ? client.post(url, "", headers) : client.get(url, headers);
}

// "4m 12s", "3h 5m", "2d 1h": the two largest units, for ages and waits.
std::string short_span(int64_t ms) {
  static constexpr std::pair<char, int64_t> kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  int64_t s = (ms < 0 ? -ms : ms) / 1000;
  size_t i = 0;  // the largest unit that fits, seconds at least
  while (i + 1 < std::size(kUnits) && s < kUnits[i].second) ++i;
  auto [unit, length] = kUnits[i];
  std::string out = fmt::format("{}{}", s / length, unit);
  if (i + 1 < std::size(kUnits) && s % length >= kUnits[i + 1].second)
    out += fmt::format(" {}{}", s % length / kUnits[i + 1].second, kUnits[i + 1].first);
  return out;
}

// An RFC 3339 time from the server as "12:00:01Z (3s ago)" or "12:05:01Z (in 4m 59s)", with the date
// ("2026-01-01 12:00:01Z ...") unless it is today (UTC); "-" for null.
std::string when(const json& t, TimePoint now) {
  if (!t.is_string()) return "-";
  std::string text = t.get<std::string>();
  auto at = parse_utc(text);
  if (!at.ok() || text.size() < 19) return text;
  std::string date = text.substr(0, 10), clock = text.substr(11, 8) + "Z";
  std::string shown = date == format_utc(now).substr(0, 10) ? clock : date + " " + clock;
  int64_t delta = to_ms(*at - now);
  std::string rel = delta >= 1000   ? "in " + short_span(delta)
                    : delta > -1000 ? "now"
                                    : short_span(delta) + " ago";
  return fmt::format("{} ({})", shown, rel);
}

// "200", "503" or the failure class ("connect", "timeout", ...), then the time.
std::string last_attempt(const json& a, TimePoint now) {
  if (!a.is_object()) return "-";
  const json& error = a.value("error", json(nullptr));
  std::string outcome = error.is_string() && error.get<std::string>() != "status"
                            ? error.get<std::string>()
                            : std::to_string(a.value("status", 0));
  return fmt::format("{:<7} {}", outcome, when(a.value("at", json(nullptr)), now));
}

std::string text_of(const json& o, const char* key) {
  json j = o.value(key, json(nullptr));
  return j.is_string() ? j.get<std::string>() : j.is_null() ? "-" : j.dump();
}

// URLs longer than this are shown by their start and end, "..." in the middle (util::shorten_middle), so
// that one long URL does not stretch the whole table; --json has them whole.
constexpr size_t kUrlWidth = 60;

// Prints rows as columns separated by two spaces, each as wide as its widest cell; `right` marks columns
// aligned to the right (numbers). The last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      line += right[i]             ? fmt::format("{:>{}}", row[i], width[i])
              : i + 1 < row.size() ? fmt::format("{:<{}}", row[i], width[i])
                                   : row[i];
    }
    std::cout << line << "\n";
  }
}

// The error message of a non-2xx answer: {"error":{"code","field","message"}} when the body has one.
std::string server_error(const net::HttpAnswer& r) {
  try {
    json j = json::parse(r.body);
    const json& e = j.at("error");
    std::string field = e.value("field", "");
    std::string message = e.value("message", "");
    std::string code = e.value("code", "");
    return fmt::format("HTTP {}{}: {}{}", r.status, code.empty() ? "" : " " + code,
                       field.empty() ? "" : field + ": ", message);
  } catch (const json::exception&) {
    std::string body = r.body.substr(0, 200);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return body.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {}: {}", r.status, body);
  }
}

// Prints the server's error answer `r` to `base`, with a hint when the token is missing; returns 1.
int answered_error(const net::HttpAnswer& r, const std::string& base, const StatusArgs& a) {
  if (!r.answered()) return fail("status", "cannot reach " + base + ": " + r.error_text, 1);
  fail("status", base + " answered " + server_error(r));
  if (r.status == 401 && a.admin_token.empty())
    fail("status", "give the admin token with --admin-token or HOOKSIM_ADMIN_TOKEN");
  return 1;
}

// One GET /v1/subscriptions, printed as the table (or the JSON as is). Returns the exit code.
int list_once(const StatusArgs& a, const std::string& base) {
  net::HttpAnswer r = http_call(base + "/v1/subscriptions", a.admin_token, a.timeout_s, false);
  if (!r.is_2xx()) return answered_error(r, base, a);
  if (a.json) {
    std::cout << r.body;
    if (!r.body.ends_with("\n")) std::cout << "\n";
    return 0;
  }

  json list;
  try {
    list = json::parse(r.body).at("subscriptions");
    if (!list.is_array()) throw std::runtime_error("not an array");
  } catch (const std::exception& e) {
    return fail("status", base + " answered a body without a subscriptions list: " + e.what(), 1);
  }
  TimePoint now = std::chrono::floor<Duration>(std::chrono::system_clock::now());
  // A cluster's list names each subscription's owner (docs/api.md): then, and only then, an OWNER column.
  const bool owners = std::any_of(list.begin(), list.end(), [](const json& s) {
    return s.is_object() && s.contains("owner") && !s["owner"].is_null();
  });
  std::vector<std::vector<std::string>> rows = {
      {"ID", "URL", "STATE", "BACKLOG", "LAST ATTEMPT", "NEXT ATTEMPT"}};
  if (owners) rows[0].push_back("OWNER");
  std::map<std::string, int> counts;
  for (const json& s : list) {
    std::string state = text_of(s, "state");
    ++counts[state];
    std::string next = when(s.value("next_attempt", json(nullptr)), now);
    if (s.value("in_flight", false) && state != "deactivated") next = "in flight";
    rows.push_back({text_of(s, "id"), util::shorten_middle(text_of(s, "url"), kUrlWidth), state,
                    text_of(s, "backlog"), last_attempt(s.value("last_attempt", json(nullptr)), now), next});
    if (owners) rows.back().push_back(text_of(s, "owner"));
  }
  std::vector<bool> right = {false, false, false, true, false, false};
  if (owners) right.push_back(false);
  print_table(rows, right);
  std::cout << fmt::format("\n{} subscription{}: {} active, {} retrying, {} deactivated\n", list.size(),
                           list.size() == 1 ? "" : "s", counts["active"], counts["retrying"],
                           counts["deactivated"]);
  return 0;
}

// --retry ID: the subscription's next attempt now. Prints what the server answered (the status as JSON
// with --json).
int retry(const StatusArgs& a, const std::string& base) {
  net::HttpAnswer r =
      http_call(base + "/v1/subscriptions/" + a.retry_id + "/retry", a.admin_token, a.timeout_s, true);
  if (!r.is_2xx()) return answered_error(r, base, a);
  if (a.json) {
    std::cout << r.body << (r.body.ends_with("\n") ? "" : "\n");
    return 0;
  }
  json s = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  std::cout << fmt::format("{}: next attempt now ({} failed in the streak since {})\n", a.retry_id,
                           s.is_object() ? text_of(s, "streak_attempts") : "?",
                           s.is_object() ? text_of(s, "streak_start") : "?");
  return 0;
}

// --watch SECONDS: the list again every SECONDS until interrupted (SIGINT). On a terminal each refresh
// replaces the screen; otherwise the lists follow each other, each after a blank line and a heading. An
// unreachable server or an error answer is printed (on stderr) and tried again at the next refresh.
int watch(const StatusArgs& a, const std::string& base) {
  const bool terminal = ::isatty(STDOUT_FILENO) == 1;
  const auto every = std::chrono::milliseconds(static_cast<int64_t>(a.watch_s * 1000));
  for (bool first = true;; first = false) {
    if (terminal) {
      std::cout << "\x1b[H\x1b[2J";  // cursor home, clear the screen
    } else if (!first) {
      std::cout << "\n";
    }
    std::string clock = format_utc(std::chrono::floor<Duration>(std::chrono::system_clock::now()));
    std::cout << fmt::format("{} at {}Z, every {}s (Ctrl-C ends)\n\n", base, clock.substr(11, 8), a.watch_s);
    std::cout.flush();
    list_once(a, base);
    std::cout.flush();
    std::this_thread::sleep_for(every);
  }
}

int status(StatusArgs a) {
  if (const char* env = std::getenv("HOOKSIM_ADMIN_TOKEN"); env && a.admin_token.empty()) a.admin_token = env;
  std::string base = a.server;
  if (base.find("://") == std::string::npos) base = "http://" + base;
  if (!base.starts_with("http://") && !base.starts_with("https://"))
    return fail("status", "--server " + a.server + ": must be an http:// or https:// URL");
  while (base.ends_with("/")) base.pop_back();
  if (base.size() <= std::string_view(base.starts_with("https") ? "https://" : "http://").size())
    return fail("status", "--server " + a.server + ": has no host");
  if (!a.retry_id.empty()) {
    if (a.watch_s > 0) return fail("status", "--retry and --watch: give one of them");
    if (a.retry_id.find_first_of("/?#% ") != std::string::npos)
      return fail("status", "--retry " + a.retry_id + ": not a subscription id");
    return retry(a, base);
  }
  if (a.watch_s > 0) return watch(a, base);
  return list_once(a, base);
}

}  // namespace

Command add_status(CLI::App& app) {
  auto args = std::make_shared<StatusArgs>();
  auto* cmd = app.add_subcommand("status", "List a running service's subscriptions and their delivery state");
  cmd->add_option("--server", args->server, "The service's base URL, e.g. http://127.0.0.1:8080")->required();
  cmd->add_option(
      "--admin-token", args->admin_token,
      "Send 'Authorization: Bearer TOKEN' (default: the HOOKSIM_ADMIN_TOKEN environment variable)");
  cmd->add_flag("--json", args->json, "Print the server's JSON (GET /v1/subscriptions) as it is");
  cmd->add_option("--timeout", args->timeout_s, "Give up on the request after this many seconds; default 10")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--watch", args->watch_s,
                  "List again every SECONDS (replacing the screen on a terminal) until interrupted")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--retry", args->retry_id,
                  "Make the next attempt of subscription ID now, when it is waiting for a retry");
  return [cmd, args]() { return *cmd ? status(*args) : -1; };
}

}  // namespace hooksim::cli
