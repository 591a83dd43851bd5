#include <gtest/gtest.h>

#include "common/log.h"

namespace cc::log {
namespace {

TEST(LogTest, JsonLineCarriesServiceMessageAndEscapedFields) {
  Configure("svc", "svc-1", Level::kInfo, true);
  const std::string line =
      Format(Level::kWarn, "hello \"world\"", {{"agent_id", "a\nb"}, {"n", 42}, {"ok", true}});
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("\"level\":\"warn\""), std::string::npos);
  EXPECT_NE(line.find("\"service\":\"svc\""), std::string::npos);
  EXPECT_NE(line.find("\"instance\":\"svc-1\""), std::string::npos);
  EXPECT_NE(line.find("\"msg\":\"hello \\\"world\\\"\""), std::string::npos);
  EXPECT_NE(line.find("\"agent_id\":\"a\\nb\""), std::string::npos);
  EXPECT_NE(line.find("\"n\":42"), std::string::npos);
  EXPECT_NE(line.find("\"ok\":true"), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // exactly one line
}

TEST(LogTest, LevelFilter) {
  Configure("svc", "", Level::kWarn, true);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Level l;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &l));
  Configure("svc", "", Level::kInfo, true);
}

}  // namespace
}  // namespace cc::log
