// The signing schemes of other senders (protocol/svix.h, stripe.h, github.h, shopify.h, hook0.h): each signs
// to the value its sender's documentation or test vectors give, and verifies as its receivers do. The
// senders' own libraries verify hooksim's signatures in signature_libraries_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/delivery.h"
#include "protocol/github.h"
#include "protocol/hook0.h"
#include "protocol/policy_json.h"
#include "protocol/shopify.h"
#include "protocol/signing.h"
#include "protocol/standard_webhooks.h"
#include "protocol/stripe.h"
#include "protocol/subscription_json.h"
#include "protocol/svix.h"

namespace hooksim::protocol {
namespace {

using Headers = std::map<std::string, std::string, std::less<>>;

HeaderLookup lookup(const Headers& h) {
  return [&h](std::string_view name) -> std::optional<std::string_view> {
    auto it = h.find(name);
    if (it == h.end()) return std::nullopt;
    return it->second;
  };
}

Headers signed_headers(const Signer& s, std::string_view id, int64_t timestamp, std::string_view body) {
  Headers h;
  s.sign(id, timestamp, body, [&](std::string_view n, std::string_view v) { h[std::string(n)] = v; });
  return h;
}

constexpr int64_t kNow = 1800000000;
constexpr auto kTolerance = std::chrono::minutes(5);

TEST(SignatureSchemes, AreTheDocumentedSixWithStandardWebhooksFirst) {
  EXPECT_EQ(signature_schemes(),
            (std::vector<std::string>{"standard-webhooks", "svix", "stripe", "github", "shopify", "hook0"}));
  EXPECT_EQ(signature_schemes().front(), kDefaultSignatureScheme);
  EXPECT_FALSE(make_signer("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "paypal").ok());
}

TEST(SignatureSchemes, EachTakesItsOwnFormOfSecret) {
  const std::string whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  for (const auto& scheme : signature_schemes()) {
    SCOPED_TRACE(scheme);
    EXPECT_TRUE(make_signer(whsec, scheme).ok());
    EXPECT_FALSE(make_signer("", scheme).ok());
    auto fresh = random_secret(scheme);
    EXPECT_TRUE(make_signer(fresh, scheme).ok()) << fresh;
    EXPECT_NE(fresh, random_secret(scheme));
  }
  for (const char* scheme : {"standard-webhooks", "svix"}) {
    EXPECT_FALSE(make_signer("It's a Secret to Everybody", scheme).ok()) << scheme;
    EXPECT_FALSE(make_signer("whsec_not base64!", scheme).ok()) << scheme;
  }
  // Stripe's secret is whsec_ and anything, used whole: not necessarily base64.
  EXPECT_TRUE(make_signer("whsec_not base64!", "stripe").ok());
  EXPECT_FALSE(make_signer("It's a Secret to Everybody", "stripe").ok());
  EXPECT_FALSE(make_signer("whsec_", "stripe").ok());
  for (const char* scheme : {"github", "shopify", "hook0"})
    EXPECT_TRUE(make_signer("It's a Secret to Everybody", scheme).ok()) << scheme;
  EXPECT_EQ(random_secret("github").find("whsec_"), std::string::npos);
  EXPECT_EQ(random_secret("stripe").rfind("whsec_", 0), 0u);
}

// Svix's test vector is the Standard Webhooks one (svix-webhooks javascript/src/webhook.test.ts), under
// svix-* headers.
TEST(SvixSignature, SignsTheSpecVectorUnderSvixHeaders) {
  auto s = *make_signer("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "svix");
  Headers h = signed_headers(*s, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  EXPECT_EQ(h, (Headers{{"svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
                        {"svix-timestamp", "1614265330"},
                        {"svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}}));
  EXPECT_EQ(s->verify(lookup(h), R"({"test": 2432232314})", 1614265330, kTolerance), AuthCheck::kOk);
  // The webhook-* headers do not stand in for Svix's: the signature is read from svix-signature only.
  Headers webhook = {{"webhook-id", h["svix-id"]},
                     {"webhook-timestamp", h["svix-timestamp"]},
                     {"webhook-signature", h["svix-signature"]}};
  EXPECT_EQ(s->verify(lookup(webhook), R"({"test": 2432232314})", 1614265330, kTolerance),
            AuthCheck::kMissing);
}

// The HMAC-SHA256 of "1700000000.{"id":"evt_1"}" under "whsec_test_secret" (the whole secret as the key),
// computed with Python's hmac module.
TEST(StripeSignature, KeysWithTheWholeSecretOverTimestampDotBody) {
  const std::string body = R"({"id":"evt_1"})";
  EXPECT_EQ(stripe_signature("whsec_test_secret", 1700000000, body),
            "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a");
  auto s = *make_signer("whsec_test_secret", "stripe");
  Headers h = signed_headers(*s, "evt_1", 1700000000, body);
  EXPECT_EQ(h.size(), 1u);  // Stripe sends no id or timestamp header of its own
  EXPECT_EQ(s->verify(lookup(h), body, 1700000000, kTolerance), AuthCheck::kOk);
  EXPECT_EQ(s->verify(lookup(h), body, 1700000000 + 301, kTolerance), AuthCheck::kStale);
  EXPECT_EQ(s->verify(lookup(h), body, 1700000000 + 301, std::nullopt), AuthCheck::kOk);
  EXPECT_EQ(s->verify(lookup(h), R"({"id":"evt_2"})", 1700000000, kTolerance), AuthCheck::kBad);
  EXPECT_EQ(s->verify(lookup({}), body, 1700000000, kTolerance), AuthCheck::kMissing);
  // Any of several v1 signatures (a secret being rolled), other schemes' parts ignored.
  Headers several = {{"stripe-signature", "t=1700000000,v1=00,v0=ab," + h["stripe-signature"].substr(13)}};
  EXPECT_EQ(s->verify(lookup(several), body, 1700000000, kTolerance), AuthCheck::kOk);
  for (const char* bad : {"v1=248a", "t=1700000000", "t=soon,v1=248a", "garbage"})
    EXPECT_EQ(s->verify(lookup({{"stripe-signature", bad}}), body, 1700000000, kTolerance), AuthCheck::kBad)
        << bad;
}

// GitHub's documented example (docs.github.com, "Validating webhook deliveries", "Testing the webhook payload
// validation").
TEST(GithubSignature, SignsTheDocumentedExample) {
  EXPECT_EQ(github_signature("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  auto s = *make_signer("It's a Secret to Everybody", "github");
  Headers h = signed_headers(*s, "evt_7", kNow, "Hello, World!");
  EXPECT_EQ(h["x-github-delivery"], "evt_7");
  EXPECT_EQ(h["x-hub-signature-256"],
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_EQ(h["x-hub-signature"].substr(0, 5), "sha1=");
  EXPECT_EQ(h["x-hub-signature"].size(), 5u + 40u);
  // No timestamp is signed: never stale, whatever the clock says.
  EXPECT_EQ(s->verify(lookup(h), "Hello, World!", kNow + 86400, kTolerance), AuthCheck::kOk);
  EXPECT_EQ(s->verify(lookup(h), "Hello, World?", kNow, kTolerance), AuthCheck::kBad);
  h.erase("x-hub-signature-256");
  EXPECT_EQ(s->verify(lookup(h), "Hello, World!", kNow, kTolerance), AuthCheck::kMissing);
}

// The base64 HMAC-SHA256 of the body under the secret, computed with Python's hmac module.
TEST(ShopifySignature, SignsTheBodyInBase64) {
  const std::string body = R"({"id":"evt_1"})";
  EXPECT_EQ(shopify_signature("shpss_secret", body), "aaLYoVFY2iz+v9ru81+z4XbRQtf9yzhnxjnsFiWcMTA=");
  auto s = *make_signer("shpss_secret", "shopify");
  Headers h = signed_headers(*s, "evt_1", kNow, body);
  EXPECT_EQ(h, (Headers{{"x-shopify-event-id", "evt_1"},
                        {"x-shopify-hmac-sha256", "aaLYoVFY2iz+v9ru81+z4XbRQtf9yzhnxjnsFiWcMTA="},
                        {"x-shopify-triggered-at", "2027-01-15T08:00:00.000Z"},
                        {"x-shopify-webhook-id", "evt_1"}}));
  EXPECT_EQ(s->verify(lookup(h), body, kNow + 86400, kTolerance), AuthCheck::kOk);
  EXPECT_EQ(s->verify(lookup(h), body + " ", kNow, kTolerance), AuthCheck::kBad);
  EXPECT_EQ(s->verify(lookup({}), body, kNow, kTolerance), AuthCheck::kMissing);
}

// Hook0's own conformance vectors (hook0/hook0, clients/conformance/signature.json: codes computed outside
// every implementation), checked against this verifier.
TEST(Hook0Signature, VerifiesHook0sConformanceVectors) {
  auto s = *make_signer("a-subscription-secret", "hook0");
  const std::string body = R"({"event":"user.created"})";
  Headers base = {{"x-event-id", "evt-1"}, {"x-delivery-id", "dlv-1"}, {"content-type", "application/json"}};
  struct Vector {
    const char* name;
    const char* signature;
    AuthCheck expected;
  };
  const Vector vectors[] = {
      {"a body-scheme signature verifies",
       "t=1800000000,v0=d17d66b66fca89390c5b967c45e8928fc732db07a0aabe8167b1e98213081ffe", AuthCheck::kOk},
      {"a header-scheme signature verifies",
       "t=1800000000,h=x-event-id "
       "x-delivery-id,v1=19a6fb8f6581715b241a93af02a58611c3b0ac7b747a8d2a5b120ee418d0c347",
       AuthCheck::kOk},
      {"the order the covered headers are named in is part of what is signed",
       "t=1800000000,h=x-delivery-id "
       "x-event-id,v1=19a6fb8f6581715b241a93af02a58611c3b0ac7b747a8d2a5b120ee418d0c347",
       AuthCheck::kBad},
      {"the covered headers are read in the order the signature names them",
       "t=1800000000,h=x-delivery-id "
       "x-event-id,v1=bf5f4e5fe0c9143510ae192f983316a09ed392d0104d2ce0faa3d7bce3687acb",
       AuthCheck::kOk},
      {"a header the signature covers that the request did not carry",
       "t=1800000000,h=x-event-id "
       "x-missing,v1=19a6fb8f6581715b241a93af02a58611c3b0ac7b747a8d2a5b120ee418d0c347",
       AuthCheck::kBad},
      {"a code that is not whole",
       "t=1800000000,v0=d17d66b66fca89390c5b967c45e8928fc732db07a0aabe8167b1e98213081ff", AuthCheck::kBad},
      {"a moment older than the tolerance",
       "t=1799999699,v0=4168cc6c683357e103055b48584715f12e2baa4e679b8e076254247f11edf34d", AuthCheck::kStale},
      {"a moment at the edge of the window",
       "t=1799999700,v0=f9689580483e051113d28de23c1658c509da2b00e7bc15a5aaa83b8bdf83ff81", AuthCheck::kOk},
  };
  for (const auto& v : vectors) {
    Headers h = base;
    h["x-hook0-signature"] = v.signature;
    EXPECT_EQ(s->verify(lookup(h), body, kNow, kTolerance), v.expected) << v.name;
  }
}

TEST(Hook0Signature, CoversContentTypeAndEventIdAndVerifiesItsOwn) {
  auto s = *make_signer("a-subscription-secret", "hook0");
  const std::string body = R"({"id":"evt_1"})";
  Headers h = signed_headers(*s, "evt_1", kNow, body);
  EXPECT_EQ(h["x-event-id"], "evt_1");
  EXPECT_EQ(h["x-hook0-signature"].substr(0, 42), "t=1800000000,h=content-type x-event-id,v1=");
  h["content-type"] = kJsonContentType;  // build_delivery_headers sends it
  EXPECT_EQ(s->verify(lookup(h), body, kNow, kTolerance), AuthCheck::kOk);
  Headers other_id = h;
  other_id["x-event-id"] = "evt_2";
  EXPECT_EQ(s->verify(lookup(other_id), body, kNow, kTolerance), AuthCheck::kBad);
  EXPECT_EQ(s->verify(lookup(h), body, kNow + 301, kTolerance), AuthCheck::kStale);
}

// Every scheme, through the one header builder the sender uses: the receiver's check passes, and fails for
// another body, another secret of the same form, and no signature.
TEST(SignatureSchemes, EverySchemeVerifiesItsOwnDeliveriesAndNothingElse) {
  const std::string body = R"({"id":"evt_5","type":"tracking"})";
  for (const auto& scheme : signature_schemes()) {
    SCOPED_TRACE(scheme);
    auto signer = *make_signer(random_secret(scheme), scheme);
    auto other = *make_signer(random_secret(scheme), scheme);
    Headers h;
    build_delivery_headers({.event_id = "evt_5", .timestamp = kNow, .seq = 5, .attempt = 1},
                           {.signer = signer.get()}, body,
                           [&](std::string_view n, std::string_view v) { h[std::string(n)] = v; });
    EXPECT_EQ(h["webhook-id"], "evt_5");  // hooksim's own headers travel with every scheme
    EXPECT_EQ(h["hooksim-sequence"], "5");
    AuthRequirements need{.signer = signer.get()};
    EXPECT_EQ(check_delivery_auth(need, lookup(h), body, kNow), AuthCheck::kOk);
    EXPECT_EQ(check_delivery_auth(need, lookup(h), body + " ", kNow), AuthCheck::kBad);
    EXPECT_EQ(check_delivery_auth({.signer = other.get()}, lookup(h), body, kNow), AuthCheck::kBad);
    Headers unsigned_headers;
    build_delivery_headers(
        {.event_id = "evt_5", .timestamp = kNow}, {}, body,
        [&](std::string_view n, std::string_view v) { unsigned_headers[std::string(n)] = v; });
    EXPECT_EQ(check_delivery_auth(need, lookup(unsigned_headers), body, kNow), AuthCheck::kMissing);
    EXPECT_EQ(check_delivery_auth(need, lookup(h), body, kNow + 3600),
              signs_timestamp(scheme) ? AuthCheck::kStale : AuthCheck::kOk);
  }
}

}  // namespace
}  // namespace hooksim::protocol

namespace hooksim {
namespace {

using nlohmann::json;

TEST(SignaturePolicy, DefaultsToStandardWebhooksAndRoundTrips) {
  EXPECT_EQ(RetryPolicy::frotcom().signature, "standard-webhooks");
  auto p = parse_policy(json::parse(R"({"signature": "stripe"})"), "policy");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->signature, "stripe");
  EXPECT_EQ(policy_to_json(*p)["signature"], "stripe");
  auto back = parse_policy(json::parse(policy_to_json(*p).dump()), "policy");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *p);
}

TEST(SignaturePolicy, ABadValueNamesTheFieldAndSuggests) {
  auto p = parse_policy(json::parse(R"({"signature": "strpe"})"), "subscriptions[0].policy");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "subscriptions[0].policy.signature: unknown signature scheme 'strpe' (did you mean \"stripe\"?) "
            "(known: standard-webhooks, svix, stripe, github, shopify, hook0)");
  p = parse_policy(json::parse(R"({"signature": 3})"), "policy");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(
      p.status().message(),
      "policy.signature: must be the name of a signature scheme: standard-webhooks, svix, stripe, github, "
      "shopify, hook0");
  p = parse_policy(json::parse(R"({"signatur": "svix"})"), "policy");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "policy.signatur: unknown field (did you mean \"signature\"?)");
}

// A subscription's secret is judged under its policy's scheme: when it is given, and when only the policy
// changes (the PATCH of a subscription keeps its secret).
TEST(SignaturePolicy, TheSecretMustFitThePolicysScheme) {
  auto read = [](const json& j, SubscriptionConfig c = {}) -> std::string {
    try {
      json_input::Fields f(j, "");
      json_input::read_subscription_fields(f, c, RetryPolicy::frotcom());
      return "ok:" + c.policy.signature;
    } catch (const json_input::ParseError& e) {
      return e.message;
    }
  };
  EXPECT_EQ(read({{"secret", "It's a Secret"}, {"policy", {{"signature", "github"}}}}), "ok:github");
  EXPECT_EQ(read({{"secret", "It's a Secret"}}), "secret: secret must start with whsec_");
  EXPECT_EQ(read({{"secret", "plain"}, {"policy", {{"signature", "svix"}}}}),
            "secret: secret must start with whsec_");
  SubscriptionConfig github;
  github.endpoint.secret = "It's a Secret";
  github.policy.signature = "github";
  EXPECT_EQ(read({{"policy", {{"signature", "shopify"}}}}, github), "ok:shopify");
  EXPECT_EQ(
      read({{"policy", {{"signature", "stripe"}}}}, github),
      "policy.signature: the subscription's secret does not fit the stripe scheme: a stripe secret must be "
      "whsec_ followed by the rest of the key");
  // A token given with the new policy replaces the secret: nothing to judge.
  EXPECT_EQ(read({{"policy", {{"signature", "stripe"}}}, {"token", "tok-1"}}, github), "ok:stripe");
}

}  // namespace
}  // namespace hooksim
