#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/queue_store.h"
#include "engine/subscription.h"
#include "protocol/envelope.h"
#include "storage/record_codec.h"
#include "storage/rocks_store.h"
#include "tests/cli_test_util.h"

namespace hooksim::storage {
namespace {

using namespace std::chrono_literals;
using testutil::TempDir;

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

// A state with every field away from its default.
DeliveryState full_state() {
  DeliveryState s;
  s.state = SubState::kRetrying;
  s.head_seq = 1000;
  s.next_seq = 1ull << 40;
  s.delivered_ahead = {1001, 1005, 70000, (1ull << 40) - 1};
  s.attempted = {{1000, 7}, {1003, 1}, {999999, std::numeric_limits<uint32_t>::max()}};
  s.streak_start = from_unix_ms(-1);
  s.streak_failures = 123456;
  s.next_attempt = from_unix_ms(std::numeric_limits<int64_t>::max());
  s.last_attempt = from_unix_ms(std::numeric_limits<int64_t>::min());
  s.last_status = 503;
  s.last_error = ErrorClass::kOther;
  s.delivered = kMaxU64;
  s.attempts = 1ull << 63;
  s.failed_attempts = 300;
  s.discarded = 128;
  s.dropped_inactive = 1;
  s.deactivated_at = from_unix_ms(1767225900000);  // 2026-01-01T00:05:00Z
  s.deactivation_reason =
      std::string("gave up after 7 days: ") + std::string(200, 'x') + std::string(1, '\0') + "end";
  return s;
}

SubscriptionConfig full_config(const std::string& id) {
  SubscriptionConfig c;
  c.id = id;
  c.endpoint.url = "https://example.test/hooks/" + id + "?q=\"quoted\"";
  c.endpoint.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  c.filter.types = {"trip.started", "trip.ended"};
  c.filter.accounts = {"acc-1"};
  c.filter.vehicles = {"v1", "v2", "v3"};
  c.policy.immediate_retries = 1;
  c.policy.immediate_delay = 250ms;
  c.policy.delays = {1s, 2min, 3h + 4s};
  c.policy.repeat = 6h;
  c.policy.give_up_after = std::chrono::days(2);
  c.policy.probe = ProbeMode::kLive;
  c.policy.attempt_timeout = 1500ms;
  return c;
}

// A default state with the given queue bounds and delivered count.
DeliveryState queue_state(uint64_t head_seq, uint64_t next_seq, uint64_t delivered = 0) {
  DeliveryState s;
  s.head_seq = head_seq;
  s.next_seq = next_seq;
  s.delivered = delivered;
  return s;
}

// `bytes` with the byte at `pos` replaced by `value`.
std::string with_byte(std::string bytes, size_t pos, uint8_t value) {
  bytes[pos] = static_cast<char>(value);
  return bytes;
}

void expect_corruption(const Result<DeliveryState>& r, const std::string& what) {
  ASSERT_FALSE(r.ok()) << what;
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << what;
}

// ---------------------------------------------------------------------------------------------------------
// record_codec

TEST(RecordCodec, StateRoundTripsEveryField) {
  DeliveryState s = full_state();
  auto decoded = decode_state(encode_state(s));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, s);
  // Field-by-field spot checks, so a failure says which part is wrong.
  EXPECT_EQ(to_unix_ms(*decoded->streak_start), -1);
  EXPECT_EQ(to_unix_ms(*decoded->next_attempt), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(to_unix_ms(*decoded->last_attempt), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(decoded->last_status, 503);
  EXPECT_EQ(decoded->attempted, s.attempted);
  EXPECT_EQ(decoded->deactivation_reason, s.deactivation_reason);
}

TEST(RecordCodec, StateRoundTripsEachSubStateAndErrorClass) {
  for (SubState st : {SubState::kActive, SubState::kRetrying, SubState::kDeactivated}) {
    for (uint8_t e = 0; e <= static_cast<uint8_t>(ErrorClass::kPrivateAddress); ++e) {
      DeliveryState s;
      s.state = st;
      s.last_error = static_cast<ErrorClass>(e);
      s.last_status = 200 + e;
      auto decoded = decode_state(encode_state(s));
      ASSERT_TRUE(decoded.ok()) << to_string(st) << " " << int(e);
      EXPECT_EQ(*decoded, s) << to_string(st) << " " << int(e);
    }
  }
}

TEST(RecordCodec, StoredAttemptRoundTripsEveryErrorClass) {
  for (uint8_t e = 0; e <= static_cast<uint8_t>(ErrorClass::kPrivateAddress); ++e) {
    StoredAttempt a{from_unix_ms(1765000000123 + e),
                    "evt-" + std::to_string(e),
                    1ull << 40,
                    70000,
                    e % 2 == 1,
                    e == 0 ? 204 : -1,
                    static_cast<ErrorClass>(e),
                    Duration(12345)};
    auto decoded = decode_attempt(encode_attempt(a));
    ASSERT_TRUE(decoded.ok()) << int(e) << ": " << decoded.status().message();
    EXPECT_EQ(*decoded, a) << int(e);
  }
}

TEST(RecordCodec, StoredAttemptStillReadsTheJsonOfOlderStores) {
  // As 72b59c7 and before wrote it (service/attempt_history.cpp then).
  auto a = decode_attempt(
      R"({"at_ms":1765000000123,"event":"e1","seq":7,"attempt":2,"probe":true,"status":503,"error":"status","latency_ms":31})");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, (StoredAttempt{from_unix_ms(1765000000123), "e1", 7, 2, true, 503, ErrorClass::kStatus,
                               Duration(31)}));
  auto delivered = decode_attempt(
      R"({"at_ms":5,"event":"e2","seq":8,"attempt":1,"probe":false,"status":200,"error":null,"latency_ms":0})");
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  EXPECT_EQ(delivered->error, ErrorClass::kNone);
  EXPECT_FALSE(decode_attempt(R"({"at_ms":5})").ok());
  // A number that is not an integer in the field's range is corrupt, not cast (fuzz/corpus/record).
  for (const char* bad : {R"("at_ms":7.7e61)", R"("at_ms":1.5)", R"("attempt":4294967296)", R"("seq":-1)",
                          R"("status":2147483648)", R"("latency_ms":18446744073709551615)"}) {
    nlohmann::json j = nlohmann::json::parse(
        R"({"at_ms":5,"event":"e","seq":1,"attempt":1,"probe":false,"status":200,"error":null,"latency_ms":0})");
    j.update(nlohmann::json::parse(std::string("{") + bad + "}"));
    auto decoded = decode_attempt(j.dump());
    EXPECT_FALSE(decoded.ok()) << bad;
    if (!decoded.ok()) EXPECT_EQ(decoded.status().code(), Status::Code::kCorruption) << bad;
  }
  EXPECT_FALSE(
      decode_attempt(
          R"({"at_ms":5,"event":"e","seq":1,"attempt":1,"probe":false,"status":200,"error":"nope","latency_ms":0})")
          .ok());
}

TEST(RecordCodec, StoredAttemptRejectsEveryTruncationAndAnUnknownVersion) {
  StoredAttempt a{from_unix_ms(1765000000123), "", 3, 1, false, 500, ErrorClass::kStatus, Duration(9)};
  std::string good = encode_attempt(a);  // no event id: every byte is a field, so every cut is detectable
  ASSERT_TRUE(decode_attempt(good).ok());
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode_attempt(good.substr(0, n)).ok()) << "cut at " << n << " of " << good.size();
  EXPECT_FALSE(decode_attempt(with_byte(good, 0, 2)).ok());
}

TEST(RecordCodec, DefaultStateRoundTrips) {
  DeliveryState s;
  auto decoded = decode_state(encode_state(s));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, s);
  EXPECT_FALSE(decoded->streak_start.has_value());
  EXPECT_FALSE(decoded->next_attempt.has_value());
  EXPECT_FALSE(decoded->last_attempt.has_value());
  EXPECT_FALSE(decoded->deactivated_at.has_value());
}

TEST(RecordCodec, StateRejectsEmptyInputAndWrongVersion) {
  expect_corruption(decode_state(""), "empty");
  std::string good = encode_state(full_state());
  for (uint8_t version : {0, 2, 0x7f, 0xff}) {
    expect_corruption(decode_state(with_byte(good, 0, version)), "version " + std::to_string(version));
  }
}

TEST(RecordCodec, StateRejectsEveryTruncation) {
  for (const DeliveryState& s : {full_state(), DeliveryState{}}) {
    std::string good = encode_state(s);
    ASSERT_TRUE(decode_state(good).ok());
    for (size_t len = 0; len < good.size(); ++len) {
      expect_corruption(decode_state(std::string_view(good).substr(0, len)),
                        "prefix of " + std::to_string(len) + "/" + std::to_string(good.size()) + " bytes");
    }
  }
}

TEST(RecordCodec, StateRejectsTrailingBytes) {
  for (const DeliveryState& s : {full_state(), DeliveryState{}}) {
    std::string good = encode_state(s);
    expect_corruption(decode_state(good + std::string(1, '\0')), "trailing NUL");
    expect_corruption(decode_state(good + "x"), "trailing x");
    expect_corruption(decode_state(good + good), "twice");
  }
}

TEST(RecordCodec, StateRejectsStateByteOutOfRange) {
  std::string good = encode_state(DeliveryState{});
  ASSERT_EQ(static_cast<uint8_t>(good[1]), 0);  // the state byte follows the version byte
  for (uint8_t st : {3, 4, 0x80, 0xff}) {
    expect_corruption(decode_state(with_byte(good, 1, st)), "state " + std::to_string(st));
  }
  EXPECT_TRUE(decode_state(with_byte(good, 1, 2)).ok());  // kDeactivated is the last valid one
}

TEST(RecordCodec, StateRejectsErrorClassOutOfRange) {
  DeliveryState s;
  s.last_error = ErrorClass::kOther;
  std::string good = encode_state(s);
  // Find the error-class byte by encoding the same state with another class and diffing.
  s.last_error = ErrorClass::kNone;
  std::string other = encode_state(s);
  ASSERT_EQ(good.size(), other.size());
  size_t pos = 0;
  while (good[pos] == other[pos]) ++pos;
  ASSERT_EQ(static_cast<uint8_t>(good[pos]), static_cast<uint8_t>(ErrorClass::kOther));
  expect_corruption(decode_state(with_byte(good, pos, 11)), "error class 11");
  expect_corruption(decode_state(with_byte(good, pos, 0xff)), "error class 255");
}

TEST(RecordCodec, StateRejectsHeadAfterNext) {
  DeliveryState s;
  s.head_seq = 11;
  s.next_seq = 10;
  expect_corruption(decode_state(encode_state(s)), "head 11 > next 10");
  s.next_seq = 11;
  EXPECT_TRUE(decode_state(encode_state(s)).ok());  // head == next: empty queue
}

TEST(RecordCodec, StateRejectsHeadSeqZero) {
  DeliveryState s;
  s.head_seq = 0;
  s.next_seq = 5;
  expect_corruption(decode_state(encode_state(s)), "head 0");
}

TEST(RecordCodec, StateRejectsBadDeliveredAhead) {
  DeliveryState base;
  base.head_seq = 10;
  base.next_seq = 20;
  const std::vector<std::vector<uint64_t>> bad = {
      {12, 11},                                  // descending
      {12, 12},                                  // repeated
      {11, 15, 13},                              // not ascending at the end
      {10},                                      // equal to head_seq (head is never delivered ahead)
      {9},                                       // below head_seq
      {20},                                      // equal to next_seq (not yet published)
      {11, 25},                                  // above next_seq
      {11, 12, 13, 14, 15, 16, 17, 18, 19, 19},  // more entries than the queue holds
  };
  for (const auto& ahead : bad) {
    DeliveryState s = base;
    s.delivered_ahead = ahead;
    std::string what = "delivered_ahead";
    for (uint64_t v : ahead) what += " " + std::to_string(v);
    expect_corruption(decode_state(encode_state(s)), what);
  }
  DeliveryState ok = base;
  ok.delivered_ahead = {11, 12, 19};
  auto decoded = decode_state(encode_state(ok));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, ok);
}

TEST(RecordCodec, QueuedEventRoundTrips) {
  struct Case {
    std::string id;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"evt_1", R"({"type":"trip.started"})"},
      {"evt_2", ""},
      {"", "body without id"},
      {"", ""},
      {std::string(127, 'a'), "x"},  // longest 1-byte varint
      {std::string(128, 'b'), "y"},  // shortest 2-byte varint
      {std::string(300, 'c'), std::string("\0\x80\xff binary", 10)},
  };
  for (const auto& c : cases) {
    std::string bytes = encode_queued_event(c.id, TimePoint{}, c.body);
    auto decoded = decode_queued_event(bytes);
    ASSERT_TRUE(decoded.ok()) << c.id.size() << ": " << decoded.status().message();
    EXPECT_EQ(decoded->id, c.id);
    EXPECT_EQ(decoded->body, c.body);
  }
  // A 300-byte id takes a 2-byte length varint; the version header (zero byte, version, body ref 0) 3 more.
  std::string id300(300, 'c');
  EXPECT_EQ(encode_queued_event(id300, TimePoint{}, "").size(), 3u + 303u);
  EXPECT_EQ(encode_queued_event(id300, TimePoint{}, "body").size(), 3u + 307u);
  EXPECT_EQ(encode_queued_event("abc", TimePoint{}, "").size(), 3u + 5u);
}

TEST(RecordCodec, ReadsQueueEntriesOfVersion1AsWrittenUpTo22bc692) {
  // Version 1: id length, id, zigzag varint time (Unix ms), body; no version marker.
  const std::string v1 = std::string(
      "\x05"
      "ev-42"
      "\x04"
      "{\"i\":1}");
  auto e = decode_queued_event(v1);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->id, "ev-42");
  EXPECT_EQ(e->enqueued_at, from_unix_ms(2));
  EXPECT_EQ(e->body, R"({"i":1})");
  EXPECT_EQ(e->body_ref, 0u);
  EXPECT_EQ(*decode_body_ref(v1), 0u);
}

TEST(RecordCodec, SharedQueueEntryCarriesItsBodyRefAndNoBody) {
  const std::string bytes = encode_shared_queued_event("ev-1", from_unix_ms(-5), 300);
  auto e = decode_queued_event(bytes);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->id, "ev-1");
  EXPECT_EQ(e->enqueued_at, from_unix_ms(-5));
  EXPECT_EQ(e->body_ref, 300u);
  EXPECT_EQ(e->body, "");
  EXPECT_EQ(*decode_body_ref(bytes), 300u);
  EXPECT_EQ(*decode_body_ref(encode_queued_event("ev-1", TimePoint{}, "body")), 0u);
  // A shared entry with bytes after it, and a version this code does not know, are damage.
  EXPECT_EQ(decode_queued_event(bytes + "x").status().code(), Status::Code::kCorruption);
  std::string v3 = bytes;
  v3[1] = 3;
  EXPECT_EQ(decode_queued_event(v3).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(decode_body_ref(v3).status().code(), Status::Code::kCorruption);
}

TEST(RecordCodec, QueuedEventRejectsTruncatedId) {
  std::string id300(300, 'c');
  std::string good = encode_queued_event(id300, TimePoint{}, "");
  for (size_t len : {size_t{0}, size_t{1}, size_t{2}, size_t{100}, size_t{301}}) {
    auto r = decode_queued_event(std::string_view(good).substr(0, len));
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << len;
  }
  // A length that claims more than is there.
  EXPECT_FALSE(decode_queued_event(std::string("\x05"
                                               "abc",
                                               4))
                   .ok());
  // A varint that never ends.
  EXPECT_FALSE(decode_queued_event(std::string(11, '\xff')).ok());
}

TEST(RecordCodec, ConfigRoundTripsFiltersSecretAndCustomPolicy) {
  SubscriptionConfig c = full_config("sub-1.a_B");
  ASSERT_NE(c.policy, RetryPolicy::frotcom());
  std::string bytes = encode_config(c);
  auto decoded = decode_config(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, c);
  EXPECT_EQ(decoded->policy.probe, ProbeMode::kLive);
  EXPECT_EQ(decoded->policy.delays, (std::vector<Duration>{1s, 2min, 3h + 4s}));
  EXPECT_EQ(decoded->filter.vehicles, (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(decoded->endpoint.secret, c.endpoint.secret);
}

TEST(RecordCodec, ConfigRoundTripsTokenEmptyFiltersAndDefaultPolicy) {
  SubscriptionConfig c;
  c.id = "x";
  c.endpoint.token = "bearer-token";
  auto decoded = decode_config(encode_config(c));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, c);
  EXPECT_EQ(decoded->policy, RetryPolicy::frotcom());

  c.policy.delays.clear();  // an empty schedule must stay empty, not fall back to the preset
  decoded = decode_config(encode_config(c));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(decoded->policy.delays.empty());
}

TEST(RecordCodec, ConfigRejectsGarbage) {
  for (
      const char* bad :
      {"", "garbage", "{", "42", "[]", "null", "{}", R"({"id":"a"})",
       R"({"id":1,"url":"","secret":"","token":"","filter":{"types":[],"accounts":[],"vehicles":[]},"policy":"frotcom"})",
       R"({"id":"a","url":"","secret":"","token":"","filter":{"types":[1],"accounts":[],"vehicles":[]},"policy":"frotcom"})"}) {
    auto r = decode_config(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << bad;
  }
  std::string truncated = encode_config(full_config("t"));
  truncated.pop_back();
  EXPECT_FALSE(decode_config(truncated).ok());
}

TEST(RecordCodec, ConfigRejectsPolicyWithUnknownField) {
  constexpr const char* kPrefix =
      R"({"id":"a","url":"","secret":"","token":"","filter":{"types":[],"accounts":[],"vehicles":[]},"policy":)";
  // The same record with a valid policy decodes, so the failure below is the policy's.
  ASSERT_TRUE(decode_config(std::string(kPrefix) + R"({"repeat":"1h"}})").ok());
  ASSERT_TRUE(decode_config(std::string(kPrefix) + R"("frotcom"})").ok());

  auto r = decode_config(std::string(kPrefix) + R"({"repeat":"1h","retries":5}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("retries"), std::string::npos) << r.status().message();

  EXPECT_FALSE(decode_config(std::string(kPrefix) + R"("nosuchpreset"})").ok());
  EXPECT_FALSE(decode_config(std::string(kPrefix) + R"({"probe":"sideways"}})").ok());
}

TEST(RecordCodec, QueueKeyOrdersByKeyThenSeqUnderMemcmp) {
  EXPECT_EQ(encode_queue_key(1, 2).size(), 16u);
  const std::vector<std::pair<uint64_t, uint64_t>> ascending = {
      {0, 0},       {0, 1},   {0, 255},        {0, 256},     {0, 65535},         {0, 65536},
      {0, kMaxU64}, {1, 0},   {1, 255},        {1, 256},     {1, kMaxU64},       {2, 0},
      {255, 7},     {256, 0}, {1ull << 32, 0}, {kMaxU64, 0}, {kMaxU64, kMaxU64},
  };
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    auto [k1, s1] = ascending[i];
    auto [k2, s2] = ascending[i + 1];
    std::string a = encode_queue_key(k1, s1);
    std::string b = encode_queue_key(k2, s2);
    // std::string compares bytes as unsigned char, like memcmp.
    EXPECT_LT(a.compare(b), 0) << "(" << k1 << "," << s1 << ") vs (" << k2 << "," << s2 << ")";
    EXPECT_LT(memcmp(a.data(), b.data(), 16), 0)
        << "(" << k1 << "," << s1 << ") vs (" << k2 << "," << s2 << ")";
  }
  // The subscription key is the 8-byte prefix of its queue keys.
  EXPECT_EQ(encode_queue_key(42, 99).substr(0, 8), encode_sub_key(42));
}

TEST(RecordCodec, SubKeyRoundTripsAndRejectsWrongLength) {
  for (uint64_t k : {uint64_t{0}, uint64_t{1}, uint64_t{256}, uint64_t{1} << 40, kMaxU64}) {
    auto d = decode_sub_key(encode_sub_key(k));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, k);
  }
  EXPECT_FALSE(decode_sub_key("").ok());
  EXPECT_FALSE(decode_sub_key("1234567").ok());
  EXPECT_FALSE(decode_sub_key("123456789").ok());
}

// ---------------------------------------------------------------------------------------------------------
// RocksQueueStore

// A test's store lives in dir.file("db") of a fresh TempDir: a subdirectory the store must create itself.
std::unique_ptr<RocksQueueStore> open_store(const std::string& path, StoreOptions options = {.sync = false}) {
  auto store = RocksQueueStore::open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().message();
  if (!store.ok()) return nullptr;
  return std::move(*store);
}

uint64_t count(RocksQueueStore& store, uint64_t key) {
  auto n = store.count_queued(key);
  EXPECT_TRUE(n.ok()) << n.status().message();
  return n.ok() ? *n : ~uint64_t{0};
}

void expect_event(RocksQueueStore& store, uint64_t key, uint64_t seq, const std::string& id,
                  const std::string& body) {
  auto e = store.read_event(key, seq);
  ASSERT_TRUE(e.ok()) << "(" << key << "," << seq << "): " << e.status().message();
  EXPECT_EQ(e->id, id) << "(" << key << "," << seq << ")";
  EXPECT_EQ(*e->body, body) << "(" << key << "," << seq << ")";
}

void expect_not_found(RocksQueueStore& store, uint64_t key, uint64_t seq) {
  auto e = store.read_event(key, seq);
  ASSERT_FALSE(e.ok()) << "(" << key << "," << seq << ") is still queued";
  EXPECT_EQ(e.status().code(), Status::Code::kNotFound) << "(" << key << "," << seq << ")";
}

// Enqueues events seq first..end-1 of `key`, with id "e<key>-<seq>" and body "b<key>-<seq>".
void fill(RocksQueueStore& store, uint64_t key, uint64_t first, uint64_t end) {
  auto batch = store.new_batch();
  for (uint64_t seq = first; seq < end; ++seq) {
    batch->enqueue(key, seq, TimePoint{}, "e" + std::to_string(key) + "-" + std::to_string(seq),
                   "b" + std::to_string(key) + "-" + std::to_string(seq));
  }
  ASSERT_TRUE(store.write(*batch, Durability::kBuffered).ok());
}

TEST(RocksQueueStore, BatchSurvivesReopen) {
  TempDir dir;
  SubscriptionConfig config = full_config("sub-a");
  DeliveryState state = full_state();
  state.head_seq = 1;
  state.next_seq = 4;
  state.delivered_ahead = {3};
  state.attempted = {{1, 2}};
  const std::string big_body(100000, 'z');
  {
    auto store = open_store(dir.file("db"));
    ASSERT_NE(store, nullptr);
    auto batch = store->new_batch();
    batch->put_config(7, config);
    batch->put_state(7, state);
    batch->enqueue(7, 1, TimePoint{}, "evt-1", R"({"n":1})");
    batch->enqueue(7, 2, TimePoint{}, "evt-2", "");
    batch->enqueue(7, 3, TimePoint{}, std::string(300, 'i'), big_body);
    EXPECT_EQ(batch->size(), 5u);
    auto st = store->write(*batch, Durability::kSynced);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].key, 7u);
  EXPECT_EQ((*subs)[0].config, config);
  EXPECT_EQ((*subs)[0].state, state);
  expect_event(*store, 7, 1, "evt-1", R"({"n":1})");
  expect_event(*store, 7, 2, "evt-2", "");
  expect_event(*store, 7, 3, std::string(300, 'i'), big_body);
  expect_not_found(*store, 7, 0);
  expect_not_found(*store, 7, 4);
  expect_not_found(*store, 8, 1);
  EXPECT_EQ(count(*store, 7), 3u);
}

TEST(RocksQueueStore, EmptyStoreHasNoSubscriptionsOrEvents) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  EXPECT_TRUE(subs->empty());
  expect_not_found(*store, 1, 1);
  EXPECT_EQ(count(*store, 1), 0u);
  auto empty = store->new_batch();
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_TRUE(store->write(*empty, Durability::kSynced).ok());
}

TEST(RocksQueueStore, PutConfigAndStateOverwrite) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  SubscriptionConfig config = full_config("s");
  DeliveryState state;
  {
    auto batch = store->new_batch();
    batch->put_config(1, config);
    batch->put_state(1, state);
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  }
  config.endpoint.url = "https://other.test/";
  state.head_seq = 5;
  state.next_seq = 9;
  state.delivered = 4;
  {
    auto batch = store->new_batch();
    batch->put_config(1, config);
    batch->put_state(1, state);
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].config, config);
  EXPECT_EQ((*subs)[0].state, state);
}

TEST(RocksQueueStore, RemoveDeletesOnlyThatEvent) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  fill(*store, 3, 1, 4);
  {
    auto batch = store->new_batch();
    batch->remove(3, 2);
    batch->remove(3, 99);  // absent: not an error
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
  expect_not_found(*store, 3, 2);
  expect_event(*store, 3, 1, "e3-1", "b3-1");
  expect_event(*store, 3, 3, "e3-3", "b3-3");
  EXPECT_EQ(count(*store, 3), 2u);

  // Still gone after a reopen (the removal reached the WAL).
  store.reset();
  store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  expect_not_found(*store, 3, 2);
  EXPECT_EQ(count(*store, 3), 2u);
}

TEST(RocksQueueStore, RemoveRangeRemovesExactlyFirstToEnd) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  fill(*store, 1, 1, 11);
  fill(*store, 2, 1, 11);
  fill(*store, 0, 1, 11);
  {
    auto batch = store->new_batch();
    batch->remove_range(1, 3, 7);
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
  for (uint64_t seq = 1; seq < 11; ++seq) {
    if (seq >= 3 && seq < 7) {
      expect_not_found(*store, 1, seq);
    } else {
      expect_event(*store, 1, seq, "e1-" + std::to_string(seq), "b1-" + std::to_string(seq));
    }
    expect_event(*store, 2, seq, "e2-" + std::to_string(seq), "b2-" + std::to_string(seq));
    expect_event(*store, 0, seq, "e0-" + std::to_string(seq), "b0-" + std::to_string(seq));
  }
  EXPECT_EQ(count(*store, 1), 6u);
  EXPECT_EQ(count(*store, 2), 10u);
  EXPECT_EQ(count(*store, 0), 10u);

  // An empty range removes nothing.
  {
    auto batch = store->new_batch();
    batch->remove_range(1, 8, 8);
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
  EXPECT_EQ(count(*store, 1), 6u);
  expect_event(*store, 1, 8, "e1-8", "b1-8");
}

TEST(RocksQueueStore, RemoveRangeSpanningByteBoundaries) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  fill(*store, 5, 250, 262);
  {
    auto batch = store->new_batch();
    batch->remove_range(5, 255, 257);  // crosses the 255 -> 256 carry into the next byte
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
  expect_event(*store, 5, 254, "e5-254", "b5-254");
  expect_not_found(*store, 5, 255);
  expect_not_found(*store, 5, 256);
  expect_event(*store, 5, 257, "e5-257", "b5-257");
  EXPECT_EQ(count(*store, 5), 10u);
}

TEST(RocksQueueStore, LoadingPairsEachConfigWithItsStateSkipsAStrayStateAndRefusesAMissingOne) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  auto batch = store->new_batch();
  for (uint64_t key : {2, 5, 9}) {
    batch->put_config(key, full_config("s" + std::to_string(key)));
    DeliveryState st;
    st.next_seq = key;  // tells the states apart
    batch->put_state(key, st);
  }
  DeliveryState stray;  // a state with no config (between two configs, and after the last)
  stray.next_seq = 77;
  batch->put_state(3, stray);
  batch->put_state(12, stray);
  ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  ASSERT_EQ(subs->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*subs)[i].config.id, "s" + std::to_string((*subs)[i].key));
    EXPECT_EQ((*subs)[i].state.next_seq, (*subs)[i].key);
  }

  auto missing = store->new_batch();
  missing->put_config(7, full_config("s7"));  // a config without a state: a damaged store
  ASSERT_TRUE(store->write(*missing, Durability::kSynced).ok());
  auto damaged = store->load_subscriptions();
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.status().code(), Status::Code::kCorruption);
  EXPECT_NE(damaged.status().message().find("'s7' has no stored state"), std::string::npos)
      << damaged.status().message();
}

TEST(RocksQueueStore, EraseSubscriptionRemovesConfigStateAndQueue) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  for (uint64_t key : {1, 2, 3}) {
    auto batch = store->new_batch();
    batch->put_config(key, full_config("s" + std::to_string(key)));
    DeliveryState st;
    st.next_seq = 6;
    batch->put_state(key, st);
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
    fill(*store, key, 1, 6);
  }
  {
    auto batch = store->new_batch();
    batch->erase_subscription(2);
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  }
  auto check = [](RocksQueueStore& s) {
    auto subs = s.load_subscriptions();
    ASSERT_TRUE(subs.ok()) << subs.status().message();
    ASSERT_EQ(subs->size(), 2u);
    EXPECT_EQ((*subs)[0].key, 1u);
    EXPECT_EQ((*subs)[0].config.id, "s1");
    EXPECT_EQ((*subs)[1].key, 3u);
    EXPECT_EQ((*subs)[1].config.id, "s3");
    EXPECT_EQ(count(s, 2), 0u);
    for (uint64_t seq = 1; seq < 6; ++seq) expect_not_found(s, 2, seq);
    EXPECT_EQ(count(s, 1), 5u);
    EXPECT_EQ(count(s, 3), 5u);
    expect_event(s, 1, 5, "e1-5", "b1-5");
    expect_event(s, 3, 1, "e3-1", "b3-1");
  };
  check(*store);
  store.reset();
  store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  check(*store);

  // The key can be reused: a new config/state/queue for it does not resurrect the old one.
  {
    auto batch = store->new_batch();
    batch->put_config(2, full_config("fresh"));
    batch->put_state(2, DeliveryState{});
    batch->enqueue(2, 1, TimePoint{}, "new", "new-body");
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  }
  expect_event(*store, 2, 1, "new", "new-body");
  EXPECT_EQ(count(*store, 2), 1u);
}

// Remembers ids "old" (published 2 h ago) and "new" (now), compacts, and answers which ids are still known.
std::vector<bool> ids_after_compaction(const std::string& path, Duration retention) {
  auto store = open_store(path, {.sync = false, .event_id_retention = retention});
  if (store == nullptr) return {};
  auto now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  auto batch = store->new_batch();
  batch->remember_event_id("old", now - std::chrono::hours(2));
  batch->remember_event_id("new", now);
  EXPECT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  auto before = store->find_event_ids({"old", "new", "never"});
  EXPECT_TRUE(before.ok() && *before == std::vector<bool>({true, true, false}));
  EXPECT_TRUE(store->compact_event_ids().ok());
  auto after = store->find_event_ids({"old", "new", "never"});
  EXPECT_TRUE(after.ok()) << after.status().message();
  return after.ok() ? *after : std::vector<bool>{};
}

TEST(RocksQueueStore, EventIdsPastTheRetentionAreDroppedWhenCompacted) {
  TempDir dir;
  EXPECT_EQ(ids_after_compaction(dir.file("db"), std::chrono::hours(1)),
            std::vector<bool>({false, true, false}));
}

TEST(RocksQueueStore, EventIdsAreKeptForEverWithoutARetention) {
  TempDir dir;
  EXPECT_EQ(ids_after_compaction(dir.file("db"), Duration::zero()), std::vector<bool>({true, true, false}));
}

TEST(RocksQueueStore, BatchAppliesOperationsInOrder) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  {
    auto batch = store->new_batch();
    batch->put_config(4, full_config("four"));
    batch->put_state(4, DeliveryState{});
    batch->erase_subscription(4);  // later operations in a batch win
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  }
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  EXPECT_TRUE(subs->empty());
}

TEST(RocksQueueStore, BatchIsInvisibleUntilWritten) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  auto batch = store->new_batch();
  batch->put_config(9, full_config("nine"));
  batch->put_state(9, queue_state(1, 3));
  batch->enqueue(9, 1, TimePoint{}, "a", "A");
  batch->enqueue(9, 2, TimePoint{}, "b", "B");

  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok());
  EXPECT_TRUE(subs->empty());
  expect_not_found(*store, 9, 1);
  expect_not_found(*store, 9, 2);
  EXPECT_EQ(count(*store, 9), 0u);

  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].config.id, "nine");
  EXPECT_EQ((*subs)[0].state.next_seq, 3u);
  expect_event(*store, 9, 1, "a", "A");
  expect_event(*store, 9, 2, "b", "B");
}

TEST(RocksQueueStore, UnwrittenBatchIsLostOnReopen) {
  TempDir dir;
  {
    auto store = open_store(dir.file("db"));
    ASSERT_NE(store, nullptr);
    auto batch = store->new_batch();
    batch->put_config(1, full_config("one"));
    batch->put_state(1, DeliveryState{});
    batch->enqueue(1, 1, TimePoint{}, "a", "A");
    // never written
  }
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok());
  EXPECT_TRUE(subs->empty());
  expect_not_found(*store, 1, 1);
}

TEST(RocksQueueStore, LoadSubscriptionsInAscendingKeyOrder) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  // Written out of order; 256 and 1 differ only in a byte that little-endian would sort first.
  const std::vector<uint64_t> keys = {300, 2, 1ull << 40, 256, 1, 0, 255, (1ull << 63) + 5};
  {
    auto batch = store->new_batch();
    for (uint64_t key : keys) {
      batch->put_config(key, full_config("k" + std::to_string(key)));
      DeliveryState st;
      st.delivered = key;
      batch->put_state(key, st);
    }
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  }
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  std::vector<uint64_t> got;
  for (const auto& s : *subs) {
    got.push_back(s.key);
    EXPECT_EQ(s.config.id, "k" + std::to_string(s.key));
    EXPECT_EQ(s.state.delivered, s.key);  // each config is paired with its own state
  }
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 255, 256, 300, 1ull << 40, (1ull << 63) + 5}));
}

TEST(RocksQueueStore, OpeningARegularFileFails) {
  TempDir dir;
  std::filesystem::path file = dir.file("not_a_dir");
  { std::ofstream(file) << "hello"; }
  auto store = RocksQueueStore::open(file.string(), StoreOptions{});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().code(), Status::Code::kOk);
  EXPECT_FALSE(store.status().message().empty());
  // The file is left alone.
  std::ifstream in(file);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "hello");
}

// A directory another store holds (RocksDB's LOCK file) is refused in words, not with RocksDB's lock message:
// from this process, and from a second `hooksim serve` (exit status 1, as for any store that cannot open).
TEST(RocksQueueStore, ADirectoryInUseIsRefusedInWords) {
  TempDir dir;
  const std::string path = dir.file("db");
  auto first = RocksQueueStore::open(path, StoreOptions{.sync = false});
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto second = RocksQueueStore::open(path, StoreOptions{.sync = false});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kIOError);
  EXPECT_EQ(second.status().message(), "data directory " + path + " is in use by another hooksim serve");

  auto serve = testutil::run_hooksim("serve --listen 127.0.0.1:0 --data " + testutil::shell_quote(path), dir);
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_EQ(serve.err, "hooksim serve: data directory " + path + " is in use by another hooksim serve\n");
}

TEST(RocksQueueStore, OpeningMissingDirectoryWithoutCreateFails) {
  TempDir dir;
  auto store = RocksQueueStore::open(dir.file("db"), StoreOptions{.sync = false, .create_if_missing = false});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIOError);
}

TEST(RocksQueueStore, SyncedStoreWritesAndReads) {
  TempDir dir;
  {
    auto store = open_store(dir.file("db"), StoreOptions{.sync = true});
    ASSERT_NE(store, nullptr);
    auto batch = store->new_batch();
    batch->put_config(1, full_config("synced"));
    batch->put_state(1, queue_state(1, 2));
    batch->enqueue(1, 1, TimePoint{}, "id", "body");
    auto st = store->write(*batch, Durability::kSynced);
    ASSERT_TRUE(st.ok()) << st.message();
    auto ack = store->new_batch();
    ack->remove(1, 1);
    ack->put_state(1, queue_state(2, 2, 1));
    st = store->write(*ack, Durability::kBuffered);
    ASSERT_TRUE(st.ok()) << st.message();
  }
  auto store = open_store(dir.file("db"), StoreOptions{.sync = true});
  ASSERT_NE(store, nullptr);
  auto subs = store->load_subscriptions();
  ASSERT_TRUE(subs.ok()) << subs.status().message();
  ASSERT_EQ(subs->size(), 1u);
  EXPECT_EQ((*subs)[0].config, full_config("synced"));
  EXPECT_EQ((*subs)[0].state, (queue_state(2, 2, 1)));
  expect_not_found(*store, 1, 1);
}

// Shared bodies

BodyCounts bodies(RocksQueueStore& store) {
  auto n = store.count_bodies();
  EXPECT_TRUE(n.ok()) << n.status().message();
  return n.ok() ? *n : BodyCounts{kMaxU64, kMaxU64, kMaxU64};
}

}  // namespace

// Beside BodyCounts (not in the anonymous namespace), where the test macros' lookup finds them.
bool operator==(const BodyCounts& a, const BodyCounts& b) {
  return a.bodies == b.bodies && a.refs == b.refs && a.in_memory == b.in_memory;
}

std::ostream& operator<<(std::ostream& os, const BodyCounts& c) {
  return os << "{bodies " << c.bodies << ", refs " << c.refs << ", in memory " << c.in_memory << "}";
}

namespace {

constexpr BodyCounts kNoBody{0, 0, 0};
constexpr BodyCounts kOneBody{1, 1, 1};

TEST(RocksQueueStore, AnEventInManyQueuesHasItsBodyStoredOnceUntilItsLastEntryGoes) {
  TempDir dir;
  const std::string big(1 << 20, 'x');
  const std::vector<QueueSlot> slots = {{1, 1}, {2, 1}, {3, 1}, {4, 1}};
  {
    auto store = open_store(dir.file("db"));
    ASSERT_NE(store, nullptr);
    auto batch = store->new_batch();
    batch->enqueue_many(slots, from_unix_ms(7), "shared", big);
    batch->enqueue(5, 1, from_unix_ms(8), "alone", "inline body");  // one queue: the body stays inline
    ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
    EXPECT_EQ(bodies(*store), kOneBody);
    // Entries of one event read while one is held share its body; an inline entry has no reference.
    auto a = store->read_event(1, 1), b = store->read_event(2, 1), alone = store->read_event(5, 1);
    ASSERT_TRUE(a.ok() && b.ok() && alone.ok());
    EXPECT_EQ(a->body.get(), b->body.get());
    EXPECT_EQ(*a->body, big);
    EXPECT_EQ(a->id, "shared");
    EXPECT_EQ(a->enqueued_at, from_unix_ms(7));
    EXPECT_NE(a->body_ref, 0u);
    EXPECT_EQ(a->body_ref, b->body_ref);
    EXPECT_EQ(alone->body_ref, 0u);
    EXPECT_EQ(*alone->body, "inline body");
  }
  auto store = open_store(dir.file("db"));  // the count is loaded again
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(bodies(*store), kOneBody);
  auto head = store->read_event(1, 1);
  ASSERT_TRUE(head.ok());
  const BodyRef ref = head->body_ref;
  // Each way of removing an entry releases it: an acknowledgement with the reference read, one without,
  // a range, the subscription's removal. Only the last deletes the body.
  auto step = [&](auto op) {
    auto batch = store->new_batch();
    op(*batch);
    auto st = store->write(*batch, Durability::kBuffered);
    ASSERT_TRUE(st.ok()) << st.message();
  };
  step([&](StoreBatch& b) { b.remove(1, 1, ref); });
  EXPECT_EQ(bodies(*store), kOneBody);
  step([&](StoreBatch& b) { b.remove(2, 1); });
  EXPECT_EQ(bodies(*store), kOneBody);
  step([&](StoreBatch& b) { b.remove_range(3, 0, 10); });
  EXPECT_EQ(bodies(*store), kOneBody);
  expect_event(*store, 4, 1, "shared", big);
  step([&](StoreBatch& b) { b.erase_subscription(4); });
  EXPECT_EQ(bodies(*store), kNoBody);
  for (uint64_t key = 1; key <= 4; ++key) expect_not_found(*store, key, 1);
  expect_event(*store, 5, 1, "alone", "inline body");
  step([&](StoreBatch& b) { b.remove(5, 1, 0); });
  EXPECT_EQ(count(*store, 5), 0u);
}

TEST(RocksQueueStore, ABodyIsReleasedOnceWhenABatchRemovesItsEntryTwiceOrAddsAndRemovesIt) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  const std::vector<QueueSlot> slots = {{1, 1}, {2, 1}};
  auto batch = store->new_batch();
  batch->enqueue_many(slots, TimePoint{}, "first", "B1");
  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  const BodyRef ref = store->read_event(1, 1)->body_ref;
  // Removed singly, then again within a range (deactivation after an unwritten probe acknowledgement):
  // one release, so entry (2, 1) keeps the body.
  batch = store->new_batch();
  batch->remove(1, 1, ref);
  batch->remove_range(1, 1, 5);
  batch->remove(1, 1, ref);
  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  EXPECT_EQ(bodies(*store), kOneBody);
  expect_event(*store, 2, 1, "first", "B1");
  // Added and removed by one batch: nothing is left of it.
  batch = store->new_batch();
  const std::vector<QueueSlot> more = {{3, 1}, {3, 2}, {4, 1}};
  batch->enqueue_many(more, TimePoint{}, "second", "B2");
  batch->remove_range(3, 0, 10);
  batch->erase_subscription(4);
  batch->remove(2, 1, ref);
  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  EXPECT_EQ(bodies(*store), kNoBody);
  EXPECT_EQ(count(*store, 3), 0u);
}

TEST(RocksQueueStore, ARemovalThatWouldReleaseABodyMoreOftenThanItIsHeldFailsAndAppliesNothing) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  const std::vector<QueueSlot> slots = {{1, 1}, {2, 1}};
  auto batch = store->new_batch();
  batch->enqueue_many(slots, TimePoint{}, "ev", "body");
  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  const BodyRef ref = store->read_event(1, 1)->body_ref;
  batch = store->new_batch();
  batch->remove(1, 1, ref);
  batch->remove(2, 1, ref);
  batch->remove(3, 1, ref);  // no such entry: a caller's bug
  batch->put_state(1, queue_state(2, 2));
  EXPECT_EQ(store->write(*batch, Durability::kBuffered).code(), Status::Code::kCorruption);
  EXPECT_EQ(bodies(*store), kOneBody);
  expect_event(*store, 1, 1, "ev", "body");
  expect_event(*store, 2, 1, "ev", "body");
  EXPECT_TRUE(store->load_subscriptions()->empty());
  // The counts in memory are unchanged too: the right removals still work.
  batch = store->new_batch();
  batch->remove(1, 1, ref);
  batch->remove(2, 1, ref);
  ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  EXPECT_EQ(bodies(*store), kNoBody);
}

TEST(RocksQueueStore, APublishToManyQueuesWritesItsBodyOnce) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  std::vector<QueueSlot> slots;
  for (uint64_t key = 1; key <= 100; ++key) slots.push_back({key, 1});
  auto batch = store->new_batch();
  batch->enqueue_many(slots, TimePoint{}, "big", std::string(1 << 20, 'b'));
  ASSERT_TRUE(store->write(*batch, Durability::kSynced).ok());
  uint64_t bytes = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.file("db")))
    if (f.is_regular_file()) bytes += f.file_size();
  // One copy (1 MiB) and 100 small entries, not 100 MiB.
  EXPECT_LT(bytes, 2u << 20);
  EXPECT_EQ(bodies(*store), kOneBody);
}

// A transport that answers every attempt 200 a millisecond later, and records what it was given.
class AckingTransport final : public Transport {
 public:
  struct Sent {
    std::string sub, event_id, body;
    uint64_t seq;
    const std::string* shared;  // the body's owner, when it came shared
  };
  explicit AckingTransport(Scheduler& clock) : clock_(clock) {}
  AttemptHandle send(const DeliveryRequest& r, Done done) override {
    sent.push_back(
        {r.subscription->id, std::string(r.event_id), std::string(r.body), r.seq, r.body_owner.get()});
    clock_.schedule_at(clock_.now() + 1ms, [done = std::move(done), owner = r.body_owner] {
      done({200, ErrorClass::kNone, 1ms});
    });
    return sent.size();
  }
  void cancel(AttemptHandle) override {}
  std::vector<Sent> sent;

 private:
  Scheduler& clock_;
};

TEST(RocksQueueStore, AnOlderStoresLogWithARangeDeletionFromAnEntryKeyIsReplayedSafely) {
  // As hooksim up to 72b59c7 left a store after a crash: entries of a queue and a range deletion that
  // starts at an entry's own key, in the write-ahead log only. RocksDB 7.8 replaying that with the queue
  // family's insert hint on would corrupt its memtable (storage/rocks_store.cpp, QueueEntryPrefix).
  TempDir dir;
  {
    rocksdb::DBOptions o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name :
         {rocksdb::kDefaultColumnFamilyName.c_str(), "subscriptions", "state", "queue", "event_ids"})
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.file("db"), families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* queue = handles[3];
    rocksdb::WriteBatch batch;
    for (uint64_t seq = 1; seq <= 5; ++seq)
      ASSERT_TRUE(batch
                      .Put(queue, encode_queue_key(7, seq),
                           encode_queued_event("e" + std::to_string(seq), from_unix_ms(1), "body"))
                      .ok());
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    rocksdb::WriteBatch removal;  // entries 1 to 3, from entry 1's own key
    ASSERT_TRUE(removal.DeleteRange(queue, encode_queue_key(7, 1), encode_queue_key(7, 4)).ok());
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &removal).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());  // no flush: with the log on, RocksDB leaves it all in the log
  }
  ASSERT_FALSE(std::filesystem::exists(dir.file("db") + "/HOOKSIM-HINTED-LOG"));
  for (int open = 0; open < 2; ++open) {  // the upgrade, then a start on the upgraded store
    auto store = open_store(dir.file("db"));
    ASSERT_NE(store, nullptr) << open;
    EXPECT_TRUE(std::filesystem::exists(dir.file("db") + "/HOOKSIM-HINTED-LOG"));
    for (uint64_t seq = 1; seq <= 3 + open; ++seq) expect_not_found(*store, 7, seq);
    if (open == 0) expect_event(*store, 7, 4, "e4", "body");
    expect_event(*store, 7, 5, "e5", "body");
    if (open == 1) expect_event(*store, 7, 6, "n", "new");
    // What this version writes: a publish, an acknowledgement, a range removal, all in one memtable.
    auto batch = store->new_batch();
    batch->enqueue(7, 6 + open, from_unix_ms(2), "n", "new");
    batch->remove(7, 4 + open);
    ASSERT_TRUE(store->write(*batch, Durability::kBuffered).ok());
  }
}

TEST(RocksQueueStore, AStoreWrittenBy22bc692OpensAndDeliversItsBacklogInOrder) {
  // tests/fixtures/make-store-22bc692.sh wrote it with hooksim 22bc692: version-1 queue entries, each with
  // its own copy of the body, and no families for shared bodies.
  TempDir dir;
  std::filesystem::copy(std::string(HOOKSIM_SOURCE_DIR) + "/tests/fixtures/store-22bc692", dir.file("db"),
                        std::filesystem::copy_options::recursive);
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(bodies(*store), kNoBody);
  VirtualScheduler clock(from_unix_ms(1'800'000'000'000));
  AckingTransport transport(clock);
  {
    Engine engine(clock, *store, transport, nullptr, {.envelope = protocol::make_envelope});
    ASSERT_TRUE(engine.open().ok());
    EXPECT_EQ(engine.subscription_ids(), (std::vector<std::string>{"tracking", "acme", "all"}));
    // An event published after the upgrade joins all three queues behind their backlogs, body shared.
    Event after{.id = "ev-13", .type = "tracking", .account = "acme", .vehicle = "v1", .data = R"({"i":13})"};
    ASSERT_TRUE(engine.publish({&after, 1}).ok());
    EXPECT_EQ(bodies(*store), kOneBody);
    while (clock.run_next()) {
    }
  }
  std::map<std::string, std::vector<int>> expected;
  for (int i = 1; i <= 13; ++i) {
    const bool tracking = i % 3 == 0 || i == 13, acme = i % 2 == 0 || i == 13;
    if (tracking) expected["tracking"].push_back(i);
    if (acme) expected["acme"].push_back(i);
    expected["all"].push_back(i);
  }
  std::map<std::string, std::vector<int>> delivered;
  for (const auto& s : transport.sent) {
    const int i = std::stoi(s.event_id.substr(3));
    // In order, one attempt each (the receiver always acknowledges), numbered from 1.
    EXPECT_EQ(s.seq, delivered[s.sub].size() + 1) << s.sub << " " << s.event_id;
    delivered[s.sub].push_back(i);
    EXPECT_NE(s.body.find("\"id\":\"ev-" + std::to_string(i) + "\""), std::string::npos) << s.body;
    EXPECT_NE(s.body.find("{\"i\":" + std::to_string(i) + "}"), std::string::npos) << s.body;
  }
  EXPECT_EQ(delivered, expected);
  for (uint64_t key = 1; key <= 3; ++key) EXPECT_EQ(count(*store, key), 0u);
  EXPECT_EQ(bodies(*store), kNoBody);
}

TEST(RocksQueueStore, DeliveriesOfOneEventInFlightTogetherShareOneBody) {
  TempDir dir;
  auto store = open_store(dir.file("db"));
  ASSERT_NE(store, nullptr);
  VirtualScheduler clock(from_unix_ms(0));
  AckingTransport transport(clock);
  Engine engine(clock, *store, transport, nullptr, {.envelope = protocol::make_envelope});
  ASSERT_TRUE(engine.open().ok());
  for (const char* id : {"a", "b", "c"})
    ASSERT_TRUE(engine.add_subscription({.id = id, .endpoint = {.url = "http://127.0.0.1:1/"}}).ok());
  Event e{.id = "ev-1", .type = "tracking", .data = R"({"big":")" + std::string(100000, 'x') + "\"}"};
  ASSERT_TRUE(engine.publish({&e, 1}).ok());
  ASSERT_EQ(transport.sent.size(), 3u);  // all three in flight at once
  EXPECT_NE(transport.sent[0].shared, nullptr);
  EXPECT_EQ(transport.sent[0].shared, transport.sent[1].shared);
  EXPECT_EQ(transport.sent[0].shared, transport.sent[2].shared);
  while (clock.run_next()) {
  }
  EXPECT_EQ(bodies(*store), kNoBody);
}

}  // namespace
}  // namespace hooksim::storage
