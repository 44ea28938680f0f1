#include "service/service.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/post.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "net/address_policy.h"
#include "protocol/envelope.h"
#include "protocol/policy_json.h"
#include "service/requests.h"
#include "service/status_page.h"

namespace hooksim::service {

namespace asio = boost::asio;
using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// Upper bounds (seconds) of the publish-to-delivery lag histogram.
constexpr double kLagBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,  1,
                                 2.5,   5,    10,    60,   300, 3600, 86400};
constexpr size_t kLagBucketCount = sizeof(kLagBounds) / sizeof(kLagBounds[0]);

// Bytes that are not valid UTF-8 (echoed from a request) are replaced rather than thrown on.
HttpResponse json_response(int status, const ojson& body) {
  return {status, "application/json", body.dump(-1, ' ', false, ojson::error_handler_t::replace), {}};
}

// {"error":{"code","field","message"}}; `message` of the form "field: reason" is split into the two.
HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  std::string field, reason = message;
  size_t colon = message.find(": ");
  if (colon != std::string::npos && message.find(' ') > colon) {
    field = message.substr(0, colon);
    reason = message.substr(colon + 2);
  }
  ojson e;
  e["code"] = code;
  e["field"] = field;
  e["message"] = reason;
  return json_response(status, {{"error", e}});
}

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

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex(size_t n) {
  std::random_device rd;
  std::string out;
  while (out.size() < n) out += fmt::format("{:08x}", rd());
  return out.substr(0, n);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string query_param(const std::string& query, const std::string& name) {
  size_t i = 0;
  while (i < query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(i, amp - i);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    i = amp + 1;
  }
  return "";
}

std::string prometheus_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

struct Service::PendingPublish {
  std::vector<Event> events;
  HttpServer::Respond respond;
};

Service::Service(asio::io_context& io, ServiceOptions options)
    : io_(io), options_(std::move(options)), lag_buckets_(kLagBucketCount, 0) {
  net::AsioSchedulerOptions so;
  so.wall_clock = true;  // the service runs on wall time: persisted times stay meaningful across restarts
  scheduler_ = std::make_unique<net::AsioScheduler>(io_, so);
  transport_ = std::make_unique<net::CurlTransport>(io_, *scheduler_, options_.curl);
  id_prefix_ = random_hex(8);
}

Service::~Service() {
  engine_.reset();  // abandons attempts in flight before the transport goes
  server_.reset();
}

Status Service::start() {
  auto store =
      storage::RocksQueueStore::open(options_.data_dir, {.sync = true,
                                                         .event_id_retention = options_.event_id_retention,
                                                         .file_system = options_.store_file_system});
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  engine_ =
      std::make_unique<Engine>(*scheduler_, *store_, *transport_, this,
                               EngineOptions{.dedupe_event_ids = true, .envelope = protocol::make_envelope});
  HOOKSIM_RETURN_IF_ERROR(engine_->open());
  server_ = std::make_unique<HttpServer>(
      io_,
      net::HttpServerOptions{.body_limit = options_.body_limit,
                             .server_header = "hooksim",
                             .idle_timeout = std::chrono::seconds(60),
                             .max_connections = 4096,
                             .linger = std::chrono::seconds(5),
                             .single_thread = true},
      [this](HttpRequest&& req, HttpServer::Respond respond) { handle(std::move(req), std::move(respond)); },
      error_response(413, "too_large", fmt::format("request body over {} bytes", options_.body_limit)));
  return server_->listen(options_.listen);
}

void Service::run() {
  scheduler_->run_until(TimePoint::max());
}

void Service::shutdown() {
  if (server_) server_->stop();
  scheduler_->stop();
}

void Service::handle(HttpRequest&& req, HttpServer::Respond respond) {
  std::string path = req.target, query;
  if (size_t q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path.resize(q);
  }
  if (req.method == "GET" && (path == "/" || path == "/index.html")) {
    respond({200, "text/html; charset=utf-8", std::string(kStatusPage), {}});
    return;
  }
  if (!options_.admin_token.empty() && !same_secret(req.authorization, "Bearer " + options_.admin_token)) {
    respond(error_response(401, "unauthorized", "authorization: a valid admin token (Bearer) is required"));
    return;
  }
  if (nested_too_deep(req.body)) {
    respond(error_response(400, "invalid_json",
                           fmt::format("body: nested deeper than {} levels", kMaxJsonDepth)));
    return;
  }
  try {
    if (req.method == "POST" && path == "/v1/events") {
      publish(req, std::move(respond));
      return;
    }
    respond(route(req, path, query));
  } catch (const std::exception& e) {
    // A bug, not bad input (that is answered 400 where it is read): answer rather than die.
    fmt::print(stderr, "hooksim serve: {} {}: internal error: {}\n", req.method, path, e.what());
    respond(error_response(500, "internal", "internal error"));
  }
}

HttpResponse Service::route(const HttpRequest& req, const std::string& path, const std::string& query) {
  const std::string& m = req.method;
  if (path == "/metrics")
    return m == "GET" ? metrics() : error_response(405, "method_not_allowed", "use GET");
  auto parts = split_path(path);
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "subscriptions")
    return error_response(404, "not_found", fmt::format("no route for {} {}", m, path));
  if (parts.size() == 2) {
    if (m == "GET") return list_subscriptions();
    if (m == "POST") return create_subscription(req.body);
    return error_response(405, "method_not_allowed", "use GET or POST");
  }
  const std::string& id = parts[2];
  if (!engine_->find(id)) return error_response(404, "not_found", fmt::format("no subscription '{}'", id));
  if (parts.size() == 3) {
    if (m == "GET") return subscription_json(id, 200);
    if (m == "PATCH") return patch_subscription(id, req.body);
    if (m == "DELETE") {
      Status st = engine_->remove_subscription(id);
      if (!st.ok()) return from_status(st);
      attempts_.erase(id);
      return {204, "application/json", "", {}};
    }
    return error_response(405, "method_not_allowed", "use GET, PATCH or DELETE");
  }
  if (parts.size() == 4 && parts[3] == "status" && m == "GET") return status_json(id);
  if (parts.size() == 4 && parts[3] == "attempts" && m == "GET") return attempts_json(id, query);
  if (parts.size() == 4 && parts[3] == "reactivate" && m == "POST") {
    Status st = engine_->reactivate(id);
    return st.ok() ? status_json(id) : from_status(st);
  }
  return error_response(404, "not_found", fmt::format("no route for {} {}", m, path));
}

// --- publishing: validated per request, written for all waiting requests in one synced batch ----------

void Service::publish(const HttpRequest& req, HttpServer::Respond respond) {
  auto parsed = parse_publish_body(req.body, scheduler_->now(), [this] {
    return fmt::format("evt_{}_{}", id_prefix_, ++next_generated_id_);
  });
  if (auto* e = std::get_if<BodyError>(&parsed)) {
    respond(error_response(400, e->code, e->message));
    return;
  }
  std::vector<Event> events = std::move(std::get<std::vector<Event>>(parsed));
  pending_.push_back({std::move(events), std::move(respond)});
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] { flush_publishes(); });
  }
}

// Group commit: every publish request that arrived since the last flush shares one synced write.
void Service::flush_publishes() {
  flush_posted_ = false;
  std::vector<PendingPublish> group = std::move(pending_);
  pending_.clear();
  std::vector<Event> all;
  std::vector<std::pair<size_t, size_t>> owner;  // for each event of `all`: (request, index in request)
  std::unordered_set<std::string> ids;
  std::vector<std::vector<bool>> duplicate(group.size());
  for (size_t r = 0; r < group.size(); ++r) {
    duplicate[r].assign(group[r].events.size(), false);
    for (size_t i = 0; i < group[r].events.size(); ++i) {
      if (!ids.insert(group[r].events[i].id).second) {
        duplicate[r][i] = true;  // the same id earlier in this group: published once
        continue;
      }
      all.push_back(group[r].events[i]);
      owner.emplace_back(r, i);
    }
  }
  PublishResult result;
  Status st = engine_->publish(all, &result);
  if (!st.ok()) {
    for (auto& p : group) p.respond(from_status(st));
    return;
  }
  for (size_t d : result.duplicates) duplicate[owner[d].first][owner[d].second] = true;
  for (size_t r = 0; r < group.size(); ++r) {
    ojson accepted = ojson::array(), duplicates = ojson::array();
    for (size_t i = 0; i < group[r].events.size(); ++i) {
      (duplicate[r][i] ? duplicates : accepted).push_back(group[r].events[i].id);
    }
    published_ += accepted.size();
    duplicates_ += duplicates.size();
    group[r].respond(json_response(202, {{"accepted", accepted}, {"duplicates", duplicates}}));
  }
}

// --- subscriptions --------------------------------------------------------------------------------------

// With --refuse-private-addresses, a URL whose host is a literal private or loopback address is refused
// at once (a name is checked on the address actually connected to, by CurlTransport).
Status Service::check_url_allowed(const std::string& url) const {
  if (!options_.curl.refuse_private_addresses) return Status::OK();
  return net::check_url_host_not_private(url);
}

HttpResponse Service::create_subscription(const std::string& body) {
  auto parsed = parse_subscription_body(body);
  if (auto* e = std::get_if<BodyError>(&parsed)) return error_response(400, e->code, e->message);
  SubscriptionConfig c = std::move(std::get<SubscriptionConfig>(parsed));
  if (c.id.empty()) c.id = "sub_" + random_hex(12);
  if (Status st = check_url_allowed(c.endpoint.url); !st.ok())
    return error_response(400, "invalid_argument", "url: " + st.message());
  Status st = engine_->add_subscription(c);
  if (st.code() == Status::Code::kAlreadyExists)
    return error_response(409, "already_exists", "id: " + st.message());
  if (!st.ok()) return from_status(st);
  return subscription_json(c.id, 201);
}

HttpResponse Service::patch_subscription(const std::string& id, const std::string& body) {
  const SubscriptionConfig current = engine_->find(id)->config;
  auto parsed = parse_patch_body(body, current);
  if (auto* e = std::get_if<BodyError>(&parsed)) return error_response(400, e->code, e->message);
  const SubscriptionConfig& c = std::get<SubscriptionConfig>(parsed);
  if (c.endpoint.url != current.endpoint.url) {
    if (Status st = check_url_allowed(c.endpoint.url); !st.ok())
      return error_response(400, "invalid_argument", "url: " + st.message());
  }
  Status st = engine_->update_subscription(c);
  if (!st.ok()) return from_status(st);
  return subscription_json(id, 200);
}

namespace {

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
  o["deactivated_at"] = time_or_null(s.deactivated_at);
  o["deactivation_reason"] = s.deactivation_reason.empty() ? json(nullptr) : json(s.deactivation_reason);
  return o;
}

}  // namespace

HttpResponse Service::subscription_json(const std::string& id, int status_code) {
  auto v = engine_->find(id);
  auto oldest = engine_->oldest_queued(id);
  if (!oldest.ok()) return from_status(oldest.status());
  const SubscriptionConfig& c = v->config;
  ojson o;
  o["id"] = c.id;
  o["url"] = c.endpoint.url;
  o["auth"] = c.endpoint.secret.empty() ? "token" : "secret";
  o["secret"] =
      c.endpoint.secret.empty() ? json(nullptr) : json("whsec_... " + fingerprint(c.endpoint.secret));
  o["token"] = c.endpoint.token.empty() ? json(nullptr) : json("... " + fingerprint(c.endpoint.token));
  o["filter"] = {{"types", c.filter.types}, {"accounts", c.filter.accounts}, {"vehicles", c.filter.vehicles}};
  o["policy"] = policy_to_json(c.policy);
  o["status"] = status_object(*v, *oldest, scheduler_->now());
  return json_response(status_code, o);
}

HttpResponse Service::status_json(const std::string& id) {
  auto v = engine_->find(id);
  auto oldest = engine_->oldest_queued(id);
  if (!oldest.ok()) return from_status(oldest.status());
  ojson o;
  o["id"] = id;
  o.update(status_object(*v, *oldest, scheduler_->now()));
  return json_response(200, o);
}

HttpResponse Service::list_subscriptions() {
  ojson list = ojson::array();
  TimePoint now = scheduler_->now();
  for (const std::string& id : engine_->subscription_ids()) {
    auto v = engine_->find(id);
    auto oldest = engine_->oldest_queued(id);
    if (!oldest.ok()) return from_status(oldest.status());
    ojson o;
    o["id"] = id;
    o["url"] = v->config.endpoint.url;
    o.update(status_object(*v, *oldest, now));
    list.push_back(o);
  }
  return json_response(200, {{"subscriptions", list}});
}

HttpResponse Service::attempts_json(const std::string& id, const std::string& query) {
  size_t limit = 50;
  std::string text = query_param(query, "limit");
  if (!text.empty()) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || p != text.data() + text.size() || limit == 0 || limit > options_.attempts_kept)
      return error_response(
          400, "invalid_argument",
          fmt::format("limit: must be a whole number from 1 to {}", options_.attempts_kept));
  }
  ojson list = ojson::array();
  auto it = attempts_.find(id);
  if (it != attempts_.end()) {
    for (auto a = it->second.rbegin(); a != it->second.rend() && list.size() < limit; ++a) {
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
  }
  return json_response(200, {{"id", id}, {"attempts", list}});
}

HttpResponse Service::metrics() {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  counter("hooksim_events_published_total", "Events accepted by POST /v1/events since start.", published_);
  counter("hooksim_events_duplicate_total", "Published events skipped as repeats of an earlier id.",
          duplicates_);
  counter("hooksim_deliveries_total", "Attempts answered 2xx since start.", delivered_);
  counter("hooksim_deactivations_total", "Subscriptions deactivated since start.", deactivations_);
  counter("hooksim_store_errors_total", "Store writes that failed while delivering.", store_errors_);
  out +=
      "# HELP hooksim_attempts_failed_total Failed attempts since start, by failure class.\n"
      "# TYPE hooksim_attempts_failed_total counter\n";
  for (const char* cls : {"status", "timeout", "connect", "tls", "dns", "reset", "abandoned", "other",
                          "protocol", "private_address"}) {
    auto it = failed_by_class_.find(cls);
    out += fmt::format("hooksim_attempts_failed_total{{class=\"{}\"}} {}\n", cls,
                       it == failed_by_class_.end() ? 0 : it->second);
  }
  out += "# HELP hooksim_backlog Events queued per subscription.\n# TYPE hooksim_backlog gauge\n";
  std::string states =
      "# HELP hooksim_subscription_state 1 for the state each subscription is in.\n"
      "# TYPE hooksim_subscription_state gauge\n";
  for (const std::string& id : engine_->subscription_ids()) {
    auto v = engine_->find(id);
    out +=
        fmt::format("hooksim_backlog{{subscription=\"{}\"}} {}\n", prometheus_label(id), v->state.backlog());
    states += fmt::format("hooksim_subscription_state{{subscription=\"{}\",state=\"{}\"}} 1\n",
                          prometheus_label(id), to_string(v->state.state));
  }
  out += states;
  const storage::StoreMemory mem = store_->memory_usage();
  out += fmt::format(
      "# HELP hooksim_store_memory_bytes Memory the store holds, by part (RocksDB's accounting).\n"
      "# TYPE hooksim_store_memory_bytes gauge\n"
      "hooksim_store_memory_bytes{{part=\"memtables\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"block_cache\"}} {}\n"
      "hooksim_store_memory_bytes{{part=\"table_readers\"}} {}\n",
      mem.memtables, mem.block_cache, mem.table_readers);
  out +=
      "# HELP hooksim_delivery_lag_seconds Time from publish to successful delivery.\n"
      "# TYPE hooksim_delivery_lag_seconds histogram\n";
  for (size_t i = 0; i < kLagBucketCount; ++i)
    out +=
        fmt::format("hooksim_delivery_lag_seconds_bucket{{le=\"{}\"}} {}\n", kLagBounds[i], lag_buckets_[i]);
  out += fmt::format("hooksim_delivery_lag_seconds_bucket{{le=\"+Inf\"}} {}\n", lag_count_);
  out += fmt::format("hooksim_delivery_lag_seconds_sum {}\nhooksim_delivery_lag_seconds_count {}\n",
                     lag_sum_seconds_, lag_count_);
  return {200, "text/plain; version=0.0.4", out, {}};
}

// --- observer ---------------------------------------------------------------------------------------------

void Service::on_attempt(const AttemptRecord& r) {
  auto it = attempts_.find(r.sub);
  if (it == attempts_.end()) it = attempts_.emplace(std::string(r.sub), std::deque<AttemptEntry>{}).first;
  it->second.push_back(
      {r.started, std::string(r.event_id), r.seq, r.attempt, r.probe, r.status, r.error, r.latency});
  if (it->second.size() > options_.attempts_kept) it->second.pop_front();
  if (!r.delivered()) {
    ++failed_by_class_[to_string(r.error)];
    return;
  }
  ++delivered_;
  double lag = std::chrono::duration<double>(r.started + r.latency - r.enqueued_at).count();
  for (size_t i = 0; i < kLagBucketCount; ++i)
    if (lag <= kLagBounds[i]) ++lag_buckets_[i];
  lag_sum_seconds_ += lag;
  ++lag_count_;
}

void Service::on_lifecycle(const LifecycleRecord& r) {
  if (r.kind == LifecycleRecord::Kind::kDeactivated) ++deactivations_;
}

void Service::on_error(std::string_view sub, const Status& st) {
  ++store_errors_;
  fmt::print(stderr, "hooksim serve: subscription {}: {}\n", sub, st.message());
}

}  // namespace hooksim::service
