// The mock receiver's checks and records without sockets (receiver/verify.h, receiver/record.h): every
// time is an argument, every header a map entry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "protocol/standard_webhooks.h"
#include "receiver/record.h"
#include "receiver/verify.h"

namespace hooksim::receiver {
namespace {

using namespace std::chrono_literals;
using Order = RequestRecord::Order;
using protocol::AuthCheck;

constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr std::string_view kBody = R"({"id":"evt_1"})";

using Headers = std::map<std::string, std::string, std::less<>>;

protocol::HeaderLookup lookup(const Headers& h) {
  return [&h](std::string_view name) -> std::optional<std::string_view> {
    auto it = h.find(name);
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

// The headers of a delivery of kBody signed with kSecret at `timestamp`.
Headers signed_at(int64_t timestamp) {
  return {{"webhook-id", "evt_1"},
          {"webhook-timestamp", std::to_string(timestamp)},
          {std::string(protocol::kSignatureHeader),
           protocol::sign(*protocol::signing_key(kSecret), "evt_1", timestamp, kBody)}};
}

std::unique_ptr<Verifier> verifier(Checks checks) {
  auto v = Verifier::make(std::move(checks));
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() ? std::move(*v) : nullptr;
}

RequestRecord request(std::optional<uint64_t> seq, std::optional<std::string> event, std::string sub = "s") {
  RequestRecord r;
  r.sub = std::move(sub);
  r.seq = seq;
  r.event = std::move(event);
  return r;
}

// --- authentication ---

TEST(ReceiverVerify, ASecretThatIsNotOneIsRefusedNamingTheField) {
  Checks checks;
  checks.secret = "not-a-secret";
  auto v = Verifier::make(checks);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(v.status().message().starts_with("secret: ")) << v.status().message();
  checks.secret = "whsec_YQ=a";  // data after the base64 padding
  v = Verifier::make(checks);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "secret: secret after whsec_ must be base64: base64: invalid character");
}

TEST(ReceiverVerify, SignaturesAreJudgedAgainstTheSecretAndTheClock) {
  Checks checks;
  checks.secret = kSecret;
  auto v = verifier(checks);
  EXPECT_EQ(v->authenticate(lookup(signed_at(kNow)), kBody, kNow), AuthCheck::kOk);
  EXPECT_EQ(v->authenticate(lookup(signed_at(kNow)), R"({"id":"evt_2"})", kNow), AuthCheck::kBad);
  EXPECT_EQ(v->authenticate(lookup({{"webhook-id", "evt_1"}}), kBody, kNow), AuthCheck::kMissing);
  // Five minutes either way is the default tolerance.
  EXPECT_EQ(v->authenticate(lookup(signed_at(kNow - 300)), kBody, kNow), AuthCheck::kOk);
  EXPECT_EQ(v->authenticate(lookup(signed_at(kNow - 301)), kBody, kNow), AuthCheck::kStale);
  EXPECT_EQ(v->authenticate(lookup(signed_at(kNow + 301)), kBody, kNow), AuthCheck::kStale);
  Checks lenient_checks;
  lenient_checks.secret = kSecret;
  lenient_checks.ignore_timestamps = true;
  auto lenient = verifier(lenient_checks);
  EXPECT_EQ(lenient->authenticate(lookup(signed_at(kNow - 86400)), kBody, kNow), AuthCheck::kOk);
}

TEST(ReceiverVerify, TokensAreComparedWholeAndNothingRequiredIsUnchecked) {
  Checks checks;
  checks.token = "t0k";
  auto v = verifier(checks);
  EXPECT_EQ(v->authenticate(lookup({{"authorization", "Bearer t0k"}}), kBody, kNow), AuthCheck::kOk);
  EXPECT_EQ(v->authenticate(lookup({{"authorization", "Bearer t0"}}), kBody, kNow), AuthCheck::kBad);
  EXPECT_EQ(v->authenticate(lookup({}), kBody, kNow), AuthCheck::kMissing);
  EXPECT_EQ(verifier({})->authenticate(lookup({}), kBody, kNow), AuthCheck::kUnchecked);
}

TEST(ReceiverVerify, StaleIsAlwaysRejectedBadAndMissingUnlessAccepted) {
  auto strict = verifier({});
  Checks lax_checks;
  lax_checks.accept_bad_signatures = true;
  auto lax = verifier(lax_checks);
  for (AuthCheck a : {AuthCheck::kBad, AuthCheck::kMissing}) {
    EXPECT_TRUE(strict->rejects(a));
    EXPECT_FALSE(lax->rejects(a));
  }
  EXPECT_TRUE(strict->rejects(AuthCheck::kStale));
  EXPECT_TRUE(lax->rejects(AuthCheck::kStale));
  for (AuthCheck a : {AuthCheck::kOk, AuthCheck::kUnchecked}) EXPECT_FALSE(strict->rejects(a));
  EXPECT_EQ(Verifier::rejection_reason(AuthCheck::kStale), "webhook-timestamp outside the tolerance\n");
  EXPECT_EQ(Verifier::rejection_reason(AuthCheck::kBad), "signature or token check failed\n");
}

// --- order and duplicates ---

TEST(ReceiverVerify, AcceptedRequestsAreJudgedAgainstTheLastAcceptedOne) {
  auto v = verifier({});
  EXPECT_EQ(v->accept(request(5, "e5")), Order::kOk);  // the first of the subscription
  EXPECT_EQ(v->accept(request(6, "e6")), Order::kOk);
  EXPECT_EQ(v->accept(request(8, "e8")), Order::kGap);
  EXPECT_EQ(v->accept(request(9, "e9")), Order::kOk);  // a gap becomes the last accepted one
  EXPECT_EQ(v->accept(request(7, "e7")), Order::kOutOfOrder);
  EXPECT_EQ(v->accept(request(8, "e7")), Order::kDuplicate);  // an accepted id, whatever its sequence
  EXPECT_EQ(v->accept(request(8, "e8b")), Order::kOk);        // the duplicate did not become the last one
  EXPECT_EQ(v->accept(request(std::nullopt, "x")), Order::kNotApplicable);
  EXPECT_EQ(v->accept(request(1, "e1", "other")), Order::kOk);  // per subscription
}

TEST(ReceiverVerify, TheDedupWindowForgetsTheOldestIds) {
  Checks checks;
  checks.dedup_window = 2;
  auto v = verifier(checks);
  EXPECT_EQ(v->accept(request(std::nullopt, "a")), Order::kNotApplicable);
  EXPECT_EQ(v->accept(request(std::nullopt, "b")), Order::kNotApplicable);
  EXPECT_EQ(v->accept(request(std::nullopt, "a")), Order::kDuplicate);
  EXPECT_EQ(v->accept(request(std::nullopt, "c")), Order::kNotApplicable);  // forgets a
  EXPECT_EQ(v->accept(request(std::nullopt, "a")), Order::kNotApplicable);
}

// --- misbehaviours ---

TEST(ReceiverVerify, WithoutMisbehavioursNothingChangesTheScriptedAnswer) {
  auto v = verifier({});
  EXPECT_FALSE(v->misbehaves());
  v->accept(request(2, "e2"));
  EXPECT_EQ(v->misbehaviour(request(1, "e2"), std::chrono::steady_clock::time_point{}), 0);
}

TEST(ReceiverVerify, FailDuplicatesAnswers500ToAnAcceptedId) {
  Checks checks;
  checks.fail_duplicates = true;
  auto v = verifier(checks);
  EXPECT_TRUE(v->misbehaves());
  const auto t = std::chrono::steady_clock::time_point{};
  EXPECT_EQ(v->misbehaviour(request(1, "e1"), t), 0);
  v->accept(request(1, "e1"));
  EXPECT_EQ(v->misbehaviour(request(1, "e1"), t), 500);
  EXPECT_EQ(v->misbehaviour(request(1, "e1", "other"), t), 0);
}

TEST(ReceiverVerify, RejectOutOfOrderAnswers409ToAnOlderSequenceThatIsNoDuplicate) {
  Checks checks;
  checks.reject_out_of_order = true;
  auto v = verifier(checks);
  const auto t = std::chrono::steady_clock::time_point{};
  v->accept(request(5, "e5"));
  EXPECT_EQ(v->misbehaviour(request(4, "e4"), t), 409);
  EXPECT_EQ(v->misbehaviour(request(5, "e5"), t), 0);  // a duplicate, not out of order
  EXPECT_EQ(v->misbehaviour(request(7, "e7"), t), 0);  // a gap is not refused
  EXPECT_EQ(v->misbehaviour(request(6, "e6"), t), 0);
}

TEST(ReceiverVerify, TheRateLimitIsATokenBucketRefilledEvenlyOverAMinute) {
  Checks checks;
  checks.rate_limit_per_minute = 3;
  auto v = verifier(checks);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(v->misbehaviour(request(1, "e"), t0), 0) << i;  // starts full
  EXPECT_EQ(v->misbehaviour(request(1, "e"), t0), 429);
  EXPECT_EQ(v->misbehaviour(request(1, "e", "other"), t0), 0);  // per subscription
  EXPECT_EQ(v->misbehaviour(request(1, "e"), t0 + 19s), 429);   // not yet a whole token
  EXPECT_EQ(v->misbehaviour(request(1, "e"), t0 + 20s), 0);     // one token per 20 s
  EXPECT_EQ(v->misbehaviour(request(1, "e"), t0 + 20s), 429);
  // Never more than the capacity, however long it waited.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(v->misbehaviour(request(1, "e"), t0 + 1h), 0) << i;
  EXPECT_EQ(v->misbehaviour(request(1, "e"), t0 + 1h), 429);
}

// --- records ---

TEST(ReceiverRecord, DescribeReadsTheDeliveryHeadersAndFallsBackToThePath) {
  RequestRecord r = RequestRecord::describe(lookup({{"hooksim-subscription", "acme"},
                                                    {"webhook-id", "evt_7"},
                                                    {"hooksim-sequence", "7"},
                                                    {"hooksim-attempt", "x"},
                                                    {"hooksim-virtual-time", "2026-01-01T00:00:00.000Z"}}),
                                            "/hooks?a=1");
  EXPECT_EQ(r.sub, "acme");
  EXPECT_EQ(r.event, "evt_7");
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(r.attempt, std::nullopt);  // not a number
  EXPECT_EQ(r.virtual_time, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(RequestRecord::describe(lookup({}), "/hooks?a=1").sub, "/hooks");
}

TEST(ReceiverRecord, LinesAreValidJsonWhateverTheHeadersHold) {
  RequestRecord r = request(3, std::string("e\"\xe9\n", 4), "s");
  r.t_ms = 12;
  r.status = 200;
  r.signature = AuthCheck::kOk;
  r.order = Order::kGap;
  r.bytes = 5;
  EXPECT_EQ(r.to_json_line(),
            R"({"t_ms":12,"sub":"s","event":"e\"\u00e9\u000a","seq":3,"attempt":null,"virtual_time":null,)"
            R"("action":"answer","status":200,"signature":"ok","order":"gap","bytes":5})");
  r.body = "{}";
  EXPECT_TRUE(r.to_json_line().ends_with(R"("bytes":5,"body":"{}"})")) << r.to_json_line();
}

TEST(ReceiverRecord, StatsCountEachRecordOnce) {
  ReceiverStats s;
  RequestRecord ok = request(1, "e1");
  ok.status = 200;
  ok.order = Order::kDuplicate;
  s.count(ok);
  RequestRecord refused = ok;
  refused.status = 401;
  refused.order = Order::kNotApplicable;
  refused.signature = AuthCheck::kStale;
  s.count(refused);
  RequestRecord gap = ok;
  gap.order = Order::kOutOfOrder;
  s.count(gap);
  RequestRecord hung = request(2, "e2");
  hung.action = RequestRecord::Action::kTimeout;
  s.count(hung);
  RequestRecord dropped = hung;
  dropped.action = RequestRecord::Action::kDrop;
  s.count(dropped);
  EXPECT_EQ(s.to_json_line(),
            R"({"requests":5,"answered_2xx":2,"answered_other":1,"timeouts":1,"drops":1,"duplicates":1,)"
            R"("order_violations":1,"sequence_gaps":0,"out_of_order":1,"bad_signatures":1,"connections":0})");
}

TEST(ReceiverRecord, GapsAreCountedApartFromBrokenOrder) {
  ReceiverStats s;
  for (Order order : {Order::kOk, Order::kGap, Order::kGap, Order::kOutOfOrder, Order::kDuplicate}) {
    RequestRecord r = request(1, "e1");
    r.status = 200;
    r.order = order;
    s.count(r);
  }
  EXPECT_EQ(s.sequence_gaps, 2u);
  EXPECT_EQ(s.out_of_order, 1u);
  EXPECT_EQ(s.order_violations, 3u);  // the old field keeps its meaning: gaps and broken order together
  EXPECT_EQ(s.duplicates, 1u);
}

TEST(ReceiverRecord, FollowLineSaysWhoWhatAndTheAnswerOnOneLine) {
  RequestRecord r = request(17, "evt_17", "acme");
  r.attempt = 2;
  r.status = 200;
  r.signature = AuthCheck::kOk;
  r.order = Order::kOk;
  EXPECT_EQ(r.follow_line("09:14:03.512Z"),
            "09:14:03.512Z acme seq=17 attempt=2 signature=ok answer=200 order=ok event=evt_17");
  RequestRecord hung = request(std::nullopt, std::nullopt, "/hooks/x y\n");
  hung.action = RequestRecord::Action::kTimeout;
  EXPECT_EQ(hung.follow_line("T"),
            "T /hooks/x?y? seq=- attempt=- signature=unchecked answer=timeout order=n/a event=-");
  hung.action = RequestRecord::Action::kDrop;
  EXPECT_THAT(hung.follow_line("T"), ::testing::HasSubstr(" answer=drop "));
}

}  // namespace
}  // namespace hooksim::receiver
