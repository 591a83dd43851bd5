// Blind transfers in queue-service against a real PostgreSQL on the simulated clock: to a
// queue (the caller keeps the place of the first wait, the first agent goes to wrap-up), to
// a named agent (offered at once; a busy one refused with the call left where it was; one who
// does not answer gives the call back to the first agent, or to the queue), repeated
// requests, bad targets, and the call's record of legs and transfers.
#include "repository_fixture.h"

namespace cc::queue {
namespace {

class TransfersIt : public QueueRepositoryIt {
 protected:
  void SetUp() override {
    AddQueue("sales", [](QueueConfig& q) { q.wrap_up_seconds = 30; });
    AddQueue("support", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
    DialplanEntry e;
    e.pattern = "2000";
    e.queue = "support";
    ASSERT_TRUE(store_.set_dialplan(e).ok());
  }
  // The call offered and connected to the agent the router picks; its assignment.
  std::int64_t Connect(const std::string& call_id) {
    EXPECT_GE(Match(), 1);
    const Offer o = OfferFor(call_id);
    auto c = engine_.connected(o.assignment_id, call_id);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return o.assignment_id;
  }
  Result<TransferOutcome> Transfer(const std::string& call_id, std::int64_t leg,
                                   const std::function<void(TransferRequest&)>& target) {
    TransferRequest r;
    r.call_id = call_id;
    r.assignment_id = leg;
    r.requested_by = "phone of alice";
    target(r);
    return engine_.transfer(r);
  }
  std::size_t Offers() {
    std::lock_guard lock(channel_.mu);
    return channel_.offers.size();
  }
};

TEST_F(TransfersIt, ToAQueueTheCallerKeepsTheFirstPlaceAndTheAgentGoesToWrapUp) {
  AddAgent("alice");
  const Call first = Enqueue("c1");
  const std::int64_t leg = Connect("c1");
  clock_.advance(seconds(60));
  // A caller who came later waits in support already.
  const Call later = Enqueue("c2", "support");
  auto moved = Transfer("c1", leg, [](TransferRequest& r) { r.to_number = "2000"; });
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->call.state, CallState::kWaiting);
  EXPECT_EQ(moved->call.queue, "support");
  EXPECT_EQ(moved->call.queue_entered_at, first.queue_entered_at);
  EXPECT_EQ(moved->call.agent_id, "");
  EXPECT_EQ(moved->transfer.from_agent, "alice");
  EXPECT_EQ(moved->transfer.to_queue, "support");
  EXPECT_EQ(moved->transfer.result, TransferResult::kPending);
  EXPECT_EQ(moved->transfer.requested_by, "phone of alice");
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kWrapUp);
  EXPECT_EQ(events_.count(CallEventKind::kTransferred), 1);
  // The transferred caller is ahead of the one who came later.
  auto pos = store_.position(*store_.get_call("c1"), clock_.now());
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->first, 1);
  EXPECT_EQ(store_.position(*store_.get_call("c2"), clock_.now())->first, 2);
  (void)later;
  // A repeated request (the edge's reply was lost) answers the same transfer.
  auto again = Transfer("c1", leg, [](TransferRequest& r) { r.to_number = "2000"; });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->transfer.id, moved->transfer.id);
  // An agent of support takes it: the transfer is completed by them.
  AddAgent("bob", {{"support", 0}});
  ASSERT_GE(Match(), 1);
  const Offer o = OfferFor("c1");
  EXPECT_EQ(o.agent_id, "bob");
  ASSERT_TRUE(engine_.connected(o.assignment_id, "c1").ok());
  auto h = store_.history("c1");
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->legs.size(), 2u);
  EXPECT_EQ(h->legs[0].agent_id, "alice");
  EXPECT_EQ(h->legs[0].state, "ENDED");
  EXPECT_EQ(h->legs[0].outcome, "transferred to queue support");
  EXPECT_EQ(h->legs[1].agent_id, "bob");
  EXPECT_EQ(h->legs[1].state, "CONNECTED");
  ASSERT_EQ(h->transfers.size(), 1u);
  EXPECT_EQ(h->transfers[0].result, TransferResult::kCompleted);
  EXPECT_EQ(h->transfers[0].taken_by, "bob");
  // A second leg over: the call ends as usual.
  ASSERT_TRUE(engine_.ended(o.assignment_id, "c1", "hangup").ok());
  EXPECT_EQ(StateOf("c1"), CallState::kEnded);
}

TEST_F(TransfersIt, ToANamedAgentTheOfferIsMadeAtOnceAndABusyAgentIsRefused) {
  AddAgent("alice");
  AddAgent("bob", {{"support", 0}});  // not a member of sales: a named target all the same
  AddAgent("carol", {});
  Enqueue("c1");
  Enqueue("c2", "support");
  ASSERT_EQ(Match(), 2);
  const std::int64_t leg = OfferFor("c1").assignment_id;
  ASSERT_TRUE(engine_.connected(leg, "c1").ok());
  ASSERT_TRUE(engine_.connected(OfferFor("c2").assignment_id, "c2").ok());
  ASSERT_EQ(StatusOf("bob"), AgentStatus::kOnCall);
  // bob is on c2: refused, and c1 stays with alice.
  auto busy = Transfer("c1", leg, [](TransferRequest& r) { r.to_agent = "bob"; });
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(busy.error().message.find("ON_CALL"), std::string::npos) << busy.error().message;
  EXPECT_EQ(StateOf("c1"), CallState::kConnected);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kOnCall);
  // carol by her SIP user, as a phone's Refer-To says it: offered at once, not by the router.
  const std::size_t before = Offers();
  auto moved = Transfer("c1", leg, [](TransferRequest& r) { r.to_number = "carol"; });
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->call.state, CallState::kOffered);
  EXPECT_EQ(moved->call.agent_id, "carol");
  ASSERT_EQ(Offers(), before + 1);
  const Offer o = OfferFor("c1");
  EXPECT_EQ(o.agent_id, "carol");
  EXPECT_EQ(o.edge_id, "edge-1");
  EXPECT_EQ(StatusOf("carol"), AgentStatus::kReserved);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kWrapUp);
  ASSERT_TRUE(engine_.connected(o.assignment_id, "c1").ok());
  auto h = store_.history("c1");
  ASSERT_EQ(h->transfers.size(), 1u);
  EXPECT_EQ(h->transfers[0].to_agent, "carol");
  EXPECT_EQ(h->transfers[0].result, TransferResult::kCompleted);
}

TEST_F(TransfersIt, ANamedAgentWhoDoesNotAnswerGivesTheCallBackToTheFirstAgent) {
  AddAgent("alice", {{"sales", 0}}, 60);  // a long wrap-up: the recall cuts it short
  AddAgent("carol", {});
  Enqueue("c1");
  const std::int64_t leg = Connect("c1");
  ASSERT_TRUE(Transfer("c1", leg, [](TransferRequest& r) { r.to_agent = "carol"; }).ok());
  ASSERT_EQ(StatusOf("alice"), AgentStatus::kWrapUp);
  const Offer to_carol = OfferFor("c1");
  ASSERT_TRUE(engine_.failed(to_carol.assignment_id, "c1", OfferFailure::kNoAnswer, "408").ok());
  const Offer back = OfferFor("c1");
  EXPECT_NE(back.assignment_id, to_carol.assignment_id);
  EXPECT_EQ(back.agent_id, "alice");
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kReserved);
  EXPECT_EQ(StatusOf("carol"), AgentStatus::kAvailable);
  ASSERT_TRUE(engine_.connected(back.assignment_id, "c1").ok());
  auto h = store_.history("c1");
  ASSERT_EQ(h->transfers.size(), 1u);
  EXPECT_EQ(h->transfers[0].result, TransferResult::kReturned);
  EXPECT_EQ(h->transfers[0].taken_by, "alice");
  EXPECT_EQ(h->legs.size(), 3u);  // alice, carol (failed), alice again
}

TEST_F(TransfersIt, WithTheQueueAsFallbackTheCallWaitsAgainAtItsPlace) {
  AddAgent("alice");
  AddAgent("carol", {});
  const Call first = Enqueue("c1");
  const std::int64_t leg = Connect("c1");
  ASSERT_TRUE(Transfer("c1", leg, [](TransferRequest& r) {
                r.to_agent = "carol";
                r.on_failure = TransferFallback::kQueue;
              }).ok());
  const Offer to_carol = OfferFor("c1");
  ASSERT_TRUE(engine_.failed(to_carol.assignment_id, "c1", OfferFailure::kBusy, "486").ok());
  Call c = *store_.get_call("c1");
  EXPECT_EQ(c.state, CallState::kWaiting);
  EXPECT_EQ(c.queue, "sales");
  EXPECT_EQ(c.queue_entered_at, first.queue_entered_at);
  auto h = store_.history("c1");
  EXPECT_EQ(h->transfers[0].result, TransferResult::kPending);
  // The caller hangs up while waiting: the transfer failed with the call.
  ASSERT_TRUE(engine_.cancel("c1", "caller hung up").ok());
  h = store_.history("c1");
  EXPECT_EQ(h->transfers[0].result, TransferResult::kFailed);
  EXPECT_NE(h->transfers[0].detail.find("ABANDONED"), std::string::npos) << h->transfers[0].detail;
}

TEST_F(TransfersIt, BadTargetsAndCallsNotConnectedAreRefusedAndNothingChanges) {
  AddAgent("alice");
  Enqueue("c1");
  auto waiting = Transfer("c1", 0, [](TransferRequest& r) { r.to_queue = "support"; });
  EXPECT_EQ(waiting.error().code, ErrorCode::kFailedPrecondition);
  const std::int64_t leg = Connect("c1");
  EXPECT_EQ(Transfer("c1", leg, [](TransferRequest& r) { r.to_number = "9999"; }).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(Transfer("c1", leg, [](TransferRequest& r) { r.to_queue = "nowhere"; }).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(Transfer("c1", leg, [](TransferRequest& r) { r.to_agent = "alice"; }).error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(
      Transfer("c1", leg + 100, [](TransferRequest& r) { r.to_queue = "support"; }).error().code,
      ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Transfer("nope", 0, [](TransferRequest& r) { r.to_queue = "support"; }).error().code,
            ErrorCode::kNotFound);
  // A queue nobody could answer in (its join rule) would drop the caller: refused.
  AddQueue("empty");
  auto nobody = Transfer("c1", leg, [](TransferRequest& r) { r.to_queue = "empty"; });
  EXPECT_EQ(nobody.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(nobody.error().message.find("nobody in queue empty can answer"), std::string::npos)
      << nobody.error().message;
  EXPECT_EQ(StateOf("c1"), CallState::kConnected);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kOnCall);
  EXPECT_TRUE(store_.history("c1")->transfers.empty());
}

}  // namespace
}  // namespace cc::queue
