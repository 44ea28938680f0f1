#include "service/api.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "net/address_policy.h"
#include "protocol/delivery.h"
#include "protocol/policy_json.h"
#include "protocol/signing.h"
#include "service/requests.h"
#include "service/status_page.h"
#include "util/split.h"

namespace hooksim::service {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// Bytes that are not valid UTF-8 (echoed from a request) are replaced rather than thrown on.
HttpResponse json_response(int status, const ojson& body) {
  return {status, "application/json", body.dump(-1, ' ', false, ojson::error_handler_t::replace), {}};
}

}  // namespace

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  std::string field, reason = message;
  size_t colon = message.find(": ");
  if (colon != std::string::npos && message.find(' ') > colon) {
    field = message.substr(0, colon);
    reason = message.substr(colon + 2);
  }
  return json_response(status, {{"error", {{"code", code}, {"field", field}, {"message", reason}}}});
}

namespace {

HttpResponse from_status(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return error_response(400, "invalid_argument", st.message());
    case Status::Code::kNotFound:
      return error_response(404, "not_found", st.message());
    case Status::Code::kAlreadyExists:
      return error_response(409, "already_exists", st.message());
    case Status::Code::kFailedPrecondition:
      return error_response(409, "failed_precondition", st.message());
    default:
      return error_response(503, "unavailable", st.message());
  }
}

// 405 for a known path with the wrong method; `allow` lists the methods it takes ("GET, POST").
HttpResponse method_not_allowed(const std::string& allow) {
  std::string use = allow;  // "GET, PATCH, DELETE": "use GET, PATCH or DELETE"
  if (size_t comma = use.rfind(", "); comma != std::string::npos) use.replace(comma, 2, " or ");
  HttpResponse r = error_response(405, "method_not_allowed", "use " + use);
  r.headers["Allow"] = allow;
  return r;
}

json time_or_null(const std::optional<TimePoint>& t) {
  return t ? json(format_utc(*t)) : json(nullptr);
}

// Secrets and tokens never leave the service: a fingerprint (the first 8 hex digits of their SHA-256)
// tells them apart without revealing any of their bytes.
std::string fingerprint(const std::string& secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return fmt::format("sha256:{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3]);
}

// The non-empty segments of `path`.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  util::for_each_part(path, '/', [&](std::string_view part) {
    if (!part.empty()) parts.emplace_back(part);
  });
  return parts;
}

// The value of the first `name=value` pair of `query`; "" when there is none.
std::string query_param(const std::string& query, std::string_view name) {
  std::optional<std::string> value;
  util::for_each_part(query, '&', [&](std::string_view pair) {
    size_t eq = pair.find('=');
    if (!value && pair.substr(0, eq) == name)
      value = eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
  });
  return value.value_or("");
}

// The status fields of a subscription, as /status, the list and the subscription object carry them.
ojson status_object(const SubscriptionView& v, std::optional<TimePoint> oldest, TimePoint now) {
  const DeliveryState& s = v.state;
  ojson o;
  o["state"] = to_string(s.state);
  o["backlog"] = s.backlog();
  o["oldest_queued_at"] = time_or_null(oldest);
  o["oldest_queued_age_ms"] = oldest ? json(to_ms(now - *oldest)) : json(nullptr);
  o["in_flight"] = v.in_flight;
  o["streak_start"] = time_or_null(s.streak_start);
  o["streak_attempts"] = s.streak_failures;
  o["last_attempt"] =
      s.last_attempt
          ? json{{"at", format_utc(*s.last_attempt)},
                 {"status", s.last_status},
                 {"error", s.last_error == ErrorClass::kNone ? json(nullptr) : json(to_string(s.last_error))}}
          : json(nullptr);
  o["next_attempt"] = time_or_null(s.next_attempt);
  o["delivered"] = s.delivered;
  o["attempts"] = s.attempts;
  o["failed_attempts"] = s.failed_attempts;
  o["discarded"] = s.discarded;
  o["dropped_inactive"] = s.dropped_inactive;
  o["exhausted"] = s.exhausted;
  o["deactivated_at"] = time_or_null(s.deactivated_at);
  o["deactivation_reason"] = s.deactivation_reason.empty() ? json(nullptr) : json(s.deactivation_reason);
  return o;
}

}  // namespace

Api::Api(Backend& backend, const Scheduler& clock, PublishBatcher& publishes, AttemptHistory& history,
         Metrics& metrics, ApiOptions options)
    : backend_(backend),
      clock_(clock),
      publishes_(publishes),
      history_(history),
      metrics_(metrics),
      options_(std::move(options)),
      id_prefix_(protocol::random_hex(8)) {}

void Api::handle(HttpRequest&& req, HttpServer::Respond respond) {
  std::string path = req.target, query;
  if (size_t q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  if (req.method == "GET" && (path == "/" || path == "/index.html"))
    return respond({200, "text/html; charset=utf-8", std::string(kStatusPage), {}});
  if (!options_.admin_token.empty() &&
      !protocol::constant_time_equal(req.authorization, protocol::bearer_authorization(options_.admin_token)))
    return respond(
        error_response(401, "unauthorized", "authorization: a valid admin token (Bearer) is required"));
  if (nested_too_deep(req.body))
    return respond(error_response(400, "invalid_json",
                                  fmt::format("body: nested deeper than {} levels", kMaxJsonDepth)));
  try {
    if (req.method == "POST" && path == "/v1/events") return publish(req, std::move(respond));
    if (auto parts = split_path(path); req.method == "POST" && parts.size() == 4 && parts[0] == "v1" &&
                                       parts[1] == "subscriptions" &&
                                       (parts[3] == "reactivate" || parts[3] == "retry"))
      return change(parts[2], parts[3] == "reactivate", std::move(respond));
    respond(route(req, path, query));
  } catch (const std::exception& e) {
    // A bug, not bad input (that is answered 400 where it is read): answer rather than die.
    fmt::print(stderr, "hooksim serve: {} {}: internal error: {}\n", req.method, path, e.what());
    respond(error_response(500, "internal", "internal error"));
  }
}

HttpResponse Api::route(const HttpRequest& req, const std::string& path, const std::string& query) {
  const std::string& m = req.method;
  if (path == "/metrics") {
    if (m != "GET") return method_not_allowed("GET");
    auto all = backend_.list(/*oldest=*/false);
    if (!all.ok()) return from_status(all.status());
    return {200, "text/plain; version=0.0.4", metrics_.prometheus_text(*all, backend_.memory()), {}};
  }
  if (path == "/status") return backend_status(req, path);
  auto parts = split_path(path);
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "events") {
    // POST /v1/events is answered before routing; another spelling of it (a trailing slash) is not a route.
    if (m == "POST") return error_response(404, "not_found", fmt::format("no route for {} {}", m, path));
    return method_not_allowed("POST");
  }
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "subscriptions")
    return error_response(404, "not_found", fmt::format("no route for {} {}", m, path));
  if (parts.size() == 2) {
    if (m == "GET") return list_subscriptions();
    if (m == "POST") return create_subscription(req.body);
    return method_not_allowed("GET, POST");
  }
  const std::string& id = parts[2];
  auto found = backend_.find(id, /*oldest=*/false);
  if (!found.ok()) return from_status(found.status());
  if (!*found) return error_response(404, "not_found", fmt::format("no subscription '{}'", id));
  if (parts.size() == 3) {
    if (m == "GET") {
      auto s = snapshot(id);
      if (auto* r = std::get_if<HttpResponse>(&s)) return *r;
      return subscription_json(std::get<SubscriptionSnapshot>(s), 200);
    }
    if (m == "PATCH") return patch_subscription(id, req.body);
    if (m == "DELETE") {
      Status st = backend_.remove(id);
      if (!st.ok()) return from_status(st);
      history_.forget(id);
      return {204, "application/json", "", {}};
    }
    return method_not_allowed("GET, PATCH, DELETE");
  }
  if (parts.size() == 4 && (parts[3] == "status" || parts[3] == "attempts")) {
    if (m != "GET") return method_not_allowed("GET");
    return parts[3] == "status" ? status_json(id) : attempts_json(id, query);
  }
  if (parts.size() == 4 && (parts[3] == "reactivate" || parts[3] == "retry"))
    return method_not_allowed("POST");  // POST is answered before routing (change)
  return error_response(404, "not_found", fmt::format("no route for {} {}", m, path));
}

// POST /v1/subscriptions/{id}/reactivate and …/retry: answered when the backend has made the change (a
// cluster node may forward it to the subscription's owner).
void Api::change(const std::string& id, bool reactivate, HttpServer::Respond respond) {
  auto found = backend_.find(id, /*oldest=*/false);
  if (!found.ok()) return respond(from_status(found.status()));
  if (!*found) return respond(error_response(404, "not_found", fmt::format("no subscription '{}'", id)));
  backend_.change(id, reactivate, [this, respond = std::move(respond)](Result<SubscriptionSnapshot> changed) {
    respond(changed.ok() ? status_json(*changed) : from_status(changed.status()));
  });
}

// Validated here, per request; written by the PublishBatcher, one synced batch for all waiting requests.
void Api::publish(const HttpRequest& req, HttpServer::Respond respond) {
  auto parsed = parse_publish_body(
      req.body, clock_.now(), [this] { return fmt::format("evt_{}_{}", id_prefix_, ++next_generated_id_); });
  if (auto* e = std::get_if<BodyError>(&parsed)) return respond(error_response(400, e->code, e->message));
  publishes_.submit(std::move(std::get<std::vector<Event>>(parsed)),
                    [this, respond = std::move(respond)](const Status& st, const std::vector<Event>& events,
                                                         const std::vector<bool>& duplicate) {
                      if (!st.ok()) return respond(from_status(st));
                      ojson accepted = ojson::array(), duplicates = ojson::array();
                      for (size_t i = 0; i < events.size(); ++i)
                        (duplicate[i] ? duplicates : accepted).push_back(events[i].id);
                      metrics_.count_published(accepted.size(), duplicates.size());
                      respond(json_response(202, {{"accepted", accepted}, {"duplicates", duplicates}}));
                    });
}

// With --refuse-private-addresses, a URL whose host is a literal private or loopback address is refused
// at once (a name is checked on the address actually connected to, by CurlTransport).
Status Api::check_url_allowed(const std::string& url) const {
  if (!options_.refuse_private_addresses) return Status::OK();
  return net::check_url_host_not_private(url);
}

HttpResponse Api::create_subscription(const std::string& body) {
  auto parsed = parse_subscription_body(body);
  if (auto* e = std::get_if<BodyError>(&parsed)) return error_response(400, e->code, e->message);
  SubscriptionConfig c = std::move(std::get<SubscriptionConfig>(parsed));
  if (c.id.empty()) c.id = "sub_" + protocol::random_hex(12);
  if (Status st = check_url_allowed(c.endpoint.url); !st.ok())
    return error_response(400, "invalid_argument", "url: " + st.message());
  auto added = backend_.add(c);
  if (added.status().code() == Status::Code::kAlreadyExists)
    return error_response(409, "already_exists", "id: " + added.status().message());
  if (!added.ok()) return from_status(added.status());
  return subscription_json(*added, 201);
}

HttpResponse Api::patch_subscription(const std::string& id, const std::string& body) {
  auto found = backend_.find(id, /*oldest=*/false);
  if (!found.ok()) return from_status(found.status());
  if (!*found) return error_response(404, "not_found", fmt::format("no subscription '{}'", id));
  const SubscriptionConfig current = (*found)->config;
  auto parsed = parse_patch_body(body, current);
  if (auto* e = std::get_if<BodyError>(&parsed)) return error_response(400, e->code, e->message);
  const SubscriptionConfig& c = std::get<SubscriptionConfig>(parsed);
  if (c.endpoint.url != current.endpoint.url) {
    if (Status st = check_url_allowed(c.endpoint.url); !st.ok())
      return error_response(400, "invalid_argument", "url: " + st.message());
  }
  auto updated = backend_.update(c);
  if (!updated.ok()) return from_status(updated.status());
  return subscription_json(*updated, 200);
}

std::variant<SubscriptionSnapshot, HttpResponse> Api::snapshot(const std::string& id) {
  auto found = backend_.find(id, /*oldest=*/true);
  if (!found.ok()) return from_status(found.status());
  if (!*found) return error_response(404, "not_found", fmt::format("no subscription '{}'", id));
  return std::move(**found);
}

HttpResponse Api::subscription_json(const SubscriptionSnapshot& s, int status_code) {
  const SubscriptionConfig& c = s.config;
  ojson o;
  o["id"] = c.id;
  o["url"] = c.endpoint.url;
  if (!s.owner.empty()) o["owner"] = s.owner;  // a cluster's (docs/api.md): absent on a single serve
  o["auth"] = c.endpoint.secret.empty() ? "token" : "secret";
  o["secret"] = c.endpoint.secret.empty() ? json(nullptr)
                : c.endpoint.secret.starts_with("whsec_")
                    ? json("whsec_... " + fingerprint(c.endpoint.secret))
                    : json("... " + fingerprint(c.endpoint.secret));
  o["token"] = c.endpoint.token.empty() ? json(nullptr) : json("... " + fingerprint(c.endpoint.token));
  o["filter"] = {{"types", c.filter.types}, {"accounts", c.filter.accounts}, {"vehicles", c.filter.vehicles}};
  o["policy"] = policy_to_json(c.policy);
  o["status"] = status_object(s.view(), s.oldest_queued, clock_.now());
  return json_response(status_code, o);
}

HttpResponse Api::status_json(const std::string& id) {
  auto found = snapshot(id);
  if (auto* r = std::get_if<HttpResponse>(&found)) return *r;
  return status_json(std::get<SubscriptionSnapshot>(found));
}

HttpResponse Api::status_json(const SubscriptionSnapshot& s) {
  ojson o;
  o["id"] = s.config.id;
  if (!s.owner.empty()) o["owner"] = s.owner;
  o.update(status_object(s.view(), s.oldest_queued, clock_.now()));
  return json_response(200, o);
}

HttpResponse Api::list_subscriptions() {
  ojson list = ojson::array();
  TimePoint now = clock_.now();
  auto all = backend_.list(/*oldest=*/true);
  if (!all.ok()) return from_status(all.status());
  for (const SubscriptionSnapshot& s : *all) {
    ojson o;
    o["id"] = s.config.id;
    o["url"] = s.config.endpoint.url;
    if (!s.owner.empty()) o["owner"] = s.owner;
    o.update(status_object(s.view(), s.oldest_queued, now));
    list.push_back(o);
  }
  return json_response(200, {{"subscriptions", list}});
}

HttpResponse Api::backend_status(const HttpRequest& req, const std::string& path) {
  std::optional<std::string> status = backend_.status_json();
  if (!status) return error_response(404, "not_found", fmt::format("no route for {} {}", req.method, path));
  if (req.method != "GET") return method_not_allowed("GET");
  return {200, "application/json", std::move(*status), {}};
}

HttpResponse Api::attempts_json(const std::string& id, const std::string& query) {
  size_t limit = 50;
  std::string text = query_param(query, "limit");
  if (!text.empty()) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || p != text.data() + text.size() || limit == 0 || limit > history_.kept())
      return error_response(400, "invalid_argument",
                            fmt::format("limit: must be a whole number from 1 to {}", history_.kept()));
  }
  ojson list = ojson::array();
  const auto attempts = history_.of(id);
  for (auto a = attempts.rbegin(); a != attempts.rend() && list.size() < limit; ++a) {
    ojson o;
    o["at"] = format_utc(a->started);
    o["event"] = a->event;
    o["seq"] = a->seq;
    o["attempt"] = a->attempt;
    o["outcome"] = a->error == ErrorClass::kNone ? "delivered" : "failed";
    o["status"] = a->status;
    o["error"] = a->error == ErrorClass::kNone ? json(nullptr) : json(to_string(a->error));
    o["latency_ms"] = to_ms(a->latency);
    o["probe"] = a->probe;
    list.push_back(o);
  }
  return json_response(200, {{"id", id}, {"attempts", list}});
}

}  // namespace hooksim::service
