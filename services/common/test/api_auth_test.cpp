#include "common/api_auth.h"

#include <gtest/gtest.h>

namespace cc {
namespace {

TEST(ApiAuthTest, ReadsATokensFileAndNamesTheBadLine) {
  auto ok = ParseApiTokens(
      "# who may call\n\nadmin ops 0123456789abcdef0123\n"
      "read-only wallboard rrrrrrrrrrrrrrrrrr  # the screen\nedge edge-1 eeeeeeeeeeeeeeeeee\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->size(), 3u);
  EXPECT_EQ(ok->at("0123456789abcdef0123").name, "ops");
  EXPECT_EQ(ok->at("rrrrrrrrrrrrrrrrrr").role, ApiRole::kReadOnly);
  struct Bad {
    std::string text, needle;
  };
  for (const auto& b : std::vector<Bad>{
           {"admin ops", "line 1: expected ROLE NAME TOKEN"},
           {"admin ops tok extra-field-here", "line 1: expected"},
           {"\nroot ops 0123456789abcdef0123", "line 2: unknown role 'root'"},
           {"admin ops short", "shorter than 16"},
           {"admin a 0123456789abcdef0123\nedge b 0123456789abcdef0123", "line 2: this token"},
           {"# nothing\n", "no tokens"}}) {
    auto r = ParseApiTokens(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(r.error().message.find(b.needle), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(ReadApiTokens("/nonexistent/tokens").ok());
}

TEST(ApiAuthTest, RolesAllowWhatTheirUsersNeed) {
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kReadOnly, "agent-registry", "ListAgents"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kReadOnly, "queue-service", "GetQueueStats"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kReadOnly, "agent-registry", "Pause"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kReadOnly, "signaling-edge", "Drain"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kSupervisor, "agent-registry", "Pause"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kSupervisor, "queue-service", "SetMember"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kSupervisor, "queue-service", "DeleteQueue"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kAdmin, "queue-service", "DeleteQueue"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kAdmin, "signaling-edge", "Drain"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kAdmin, "agent-registry", "GetCredentials"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kEdge, "agent-registry", "GetCredentials"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kEdge, "media-relay", "ConnectLeg"));
  EXPECT_TRUE(ApiRoleAllows(ApiRole::kEdge, "queue-service", "EdgeHeartbeat"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kEdge, "agent-registry", "CreateAgent"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kEdge, "signaling-edge", "Drain"));
  EXPECT_FALSE(ApiRoleAllows(ApiRole::kEdge, "media-relay", "Drain"));
}

}  // namespace
}  // namespace cc
