// Blind transfers at the edge, on fakes: the agent's phone sends a REFER, queue-service moves
// the call, the phone hears the progress (NOTIFY), the agent's leg closes and the caller
// waits with music for the next agent, who is bridged with the same customer leg. Also the
// transfers queue-service makes through the API (its event, or the next offer when that
// event is lost) and the REFERs that cannot be honoured.
#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TransferSessionTest : public testing::CallSessionFixture {
 protected:
  // The last prompts played on the customer's relay leg.
  std::vector<std::string> CustomerHears() {
    for (auto it = media_.plays.rbegin(); it != media_.plays.rend(); ++it) {
      if (it->leg.id == "customer-leg") return it->prompts;
    }
    return {};
  }
};

TEST_F(TransferSessionTest, APhonesReferMovesTheCallAndTheNextAgentGetsTheSameCaller) {
  auto& s = Connected();
  testing::FakeLeg* alice = sip_.legs[0];
  s.on_agent_refer(alice, "2000");
  EXPECT_EQ(alice->sent(), "NOTIFY 100");
  ASSERT_EQ(queue_.transfers.size(), 1u);
  const TransferAsk& ask = queue_.transfers.front().first;
  EXPECT_EQ(ask.call_id, "call-1");
  EXPECT_EQ(ask.assignment_id, 7);
  EXPECT_EQ(ask.to_number, "2000");
  EXPECT_EQ(ask.requested_by, "phone of alice");
  EXPECT_EQ(s.phase(), CallPhase::kConnected);  // nothing moves before queue-service has
  queue_.transfer_answers(OkStatus());
  EXPECT_EQ(alice->sent(), "NOTIFY 100,NOTIFY 200");
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
  EXPECT_EQ(CustomerHears(), std::vector<std::string>{"moh"});
  // The phone hangs up itself after the final NOTIFY; one that does not gets a BYE.
  timers_.advance(milliseconds(1999));
  EXPECT_EQ(alice->sent(), "NOTIFY 100,NOTIFY 200");
  timers_.advance(milliseconds(1));
  EXPECT_EQ(alice->sent(), "NOTIFY 100,NOTIFY 200,BYE");
  Terminated(s, alice);
  // The next agent: rung, answered, bridged with the same customer leg; the caller's dialog
  // was answered once and stays as it is.
  ASSERT_EQ(s.on_offer(MakeOffer(1, 8)), OfferRefusal::kNone);
  media_.create_ok();
  ASSERT_EQ(sip_.legs.size(), 2u);
  s.on_agent_response(sip_.legs[1], 200, "bob-answer");
  queue_.report_answers(OkStatus());  // connected, bob's leg
  ASSERT_EQ(media_.connects.size(), 1u);
  EXPECT_EQ(media_.connects.front().customer.id, "customer-leg");
  media_.connect_ok();
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  EXPECT_EQ(customer_->sent(), "180,200");
  s.on_customer_left("caller hung up");
  EXPECT_EQ(queue_.sent_reports(), "connected,connected,ended");
  EXPECT_EQ(queue_.reports.back().report.assignment_id, 8);
  EXPECT_EQ(sip_.legs[1]->sent(), "BYE");
}

TEST_F(TransferSessionTest, ATransferQueueServiceRefusesLeavesTheCallWithTheAgent) {
  auto& s = Connected();
  testing::FakeLeg* alice = sip_.legs[0];
  s.on_agent_refer(alice, "bob");
  queue_.transfer_answers(Error{ErrorCode::kFailedPrecondition, "agent bob cannot take it"});
  EXPECT_EQ(alice->sent(), "NOTIFY 100,NOTIFY 486");
  s.on_agent_refer(alice, "nobody");
  queue_.transfer_answers(Error{ErrorCode::kNotFound, "nothing to transfer to"});
  EXPECT_EQ(alice->sent(), "NOTIFY 100,NOTIFY 486,NOTIFY 100,NOTIFY 404");
  s.on_agent_refer(alice, "support");
  queue_.transfer_answers(Error{ErrorCode::kUnavailable, "queue-service away"});
  EXPECT_EQ(alice->actions.back(), "NOTIFY 503");
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  EXPECT_TRUE(media_.released.empty());
  // The conversation goes on and ends as usual.
  s.on_agent_bye(alice);
  EXPECT_EQ(customer_->sent(), "180,200,BYE");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
}

TEST_F(TransferSessionTest, ReferThatCannotBeHonouredGetsAFinalNotifyAtOnce) {
  auto& s = Connected();
  testing::FakeLeg* alice = sip_.legs[0];
  s.on_agent_refer(alice, "");  // Refer-To without a number
  EXPECT_EQ(alice->sent(), "NOTIFY 400");
  s.on_agent_refer(alice, "2000");
  s.on_agent_refer(alice, "3000");  // one at a time
  EXPECT_EQ(alice->sent(), "NOTIFY 400,NOTIFY 100,NOTIFY 491");
  EXPECT_EQ(queue_.transfers.size(), 1u);
  // The caller hangs up while queue-service decides: the answer finds the call over.
  s.on_customer_left("caller hung up");
  queue_.transfer_answers(OkStatus());
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
}

TEST_F(TransferSessionTest, AReferWhileTheAgentIsStillRingingIsDeclined) {
  auto& s = Ringing();
  s.on_agent_refer(sip_.legs[0], "2000");
  EXPECT_EQ(sip_.legs[0]->sent(), "NOTIFY 603");
  EXPECT_TRUE(queue_.transfers.empty());
  EXPECT_EQ(s.phase(), CallPhase::kRinging);
}

TEST_F(TransferSessionTest, AnApiTransferComesAsAnEventAndTheAgentIsLetGo) {
  auto& s = Connected();
  s.on_transferred(99);  // another leg's: nothing
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  s.on_transferred(7);
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
  EXPECT_EQ(CustomerHears(), std::vector<std::string>{"moh"});
  timers_.advance(seconds(2));
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_EQ(queue_.sent_reports(), "connected");  // queue-service has the leg over already
  s.on_transferred(7);                            // repeated: nothing more
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
}

TEST_F(TransferSessionTest, WhenTheEventIsLostTheNextOfferLetsTheOldAgentGo) {
  auto& s = Connected();
  ASSERT_EQ(s.on_offer(MakeOffer(1, 8)), OfferRefusal::kNone);
  EXPECT_EQ(s.phase(), CallPhase::kRinging);
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
  // The offer of the leg it holds is still refused.
  EXPECT_EQ(s.on_offer(MakeOffer(1, 8)), OfferRefusal::kBusy);
}

}  // namespace
}  // namespace cc::edge
