// The small pure helpers in util/: nearest-rank percentiles and HTML escaping.
#include <gtest/gtest.h>

#include <vector>

#include "util/html.h"
#include "util/percentile.h"
#include "util/split.h"

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

}  // namespace
}  // namespace hooksim::util
