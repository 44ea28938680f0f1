// The subscription fields that scenarios and the service API share (protocol/subscription_json.h): each
// refusal names the field and says why, in the words users' scripts read.
#include "protocol/subscription_json.h"

#include <gtest/gtest.h>

namespace hooksim::json_input {
namespace {

// The error read_subscription_fields() gives for `text` (a subscription object), or "" when it is valid.
std::string error(const std::string& text) {
  try {
    json j = json::parse(text);
    Fields f(j, "subscriptions[0]");  // keeps a reference to j
    SubscriptionConfig c;
    read_subscription_fields(f, c, RetryPolicy::frotcom());
    return "";
  } catch (const ParseError& e) {
    return e.message;
  }
}

// Every reader of user JSON parses with parse_json: a syntax error is "line L, column C: what", never the
// parser's "[json.exception.parse_error.101]" tag; a number too large for a double gets a position too.
TEST(ParseJson, SyntaxErrorsSayLineAndColumnInWords) {
  auto message = [](std::string_view text) {
    auto j = parse_json(text);
    EXPECT_FALSE(j.ok()) << text;
    return j.ok() ? std::string() : j.status().message();
  };
  EXPECT_EQ(
      message("{\"a\": 1,}"),
      "line 1, column 9: syntax error while parsing object key - unexpected '}'; expected string literal");
  EXPECT_EQ(message("{\n  \"a\": 1\n  \"b\": 2\n}"),
            "line 3, column 5: syntax error while parsing object - unexpected string literal; expected '}'");
  EXPECT_EQ(message("{\n  \"a\": 1e999\n}"), "line 2, column 12: number overflow parsing '1e999'");
  EXPECT_EQ(message(""),
            "line 1, column 1: syntax error while parsing value - unexpected end of input; expected "
            "'[', '{', or a literal");
  for (std::string_view bad : {"{", "[1,", "{\"a\":tru}", "\"\\x\"", "1e999"})
    EXPECT_EQ(message(bad).find("json.exception"), std::string::npos) << message(bad);
  auto ok = parse_json(R"({"a": [1, 2.5, "x", null]})");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)["a"][1], 2.5);
}

TEST(SubscriptionJson, AcceptsAnHttpOrHttpsUrlWithAHost) {
  EXPECT_EQ(error(R"({"url": "http://127.0.0.1:9/hook"})"), "");
  EXPECT_EQ(error(R"({"url": "https://example.com"})"), "");
}

TEST(SubscriptionJson, RefusesAUrlWithoutTheSchemeOrAHost) {
  EXPECT_EQ(error(R"({"url": "ftp://x/"})"),
            "subscriptions[0].url: 'ftp://x/' must start with http:// or https://");
  EXPECT_EQ(error(R"({"url": "127.0.0.1:9/hook"})"),
            "subscriptions[0].url: '127.0.0.1:9/hook' must start with http:// or https://");
  for (const char* url : {"http://", "https:///hook", "http://:9/hook", "http://a b/"})
    EXPECT_EQ(error(fmt::format(R"({{"url": "{}"}})", url)),
              fmt::format("subscriptions[0].url: '{}' has no host", url));
}

TEST(SubscriptionJson, RefusesASecretThatIsNotOneWithTheSignersReason) {
  EXPECT_EQ(error(R"({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})"), "");
  EXPECT_EQ(error(R"({"secret": "nope"})"), "subscriptions[0].secret: secret must start with whsec_");
  EXPECT_EQ(error(R"({"secret": "whsec_YQ=a"})"),  // data after the base64 padding
            "subscriptions[0].secret: secret after whsec_ must be base64: base64: invalid character");
  EXPECT_EQ(error(R"({"secret": "whsec_YQ==", "token": "t"})"),
            "subscriptions[0].token: give either secret (signatures) or token (bearer), not both");
}

}  // namespace
}  // namespace hooksim::json_input
