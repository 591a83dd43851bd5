// The callback that keeps the caller's place, on the wire: a SIPp customer asks for it with
// RFC 4733 keys while waiting and is hung up; when an agent is free, the agent's phone rings
// first, then the customer's phone behind the queue's trunk (a SIPp UAS), and both are
// bridged with audio both ways; a customer who does not answer is tried again, then the
// callback is recorded as failed.
#include "stack_fixture.h"

namespace cc {
namespace {

class CallbackIt : public StackIt {
 protected:
  // "cbq": answered at once, callers wait whoever is there, callback on key 1 through the
  // trunk on `trunk_port`.
  void AddCallbackQueue(int trunk_port, int attempts) {
    AddQueue("cbq", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 10, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
    v1::UpdateQueueRequest req;
    req.mutable_queue()->set_name("cbq");
    auto* cb = req.mutable_queue()->mutable_callback();
    cb->set_enabled(true);
    cb->set_key("1");
    cb->set_trunk("127.0.0.1:" + std::to_string(trunk_port));
    cb->mutable_ring_timeout()->set_seconds(10);
    cb->set_max_attempts(attempts);
    cb->mutable_retry_delay()->set_seconds(1);
    req.add_update_mask("callback");
    v1::QueueResponse resp;
    auto st = queues_->UpdateQueue(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  void SetPaused(const std::string& id, bool paused) {
    v1::StatusChangeResponse r;
    grpc::Status st;
    if (paused) {
      v1::PauseRequest req;
      req.set_id(id);
      req.set_reason("test");
      st = agents_->Pause(Ctx().get(), req, &r);
    } else {
      v1::UnpauseRequest req;
      req.set_id(id);
      st = agents_->Unpause(Ctx().get(), req, &r);
    }
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // The waiting customer asks for the callback (at 3456789) and is hung up by the edge; the
  // call keeps its place, held by no edge.
  void CustomerAsksForACallback() {
    EXPECT_EQ(RunSipp("customer_callback.xml",
                      {"-s", "cbq", "-m", "1", "-mp", std::to_string(testing::FreeUdpPort())}),
              0);
    ExpectScalarSoon("SELECT concat_ws('|', state, callback_number, edge_id) FROM calls",
                     "WAITING|3456789|");
  }

  std::string Port() { return std::to_string(testing::FreeUdpPort()); }
};

TEST_F(CallbackIt, TheAgentRingsFirstThenTheCustomerAndBothHearEachOther) {
  const int pu = testing::FreeUdpPort(), pa = testing::FreeUdpPort();
  AddCallbackQueue(pu, 3);
  AddAgent("ann", "pw", {"cbq"});
  Bind("ann", pa);
  SetPaused("ann", true);  // nobody free: the caller waits and asks to be called back
  CustomerAsksForACallback();

  auto customer = Sipp("callback_customer_uas.xml", pu, {"-d", "4000", "-m", "1", "-mp", Port()});
  auto agent = Sipp("agent_callback.xml", pa, {"-d", "300", "-m", "1", "-rtp_echo", "-mp", Port()});
  // Watch the relay while they talk: each leg must carry packets both ways.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> seen;  // label -> in, out
  std::atomic<bool> done{false};
  std::thread watch([&] {
    while (!done) {
      v1::ListLegsResponse legs;
      if (relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) {
        for (const auto& l : legs.legs()) {
          auto& s = seen[l.label()];
          s.first = std::max<std::uint64_t>(s.first, l.stats().packets_in());
          s.second = std::max<std::uint64_t>(s.second, l.stats().packets_out());
        }
      }
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  SetPaused("ann", false);
  EXPECT_EQ(customer->wait(seconds(40)), 0) << customer->output();
  EXPECT_EQ(agent->wait(seconds(20)), 0) << agent->output();  // X-CC-Callback checked there
  done = true;
  watch.join();

  ExpectScalarSoon("SELECT state FROM calls", "ENDED");
  EXPECT_EQ(Scalar("SELECT concat_ws('|', agent_id, callback_attempts) FROM calls"), "ann|0");
  // The agent's leg was offered first: its assignment was made before the customer's leg.
  EXPECT_EQ(Scalar("SELECT count(*) FROM assignments WHERE state = 'ENDED'"), "1");
  for (const char* label : {"customer", "agent"}) {
    EXPECT_GT(seen[label].first, 20u) << label << " sent nothing into the relay";
    EXPECT_GT(seen[label].second, 20u) << label << " heard nothing from the relay";
  }
  ExpectClean({"ann"});
}

TEST_F(CallbackIt, ACustomerWhoNeverAnswersIsTriedAgainThenTheCallbackFails) {
  const int pu = testing::FreeUdpPort(), pa = testing::FreeUdpPort();
  AddCallbackQueue(pu, 2);
  AddAgent("ann", "pw", {"cbq"});
  Bind("ann", pa);
  SetPaused("ann", true);
  CustomerAsksForACallback();

  auto customer = Sipp("callback_customer_busy.xml", pu, {"-m", "2", "-mp", Port()});
  auto agent = Sipp("agent_callback.xml", pa, {"-d", "200", "-m", "2", "-mp", Port()});
  SetPaused("ann", false);
  // Two rings of the agent, two refusals of the customer, a second apart.
  testing::WaitFor([&] { return Scalar("SELECT state FROM calls") == "FAILED"; }, seconds(30));
  EXPECT_EQ(Scalar("SELECT concat_ws('|', state, outcome_reason, callback_attempts) FROM calls"),
            "FAILED|callback not answered after 2 attempts|2");
  EXPECT_EQ(customer->wait(seconds(20)), 0) << customer->output();
  EXPECT_EQ(agent->wait(seconds(20)), 0) << agent->output();
  EXPECT_EQ(Scalar("SELECT string_agg(outcome, ',' ORDER BY id) FROM assignments"),
            "callback-unanswered: customer: 486,callback-unanswered: customer: 486");
  ExpectClean({"ann"});
}

// The callback lives in PostgreSQL: every service killed with -9 and started again, the
// waiting callback is still there, and is placed and connected as if nothing had happened.
TEST_F(CallbackIt, ACallbackSurvivesKillingEveryService) {
  const int pu = testing::FreeUdpPort(), pa = testing::FreeUdpPort();
  AddCallbackQueue(pu, 3);
  AddAgent("ann", "pw", {"cbq"});
  Bind("ann", pa);
  SetPaused("ann", true);
  CustomerAsksForACallback();

  for (testing::ServiceProcess* p :
       {&stack_->edge(), &stack_->queue(), &stack_->relay(), &stack_->registry()}) {
    p->kill();
  }
  for (testing::ServiceProcess* p :
       {&stack_->registry(), &stack_->relay(), &stack_->queue(), &stack_->edge()}) {
    ASSERT_TRUE(p->restart()) << p->process().output();
  }
  EXPECT_EQ(Scalar("SELECT concat_ws('|', state, callback_number) FROM calls"), "WAITING|3456789");

  auto customer = Sipp("callback_customer_uas.xml", pu, {"-d", "1500", "-m", "1", "-mp", Port()});
  auto agent = Sipp("agent_callback.xml", pa, {"-d", "300", "-m", "1", "-mp", Port()});
  SetPaused("ann", false);
  EXPECT_EQ(customer->wait(seconds(40)), 0) << customer->output();
  EXPECT_EQ(agent->wait(seconds(20)), 0) << agent->output();
  ExpectScalarSoon("SELECT concat_ws('|', state, agent_id) FROM calls", "ENDED|ann");
  ExpectClean({"ann"});
}

}  // namespace
}  // namespace cc
