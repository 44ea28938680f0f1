// The small pure helpers in util/: nearest-rank percentiles, HTML escaping, splitting, URL display.
#include <gtest/gtest.h>

#include <vector>

#include "util/html.h"
#include "util/percentile.h"
#include "util/split.h"
#include "util/url_display.h"

namespace hooksim::util {
namespace {

TEST(Percentile, IsTheValueAtRankCeilQTimesN) {
  std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile(v, 0.5), 5);   // rank 5, not the 6th value
  EXPECT_EQ(percentile(v, 0.51), 6);  // rank ceil(5.1) = 6
  EXPECT_EQ(percentile(v, 0.9), 9);
  EXPECT_EQ(percentile(v, 0.99), 10);  // with fewer than 100 values p99 is the largest
  EXPECT_EQ(percentile(v, 1.0), 10);
  EXPECT_EQ(percentile(v, 0.0), 1);  // clamped to the smallest
  EXPECT_EQ(percentile(std::vector<double>{}, 0.5), 0);
  EXPECT_EQ(percentile(std::vector<double>{7}, 0.99), 7);
}

TEST(Percentile, RanksAreClampedToTheValuesThereAre) {
  EXPECT_EQ(nearest_rank(20, 0.99), 20u);
  EXPECT_EQ(nearest_rank(200, 0.99), 198u);
  EXPECT_EQ(nearest_rank(3, -1.0), 1u);
  EXPECT_EQ(nearest_rank(3, 2.0), 3u);
}

TEST(Html, EscapesTheFiveCharactersThatEndTextOrAnAttribute) {
  EXPECT_EQ(escape_html(R"(<a href="x" title='y'>&amp;</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(escape_html("plain text, ünïcode"), "plain text, ünïcode");
  EXPECT_EQ(escape_html(""), "");
}

TEST(Split, GivesEveryPartBetweenSeparatorsEmptyOnesIncluded) {
  auto parts = [](std::string_view s, char sep) {
    std::vector<std::string> out;
    for_each_part(s, sep, [&](std::string_view p) { out.emplace_back(p); });
    return out;
  };
  EXPECT_EQ(parts("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(parts("a,", ','), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(parts(",a", ','), (std::vector<std::string>{"", "a"}));
  EXPECT_EQ(parts("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(parts("abc", ','), (std::vector<std::string>{"abc"}));
  EXPECT_EQ(parts("/v1/subscriptions/x", '/'), (std::vector<std::string>{"", "v1", "subscriptions", "x"}));
}

TEST(ShortenMiddle, KeepsTheHostStartAndThePathEndAroundAnEllipsis) {
  const std::string fleet = "https://hooks.fleet-ops.example/webhooks/frotcom/customer-0042/tracking";
  EXPECT_EQ(shorten_middle(fleet, fleet.size()), fleet);  // fits: whole
  EXPECT_EQ(shorten_middle("http://127.0.0.1:8080/x", 60), "http://127.0.0.1:8080/x");
  // Half for the start (up to the end of the host), the rest for the end.
  EXPECT_EQ(shorten_middle(fleet, 60), "https://hooks.fleet-ops.exam...rotcom/customer-0042/tracking");
  EXPECT_EQ(shorten_middle(fleet, 40), "https://hooks.flee...tomer-0042/tracking");
  // A short host is kept whole, and the end gets the room it leaves.
  EXPECT_EQ(shorten_middle("http://127.0.0.1:43833/hooks/acme/customers/000000000000000001/events", 48),
            "http://127.0.0.1:43833...0000000000000001/events");
  // A short path is kept whole, and the host's start gets the room it leaves.
  EXPECT_EQ(shorten_middle("https://a-very-long-host-name-for-webhooks.internal.example.com/h", 40),
            "https://a-very-long-host-name-for-w.../h");
  // Another ellipsis, counted as one character (the status page's).
  EXPECT_EQ(shorten_middle(fleet, 40, "\u2026", 1), "https://hooks.fleet\u2026stomer-0042/tracking");
  for (size_t width : {10u, 20u, 39u, 40u, 41u, 70u}) {
    SCOPED_TRACE(width);
    EXPECT_EQ(shorten_middle(fleet, width).size(), width);
  }
}

TEST(ShortenMiddle, CountsAndCutsWholeUtf8Characters) {
  const std::string url =
      "https://ex.example/\u00fcn\u00efc\u00f6de/p\u00e4th/\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc";
  std::string s = shorten_middle(url, 20);
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  EXPECT_EQ(chars, 20u) << s;
  EXPECT_EQ(s, "https://...th/\u00fc\u00fc\u00fc\u00fc\u00fc\u00fc");
}

}  // namespace
}  // namespace hooksim::util
