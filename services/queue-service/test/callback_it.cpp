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

// The edge placing a callback dies before any report: the offer's lease runs out, the call
// waits again in its place with its number, and the next offer goes to a live edge.
TEST_F(CallbackIt, AnEdgeLostWhilePlacingACallbackGivesItBackWithItsPlace) {
  Call c = Enqueue("c1");
  ASSERT_TRUE(Ask("c1", "+4930123", "edge-1").ok());
  EdgeGone();
  AddAgent("alice");
  EdgeAlive("edge-9");
  ASSERT_EQ(Match(), 1);
  const Offer first = OfferFor("c1");
  // edge-9 never reports.
  clock_.advance(std::chrono::duration_cast<Duration>(first.lease_deadline - clock_.now()) +
                 seconds(1));
  Sweep();
  Call back = *store_.get_call("c1");
  EXPECT_EQ(back.state, CallState::kWaiting);
  EXPECT_EQ(back.callback_number, "+4930123");
  EXPECT_EQ(back.edge_id, "");
  EXPECT_EQ(back.queue_entered_at, c.queue_entered_at);
  EXPECT_EQ(back.callback_attempts, 0);  // the customer was never called
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  EdgeAlive("edge-7");
  clock_.advance(seconds(10));  // past the re-offer delay for alice
  EdgeAlive("edge-7");
  ASSERT_EQ(Match(), 1);
  EXPECT_NE(OfferFor("c1").assignment_id, first.assignment_id);
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

namespace cc::queue {
namespace {

// Closed actions the edge carries out, and a callback chosen in a menu or offered while
// closed: queue-service answers what the edge needs and enqueues the callback when the number
// comes back, waiting for the next opening. The simulated clock starts on Tuesday
// 2023-11-14 at 22:13 UTC.
class ClosedDiversionIt : public QueueRepositoryIt {
 protected:
  void SetUp() override {
    AddQueue("day", [](QueueConfig& q) {
      q.opening.hours = {"UTC", {"mon-fri 08:00-18:00"}, {}};
      q.opening.closed_callback = true;
      q.join_empty = EmptyQueueRule::kAlways;
    });
    Menu m;
    m.name = "night-menu";
    m.options["1"].kind = MenuAction::Kind::kCallback;
    m.options["1"].queue = "day";
    ASSERT_TRUE(store_.import_menus({m}, clock_.now()).ok());
  }
  Result<EnqueueResult> Call(const std::string& id, const std::string& queue,
                             const std::string& callback_number = "") {
    NewCall c;
    c.id = id;
    c.queue = queue;
    c.caller = "+4930";
    c.edge_id = "edge-1";
    c.callback_number = callback_number;
    return engine_.enqueue(c);
  }
};

TEST_F(ClosedDiversionIt, AClosedQueueOffersACallbackThatWaitsForTheNextOpening) {
  auto offered = Call("c1", "day");
  ASSERT_TRUE(offered.ok()) << offered.error().message;
  EXPECT_TRUE(offered->offer_callback);
  EXPECT_EQ(offered->exit_prompts, std::vector<std::string>{"en/closed"});
  EXPECT_EQ(store_.get_call("c1").error().code, ErrorCode::kNotFound);  // nothing yet
  auto asked = Call("c1", "day", "+4930777");
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(asked->call.state, CallState::kWaiting);
  EXPECT_EQ(asked->call.callback_number, "+4930777");
  EXPECT_EQ(asked->call.edge_id, "");
  // An agent and a live edge, but the queue opens on Wednesday at 08:00 only.
  AddAgent("alice", {{"day", 0}});
  ASSERT_TRUE(store_.heartbeat({"edge-9", seconds(600000), false, {}}, clock_.now()).ok());
  EXPECT_EQ(Match(), 0);
  clock_.advance(std::chrono::hours(9) + std::chrono::minutes(47));  // 07:60 = 08:00
  AddAgent("bob", {{"day", 0}});  // registered now (alice's binding has expired)
  EXPECT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").callback_number, "+4930777");
}

TEST_F(ClosedDiversionIt, MenusRedirectsAndCallbacksAsClosedActions) {
  ASSERT_TRUE(store_
                  .update_queue(
                      "day", 0,
                      [](QueueConfig& q) {
                        q.opening.closed_callback = false;
                        q.opening.closed_menu = "night-menu";
                        return OkStatus();
                      },
                      clock_.now())
                  .ok());
  auto menu = Call("m1", "day");
  ASSERT_TRUE(menu.ok());
  ASSERT_EQ(menu->menus.size(), 1u);
  EXPECT_EQ(menu->menus[0].options.at("1").kind, MenuAction::Kind::kCallback);
  EXPECT_EQ(menu->menus[0].options.at("1").queue, "day");
  EXPECT_EQ(menu->exit_prompts, std::vector<std::string>{"en/closed"});
  EXPECT_EQ(store_.delete_menu("night-menu").error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(store_
                  .update_queue(
                      "day", 0,
                      [](QueueConfig& q) {
                        q.opening.closed_menu.clear();
                        q.opening.closed_uri = "sip:night@pbx.example";
                        return OkStatus();
                      },
                      clock_.now())
                  .ok());
  auto redirect = Call("r1", "day");
  ASSERT_TRUE(redirect.ok());
  EXPECT_EQ(redirect->redirect_uri, "sip:night@pbx.example");
  EXPECT_EQ(store_.get_call("r1").error().code, ErrorCode::kNotFound);
  // A callback into a queue that offers none, and is not closed with one: refused.
  AddQueue("plain", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
  EXPECT_EQ(Call("p1", "plain", "+4930777").error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cc::queue
