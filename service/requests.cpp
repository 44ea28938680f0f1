#include "service/requests.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "protocol/subscription_json.h"

namespace hooksim::service {

using nlohmann::json;

namespace {

// Runs `read` on the parsed body, turning JSON syntax errors and field errors into a BodyError.
template <typename T, typename Read>
std::variant<T, BodyError> read_body(std::string_view body, Read read) {
  // A syntax error, or a number too large for a double ("1e999"; found by fuzz_api, it used to escape as a
  // 500), in words: "line L, column C: ...".
  auto j = json_input::parse_json(body);
  if (!j.ok())
    return BodyError{"invalid_json", fmt::format("body: not valid JSON: {}", j.status().message())};
  try {
    return read(*j);
  } catch (const json_input::ParseError& e) {
    return BodyError{"invalid_argument", e.message};
  }
}

}  // namespace

bool nested_too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

std::variant<std::vector<Event>, BodyError> parse_publish_body(std::string_view body, TimePoint now,
                                                               const std::function<std::string()>& new_id) {
  return read_body<std::vector<Event>>(body, [&](const json& j) {
    std::vector<Event> events;
    bool single = j.is_object();
    if (!single && !j.is_array()) json_input::fail("(root)", "must be an event object or an array of events");
    if (j.is_array() && j.empty()) json_input::fail("(root)", "the array is empty");
    for (size_t i = 0; i < (single ? 1 : j.size()); ++i) {
      const json& ej = single ? j : j[i];
      std::string path = single ? "" : fmt::format("[{}]", i);
      json_input::Fields f(ej, path);
      Event e;
      if (const json* v = f.get("id")) {
        e.id = json_input::string(*v, f.path("id"));
        if (Status st = validate_event_id(e.id); !st.ok()) json_input::fail(f.path("id"), st.message());
      } else {
        e.id = new_id();
      }
      e.type = json_input::string(f.need("type"), f.path("type"));
      if (const json* v = f.get("account")) e.account = json_input::string(*v, f.path("account"), true);
      if (const json* v = f.get("vehicle")) e.vehicle = json_input::string(*v, f.path("vehicle"), true);
      e.occurred_at = now;
      if (const json* v = f.get("occurred_at")) {
        auto t = parse_utc(json_input::string(*v, f.path("occurred_at")));
        if (!t.ok()) json_input::fail(f.path("occurred_at"), t.status().message());
        e.occurred_at = *t;
      }
      if (const json* v = f.get("data")) e.data = v->dump();
      f.no_unknown();
      events.push_back(std::move(e));
    }
    return events;
  });
}

std::variant<SubscriptionConfig, BodyError> parse_subscription_body(std::string_view body) {
  return read_body<SubscriptionConfig>(body, [](const json& j) {
    SubscriptionConfig c;
    json_input::Fields f(j, "");
    if (const json* v = f.get("id")) {
      c.id = json_input::string(*v, "id");
      if (Status st = validate_subscription_id(c.id); !st.ok()) json_input::fail("id", st.message());
    }
    f.need("url");
    json_input::read_subscription_fields(f, c, RetryPolicy::frotcom());
    if (c.endpoint.secret.empty() && c.endpoint.token.empty())
      json_input::fail("secret", "give a secret (whsec_..., for signatures) or a token (bearer)");
    f.no_unknown();
    return c;
  });
}

std::variant<SubscriptionConfig, BodyError> parse_patch_body(std::string_view body,
                                                             const SubscriptionConfig& current) {
  return read_body<SubscriptionConfig>(body, [&](const json& j) {
    SubscriptionConfig c = current;
    json_input::Fields f(j, "");
    if (const json* v = f.get("id"); v && *v != current.id) json_input::fail("id", "cannot be changed");
    bool has_secret = j.is_object() && j.contains("secret");
    bool has_token = j.is_object() && j.contains("token");
    json_input::read_subscription_fields(f, c, c.policy);
    if (has_secret) c.endpoint.token.clear();
    if (has_token) c.endpoint.secret.clear();
    f.no_unknown();
    return c;
  });
}

}  // namespace hooksim::service
