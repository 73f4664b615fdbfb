#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hush::metrics {
namespace {

// The families below are locals: each registers when made and unregisters when it goes, so the
// process's registry (which holds the server's own families too) sees them only inside a test.
// Their names begin "test_" so as not to meet the server's "hush_" ones.

std::string rendered(const family& f) {
  std::string out;
  f.render(out);
  return out;
}

// The sample lines of a rendering: everything but the # HELP and # TYPE lines.
std::vector<std::string> sample_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end - start);
    if (line.rfind("# ", 0) != 0) {
      out.push_back(line);
    }
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST(Counter, CountsAndRendersUnlabelled) {
  counter c("test_events_total", "Events seen.");
  EXPECT_EQ(c.value(), 0U);
  c.add();
  c.add(0, 5);
  EXPECT_EQ(c.value(), 6U);
  EXPECT_EQ(rendered(c),
            "# HELP test_events_total Events seen.\n"
            "# TYPE test_events_total counter\n"
            "test_events_total 6\n");
}

TEST(Counter, OneSeriesPerLabelValueInOrder) {
  counter c("test_failures_total", "Failures by method.", {"method", {"password", "token"}});
  c.add(1, 3);
  c.add(0);
  c.add(1);
  EXPECT_EQ(c.value(0), 1U);
  EXPECT_EQ(c.value(1), 4U);
  EXPECT_EQ(sample_lines(rendered(c)),
            (std::vector<std::string>{"test_failures_total{method=\"password\"} 1",
                                      "test_failures_total{method=\"token\"} 4"}));
}

TEST(Counter, LargeCountsAreExact) {
  counter c("test_big_total", "Big.");
  c.add(0, std::numeric_limits<std::uint64_t>::max() - 1);
  c.add();
  EXPECT_EQ(sample_lines(rendered(c)),
            (std::vector<std::string>{"test_big_total 18446744073709551615"}));
}

TEST(Gauge, GoesUpDownAndIsSet) {
  gauge g("test_connections", "Open connections.", {"listener", {"https", "metrics"}});
  g.add(1.5);
  g.add(-0.5);
  g.add(3, 1);
  g.set(7.25, 1);
  EXPECT_EQ(g.value(0), 1.0);
  EXPECT_EQ(g.value(1), 7.25);
  EXPECT_EQ(rendered(g),
            "# HELP test_connections Open connections.\n"
            "# TYPE test_connections gauge\n"
            "test_connections{listener=\"https\"} 1\n"
            "test_connections{listener=\"metrics\"} 7.25\n");
  g.add(-2);
  EXPECT_EQ(sample_lines(rendered(g))[0], "test_connections{listener=\"https\"} -1");
}

TEST(Histogram, CumulativeBucketsInfSumAndCount) {
  histogram h("test_duration_seconds", "How long.", {0.25, 1, 2.5});
  // A value equal to a bound belongs to that bound's bucket (le is "less or equal").
  for (const double v : {0.25, 0.5, 2.0, 3.0, 100.0}) {
    h.observe(v);
  }
  EXPECT_EQ(h.count(), 5U);
  EXPECT_EQ(rendered(h),
            "# HELP test_duration_seconds How long.\n"
            "# TYPE test_duration_seconds histogram\n"
            "test_duration_seconds_bucket{le=\"0.25\"} 1\n"
            "test_duration_seconds_bucket{le=\"1\"} 2\n"
            "test_duration_seconds_bucket{le=\"2.5\"} 3\n"
            "test_duration_seconds_bucket{le=\"+Inf\"} 5\n"
            "test_duration_seconds_sum 105.75\n"
            "test_duration_seconds_count 5\n");
}

TEST(Histogram, EmptyHistogramHasZeroBucketsAndSmallBoundsInFixedForm) {
  histogram h("test_small_seconds", "Small.", {0.0005, 0.001});
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(sample_lines(rendered(h)),
            (std::vector<std::string>{"test_small_seconds_bucket{le=\"0.0005\"} 0",
                                      "test_small_seconds_bucket{le=\"0.001\"} 0",
                                      "test_small_seconds_bucket{le=\"+Inf\"} 0",
                                      "test_small_seconds_sum 0", "test_small_seconds_count 0"}));
}

TEST(Histogram, LabelsComeBeforeLeAndSlotsAreApart) {
  histogram h("test_route_seconds", "By route.", {1}, {"route", {"/", "/healthz"}});
  h.observe(0.5, 1);
  h.observe(2, 1);
  h.observe(4, 0);
  EXPECT_EQ(h.count(0), 1U);
  EXPECT_EQ(h.count(1), 2U);
  EXPECT_EQ(sample_lines(rendered(h)),
            (std::vector<std::string>{"test_route_seconds_bucket{route=\"/\",le=\"1\"} 0",
                                      "test_route_seconds_bucket{route=\"/\",le=\"+Inf\"} 1",
                                      "test_route_seconds_sum{route=\"/\"} 4",
                                      "test_route_seconds_count{route=\"/\"} 1",
                                      "test_route_seconds_bucket{route=\"/healthz\",le=\"1\"} 1",
                                      "test_route_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2",
                                      "test_route_seconds_sum{route=\"/healthz\"} 2.5",
                                      "test_route_seconds_count{route=\"/healthz\"} 2"}));
}

TEST(StatusCounter, OnlyStatusesSeenAreRenderedInOrder) {
  status_counter s("test_requests_total", "Requests.", {"route", {"/", "/healthz"}});
  s.add(0, 404);
  s.add(0, 200);
  s.add(0, 200);
  s.add(1, 503);
  s.add(0, 100);
  s.add(0, 599);
  EXPECT_EQ(s.value(0, 200), 2U);
  EXPECT_EQ(s.value(0, 404), 1U);
  EXPECT_EQ(s.value(1, 503), 1U);
  EXPECT_EQ(s.value(1, 200), 0U);
  EXPECT_EQ(rendered(s),
            "# HELP test_requests_total Requests.\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{route=\"/\",status=\"100\"} 1\n"
            "test_requests_total{route=\"/\",status=\"200\"} 2\n"
            "test_requests_total{route=\"/\",status=\"404\"} 1\n"
            "test_requests_total{route=\"/\",status=\"599\"} 1\n"
            "test_requests_total{route=\"/healthz\",status=\"503\"} 1\n");
}

TEST(StatusCounter, StatusesOutOfRangeAreNotCounted) {
  status_counter s("test_odd_total", "Odd.", {"route", {"/"}});
  for (const unsigned status : {0U, 99U, 600U, 1000U, 4294967295U}) {
    s.add(0, status);
    EXPECT_EQ(s.value(0, status), 0U) << status;
  }
  EXPECT_EQ(sample_lines(rendered(s)), std::vector<std::string>{});
  // Nothing seen: the family is still there, with no samples.
  EXPECT_EQ(rendered(s), "# HELP test_odd_total Odd.\n# TYPE test_odd_total counter\n");
}

TEST(StatusCounter, WithoutALabelTheStatusIsTheOnlyOne) {
  status_counter s("test_plain_total", "Plain.", {});
  s.add(0, 200);
  EXPECT_EQ(sample_lines(rendered(s)),
            (std::vector<std::string>{"test_plain_total{status=\"200\"} 1"}));
}

TEST(FormatNumber, FixedFormShortestText) {
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(1), "1");
  EXPECT_EQ(format_number(-3), "-3");
  EXPECT_EQ(format_number(2.5), "2.5");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(0.0005), "0.0005");
  EXPECT_EQ(format_number(1e-7), "0.0000001");
  EXPECT_EQ(format_number(1e21), "1000000000000000000000");
  EXPECT_EQ(format_number(123456789.125), "123456789.125");
  EXPECT_EQ(format_number(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_number(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_number(std::nan("")), "NaN");
  // Never scientific, and what is written reads back the same.
  for (const double v : {1e-300, 1.7976931348623157e308, 0.1 + 0.2, 1.0 / 3}) {
    const auto text = format_number(v);
    EXPECT_EQ(text.find_first_of("eE"), std::string::npos) << text.substr(0, 40);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text.substr(0, 40);
  }
}

TEST(RenderAll, EveryFamilySortedByNameWithHelpAndType) {
  // Made out of order, on purpose.
  counter c("test_zz_b_total", "B.");
  gauge g("test_zz_c", "C.");
  histogram h("test_zz_a_seconds", "A.", {1});
  c.add();
  const auto all = render_all();
  const auto a_at = all.find("# HELP test_zz_a_seconds A.\n# TYPE test_zz_a_seconds histogram\n");
  const auto b_at = all.find("# HELP test_zz_b_total B.\n# TYPE test_zz_b_total counter\n");
  const auto c_at = all.find("# HELP test_zz_c C.\n# TYPE test_zz_c gauge\n");
  ASSERT_NE(a_at, std::string::npos) << all;
  ASSERT_NE(b_at, std::string::npos) << all;
  ASSERT_NE(c_at, std::string::npos) << all;
  EXPECT_LT(a_at, b_at);
  EXPECT_LT(b_at, c_at);
  EXPECT_NE(all.find("test_zz_b_total 1\n"), std::string::npos);

  // Every family in the process, the server's own included, comes in name order, each once.
  std::vector<std::string> names;
  for (std::size_t at = all.find("# HELP "); at != std::string::npos;
       at = all.find("\n# HELP ", at + 1)) {
    const auto start = all[at] == '\n' ? at + 8 : at + 7;
    names.push_back(all.substr(start, all.find(' ', start) - start));
  }
  ASSERT_GE(names.size(), 3U);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_EQ(all.back(), '\n');
}

TEST(RenderAll, AFamilyGoneIsNoLongerRendered) {
  {
    counter c("test_short_lived_total", "Gone soon.");
    EXPECT_NE(render_all().find("test_short_lived_total"), std::string::npos);
  }
  EXPECT_EQ(render_all().find("test_short_lived_total"), std::string::npos);
}

}  // namespace
}  // namespace hush::metrics
