// The callback that keeps the caller's place, in queue-service against a real PostgreSQL on
// the simulated clock: asked for by the edge holding the call, then held by no edge (its
// heartbeat and lease do not touch it), offered to a live edge with the customer's number,
// tried again after the delay when the customer does not answer, and failed for good after
// the queue's attempts.
#include "repository_fixture.h"

namespace cc::queue {
namespace {

class CallbackIt : public QueueRepositoryIt {
 protected:
  void SetUp() override {
    AddQueue("sales", [](QueueConfig& q) {
      q.join_empty = EmptyQueueRule::kAlways;
      q.leave_empty = EmptyQueueRule::kAlways;
      q.max_wait = seconds(60);
      q.callback.enabled = true;
      q.callback.trunk = "127.0.0.1:5099";
      q.callback.ring_timeout = seconds(20);
      q.callback.max_attempts = 2;
      q.callback.retry_delay = seconds(30);
    });
    AddQueue("plain", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
  }
  // The edge that enqueued the calls goes silent (its lease runs out): only edges alive later
  // can place a callback.
  void EdgeGone() { clock_.advance(seconds(700)); }
  Result<Call> Ask(const std::string& id, const std::string& number, const std::string& edge) {
    return engine_.request_callback(id, number, edge);
  }
  std::string EdgeOf(const std::string& id) { return store_.get_call(id)->edge_id; }
  void EdgeAlive(const std::string& edge) {
    ASSERT_TRUE(store_.heartbeat({edge, seconds(600), false, {}}, clock_.now()).ok());
  }
};

TEST_F(CallbackIt, TheEdgeHoldingAWaitingCallAsksAndTheCallKeepsItsPlaceHeldByNoEdge) {
  Call c = Enqueue("c1");
  Call other = Enqueue("c2");
  EXPECT_EQ(Ask("c1", "+4930123", "edge-2").error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(engine_.enqueue({"p1", "plain", "", "+4930", 0, "edge-1"}).ok());
  auto refused = Ask("p1", "+4930123", "edge-1");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("offers no callback"), std::string::npos);
  auto asked = Ask("c1", "+4930123", "edge-1");
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(asked->callback_number, "+4930123");
  EXPECT_EQ(asked->edge_id, "");
  EXPECT_EQ(asked->queue_entered_at, c.queue_entered_at);  // the same place
  EXPECT_TRUE(Ask("c1", "+4930123", "edge-1").ok());       // a retried request: the same
  // The edge hung up: its heartbeat no longer lists the call, its lease runs out; neither
  // ends a callback. Nor does the queue's max wait.
  clock_.advance(seconds(10));
  ASSERT_TRUE(engine_.heartbeat({"edge-1", seconds(30), true, {"c2", "p1"}}).ok());
  clock_.advance(seconds(700));
  Sweep();
  EXPECT_EQ(StateOf("c1"), CallState::kWaiting);
  EXPECT_NE(StateOf("c2"), CallState::kWaiting);  // the ordinary call ended with its edge
  (void)other;
}

TEST_F(CallbackIt, ACallbackGoesToALiveEdgeWithTheNumberAndIsTriedAgainThenFails) {
  Enqueue("c1");
  ASSERT_TRUE(Ask("c1", "+4930123", "edge-1").ok());
  EdgeGone();
  AddAgent("alice");
  EXPECT_EQ(Match(), 0);  // no live edge to place it: it waits
  EdgeAlive("edge-9");
  EXPECT_EQ(Match(), 1);
  Offer o = OfferFor("c1");
  EXPECT_EQ(o.edge_id, "edge-9");
  EXPECT_EQ(o.callback_number, "+4930123");
  EXPECT_EQ(o.callback_trunk, "127.0.0.1:5099");
  EXPECT_EQ(o.callback_ring_timeout, seconds(20));
  // The lease covers the agent's ring, the customer's and the grace.
  EXPECT_EQ(o.lease_deadline, o.offered_at + seconds(10) + seconds(2) + seconds(20));
  // The agent answered, the customer did not: no blame on the agent, the call waits again
  // (its place kept) until the retry delay has passed.
  ASSERT_TRUE(
      engine_
          .failed(o.assignment_id, "c1", OfferFailure::kCallbackUnanswered, "customer: no answer")
          .ok());
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  Call waiting = *store_.get_call("c1");
  EXPECT_EQ(waiting.state, CallState::kWaiting);
  EXPECT_EQ(waiting.callback_attempts, 1);
  EXPECT_EQ(Match(), 0);
  clock_.advance(seconds(31));
  EdgeAlive("edge-9");
  EXPECT_EQ(Match(), 1);
  o = OfferFor("c1");
  ASSERT_TRUE(
      engine_.failed(o.assignment_id, "c1", OfferFailure::kCallbackUnanswered, "customer: 486")
          .ok());
  Call done = *store_.get_call("c1");
  EXPECT_EQ(done.state, CallState::kFailed);
  EXPECT_EQ(done.outcome_reason, "callback not answered after 2 attempts");
  EXPECT_EQ(done.callback_attempts, 2);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
}

TEST_F(CallbackIt, AConnectedCallbackBelongsToTheEdgeThatPlacedIt) {
  Enqueue("c1");
  ASSERT_TRUE(Ask("c1", "4930123", "edge-1").ok());
  EdgeGone();
  AddAgent("alice");
  EdgeAlive("edge-9");
  ASSERT_EQ(Match(), 1);
  Offer o = OfferFor("c1");
  ASSERT_TRUE(engine_.connected(o.assignment_id, "c1").ok());
  EXPECT_EQ(EdgeOf("c1"), "edge-9");
  EXPECT_EQ(StateOf("c1"), CallState::kConnected);
  // That edge's heartbeat and lease now cover the conversation like any other.
  clock_.advance(seconds(10));
  ASSERT_TRUE(engine_.heartbeat({"edge-9", seconds(30), true, {}}).ok());
  EXPECT_EQ(StateOf("c1"), CallState::kEnded);
}

}  // namespace
}  // namespace cc::queue
