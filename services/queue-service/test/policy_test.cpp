#include <gtest/gtest.h>

#include "queue_service/policy.h"

namespace cc::queue {
namespace {

using std::chrono::milliseconds;

QueueConfig Queue() {
  QueueConfig q;
  q.name = "sales";
  q.no_answer_delay = milliseconds(15000);
  q.busy_delay = milliseconds(30000);
  q.reject_delay = milliseconds(60000);
  q.requeue_priority_boost = 5;
  q.max_attempts = 3;
  q.auto_pause_after_no_answers = 2;
  return q;
}

TEST(PolicyTest, EachFailureGetsItsDelay) {
  const auto q = Queue();
  EXPECT_EQ(DecideFailure(q, OfferFailure::kNoAnswer, 0, 0, 0).agent_delay.count(), 15000);
  EXPECT_EQ(DecideFailure(q, OfferFailure::kBusy, 0, 0, 0).agent_delay.count(), 30000);
  EXPECT_EQ(DecideFailure(q, OfferFailure::kRejected, 0, 0, 0).agent_delay.count(), 60000);
  EXPECT_EQ(DecideFailure(q, OfferFailure::kUnreachable, 0, 0, 0).agent_delay.count(), 15000);
}

TEST(PolicyTest, RequeueBoostsPriorityAndCountsAttempts) {
  const auto d = DecideFailure(Queue(), OfferFailure::kBusy, 2, 0, 0);
  EXPECT_EQ(d.call_priority, 7);
  EXPECT_EQ(d.call_attempts, 1);
  EXPECT_FALSE(d.exceeded_attempts);
  EXPECT_TRUE(DecideFailure(Queue(), OfferFailure::kBusy, 2, 2, 0).exceeded_attempts);
  auto unlimited = Queue();
  unlimited.max_attempts = 0;
  EXPECT_FALSE(DecideFailure(unlimited, OfferFailure::kBusy, 0, 500, 0).exceeded_attempts);
}

TEST(PolicyTest, AutoPauseAfterConsecutiveNoAnswersOnly) {
  const auto q = Queue();
  auto first = DecideFailure(q, OfferFailure::kNoAnswer, 0, 0, 0);
  EXPECT_EQ(first.consecutive_no_answers, 1);
  EXPECT_FALSE(first.auto_pause);
  auto second = DecideFailure(q, OfferFailure::kNoAnswer, 0, 0, first.consecutive_no_answers);
  EXPECT_TRUE(second.auto_pause);
  EXPECT_NE(second.pause_reason.find("2 unanswered"), std::string::npos);
  // A busy agent is at the phone: the count starts over.
  EXPECT_EQ(DecideFailure(q, OfferFailure::kBusy, 0, 0, 1).consecutive_no_answers, 0);
  auto off = q;
  off.auto_pause_after_no_answers = 0;
  EXPECT_FALSE(DecideFailure(off, OfferFailure::kNoAnswer, 0, 0, 50).auto_pause);
}

TEST(PolicyTest, ExitPrefersTheOverflowTarget) {
  auto q = Queue();
  q.overflow_queue = "backup";
  auto d = DecideExit(q, ExitCause::kMaxWait);
  EXPECT_EQ(d.kind, ExitDecision::Kind::kMoveToQueue);
  EXPECT_EQ(d.target_queue, "backup");
  q.overflow_queue.clear();
  q.overflow_hangup_reason = "closed";
  d = DecideExit(q, ExitCause::kNoAgents);
  EXPECT_EQ(d.kind, ExitDecision::Kind::kEnd);
  EXPECT_EQ(d.end_state, CallState::kOverflowed);
  EXPECT_EQ(d.reason, "closed");
  q.overflow_hangup_reason.clear();
  EXPECT_EQ(DecideExit(q, ExitCause::kMaxWait).end_state, CallState::kTimedOut);
  EXPECT_EQ(DecideExit(q, ExitCause::kMaxAttempts).end_state, CallState::kFailed);
  EXPECT_EQ(DecideExit(q, ExitCause::kQueueFull).reason, "queue full");
}

TEST(PolicyTest, WrapUpFromQueueOrAgent) {
  auto q = Queue();
  EXPECT_EQ(WrapUpSeconds(q, 30), 30);  // -1: the agent's own
  q.wrap_up_seconds = 0;
  EXPECT_EQ(WrapUpSeconds(q, 30), 0);
  q.wrap_up_seconds = 10;
  EXPECT_EQ(WrapUpSeconds(q, 30), 10);
}

TEST(PolicyTest, EstimatedWaitGrowsWithPositionAndShrinksWithAgents) {
  EXPECT_EQ(EstimateWait(0, milliseconds(60000), 2).count(), 0);
  EXPECT_EQ(EstimateWait(1, milliseconds(60000), 2).count(), 60000);
  EXPECT_EQ(EstimateWait(3, milliseconds(60000), 2).count(), 120000);
  EXPECT_EQ(EstimateWait(3, milliseconds(60000), 3).count(), 60000);
  EXPECT_EQ(EstimateWait(2, milliseconds(0), 0).count(), 120000);  // no history: 60 s each
}

}  // namespace
}  // namespace cc::queue
