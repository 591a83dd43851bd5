// A supervisor in a call on the wire, heard by tone: the caller, the agent and the supervisor
// each send their own frequency (ToneParty), SIPp does the SIP. The supervisor is called in
// through the API, switched from listen to whisper to barge, then stopped; after each step
// every participant must hear exactly whom the mode lets it hear. Only a supervisor of the
// call's queue may, and every session is in the audit with each of its modes.
#include "tone_fixture.h"

namespace cc {
namespace {

constexpr int kCaller = 500, kAgent = 1100, kSupervisor = 1700;
const std::vector<int> kTones = {kCaller, kAgent, kSupervisor};

class MonitorIt : public ToneStackIt {
 protected:
  grpc::Status Monitor(const std::string& supervisor, v1::MonitorMode mode,
                       v1::MonitorSession* session = nullptr) {
    v1::MonitorCallRequest req;
    req.set_call_id(Scalar("SELECT id FROM calls"));
    req.set_supervisor_id(supervisor);
    req.set_mode(mode);
    v1::MonitorCallResponse resp;
    auto st = queues_->MonitorCall(Ctx().get(), req, &resp);
    if (session) *session = resp.session();
    return st;
  }
};

TEST_F(MonitorIt, ASupervisorListensWhispersAndBargesAndEachPartyHearsWhomItShould) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  const int pa = testing::FreeUdpPort(), ps = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"});
  AddAgent("sam", "pw", {});
  AddAgent("bob", "pw", {});
  Bind("ann", pa);
  Bind("sam", ps);
  Bind("bob", testing::FreeUdpPort());
  v1::SupervisorRequest role;
  role.set_queue("sales");
  role.set_agent_id("sam");
  v1::SupervisorsResponse roles;
  ASSERT_TRUE(queues_->AddSupervisor(Ctx().get(), role, &roles).ok());
  testing::ToneParty caller(kCaller), ann(kAgent), sam(kSupervisor);
  for (auto* p : {&caller, &ann, &sam}) p->listen_for(kTones);
  auto ann_phone = Phone("agent_tone.xml", pa, ann);
  auto sam_phone = Phone("supervisor_tone.xml", ps, sam);
  auto customer = Caller("sales", caller, 16000);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "CONNECTED|ann");

  // bob has no supervisor role over sales.
  EXPECT_EQ(Monitor("bob", v1::MONITOR_MODE_LISTEN).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::MonitorSession session;
  ASSERT_TRUE(Monitor("sam", v1::MONITOR_MODE_LISTEN, &session).ok());
  sam.send_to(NewLegPort("supervisor", legs));
  ExpectScalarSoon("SELECT answered_at IS NOT NULL FROM monitor_sessions", "t");
  Listen({&caller, &ann, &sam});
  EXPECT_EQ(caller.heard(kTones), Only(kAgent));
  EXPECT_EQ(ann.heard(kTones), Only(kCaller));
  EXPECT_EQ(sam.heard(kTones), (std::set<int>{kCaller, kAgent}));

  ASSERT_TRUE(Monitor("sam", v1::MONITOR_MODE_WHISPER).ok());
  Listen({&caller, &ann, &sam});
  EXPECT_EQ(caller.heard(kTones), Only(kAgent));
  EXPECT_EQ(ann.heard(kTones), (std::set<int>{kCaller, kSupervisor}));
  EXPECT_EQ(sam.heard(kTones), (std::set<int>{kCaller, kAgent}));

  ASSERT_TRUE(Monitor("sam", v1::MONITOR_MODE_BARGE).ok());
  Listen({&caller, &ann, &sam});
  EXPECT_EQ(caller.heard(kTones), (std::set<int>{kAgent, kSupervisor}));
  EXPECT_EQ(ann.heard(kTones), (std::set<int>{kCaller, kSupervisor}));
  EXPECT_EQ(sam.heard(kTones), (std::set<int>{kCaller, kAgent}));

  // Stopped: the supervisor's phone gets a BYE, the two are bridged again.
  v1::StopMonitorRequest stop;
  stop.set_session_id(session.id());
  v1::StopMonitorResponse stopped;
  ASSERT_TRUE(queues_->StopMonitor(Ctx().get(), stop, &stopped).ok());
  EXPECT_EQ(sam_phone->wait(seconds(10)), 0) << sam_phone->output();
  Listen({&caller, &ann, &sam});
  EXPECT_EQ(caller.heard(kTones), Only(kAgent));
  EXPECT_EQ(ann.heard(kTones), Only(kCaller));
  EXPECT_EQ(sam.frames(), 0);

  EXPECT_EQ(customer->wait(seconds(30)), 0) << customer->output();
  EXPECT_EQ(ann_phone->wait(seconds(10)), 0) << ann_phone->output();
  ExpectScalarSoon(
      "SELECT concat_ws('|', supervisor_id, agent_id, mode, ended_at IS NOT NULL)"
      " FROM monitor_sessions",
      "sam|ann|BARGE|t");
  EXPECT_EQ(Scalar("SELECT string_agg(mode, ',' ORDER BY at) FROM monitor_modes"),
            "LISTEN,WHISPER,BARGE");
  // The call's record in ccctl.
  auto shown = testing::RunCommand(
      CC_CCCTL_BIN, {"--server", stack_->queue().target(), "calls", "show", session.call_id()},
      {{"CC_ENV_FILE", "/nonexistent"}, {"CC_API_TOKEN_FILE", testing::ApiTokens().admin_file}});
  EXPECT_NE(shown.output.find("listen,whisper,barge"), std::string::npos) << shown.output;
  ExpectClean({"ann", "sam"});
}

}  // namespace
}  // namespace cc
