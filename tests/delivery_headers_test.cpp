// The delivery request's headers: built by one function (the sender, `check`), read and verified by one
// function (the mock receiver). A round trip through both is what every sender and receiver rely on.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "protocol/delivery.h"
#include "protocol/standard_webhooks.h"

namespace hooksim::protocol {
namespace {

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kNow = 1764374400;

using Headers = std::multimap<std::string, std::string>;

Headers build(const DeliveryHeaders& h, const Credentials& c, std::string_view body) {
  Headers out;
  build_delivery_headers(h, c, body, [&](std::string_view name, std::string_view value) {
    out.emplace(std::string(name), std::string(value));
  });
  return out;
}

HeaderLookup lookup(const Headers& headers) {
  return [&headers](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

DeliveryHeaders sample() {
  return {.event_id = "evt_5",
          .timestamp = kNow,
          .seq = 5,
          .attempt = 2,
          .virtual_time = *parse_utc("2026-01-01T01:00:00.040Z"),
          .subscription = "acme"};
}

TEST(DeliveryHeaders, BuildsTheDocumentedHeadersInOrder) {
  auto signer = *make_signer(kSecret);
  std::vector<std::string> names;
  std::map<std::string, std::string> values;
  build_delivery_headers(sample(), {.signer = signer.get()}, "{}",
                         [&](std::string_view n, std::string_view v) {
                           names.emplace_back(n);
                           values[std::string(n)] = std::string(v);
                         });
  EXPECT_EQ(names, (std::vector<std::string>{"content-type", "user-agent", "webhook-id", "webhook-timestamp",
                                             "webhook-signature", "hooksim-sequence", "hooksim-attempt",
                                             "hooksim-virtual-time", "hooksim-subscription"}));
  EXPECT_EQ(values["content-type"], "application/json");
  EXPECT_EQ(values["user-agent"], std::string("hooksim/") + HOOKSIM_VERSION);
  EXPECT_EQ(values["webhook-id"], "evt_5");
  EXPECT_EQ(values["webhook-timestamp"], "1764374400");
  EXPECT_EQ(values["webhook-signature"], sign(*signing_key(kSecret), "evt_5", kNow, "{}"));
  EXPECT_EQ(values["hooksim-sequence"], "5");
  EXPECT_EQ(values["hooksim-attempt"], "2");
  EXPECT_EQ(values["hooksim-virtual-time"], "2026-01-01T01:00:00.040Z");
  EXPECT_EQ(values["hooksim-subscription"], "acme");
}

TEST(DeliveryHeaders, TokenModeSendsABearerAuthorizationAndNoSignature) {
  Headers h = build(sample(), {.bearer_token = "s3cret"}, "{}");
  EXPECT_EQ(h.count("webhook-signature"), 0u);
  ASSERT_EQ(h.count("authorization"), 1u);
  EXPECT_EQ(h.find("authorization")->second, "Bearer s3cret");
}

TEST(DeliveryHeaders, BearerAuthorizationIsBuiltAndReadByOnePair) {
  EXPECT_EQ(bearer_authorization("s3cret"), "Bearer s3cret");
  EXPECT_EQ(bearer_token("Bearer s3cret"), "s3cret");
  EXPECT_EQ(bearer_token("Bearer "), "");
  for (const char* value : {"", "Bearer", "bearer s3cret", "Basic s3cret", "s3cret"})
    EXPECT_FALSE(bearer_token(value)) << value;
}

TEST(DeliveryHeaders, ParseReadsBackWhatBuildWrote) {
  Headers h = build(sample(), {}, "{}");
  ReceivedDelivery d = parse_delivery_headers(lookup(h));
  EXPECT_EQ(d.event_id, "evt_5");
  EXPECT_EQ(d.timestamp, kNow);
  EXPECT_EQ(d.seq, 5u);
  EXPECT_EQ(d.attempt, 2u);
  EXPECT_EQ(d.virtual_time, "2026-01-01T01:00:00.040Z");
  EXPECT_EQ(d.subscription, "acme");
}

TEST(DeliveryHeaders, ParseLeavesAbsentOrMalformedFieldsEmpty) {
  Headers h = {{"hooksim-sequence", "5x"}, {"hooksim-attempt", ""}, {"webhook-timestamp", "-"}};
  ReceivedDelivery d = parse_delivery_headers(lookup(h));
  EXPECT_FALSE(d.event_id);
  EXPECT_FALSE(d.seq);
  EXPECT_FALSE(d.attempt);
  EXPECT_FALSE(d.timestamp);
  EXPECT_FALSE(d.virtual_time);
  EXPECT_FALSE(d.subscription);
}

TEST(DeliveryHeaders, VerificationAcceptsOnlyTheRightSignatureWithinTheTolerance) {
  auto signer = *make_signer(kSecret);
  auto other = *make_signer("whsec_AAAAAAAA");
  AuthRequirements required{.signer = signer.get()};
  Headers good = build(sample(), {.signer = signer.get()}, "{}");
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{}", kNow), AuthCheck::kOk);
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{ }", kNow), AuthCheck::kBad);  // other body
  Headers forged = build(sample(), {.signer = other.get()}, "{}");
  EXPECT_EQ(check_delivery_auth(required, lookup(forged), "{}", kNow), AuthCheck::kBad);
  Headers unsigned_ = build(sample(), {}, "{}");
  EXPECT_EQ(check_delivery_auth(required, lookup(unsigned_), "{}", kNow), AuthCheck::kMissing);
  // 5 minutes is the default tolerance, either way.
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{}", kNow + 300), AuthCheck::kOk);
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{}", kNow + 301), AuthCheck::kStale);
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{}", kNow - 301), AuthCheck::kStale);
  required.timestamp_tolerance = std::nullopt;
  EXPECT_EQ(check_delivery_auth(required, lookup(good), "{}", kNow + 86400), AuthCheck::kOk);
}

TEST(DeliveryHeaders, VerificationOfATokenIsExactAndReportsTheWorseOfBothChecks) {
  AuthRequirements required{.bearer_token = "s3cret"};
  EXPECT_EQ(
      check_delivery_auth(required, lookup(build(sample(), {.bearer_token = "s3cret"}, "{}")), "{}", kNow),
      AuthCheck::kOk);
  EXPECT_EQ(
      check_delivery_auth(required, lookup(build(sample(), {.bearer_token = "s3cre"}, "{}")), "{}", kNow),
      AuthCheck::kBad);
  EXPECT_EQ(check_delivery_auth(required, lookup(build(sample(), {}, "{}")), "{}", kNow),
            AuthCheck::kMissing);
  for (const char* value :
       {"bearer s3cret", "Bearer s3cret ", "Bearer  s3cret", "s3cret", "Bearer s3cretX"}) {
    Headers h = {{"authorization", value}};
    EXPECT_EQ(check_delivery_auth(required, lookup(h), "{}", kNow), AuthCheck::kBad) << value;
  }
  EXPECT_EQ(check_delivery_auth({}, lookup(build(sample(), {}, "{}")), "{}", kNow), AuthCheck::kUnchecked);
  auto signer = *make_signer(kSecret);
  required.signer = signer.get();
  Headers token_only = build(sample(), {.bearer_token = "s3cret"}, "{}");
  EXPECT_EQ(check_delivery_auth(required, lookup(token_only), "{}", kNow), AuthCheck::kMissing);
}

}  // namespace
}  // namespace hooksim::protocol
