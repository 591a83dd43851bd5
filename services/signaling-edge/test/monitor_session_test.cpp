// A supervisor in a connected call at the edge, on fakes: the order rings the supervisor's
// phone from a relay leg of its own, the answer mixes the three for the mode (listen: the
// supervisor muted; whisper: heard by the agent alone; barge: everyone), a new mode changes
// the mix, and every way out (stop, the supervisor's hang-up, no answer, the call's end) lets
// the supervisor go and leaves the caller and the agent bridged or over.
#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

using std::chrono::seconds;

class MonitorSessionTest : public testing::CallSessionFixture {
 protected:
  static MonitorOrder Order(MonitorMode mode, std::int64_t session = 5, bool stop = false) {
    MonitorOrder o;
    o.session_id = session;
    o.call_id = "call-1";
    o.supervisor_id = "sam";
    o.mode = mode;
    o.stop = stop;
    o.devices = {{"sip:sam@10.0.0.9:5060", "127.0.0.1", 40100, false}};
    o.ring_timeout = seconds(20);
    return o;
  }
  // Connected, the supervisor rung and answered; its phone's leg.
  testing::FakeLeg* Monitored(CallSession& s, MonitorMode mode) {
    EXPECT_EQ(s.on_monitor(Order(mode)), "");
    EXPECT_EQ(media_.creates.size(), 1u);
    EXPECT_EQ(media_.creates.front().leg.label, "supervisor");
    EXPECT_EQ(media_.creates.front().leg.relay, "r1");  // where the call's legs are
    media_.create_ok();
    EXPECT_EQ(sip_.legs.size(), 2u);
    testing::FakeLeg* sam = sip_.legs.back();
    s.on_agent_response(sam, 200, "sam-answer");
    EXPECT_EQ(media_.updates.size(), 1u);
    EXPECT_EQ(media_.updates.front().sdp, "sam-answer");
    auto u = std::move(media_.updates.front());
    media_.updates.pop_front();
    u.done(std::string("relay-answer"));
    return sam;
  }
  // The last mix asked: "leg" for everyone, "leg(muted)", "leg(heard by x)".
  std::string LastMix() {
    if (media_.mixes.empty()) return "";
    std::string out;
    for (const auto& m : media_.mixes.back().members) {
      out += (out.empty() ? "" : ",") + m.leg_id;
      if (m.muted) out += "(muted)";
      for (const auto& h : m.heard_by) out += "(heard by " + h + ")";
    }
    return out;
  }
};

TEST_F(MonitorSessionTest, TheSupervisorIsRungThenMixedInTheModeAndEachModeChangesTheMix) {
  auto& s = Connected();
  testing::FakeLeg* sam = Monitored(s, MonitorMode::kListen);
  const AgentInvite& inv = sip_.invites.back();
  EXPECT_EQ(inv.contact, "sip:sam@10.0.0.9:5060");
  EXPECT_EQ(inv.route, "sip:127.0.0.1:40100");
  EXPECT_EQ(inv.sdp, "sdp-of-supervisor");
  ASSERT_EQ(inv.headers.size(), 1u);
  EXPECT_EQ(inv.headers[0], "X-CC-Monitor: listen;call=call-1;agent=alice");
  EXPECT_EQ(media_.mixes.back().mix_id, "call-1");
  EXPECT_EQ(LastMix(), "customer-leg,agent-leg,supervisor-leg(muted)");
  EXPECT_EQ(queue_.monitor_reports, std::vector<std::string>{"5 answered"});
  EXPECT_EQ(s.on_monitor(Order(MonitorMode::kWhisper)), "");
  EXPECT_EQ(LastMix(), "customer-leg,agent-leg,supervisor-leg(heard by agent-leg)");
  EXPECT_EQ(s.on_monitor(Order(MonitorMode::kBarge)), "");
  EXPECT_EQ(LastMix(), "customer-leg,agent-leg,supervisor-leg");
  EXPECT_EQ(s.on_monitor(Order(MonitorMode::kBarge, 6)), "another supervisor is in the call");
  // The relay leg is one the edge holds (its list to the relay keeps it).
  EXPECT_EQ(s.relay_legs(),
            (std::vector<std::string>{"customer-leg", "agent-leg", "supervisor-leg"}));
  // Stopped through the API: the supervisor goes, the two are bridged again.
  EXPECT_EQ(s.on_monitor(Order(MonitorMode::kBarge, 5, true)), "");
  EXPECT_EQ(sam->sent(), "BYE");
  EXPECT_EQ(media_.released, std::vector<std::string>{"supervisor-leg"});
  ASSERT_EQ(media_.connects.size(), 1u);
  EXPECT_EQ(media_.connects.front().agent.id, "agent-leg");
  EXPECT_EQ(media_.connects.front().customer.id, "customer-leg");
  EXPECT_EQ(media_.connects.front().sdp, "");
  EXPECT_EQ(queue_.monitor_reports.size(), 1u);  // queue-service stopped it: nothing to tell
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
}

TEST_F(MonitorSessionTest, TheSupervisorHangingUpIsReportedAndTheTwoTalkOn) {
  auto& s = Connected();
  testing::FakeLeg* sam = Monitored(s, MonitorMode::kBarge);
  s.on_agent_bye(sam);
  EXPECT_EQ(sam->sent(), "");  // it hung up: nothing sent back
  EXPECT_EQ(queue_.monitor_reports.back(), "5 ended: the supervisor hung up");
  EXPECT_EQ(media_.connects.size(), 1u);
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  Terminated(s, sam);
  s.on_customer_left("caller hung up");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
}

TEST_F(MonitorSessionTest, ASupervisorWhoDoesNotAnswerIsCancelledAndReported) {
  auto& s = Connected();
  ASSERT_EQ(s.on_monitor(Order(MonitorMode::kListen)), "");
  media_.create_ok();
  testing::FakeLeg* sam = sip_.legs.back();
  s.on_agent_response(sam, 180, "");
  timers_.advance(seconds(20));
  EXPECT_EQ(sam->sent(), "CANCEL");
  EXPECT_EQ(queue_.monitor_reports.back(), "5 ended: the supervisor did not answer");
  EXPECT_TRUE(media_.mixes.empty());
  EXPECT_TRUE(media_.connects.empty());  // the two were never unbridged
  // A busy phone ends the next one at once.
  ASSERT_EQ(s.on_monitor(Order(MonitorMode::kListen, 7)), "");
  media_.create_ok();
  s.on_agent_response(sip_.legs.back(), 486, "");
  EXPECT_EQ(queue_.monitor_reports.back(), "7 ended: the supervisor's phone answered 486");
}

TEST_F(MonitorSessionTest, TheCallsEndLetsTheSupervisorGoAndOrdersComeOnlyForConnectedCalls) {
  auto& r = Ringing();
  EXPECT_EQ(r.on_monitor(Order(MonitorMode::kListen)), "call is ringing");
  r.on_agent_response(sip_.legs[0], 200, "agent-answer");
  queue_.report_answers(OkStatus());
  media_.connect_ok();
  testing::FakeLeg* sam = Monitored(r, MonitorMode::kWhisper);
  r.on_customer_left("caller hung up");
  EXPECT_EQ(sam->sent(), "BYE");
  EXPECT_EQ(queue_.monitor_reports, std::vector<std::string>{"5 answered"});  // ends with the call
  EXPECT_EQ(media_.released,
            (std::vector<std::string>{"supervisor-leg", "customer-leg", "agent-leg"}));
  Terminated(r, customer_);
  Terminated(r, sip_.legs[0]);
  Terminated(r, sam);
  EXPECT_EQ(r.phase(), CallPhase::kEnded);
}

}  // namespace
}  // namespace cc::edge
