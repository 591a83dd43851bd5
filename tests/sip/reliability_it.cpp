// The whole stack on the wire when things go wrong: a service killed and restarted under a
// call, a relay lost, the edge and its agents behind NAT, callers nobody could answer, a
// caller gone silent, an agent that refuses every call.
#include "stack_fixture.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// By default a queue takes a caller only while someone who could answer is registered: an
// agent logged in with no phone does not count, and the caller hears 480 at once (not the
// queue's ten minutes of music).
TEST_F(StackIt, ACallerNobodyCouldAnswerIsRefusedAtOnce) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);  // default rules
  AddAgent("away", "pw", {"sales"});                    // logged in, no phone
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(RunSipp("customer_480.xml", {"-s", "sales", "-m", "1"}), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls",
                   "FAILED:no agent registered");
  ExpectClean({"away"});
}

// An agent whose phone refuses every call (486) with no busy delay: the caller is not offered
// to it again and again; with nobody else, the next offer waits for the re-offer delay (5 s).
TEST_F(StackIt, AnAgentRefusingEveryCallIsNotOfferedItAgainAndAgain) {
  AddQueue("ring", v1::ANSWER_MODE_RING_UNTIL_AGENT, 20);
  AddAgent("busy", "pw", {"ring"});
  const int port = testing::FreeUdpPort();
  Bind("busy", port);
  auto agent = Sipp("agent_busy.xml", port, {"-m", "100"});
  // The caller waits 4 s, then hangs up.
  EXPECT_EQ(RunSipp("customer_cancel.xml", {"-s", "ring", "-d", "4000", "-m", "1"}), 0);
  ExpectScalarSoon("SELECT state FROM calls", "ABANDONED");
  EXPECT_EQ(Scalar("SELECT count(*) FROM assignments"), "1");
  agent->signal(SIGTERM);
  ExpectClean({"busy"});
}

// A waiting caller answered with music who stops sending RTP (a dead phone, no BYE) is taken
// as gone after the edge's --waiting-media-timeout: BYE with a Reason, the call abandoned.
class StackItSilentCaller : public StackIt {
 protected:
  void SetUp() override {
    extra_edge_args_ = {"--waiting-media-timeout=2s"};
    StackIt::SetUp();
  }
};

TEST_F(StackItSilentCaller, AWaitingCallerGoneSilentIsEndedAsAbandoned) {
  AddQueue("music", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 20, 0, v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  AddAgent("away", "pw", {"music"});  // nobody will answer
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(RunSipp("customer_waits.xml", {"-s", "music", "-m", "1"}), 0);  // BYE + Reason
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, seconds(2));
  EXPECT_LT(waited, seconds(8));
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls",
                   "ABANDONED:caller media stopped");
  EXPECT_EQ(EdgeMetric("cc_edge_call_failures_total{reason=\"caller_silent\"}"), 1);
  ExpectClean({"away"});
}

// The edge behind a port-mapping load balancer and the agent's phone behind NAT, emulated by
// a UDP NAT on loopback. The edge advertises the public address in its Contact; the phone's
// Contact (port 9) cannot be reached, so every request of the agent's dialog (the INVITE, the
// ACK, the BYE) must go where its REGISTER came from.
class StackItBehindNat : public StackIt {
 protected:
  void SetUp() override {
    sip_port_wanted_ = testing::FreeUdpPort();
    nat_ = std::make_unique<testing::UdpNat>(sip_port_wanted_);
    advertised_ = "127.0.0.2:" + std::to_string(nat_->public_port());
    extra_edge_args_ = {"--sip-advertise=" + advertised_};
    send_to_ = nat_->public_port();
    StackIt::SetUp();
  }
  std::unique_ptr<testing::UdpNat> nat_;
  std::string advertised_;
};

TEST_F(StackItBehindNat, AnAgentBehindNatIsReachedWhereItRegisteredFrom) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("alice", "pw", {"sales"});
  const int phone = testing::FreeUdpPort();
  ASSERT_EQ(
      RunSipp("register_natted.xml",
              {"-s", "alice", "-au", "alice", "-ap", "pw", "-set", "expires", "300", "-m", "1"},
              phone),
      0);
  v1::ListBindingsRequest lb;
  lb.set_agent_id("alice");
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  ASSERT_EQ(bindings.bindings_size(), 1);
  EXPECT_EQ(bindings.bindings(0).contact_uri(), "sip:alice@127.0.0.1:9");
  EXPECT_EQ(bindings.bindings(0).source_port(), nat_->mapped_port(phone));
  const std::string trace = work_ + "/agent-messages.log";
  auto agent = Sipp("agent_natted.xml", phone,
                    {"-d", "100", "-m", "1", "-trace_msg", "-message_file", trace});
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "1000", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0) << ErrorsOf("agent_natted.xml", phone);
  // The agent's phone saw the edge's advertised address, not the one it listens on.
  const std::string messages = ReadFile(trace);
  EXPECT_NE(messages.find("Contact: <sip:" + advertised_ + ">"), std::string::npos) << messages;
  ExpectScalarSoon("SELECT state || ':' || agent_id FROM calls", "ENDED:alice");
  ExpectClean({"alice"});
}

// queue-service killed (-9) in the middle of a call and restarted 5 s later: the end of the
// call, which happened meanwhile, is reported once it is back (the agent is not stranded), and
// a caller who arrived meanwhile rang until it was back, then reached the agent.
TEST_F(StackIt, QueueServiceKilledAndRestartedLosesNoCallAndStrandsNoAgent) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT, 10, 0);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent.xml", port, {"-d", "100", "-m", "2"});
  auto first = Sipp("customer.xml", testing::FreeUdpPort(),
                    {"-s", "sales", "-d", "4000", "-m", "1", "-timeout", "60s", "-timeout_error"});
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Scalar("SELECT count(*) FROM calls WHERE state = 'CONNECTED'") == "1"; },
      seconds(10)));
  stack_->queue().kill();
  // The second caller arrives while queue-service is down; the first hangs up meanwhile.
  std::this_thread::sleep_for(seconds(1));
  const int second_port = testing::FreeUdpPort();
  auto second = Sipp("customer.xml", second_port,
                     {"-s", "sales", "-d", "1000", "-m", "1", "-timeout", "60s", "-timeout_error"});
  std::this_thread::sleep_for(seconds(4));
  ASSERT_TRUE(stack_->queue().restart()) << stack_->queue().process().output();
  EXPECT_EQ(first->wait(seconds(30)), 0);
  EXPECT_EQ(second->wait(seconds(30)), 0) << ErrorsOf("customer.xml", second_port);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon(
      "SELECT string_agg(state || ':' || agent_id, ',' ORDER BY enqueued_at) FROM calls",
      "ENDED:alice,ENDED:alice");
  EXPECT_GE(EdgeMetric("cc_edge_reports_total{kind=\"ended\",result=\"retried\"}"), 1);
  ExpectClean({"alice"});
}

// Two relays; the one holding a call is killed: the call ends cleanly on both SIP legs within
// seconds (BYE with a Reason to the customer and the agent), and the next call goes to the
// other relay.
class StackItTwoRelays : public StackIt {
 protected:
  void SetUp() override {
    relays_ = 2;
    StackIt::SetUp();
  }
};

TEST_F(StackItTwoRelays, ARelayLostEndsItsCallsAndNewCallsGoToTheOther) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent.xml", port, {"-d", "100", "-m", "2"});
  auto customer = Sipp("customer_waits.xml", testing::FreeUdpPort(),
                       {"-s", "sales", "-m", "1", "-timeout", "60s", "-timeout_error"});
  std::string relay;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        v1::ListLiveCallsResponse live;
        if (!edge_stub_->ListLiveCalls(Ctx().get(), {}, &live).ok() || live.calls_size() != 1) {
          return false;
        }
        relay = live.calls(0).relay();
        return live.calls(0).state() == "connected";
      },
      seconds(10)));
  const int lost = relay == stack_->relay(0).target() ? 0 : 1;
  ASSERT_EQ(relay, stack_->relay(lost).target());
  const auto killed = std::chrono::steady_clock::now();
  stack_->relay(lost).kill();
  EXPECT_EQ(customer->wait(seconds(20)), 0);  // BYE with a Reason
  EXPECT_LT(std::chrono::steady_clock::now() - killed, seconds(8));
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls", "ENDED:media relay lost");
  EXPECT_EQ(EdgeMetric("cc_edge_reconciled_calls_total{why=\"relay_lost\"}"), 1);
  // The agent's leg ended too; the next call is served by the other relay.
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "500", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT count(*) FROM calls WHERE state = 'ENDED'", "2");
  // Checked against the relay still up (the other is gone).
  relay_stub_ = v1::MediaRelay::NewStub(MakeChannel(stack_->relay(1 - lost).target()));
  ExpectClean({"alice"});
}

}  // namespace
}  // namespace cc
