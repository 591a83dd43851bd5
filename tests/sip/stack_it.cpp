// The whole stack on the wire: call flows, registration, bad input (stack_fixture.h).
#include <filesystem>
#include <map>

#include "stack_fixture.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_F(StackIt, AgentsRegisterWithDigestAuth) {
  AddAgent("1001", "s3cret", {});
  // One REGISTER exchange of 1001 with the right password from `port` (0: any); SIPp's exit.
  auto Register = [&](const std::string& scenario, int expires, int port = 0) {
    return RunSipp(scenario,
                   {"-s", "1001", "-au", "1001", "-ap", "s3cret", "-set", "expires",
                    std::to_string(expires), "-m", "1"},
                   port);
  };
  // Right password: 401, then 200; the binding carries host and port.
  const int port = testing::FreeUdpPort();
  ASSERT_EQ(Register("register.xml", 300, port), 0);
  v1::ListBindingsRequest lb;
  lb.set_agent_id("1001");
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  ASSERT_EQ(bindings.bindings_size(), 1);
  EXPECT_EQ(bindings.bindings(0).contact_uri(), "sip:1001@127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(bindings.bindings(0).user_agent(), "SIPp agent");
  // A Contact without a port is completed with the port the REGISTER came from.
  const int port2 = testing::FreeUdpPort();
  ASSERT_EQ(Register("register_noport.xml", 300, port2), 0);
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  ASSERT_EQ(bindings.bindings_size(), 2);
  bool found = false;
  for (const auto& b : bindings.bindings()) {
    found |= b.contact_uri().find("127.0.0.1:" + std::to_string(port2)) != std::string::npos;
  }
  EXPECT_TRUE(found);
  // A refresh of either phone is answered with both bindings.
  EXPECT_EQ(Register("register_lists.xml", 300, port), 0);
  // Too short: 423. Removal: Expires 0 removes the binding.
  EXPECT_EQ(Register("register_brief.xml", 1), 0);
  ASSERT_EQ(Register("register.xml", 0, port), 0);
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  EXPECT_EQ(bindings.bindings_size(), 1);
  // Expiry: with only a 2 s registration left, the agent is unroutable a little later.
  ASSERT_EQ(Register("register_noport.xml", 0, port2), 0);
  ASSERT_EQ(Register("register.xml", 2, port), 0);
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  EXPECT_EQ(bindings.bindings_size(), 1);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        v1::GetAgentRequest g;
        g.set_id("1001");
        v1::GetAgentResponse a;
        return agents_->GetAgent(Ctx().get(), g, &a).ok() && !a.agent().routable();
      },
      seconds(6)));
  // Contact: * with Expires: 0 removes every binding of the agent at once.
  ASSERT_EQ(Register("register.xml", 300, port), 0);
  ASSERT_EQ(Register("register_noport.xml", 300, port2), 0);
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  ASSERT_EQ(bindings.bindings_size(), 2);
  ASSERT_EQ(RunSipp("register_star.xml", {"-s", "1001", "-au", "1001", "-ap", "s3cret", "-m", "1"}),
            0);
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  EXPECT_EQ(bindings.bindings_size(), 0);
  // A wrong password and an unknown user look the same: challenged again.
  EXPECT_EQ(
      RunSipp("register_refused.xml", {"-s", "1001", "-au", "1001", "-ap", "wrong", "-m", "1"}), 0);
  EXPECT_EQ(
      RunSipp("register_refused.xml", {"-s", "nobody", "-au", "nobody", "-ap", "x", "-m", "1"}), 0);
  // The third failure of 1001 from this address (nobody's does not count for 1001) locks 1001
  // out from it: now even its right password is refused (403 at once, no lookup) ...
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(
        RunSipp("register_refused.xml", {"-s", "1001", "-au", "1001", "-ap", "wrong", "-m", "1"}),
        0);
  }
  EXPECT_NE(RunSipp("register.xml", {"-s", "1001", "-au", "1001", "-ap", "s3cret", "-set",
                                     "expires", "300", "-m", "1", "-recv_timeout", "3000"}),
            0);
  EXPECT_EQ(EdgeMetric("cc_registrations_total{result=\"auth_failed\"}"), 4);
  EXPECT_GE(EdgeMetric("cc_sip_refused_total{method=\"REGISTER\",reason=\"locked_out\"}"), 1);
  // ... but not the address: another phone behind the same NAT still registers.
  AddAgent("1003", "other", {});
  EXPECT_EQ(RunSipp("register.xml", {"-s", "1003", "-au", "1003", "-ap", "other", "-set", "expires",
                                     "300", "-m", "1"}),
            0);
}

// A REGISTER answering an expired nonce is challenged again with stale=true, which is not a
// wrong password: the phone retries with the new nonce and is registered.
TEST_F(StackIt, AStaleNonceIsChallengedAgainWithStaleTrue) {
  AddAgent("1002", "s3cret", {});
  EXPECT_EQ(RunSipp("register_stale.xml", {"-s", "1002", "-au", "1002", "-ap", "s3cret", "-set",
                                           "expires", "300", "-m", "1"}),
            0);
  v1::ListBindingsRequest lb;
  lb.set_agent_id("1002");
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  EXPECT_EQ(bindings.bindings_size(), 1);
  EXPECT_EQ(EdgeMetric("cc_registrations_total{result=\"auth_failed\"}"), 0);
}

// Two agents, five customers calling at once: all five are answered, two at once and three
// when agents come out of wrap-up, and every leg is torn down.
TEST_F(StackIt, TwoAgentsFiveSimultaneousCallsAllComplete) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT, 10, 1);
  AddAgent("alice", "pw", {"sales"});
  AddAgent("bob", "pw", {"sales"});
  const int pa = testing::FreeUdpPort(), pb = testing::FreeUdpPort();
  Bind("alice", pa);
  Bind("bob", pb);
  auto alice = Sipp("agent.xml", pa, {"-d", "200", "-mp", std::to_string(testing::FreeUdpPort())});
  auto bob = Sipp("agent.xml", pb, {"-d", "200", "-mp", std::to_string(testing::FreeUdpPort())});
  std::atomic<int> max_legs{0};
  std::atomic<bool> done{false};
  std::thread watch([&] {
    while (!done) {
      v1::ListLegsResponse legs;
      if (relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) {
        max_legs = std::max(max_legs.load(), legs.legs_size());
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "2000", "-m", "5", "-l", "5", "-r", "50",
                                     "-mp", std::to_string(testing::FreeUdpPort())}),
            0);
  done = true;
  watch.join();
  alice->signal(SIGTERM);
  bob->signal(SIGTERM);
  ExpectScalarSoon("SELECT count(*) FROM calls WHERE state = 'ENDED'", "5");
  // Two connected at once; three only after a talk (2 s) and a wrap-up (1 s).
  EXPECT_EQ(
      Scalar("SELECT count(*) FROM calls WHERE connected_at - enqueued_at < interval '1.5 s'"),
      "2");
  EXPECT_EQ(
      Scalar("SELECT count(*) FROM calls WHERE connected_at - enqueued_at > interval '2.9 s'"),
      "3");
  EXPECT_EQ(Scalar("SELECT count(DISTINCT agent_id) FROM calls"), "2");
  EXPECT_GE(max_legs.load(), 2);  // customer and agent legs anchored in the relay
  ExpectClean({"alice", "bob"});
}

TEST_F(StackIt, AnUnansweredCallGoesToTheOtherAgent) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT, 2);
  AddAgent("slow", "pw", {"sales"});
  std::this_thread::sleep_for(milliseconds(50));
  AddAgent("quick", "pw", {"sales"});  // "slow" idles longer: offered first
  const int ps = testing::FreeUdpPort(), pq = testing::FreeUdpPort();
  Bind("slow", ps);
  Bind("quick", pq);
  auto slow = Sipp("agent_noanswer.xml", ps, {"-m", "1"});
  auto quick = Sipp("agent.xml", pq, {"-d", "100", "-m", "1"});
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "1000", "-m", "1"}), 0);
  EXPECT_EQ(slow->wait(seconds(10)), 0);   // it rang and was cancelled
  EXPECT_EQ(quick->wait(seconds(10)), 0);  // it took the call
  ExpectScalarSoon(
      "SELECT string_agg(agent_id || ':' || state || ':' || outcome, ',' ORDER BY id)"
      " FROM assignments",
      "slow:FAILED:no-answer: 487,quick:ENDED:caller hung up");
  ExpectClean({"slow", "quick"});
}

TEST_F(StackIt, ABusyAgentIsSkipped) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT, 5);
  AddAgent("busy", "pw", {"sales"});
  std::this_thread::sleep_for(milliseconds(50));
  AddAgent("free", "pw", {"sales"});
  const int pb = testing::FreeUdpPort(), pf = testing::FreeUdpPort();
  Bind("busy", pb);
  Bind("free", pf);
  auto busy = Sipp("agent_busy.xml", pb, {"-m", "1"});
  auto free_agent = Sipp("agent.xml", pf, {"-d", "100", "-m", "1"});
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "500", "-m", "1"}), 0);
  EXPECT_EQ(busy->wait(seconds(10)), 0);
  EXPECT_EQ(free_agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT outcome FROM assignments WHERE agent_id = 'busy'", "busy: 486");
  ExpectClean({"busy", "free"});
}

TEST_F(StackIt, TheCustomerHangsUpWhileQueuedOrWhileTheAgentRings) {
  // Logged in with no phone yet: callers wait (the queues take callers while anyone is
  // logged in).
  AddQueue("ring", v1::ANSWER_MODE_RING_UNTIL_AGENT, 20, 0, v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  AddQueue("music", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 20, 0, v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  AddAgent("nobody-home", "pw", {"ring", "music"});
  // Queued, ring mode: CANCEL.
  EXPECT_EQ(RunSipp("customer_cancel.xml", {"-s", "ring", "-d", "1000", "-m", "1"}), 0);
  // Queued, answered with music: BYE.
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "music", "-d", "1000", "-m", "1"}), 0);
  ExpectScalarSoon("SELECT count(*) FROM calls WHERE state = 'ABANDONED'", "2");
  // While the agent's phone rings: its INVITE is cancelled and the agent is free at once.
  const int port = testing::FreeUdpPort();
  Bind("nobody-home", port);
  auto agent = Sipp("agent_noanswer.xml", port, {"-m", "1"});
  EXPECT_EQ(RunSipp("customer_cancel.xml", {"-s", "ring", "-d", "2000", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT count(*) FROM calls WHERE state = 'ABANDONED'", "3");
  ExpectScalarSoon("SELECT state FROM assignments", "WITHDRAWN");
  ExpectClean({"nobody-home"});
}

TEST_F(StackIt, TheAgentHangsUpFirst) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent_hangup.xml", port, {"-d", "1000", "-m", "1"});
  EXPECT_EQ(RunSipp("customer_waits.xml", {"-s", "sales", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT outcome_reason FROM calls", "agent hung up");
  ExpectClean({"alice"});
}

TEST_F(StackIt, HoldAndResume) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent.xml", port, {"-d", "100", "-m", "1"});
  EXPECT_EQ(RunSipp("customer_hold.xml", {"-s", "sales", "-d", "500", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT state FROM calls", "ENDED");
  ExpectClean({"alice"});
}

// Early-media mode: 183 with the relay's SDP and music on the customer's leg while the agent
// rings, not answered before the agent is; then 200, the bridge and the music stopped.
TEST_F(StackIt, EarlyMediaPlaysMusicBeforeTheAgentAnswers) {
  AddQueue("sales", v1::ANSWER_MODE_EARLY_MEDIA);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent.xml", port, {"-d", "1500", "-m", "1"});  // rings 1.5 s
  const int customer_port = testing::FreeUdpPort();
  auto customer =
      Sipp("customer_early.xml", customer_port,
           {"-s", "sales", "-d", "500", "-m", "1", "-timeout", "60s", "-timeout_error"});
  bool music_before_answer = false;
  testing::WaitFor(
      [&] {
        v1::ListLegsResponse legs;
        if (!relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) return false;
        for (const auto& l : legs.legs()) music_before_answer |= l.playing();
        return music_before_answer;
      },
      seconds(5));
  EXPECT_TRUE(music_before_answer);
  EXPECT_EQ(Scalar("SELECT connected_at IS NULL FROM calls"), "t");  // not answered yet
  EXPECT_EQ(customer->wait(seconds(30)), 0) << ErrorsOf("customer_early.xml", customer_port);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT state FROM calls", "ENDED");
  ExpectClean({"alice"});
}

// A session timer offered by the customer (RFC 4028) is taken in the 200 with the customer
// as refresher, and a refresh re-INVITE is answered with it again; the call stays queued.
TEST_F(StackIt, ASessionTimerOfferedByTheCustomerIsTakenAndRefreshed) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 10, 0, v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  AddAgent("away", "pw", {"sales"});  // logged in, no phone: the call waits
  EXPECT_EQ(RunSipp("customer_timer.xml", {"-s", "sales", "-m", "1"}), 0);         // by re-INVITE
  EXPECT_EQ(RunSipp("customer_timer_update.xml", {"-s", "sales", "-m", "1"}), 0);  // by UPDATE
  ExpectScalarSoon("SELECT string_agg(state, ',') FROM calls", "ABANDONED,ABANDONED");
  ExpectClean({"away"});
}

// A customer that takes a 90 s session timer and never refreshes it is hung up by the edge
// before the 90 s are over, and the call ends on both legs (about a minute: RFC 4028 allows
// no shorter timer).
// SIPp sends no RTP here: the relay's media timeout must not be what ends the call.
class StackItNoMediaTimeout : public StackIt {
 protected:
  void SetUp() override {
    media_timeout_ = "--media-timeout=600s";
    StackIt::SetUp();
  }

  // One call from the customer `scenario` to alice's SIPp phone, run to its end; returns how
  // long the customer's side lasted, in seconds.
  double LongCallToAlice(const std::string& scenario) {
    AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
    AddAgent("alice", "pw", {"sales"});
    const int port = testing::FreeUdpPort();
    Bind("alice", port);
    auto agent = Sipp("agent.xml", port, {"-d", "100", "-m", "1"});
    const auto started = std::chrono::steady_clock::now();
    const int customer_port = testing::FreeUdpPort();
    auto customer = Sipp(scenario, customer_port,
                         {"-s", "sales", "-m", "1", "-timeout", "150s", "-timeout_error"});
    EXPECT_EQ(customer->wait(seconds(150)), 0) << ErrorsOf(scenario, customer_port);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(agent->wait(seconds(10)), 0);  // the agent's leg ended with a BYE too
    return secs;
  }
};

TEST_F(StackItNoMediaTimeout, ASessionTimerNotRefreshedEndsTheCall) {
  const double secs = LongCallToAlice("customer_timer_expire.xml");
  // Sofia-SIP sends the BYE about 81 s after the INVITE here; the bounds allow for the call
  // setup and a loaded machine.
  EXPECT_GE(secs, 40) << "the BYE came before the timer could have expired";
  EXPECT_LE(secs, 95) << "the session outlived its timer";
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls", "ENDED:caller dialog ended");
  ExpectClean({"alice"});
}

// A customer that leaves the refreshing to the far end (refresher=uas) gets a refresh from
// the edge before its 90 s timer is over, and the call goes on (about 45 s each): an UPDATE
// where the customer allows it, else a re-INVITE (whose 200 once made the edge hang up).
class StackItRefresh : public StackItNoMediaTimeout,
                       public ::testing::WithParamInterface<const char*> {};

TEST_P(StackItRefresh, TheEdgeRefreshesASessionTimerItWasGiven) {
  EXPECT_LE(LongCallToAlice(GetParam()), 90) << "no refresh before the timer expired";
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls", "ENDED:caller hung up");
  ExpectClean({"alice"});
}

INSTANTIATE_TEST_SUITE_P(ByUpdateOrReinvite, StackItRefresh,
                         ::testing::Values("customer_timer_uas.xml",
                                           "customer_timer_uas_reinvite.xml"));

// Audio from the customer reaches the agent's phone through the relay, and the agent's echo
// comes back; DTMF from the customer is one event on NATS.
TEST_F(StackIt, RtpFlowsThroughTheRelayBothWays) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  testing::MessageCollector dtmf(*nats_, prefix_ + ".media.dtmf.>");
  auto agent =
      Sipp("agent.xml", port,
           {"-d", "100", "-m", "1", "-rtp_echo", "-mp", std::to_string(testing::FreeUdpPort())});
  auto customer = Sipp("customer_audio.xml", testing::FreeUdpPort(),
                       {"-s", "sales", "-m", "1", "-mp", std::to_string(testing::FreeUdpPort()),
                        "-timeout", "60s", "-timeout_error"});
  // Read the legs' counters while the call is up (they go with the legs).
  std::uint64_t customer_in = 0, customer_out = 0, agent_in = 0, agent_out = 0;
  for (int i = 0; i < 120 && customer->running(); ++i) {
    v1::ListLegsResponse legs;
    if (relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) {
      for (const auto& leg : legs.legs()) {
        const bool is_customer = leg.label() == "customer";
        (is_customer ? customer_in : agent_in) =
            std::max(is_customer ? customer_in : agent_in, leg.stats().packets_in());
        (is_customer ? customer_out : agent_out) =
            std::max(is_customer ? customer_out : agent_out, leg.stats().packets_out());
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(customer->wait(seconds(30)), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  EXPECT_GE(customer_in, 230u);   // the recording's 236 packets (+ DTMF)
  EXPECT_GE(agent_out, 230u);     // forwarded to the agent's phone
  EXPECT_GE(agent_in, 200u);      // echoed by the phone
  EXPECT_GE(customer_out, 200u);  // and back to the customer
  ASSERT_TRUE(dtmf.wait_for(1, seconds(5)));
  v1::MediaEvent e;
  ASSERT_TRUE(e.ParseFromString(dtmf.messages()[0].data));
  EXPECT_EQ(e.digit(), "5");
  ExpectClean({"alice"});
}

// A real SIP client: baresip registers as an agent with digest auth, auto-answers, and sends
// audio (a tone from a WAV file) through the relay.
// Opening hours on the wire. "night" is closed all week (its hours name every day closed):
// a caller hears the default closed announcement (en/closed, spoken by the build) as early
// media, streamed by the relay for as long as the prompt lasts, then gets 480 with the
// queue's closed reason; queue-service recorded the call FAILED with it. "day", closed too,
// sends its callers to "open", where they wait as usual.
TEST_F(StackIt, AClosedQueuePlaysItsAnnouncementThenTakesItsAction) {
  auto add = [&](const std::string& name, const std::string& closed_queue,
                 const std::string& reason, bool closed) {
    AddQueue(name, v1::ANSWER_MODE_RING_UNTIL_AGENT, 10, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
    if (!closed) return;
    v1::UpdateQueueRequest req;
    req.mutable_queue()->set_name(name);
    auto* h = req.mutable_queue()->mutable_opening_hours();
    h->set_time_zone("Europe/Berlin");
    h->add_weekly("mon-sun closed");
    if (!closed_queue.empty()) h->mutable_when_closed()->set_queue(closed_queue);
    if (!reason.empty()) h->mutable_when_closed()->set_hangup_reason(reason);
    req.add_update_mask("opening_hours");
    v1::QueueResponse resp;
    ASSERT_TRUE(queues_->UpdateQueue(Ctx().get(), req, &resp).ok());
    EXPECT_FALSE(resp.queue().open_now());
  };
  add("night", "", "closed for the night", true);
  add("open", "", "", false);
  add("day", "open", "", true);

  // The announcement's length, from the file the relay plays (16-bit samples at 8 kHz).
  const auto prompt_bytes = std::filesystem::file_size(CC_DEFAULT_PROMPT_DIR "/en/closed.wav");
  const double prompt_seconds = static_cast<double>(prompt_bytes - 44) / 16000.0;
  ASSERT_GT(prompt_seconds, 2.0);
  const auto started = std::chrono::steady_clock::now();
  auto caller = Sipp("customer_closed.xml", testing::FreeUdpPort(),
                     {"-s", "night", "-m", "1", "-timeout", "30s", "-timeout_error"});
  std::uint64_t streamed = 0;
  while (caller->running()) {
    v1::ListLegsResponse legs;
    if (relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) {
      for (const auto& leg : legs.legs()) streamed = std::max(streamed, leg.stats().packets_out());
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(caller->wait(seconds(5)), 0) << caller->output();
  // 50 packets a second for the prompt's length (the last poll may come a little early).
  EXPECT_GT(static_cast<double>(streamed), 50 * prompt_seconds * 0.8) << streamed;
  EXPECT_GT(took, prompt_seconds * 0.9);
  EXPECT_LT(took, prompt_seconds + 10);
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls WHERE queue = 'night'",
                   "FAILED:closed for the night");

  auto moved = Sipp("customer_cancel.xml", testing::FreeUdpPort(),
                    {"-s", "day", "-d", "4000", "-m", "1", "-timeout", "30s", "-timeout_error"});
  ExpectScalarSoon(
      "SELECT state || ':' || queue || ':' || overflowed_from FROM calls"
      " WHERE queue <> 'night'",
      "WAITING:open:day");
  EXPECT_EQ(moved->wait(seconds(20)), 0) << moved->output();
  ExpectClean({});
}

// All-busy, position and wait announcements against the queue's real order: three callers
// arrive a second apart at a queue nobody serves (answered at once, so they hear media), hear
// the greeting (about 5 s), and 6 s after entering, and every 5 s, hear the news composed from
// the default prompts. The relay reports every prompt list it played (prompt_finished events
// with the names): each caller's first announcement says that all agents are busy, names its
// own place in the queue, and the wait queue-service estimates for it (a minute per caller
// ahead and itself, nobody serving).
TEST_F(StackIt, PositionAnnouncementsTellEachCallerItsRealPlace) {
  AddQueue("info", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 10, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
  v1::UpdateQueueRequest req;
  req.mutable_queue()->set_name("info");
  auto* an = req.mutable_queue()->mutable_announcements();
  an->add_greeting("en/greeting");
  an->mutable_first_after()->set_seconds(6);
  an->mutable_every()->set_seconds(5);
  an->set_position(true);
  an->set_estimated_wait(true);
  an->set_all_busy(true);
  req.add_update_mask("announcements");
  v1::QueueResponse resp;
  ASSERT_TRUE(queues_->UpdateQueue(Ctx().get(), req, &resp).ok());

  testing::MessageCollector played(*nats_, prefix_ + ".media.prompt_finished.>");
  std::vector<std::unique_ptr<testing::ChildProcess>> callers;
  for (int i = 0; i < 3; ++i) {
    callers.push_back(
        Sipp("customer.xml", testing::FreeUdpPort(),
             {"-s", "info", "-d", "20000", "-m", "1", "-timeout", "40s", "-timeout_error"}));
    std::this_thread::sleep_for(seconds(1));
  }
  for (auto& c : callers) EXPECT_EQ(c->wait(seconds(40)), 0) << c->output();

  // The queue's order, from PostgreSQL: the first to arrive is number 1.
  std::vector<std::string> ids;
  std::stringstream order(Scalar("SELECT string_agg(id, ',' ORDER BY enqueued_at) FROM calls"));
  for (std::string id; std::getline(order, id, ',');) ids.push_back(id);
  ASSERT_EQ(ids.size(), 3u);
  std::map<std::string, std::vector<std::vector<std::string>>> heard;  // call -> announcements
  for (const auto& m : played.messages()) {
    v1::MediaEvent e;
    ASSERT_TRUE(e.ParseFromString(m.data));
    heard[e.call_id()].emplace_back(e.prompts().begin(), e.prompts().end());
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string place = std::to_string(i + 1);
    const auto& lists = heard[ids[i]];
    ASSERT_GE(lists.size(), 2u) << "caller " << place << " heard " << lists.size()
                                << " prompt lists: the greeting and an announcement are due";
    EXPECT_EQ(lists[0], std::vector<std::string>{"en/greeting"});
    // Nobody serves the queue: nobody is free.
    const std::vector<std::string> expected = {"en/all-busy",
                                               "en/position",
                                               "en/number-" + place,
                                               "en/in-queue",
                                               "en/wait-about",
                                               "en/number-" + place,
                                               i == 0 ? "en/minute" : "en/minutes"};
    EXPECT_EQ(lists[1], expected) << "caller " << place;
  }
  ExpectClean({});
}

TEST_F(StackIt, BaresipRegistersAndTakesACall) {
  AddQueue("support", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("1003", "carol-pw", {"support"});
  const std::string dir = work_ + "/baresip";
  std::filesystem::create_directories(dir);
  // baresip takes the SIP port and the next one (SIP over TLS): both must be free.
  const int bport = testing::FreePortRun(2);
  const int rtp = 27000 + static_cast<int>(std::stoul(RandomHex(2), nullptr, 16) % 100) * 20;
  {
    std::ofstream c(dir + "/config");
    c << "poll_method epoll\nsip_listen 127.0.0.1:" << bport
      << "\nsip_trans_def udp\naudio_player aufile," << dir << "/heard.wav\n"
      << "audio_source aufile," << dir << "/tone.wav\naudio_alert aufile,/dev/null\n"
      << "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
      << "module account.so\nmodule menu.so\nrtp_ports " << rtp << "-" << rtp + 19 << "\n";
    std::ofstream a(dir + "/accounts");
    a << "<sip:1003@127.0.0.1:" << sip_port_
      << ";transport=udp>;auth_pass=carol-pw;answermode=auto;regint=60\n";
    // 5 s of a 440 Hz tone, 8 kHz 16-bit mono.
    std::ofstream w(dir + "/tone.wav", std::ios::binary);
    const std::uint32_t samples = 40000, bytes = samples * 2;
    auto u32 = [&](std::uint32_t v) { w.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { w.write(reinterpret_cast<const char*>(&v), 2); };
    w.write("RIFF", 4);
    u32(36 + bytes);
    w.write("WAVEfmt ", 8);
    u32(16);
    u16(1);
    u16(1);
    u32(8000);
    u32(16000);
    u16(2);
    u16(16);
    w.write("data", 4);
    u32(bytes);
    for (std::uint32_t i = 0; i < samples; ++i) {
      u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(3000 * std::sin(i * 0.3456))));
    }
  }
  testing::ChildProcess baresip("baresip", {"-f", dir});
  v1::ListBindingsRequest lb;
  lb.set_agent_id("1003");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        v1::ListBindingsResponse r;
        return agents_->ListBindings(Ctx().get(), lb, &r).ok() && r.bindings_size() == 1;
      },
      seconds(10)))
      << baresip.output();
  auto customer =
      Sipp("customer.xml", testing::FreeUdpPort(),
           {"-s", "support", "-d", "3000", "-m", "1", "-timeout", "30s", "-timeout_error"});
  std::uint64_t from_agent = 0;
  while (customer->running()) {
    v1::ListLegsResponse legs;
    if (relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) {
      for (const auto& leg : legs.legs()) {
        if (leg.label() == "agent") from_agent = std::max(from_agent, leg.stats().packets_in());
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(customer->wait(seconds(5)), 0) << baresip.output();
  EXPECT_GT(from_agent, 50u);  // baresip's tone reached the relay
  ExpectScalarSoon("SELECT state || ':' || agent_id FROM calls", "ENDED:1003");
  ExpectClean({"1003"});
}

// Queue-service gives up on a waiting caller (max wait with a hang-up overflow): the edge
// answers the customer's INVITE with 480 and a Reason.
TEST_F(StackIt, AQueueTimeoutEndsTheCallWithAReason) {
  v1::CreateQueueRequest req;
  req.mutable_queue()->set_name("closing");
  req.mutable_queue()->set_answer_mode(v1::ANSWER_MODE_RING_UNTIL_AGENT);
  req.mutable_queue()->mutable_max_wait()->set_seconds(1);
  req.mutable_queue()->mutable_overflow()->set_hangup_reason("we are closed");
  req.mutable_queue()->set_join_empty(v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  req.mutable_queue()->set_leave_empty(v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  v1::QueueResponse resp;
  ASSERT_TRUE(queues_->CreateQueue(Ctx().get(), req, &resp).ok());
  v1::SetDialplanEntryRequest dp;
  dp.mutable_entry()->set_pattern("closing");
  dp.mutable_entry()->set_queue("closing");
  v1::DialplanResponse dr;
  ASSERT_TRUE(queues_->SetDialplanEntry(Ctx().get(), dp, &dr).ok());
  AddAgent("away", "pw", {"closing"});  // logged in, no phone
  EXPECT_EQ(RunSipp("customer_480.xml", {"-s", "closing", "-m", "1"}), 0);
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls", "OVERFLOWED:we are closed");
  ExpectClean({"away"});
}

TEST_F(StackIt, BadRequestsGetProtocolAnswersAndDrainRefusesNewCalls) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  EXPECT_EQ(RunSipp("customer_404.xml", {"-s", "0999", "-m", "1"}), 0);
  EXPECT_EQ(RunSipp("customer_481.xml", {"-s", "sales", "-m", "1"}), 0);
  EXPECT_EQ(RunSipp("customer_483.xml", {"-s", "sales", "-m", "1"}), 0);  // Max-Forwards: 0
  EXPECT_EQ(RunSipp("customer_415.xml", {"-s", "sales", "-m", "1"}), 0);  // a body not SDP
  // An offer with a broken a=rtpmap and a=ptime next to PCMU: answered with PCMU.
  AddQueue("music", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 20, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
  EXPECT_EQ(RunSipp("customer_odd_sdp.xml", {"-s", "music", "-d", "200", "-m", "1"}), 0);
  EXPECT_EQ(RunSipp("options.xml", {"-s", "sales", "-m", "1"}), 0);  // keep-alive probe
  // Garbage on the SIP port: dropped, the edge stays up.
  {
    testing::UdpJunk junk(sip_port_);
    junk.send("INVITE sip:x SIP/2.0\r\n\r\n");
    junk.send(std::string(3000, 'A'));
    junk.send("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: nonsense\r\nCSeq: x\r\n\r\n");
    junk.send(std::string("\x00\x01\x02\x03", 4));
  }
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(edge_->process().running());
  v1::EdgeDrainResponse dr;
  ASSERT_TRUE(edge_stub_->Drain(Ctx().get(), {}, &dr).ok());
  EXPECT_EQ(RunSipp("customer_503.xml", {"-s", "sales", "-m", "1"}), 0);
  ExpectClean({});
  // SIGTERM: the edge drains and exits cleanly.
  edge_->process().signal(SIGTERM);
  EXPECT_EQ(edge_->process().wait(seconds(15)), 0);
}

// A relay that declares a bridged leg dead after 1 s without RTP.
class StackItShortMediaTimeout : public StackIt {
 protected:
  void SetUp() override {
    media_timeout_ = "--media-timeout=1s";
    StackIt::SetUp();
  }
};

// No RTP on a connected call (SIPp sends none here): the relay's media timeout ends it, with
// a BYE carrying a Reason header to the customer (checked by the scenario) and to the agent.
TEST_F(StackItShortMediaTimeout, AMediaTimeoutEndsTheCallWithAReason) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("alice", "pw", {"sales"});
  const int port = testing::FreeUdpPort();
  Bind("alice", port);
  auto agent = Sipp("agent.xml", port, {"-d", "100", "-m", "1"});
  EXPECT_EQ(RunSipp("customer_waits.xml", {"-s", "sales", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(10)), 0);
  ExpectScalarSoon("SELECT state || ':' || outcome_reason FROM calls", "ENDED:media timeout");
  EXPECT_EQ(EdgeMetric("cc_edge_call_failures_total{reason=\"media_timeout\"}"), 1);
  ExpectClean({"alice"});
}

// An edge that takes one call at a time.
class StackItOneCall : public StackIt {
 protected:
  void SetUp() override {
    extra_edge_args_ = {"--max-calls=1"};
    StackIt::SetUp();
  }
};

// At its call limit the edge refuses a new INVITE with 503 and Retry-After, and takes calls
// again once the slot is free.
TEST_F(StackItOneCall, AFullEdgeRefusesNewCallsWith503AndRetryAfter) {
  AddQueue("ring", v1::ANSWER_MODE_RING_UNTIL_AGENT, 20, 0, v1::EMPTY_QUEUE_RULE_LOGGED_IN);
  AddAgent("nobody-home", "pw", {"ring"});  // logged in, no phone: calls wait
  // The first customer waits and holds the only slot for 6 s.
  auto first = Sipp("customer_cancel.xml", testing::FreeUdpPort(),
                    {"-s", "ring", "-d", "6000", "-m", "1", "-timeout", "30s", "-timeout_error"});
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        v1::EdgeStatsResponse es;
        return edge_stub_->Stats(Ctx().get(), {}, &es).ok() && es.live_calls() == 1;
      },
      seconds(10)));
  EXPECT_EQ(RunSipp("customer_503.xml", {"-s", "ring", "-m", "1"}), 0);
  EXPECT_EQ(first->wait(seconds(30)), 0);
  ExpectClean({"nobody-home"});
  // The slot is free again: the next call is queued (and abandoned) like any other.
  EXPECT_EQ(RunSipp("customer_cancel.xml", {"-s", "ring", "-d", "500", "-m", "1"}), 0);
  ExpectScalarSoon("SELECT count(*) FROM calls WHERE state = 'ABANDONED'", "2");
  EXPECT_EQ(EdgeMetric("cc_edge_call_failures_total{reason=\"overload\"}"), 1);
  ExpectClean({"nobody-home"});
}

}  // namespace
}  // namespace cc
