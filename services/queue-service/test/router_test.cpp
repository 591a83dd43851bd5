#include <set>

#include <gtest/gtest.h>

#include "queue_service/router.h"

namespace cc::queue {
namespace {

using std::chrono::seconds;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_([this] { return next_random_++; }) {
    QueueConfig q;
    q.name = "sales";
    snap_.queues["sales"] = q;
  }
  QueueConfig& queue(const std::string& name = "sales") {
    auto& q = snap_.queues[name];
    q.name = name;
    return q;
  }
  AgentCandidate& agent(const std::string& id, int idle_seconds_ago,
                        std::vector<std::pair<std::string, int>> queues = {{"sales", 0}}) {
    AgentCandidate a;
    a.id = id;
    a.idle_since = clock_.now() - seconds(idle_seconds_ago);
    for (auto& [q, pos] : queues) a.queues[q] = {pos, std::nullopt};
    snap_.agents.push_back(a);
    return snap_.agents.back();
  }
  void call(const std::string& id, int waited_seconds, int priority = 0,
            const std::string& q = "sales") {
    WaitingCall c;
    c.id = id;
    c.queue = q;
    c.priority = priority;
    c.queue_entered_at = clock_.now() - seconds(waited_seconds);
    snap_.calls.push_back(c);
  }
  std::vector<std::string> agent_order(const std::string& q = "sales") {
    std::vector<std::string> ids;
    for (const auto* a : router_.OrderAgents(queue(q), snap_.agents)) ids.push_back(a->id);
    return ids;
  }
  std::vector<std::string> call_order() {
    std::vector<std::string> ids;
    for (const auto* c : router_.OrderCalls(snap_, clock_.now())) ids.push_back(c->id);
    return ids;
  }

  SimulatedClock clock_;
  std::uint64_t next_random_ = 0;
  Router router_;
  RoutingSnapshot snap_;
};

TEST_F(RouterTest, LongestIdleAgentFirstByDefault) {
  agent("a", 10);
  agent("b", 300);
  agent("c", 60);
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"b", "c", "a"}));
}

TEST_F(RouterTest, RoundRobinNeverOfferedFirstThenLeastRecentlyOffered) {
  queue().strategy = Strategy::kRoundRobin;
  agent("a", 10).queues["sales"].last_offered_at = clock_.now() - seconds(5);
  agent("b", 10).queues["sales"].last_offered_at = clock_.now() - seconds(50);
  agent("c", 10, {{"sales", 2}});
  agent("d", 10, {{"sales", 1}});
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"d", "c", "b", "a"}));
}

TEST_F(RouterTest, FewestCallsThenLongestIdle) {
  queue().strategy = Strategy::kFewestCalls;
  agent("a", 10).calls_answered = 3;
  agent("b", 10).calls_answered = 1;
  agent("c", 99).calls_answered = 1;
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"c", "b", "a"}));
}

TEST_F(RouterTest, LeastTalkTimeThenLongestIdle) {
  queue().strategy = Strategy::kLeastTalkTime;
  agent("a", 10).talk_time_ms = 50'000;
  agent("b", 10).talk_time_ms = 70'000;
  agent("c", 20).talk_time_ms = 10'000;
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"c", "a", "b"}));
}

TEST_F(RouterTest, TopDownByMemberPosition) {
  queue().strategy = Strategy::kTopDown;
  agent("a", 500, {{"sales", 3}});
  agent("b", 1, {{"sales", 0}});
  agent("c", 100, {{"sales", 1}});
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"b", "c", "a"}));
}

TEST_F(RouterTest, RandomUsesTheInjectedSourceAndVaries) {
  queue().strategy = Strategy::kRandom;
  agent("a", 1);
  agent("b", 1);
  agent("c", 1);
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 12; ++i) orders.insert(agent_order());
  EXPECT_GT(orders.size(), 1u);
  for (const auto& o : orders) EXPECT_EQ(o.size(), 3u);
}

TEST_F(RouterTest, SkillsBasedFiltersThenBestTotalThenLongestIdle) {
  auto& q = queue();
  q.strategy = Strategy::kSkillsBased;
  q.required_skills = {{"english", 5}, {"billing", 3}};
  auto& a = agent("a", 10);
  a.skills = {{"english", 9}, {"billing", 3}};  // 12
  auto& b = agent("b", 10);
  b.skills = {{"english", 5}, {"billing", 9}};  // 14
  auto& c = agent("c", 100);
  c.skills = {{"english", 4}, {"billing", 10}};  // fails english
  auto& d = agent("d", 500);
  d.skills = {{"english", 7}, {"billing", 5}};  // 12, idle longer than a
  auto& e = agent("e", 1000);
  e.skills = {{"english", 10}};  // no billing
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"b", "d", "a"}));
}

TEST_F(RouterTest, RequiredSkillsApplyToEveryStrategy) {
  auto& q = queue();
  q.required_skills = {{"spanish", 1}};
  agent("a", 100);
  agent("b", 10).skills = {{"spanish", 2}};
  EXPECT_EQ(agent_order(), (std::vector<std::string>{"b"}));
}

TEST_F(RouterTest, CallersByPriorityThenLongestWaiting) {
  call("old", 60);
  call("new", 5);
  call("vip", 1, 10);
  call("older", 90);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"vip", "older", "old", "new"}));
}

TEST_F(RouterTest, AgingLetsALongWaitOvertakeHigherPriority) {
  queue().priority_aging_per_second = 0.1;  // +1 priority per 10 s waited
  call("patient", 0, 0);
  call("vip", 0, 3);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"vip", "patient"}));
  // Time passes for both, but the patient caller arrived 45 s earlier.
  snap_.calls[0].queue_entered_at -= seconds(45);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"patient", "vip"}));  // 4 > 3
  EXPECT_EQ(EffectivePriority(snap_.calls[0], queue(), clock_.now()), 4);
  clock_.advance(seconds(100));  // both age: 14 vs 13
  EXPECT_EQ(call_order(), (std::vector<std::string>{"patient", "vip"}));
}

TEST_F(RouterTest, AnAgentInSeveralQueuesGetsTheLongestWaitWeightedByQueuePriority) {
  queue("support");
  queue("sales").weight = 1;
  queue("support").weight = 3;
  agent("a", 10, {{"sales", 0}, {"support", 0}});
  call("s1", 100, 0, "sales");
  call("t1", 40, 0, "support");  // 40 * 3 = 120 > 100
  auto p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (Proposal{"t1", "a"}));
  queue("support").weight = 2;  // 80 < 100
  p = router_.Propose(snap_, clock_.now());
  EXPECT_EQ(p[0], (Proposal{"s1", "a"}));
}

TEST_F(RouterTest, ProposePairsEachAgentOnceInServingOrder) {
  agent("a", 100);
  agent("b", 50);
  call("c1", 30);
  call("c2", 20);
  call("c3", 10);
  auto p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 2u);  // two agents, three calls: the third waits
  EXPECT_EQ(p[0], (Proposal{"c1", "a"}));
  EXPECT_EQ(p[1], (Proposal{"c2", "b"}));
}

TEST_F(RouterTest, ACallWithNoSuitableAgentDoesNotBlockTheNext) {
  queue("billing").required_skills = {{"billing", 1}};
  agent("a", 10, {{"sales", 0}, {"billing", 0}});
  call("b1", 100, 5, "billing");  // first in order, but "a" lacks billing
  call("s1", 10, 0, "sales");
  auto p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (Proposal{"s1", "a"}));
}

// An IVR choice (a language, "billing") is required of the agent for that call only; the
// longest idle agent who has it takes it, and the others stay for calls without it.
TEST_F(RouterTest, ACallsOwnSkillsPassOverAgentsWithoutThem) {
  agent("en-only", 50).skills = {{"en", 1}};
  agent("speaks-de", 10).skills = {{"de", 1}, {"billing", 1}};
  call("de-caller", 100);
  snap_.calls.back().skills = {{"de", 1}, {"billing", 1}};
  call("anyone", 20);
  auto p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], (Proposal{"de-caller", "speaks-de"}));
  EXPECT_EQ(p[1], (Proposal{"anyone", "en-only"}));
  // A level too low is no match.
  snap_.calls[0].skills = {{"de", 2}};
  p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (Proposal{"anyone", "en-only"}));
}

TEST_F(RouterTest, NothingToProposeWithoutAgentsOrCalls) {
  call("c1", 10);
  EXPECT_TRUE(router_.Propose(snap_, clock_.now()).empty());
  snap_.calls.clear();
  agent("a", 1);
  EXPECT_TRUE(router_.Propose(snap_, clock_.now()).empty());
}

TEST_F(RouterTest, TheAgentWhoJustFailedACallIsPassedOverUntilItsDelayEnds) {
  agent("a", 100);  // longest idle: first choice for every call
  agent("b", 50);
  call("c1", 30);
  snap_.calls.back().last_failed_agent = "a";
  snap_.calls.back().avoid_until = clock_.now() + seconds(5);
  call("c2", 20);
  auto p = router_.Propose(snap_, clock_.now());
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], (Proposal{"c1", "b"}));  // "a" refused c1 a moment ago
  EXPECT_EQ(p[1], (Proposal{"c2", "a"}));  // and takes the next caller instead
  // Alone, "a" is not offered c1 again before the delay is over ...
  snap_.agents.pop_back();
  snap_.calls.pop_back();
  EXPECT_TRUE(router_.Propose(snap_, clock_.now()).empty());
  // ... and is once it is.
  p = router_.Propose(snap_, clock_.now() + seconds(6));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], (Proposal{"c1", "a"}));
}

}  // namespace
}  // namespace cc::queue
