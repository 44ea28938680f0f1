#include <gtest/gtest.h>

#include "protocol/standard_webhooks.h"

namespace hooksim::protocol {
namespace {

// The Standard Webhooks specification's test vector (from its reference libraries' tests).
constexpr const char* kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr const char* kPayload = R"({"test": 2432232314})";
constexpr const char* kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(Signing, SpecTestVectorSignsToTheExpectedValue) {
  auto key = signing_key(kSecret);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(sign(*key, kId, kTimestamp, kPayload), kExpected);
}

TEST(Signing, VerifyAcceptsAnyMatchingSignatureAndRejectsTampering) {
  std::string key = *signing_key(kSecret);
  EXPECT_TRUE(verify(key, kId, kTimestamp, kPayload, kExpected));
  EXPECT_TRUE(verify(key, kId, kTimestamp, kPayload, std::string("v1,bm90IGl0 ") + kExpected));
  EXPECT_FALSE(verify(key, kId, kTimestamp, R"({"test": 2432232315})", kExpected));
  EXPECT_FALSE(verify(key, kId, kTimestamp + 1, kPayload, kExpected));
  EXPECT_FALSE(verify(key, "msg_other", kTimestamp, kPayload, kExpected));
  EXPECT_FALSE(verify(key, kId, kTimestamp, kPayload, ""));
  EXPECT_FALSE(verify(*signing_key("whsec_AAAAAAAA"), kId, kTimestamp, kPayload, kExpected));
}

TEST(Signing, RejectsMalformedSecrets) {
  EXPECT_FALSE(signing_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());  // no prefix
  EXPECT_FALSE(signing_key("whsec_not base64!").ok());
  EXPECT_FALSE(signing_key("whsec_").ok());
}

TEST(Base64, RoundTripsEveryLengthModuloThree) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_FALSE(base64_decode("YWI").ok());
  EXPECT_FALSE(base64_decode("Y=WI").ok());
}

}  // namespace
}  // namespace hooksim::protocol
