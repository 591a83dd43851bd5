// Blind transfers on the wire, heard by tone: every participant's media is a ToneParty of
// the test (its own frequency out, the frequencies it hears in), SIPp does the SIP. An
// agent's phone transfers with a REFER to another queue and follows the NOTIFYs; an operator
// transfers through the API to a named agent (a busy one is refused and the caller stays
// with the first); a named agent who does not take the call gives it back to the first
// agent. After each step the caller must hear exactly the agent it is with, and that agent
// the caller.
#include "tone_fixture.h"

namespace cc {
namespace {

constexpr int kCaller = 500, kAnn = 1100, kBob = 1700, kCarol = 2300;
const std::vector<int> kTones = {kCaller, kAnn, kBob, kCarol};

class TransferIt : public ToneStackIt {
 protected:
  grpc::Status Transfer(const std::string& to_agent,
                        v1::TransferFallback on_failure = v1::TRANSFER_FALLBACK_RETURN_TO_AGENT) {
    v1::TransferCallRequest req;
    req.set_call_id(Scalar("SELECT id FROM calls"));
    req.set_to_agent(to_agent);
    req.set_on_failure(on_failure);
    v1::TransferCallResponse resp;
    return queues_->TransferCall(Ctx().get(), req, &resp);
  }
};

TEST_F(TransferIt, APhonesReferMovesTheCallerToAnotherQueueAndEachSideHearsTheRightAgent) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  AddQueue("support", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  const int pa = testing::FreeUdpPort(), pb = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"});
  AddAgent("bob", "pw", {"support"});
  Bind("ann", pa);
  Bind("bob", pb);
  testing::ToneParty caller(kCaller), ann(kAnn), bob(kBob);
  for (auto* p : {&caller, &ann, &bob}) p->listen_for(kTones);

  auto ann_phone = Phone("agent_refer_tone.xml", pa, ann, 1, {"-s", "support", "-d", "4000"});
  auto bob_phone = Phone("agent_tone.xml", pb, bob);
  auto customer = Caller("sales", caller, 11000);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|ann");
  Listen({&caller, &ann, &bob});
  EXPECT_EQ(caller.heard(kTones), Only(kAnn));
  EXPECT_EQ(ann.heard(kTones), Only(kCaller));
  EXPECT_EQ(bob.frames(), 0);

  // ann's phone sends its REFER; bob in support answers and gets the same caller.
  bob.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|bob");
  Listen({&caller, &ann, &bob});
  EXPECT_EQ(caller.heard(kTones), Only(kBob));
  EXPECT_EQ(bob.heard(kTones), Only(kCaller));
  EXPECT_EQ(ann.frames(), 0);  // ann's leg is gone

  EXPECT_EQ(ann_phone->wait(seconds(20)), 0) << ann_phone->output();  // 202, NOTIFY 100 and 200
  EXPECT_EQ(customer->wait(seconds(20)), 0) << customer->output();
  EXPECT_EQ(bob_phone->wait(seconds(20)), 0) << bob_phone->output();
  ExpectScalarSoon("SELECT concat_ws('|', state, queue, agent_id) FROM calls", "ENDED|support|bob");
  EXPECT_EQ(
      Scalar("SELECT string_agg(agent_id || ':' || outcome, ',' ORDER BY id) FROM assignments"),
      "ann:transferred to queue support,bob:caller hung up");
  EXPECT_EQ(Scalar("SELECT concat_ws('|', from_agent, target, result, to_agent,"
                   " requested_by LIKE '%phone of ann') FROM call_transfers"),
            "ann|support|COMPLETED|bob|t");
  ExpectClean({"ann", "bob"});
}

TEST_F(TransferIt, AnApiTransferToABusyAgentIsRefusedThenOneToAFreeAgentIsHeard) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  const int pa = testing::FreeUdpPort(), pc = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"});
  AddAgent("carol", "pw", {});  // in no queue: reached by name only
  AddAgent("dave", "pw", {});   // no phone registered
  Bind("ann", pa);
  Bind("carol", pc);
  testing::ToneParty caller(kCaller), ann(kAnn), carol(kCarol);
  for (auto* p : {&caller, &ann, &carol}) p->listen_for(kTones);
  auto ann_phone = Phone("agent_tone.xml", pa, ann);
  auto carol_phone = Phone("agent_tone.xml", pc, carol);
  auto customer = Caller("sales", caller, 9000);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|ann");

  const grpc::Status busy = Transfer("dave");
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << busy.error_message();
  EXPECT_NE(busy.error_message().find("no registered phone"), std::string::npos)
      << busy.error_message();
  Listen({&caller, &ann});
  EXPECT_EQ(caller.heard(kTones), Only(kAnn));  // still with ann
  EXPECT_EQ(ann.heard(kTones), Only(kCaller));

  const grpc::Status moved = Transfer("carol");
  ASSERT_TRUE(moved.ok()) << moved.error_message();
  carol.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|carol");
  Listen({&caller, &ann, &carol});
  EXPECT_EQ(caller.heard(kTones), Only(kCarol));
  EXPECT_EQ(carol.heard(kTones), Only(kCaller));
  EXPECT_EQ(ann.frames(), 0);
  // ann's phone got the edge's BYE (it never hangs up itself).
  EXPECT_EQ(ann_phone->wait(seconds(20)), 0) << ann_phone->output();
  EXPECT_EQ(customer->wait(seconds(20)), 0) << customer->output();
  EXPECT_EQ(carol_phone->wait(seconds(20)), 0) << carol_phone->output();
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "ENDED|carol");
  ExpectClean({"ann", "carol"});
}

TEST_F(TransferIt, ANamedAgentWhoIsBusyGivesTheCallBackToTheFirstAgent) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  const int pa = testing::FreeUdpPort(), pc = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"}, 30);  // her wrap-up is cut short by the call coming back
  AddAgent("carol", "pw", {});
  Bind("ann", pa);
  Bind("carol", pc);
  testing::ToneParty caller(kCaller), ann(kAnn);
  for (auto* p : {&caller, &ann}) p->listen_for(kTones);
  // ann's phone takes two calls: the first, then the same caller given back.
  auto ann_phone = Phone("agent_tone.xml", pa, ann, 2);
  auto carol_phone = Sipp("agent_busy.xml", pc, {"-m", "1"});
  auto customer = Caller("sales", caller, 9000);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|ann");
  const std::string first_leg = Scalar("SELECT assignment_id FROM calls");

  ASSERT_TRUE(Transfer("carol").ok());
  // carol's phone is busy: ann's phone rings again and she has the caller back.
  ann.send_to(NewLegPort("agent", legs));
  testing::WaitFor(
      [&] {
        return CallWith() == "CONNECTED|ann" &&
               Scalar("SELECT assignment_id FROM calls") != first_leg;
      },
      seconds(15));
  EXPECT_EQ(CallWith(), "CONNECTED|ann");
  Listen({&caller, &ann});
  EXPECT_EQ(caller.heard(kTones), Only(kAnn));
  EXPECT_EQ(ann.heard(kTones), Only(kCaller));
  EXPECT_EQ(customer->wait(seconds(20)), 0) << customer->output();
  EXPECT_EQ(ann_phone->wait(seconds(20)), 0) << ann_phone->output();
  EXPECT_EQ(carol_phone->wait(seconds(20)), 0) << carol_phone->output();
  // The edge reports the end just after the phones are done.
  ExpectScalarSoon("SELECT string_agg(agent_id || ':' || state, ',' ORDER BY id) FROM assignments",
                   "ann:ENDED,carol:FAILED,ann:ENDED");
  EXPECT_EQ(Scalar("SELECT concat_ws('|', result, to_agent) FROM call_transfers"), "RETURNED|ann");
  ExpectClean({"carol"});
}

}  // namespace
}  // namespace cc
