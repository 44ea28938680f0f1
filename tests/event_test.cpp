#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/envelope.h"

namespace hooksim {
namespace {

TEST(Envelope, HasTheDocumentedFieldsInOrder) {
  Event e{"evt-1", "tracking", "acme", "truck-07", TimePoint(Duration(1'767'225'600'250)), R"({"speed":72})"};
  EXPECT_EQ(protocol::make_envelope(e),
            R"({"id":"evt-1","type":"tracking","account":"acme","vehicle":"truck-07",)"
            R"("occurred_at":"2026-01-01T00:00:00.250Z","data":{"speed":72}})");
}

// The envelope escapes strings itself; it must agree byte for byte with nlohmann's dump(), which the rest of
// hooksim (and most receivers' parsers) treat as the reference.
TEST(Envelope, EscapesStringsExactlyAsNlohmannDumps) {
  std::string every_ascii;
  for (int c = 1; c < 128; ++c) every_ascii += static_cast<char>(c);
  const std::string samples[] = {"",
                                 every_ascii,
                                 std::string("nul\0inside", 10),
                                 "quote\" back\\slash /slash",
                                 "Lisboa \xc3\xa0 \xe2\x82\xac \xf0\x9f\x9a\x9a",
                                 "\x7f\x1f\x01"};
  for (const std::string& s : samples) {
    Event e{s, s, s, s, TimePoint{}, "null"};
    std::string body = protocol::make_envelope(e);
    nlohmann::json parsed = nlohmann::json::parse(body);
    EXPECT_EQ(parsed["id"], s);
    std::string q = nlohmann::json(s).dump();
    EXPECT_EQ(body, "{\"id\":" + q + ",\"type\":" + q + ",\"account\":" + q + ",\"vehicle\":" + q +
                        ",\"occurred_at\":\"1970-01-01T00:00:00.000Z\",\"data\":null}");
  }
}

}  // namespace
}  // namespace hooksim
