#include <set>

#include <gtest/gtest.h>

#include "common/agent_status.h"

namespace cc {
namespace {

TEST(AgentStatusTest, TableHasTheCallLifecycle) {
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kLoggedOut, AgentStatus::kAvailable));
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kAvailable, AgentStatus::kReserved));
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kReserved, AgentStatus::kOnCall));
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kOnCall, AgentStatus::kWrapUp));
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kWrapUp, AgentStatus::kAvailable));
  EXPECT_TRUE(IsLegalTransition(AgentStatus::kReserved, AgentStatus::kAvailable));
}

TEST(AgentStatusTest, RejectsShortcutsThatWouldLoseCalls) {
  // Never from a call straight out, never into a call without an offer.
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kOnCall, AgentStatus::kLoggedOut));
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kReserved, AgentStatus::kLoggedOut));
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kAvailable, AgentStatus::kOnCall));
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kPaused, AgentStatus::kReserved));
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kLoggedOut, AgentStatus::kReserved));
  EXPECT_FALSE(IsLegalTransition(AgentStatus::kOnCall, AgentStatus::kPaused));
  for (auto s : kAllAgentStatuses) EXPECT_FALSE(IsLegalTransition(s, s)) << ToString(s);
}

TEST(AgentStatusTest, NamesRoundTripAndTableHasNoDuplicates) {
  for (auto s : kAllAgentStatuses) EXPECT_EQ(AgentStatusFromString(ToString(s)), s);
  EXPECT_FALSE(AgentStatusFromString("BUSY"));
  std::set<std::pair<int, int>> seen;
  for (const auto& t : kAgentStatusTransitions) {
    EXPECT_TRUE(seen.insert({static_cast<int>(t.from), static_cast<int>(t.to)}).second);
  }
}

}  // namespace
}  // namespace cc
