// Reading the API's request bodies (docs/api.md): JSON text in, a value or an error naming the field out.
// No server, store or engine is involved, so the fuzz targets (fuzz/) call these directly; the service
// calls them for every request with a body.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/event.h"
#include "engine/subscription.h"
#include "engine/time.h"

namespace hooksim::service {

// A refused body: answered 400 with this `code` ("invalid_json" or "invalid_argument") and `message`,
// "field: reason" (the field a JSON path, "(root)" or "body").
struct BodyError {
  std::string code;
  std::string message;
};

// Bodies nested deeper than this many levels of arrays and objects are refused before they are parsed.
inline constexpr int kMaxJsonDepth = 64;
// Whether `body` nests arrays and objects deeper than kMaxJsonDepth (strings are skipped).
bool nested_too_deep(std::string_view body);

// POST /v1/events: one event object or a non-empty array of them. Events without an id get `new_id()`;
// events without occurred_at get `now`. `data` is kept as JSON text.
std::variant<std::vector<Event>, BodyError> parse_publish_body(std::string_view body, TimePoint now,
                                                               const std::function<std::string()>& new_id);

// POST /v1/subscriptions: a new subscription with the frotcom policy as the default. An absent id is left
// empty (the service generates one).
std::variant<SubscriptionConfig, BodyError> parse_subscription_body(std::string_view body);

// PATCH /v1/subscriptions/{id}: `current` with the body's fields applied (a given secret replaces a token
// and the other way round; the id cannot change).
std::variant<SubscriptionConfig, BodyError> parse_patch_body(std::string_view body,
                                                             const SubscriptionConfig& current);

}  // namespace hooksim::service
