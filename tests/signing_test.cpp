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

TEST(Base64, PaddingEndsTheText) {
  for (auto [text, bytes] : {std::pair{"YQ==", "a"}, {"YWI=", "ab"}}) {
    auto decoded = base64_decode(text);
    ASSERT_TRUE(decoded.ok()) << text;
    EXPECT_EQ(*decoded, bytes);
  }
  for (const char* text : {"YQ=a", "YQ=A", "Y===", "====", "YQ==YQ=="}) {
    auto decoded = base64_decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().message(), "base64: invalid character") << text;
  }
  // So a secret with data after its padding is refused, with the message of any other bad secret.
  auto key = signing_key("whsec_YQ=a");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "secret after whsec_ must be base64: base64: invalid character");
}

TEST(RandomHex, GivesTheDigitsAskedForAndDiffersBetweenCalls) {
  for (size_t digits : {0, 1, 7, 32}) {
    std::string hex = random_hex(digits);
    EXPECT_EQ(hex.size(), digits);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  }
  // 128 random bits: equal twice, or all zeros, only when the generator does not work.
  std::string a = random_hex(32), b = random_hex(32);
  EXPECT_NE(a, b);
  EXPECT_NE(a, std::string(32, '0'));
}

}  // namespace
}  // namespace hooksim::protocol
