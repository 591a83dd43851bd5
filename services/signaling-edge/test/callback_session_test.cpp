// The callback in the call session, with fake ports: the waiting caller's key, the number
// confirmed or entered, queue-service's word, the caller told and hung up; then, on an
// offer, the agent rung first, the customer called through the trunk and both bridged, or
// the customer not answering reported so that the call keeps its place.
#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

using std::chrono::seconds;
using Strings = std::vector<std::string>;
using testing::FakeLeg;

class CallbackSessionTest : public testing::CallSessionFixture {
 protected:
  // Waiting (answered, music) in a queue that offers the callback on key 1.
  CallSession& Waiting() {
    auto& s = Start();
    media_.create_ok();
    Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
    e.callback.enabled = true;
    e.callback.key = '1';
    queue_.enqueue_answers(e);
    EXPECT_EQ(s.phase(), CallPhase::kQueued);
    return s;
  }
  using testing::CallSessionFixture::Waiting;

  const Strings& last_played() const { return media_.plays.back().prompts; }

  // A callback offered to this edge (through `trunk`): the agent "alice" on one device.
  CallSession& Placing(const std::string& trunk = "198.51.100.7:5070") {
    CustomerCall c;
    c.id = "cb-1";
    c.caller = "+4930555";
    c.dialed = "sales";
    auto& s = registry_.add(std::make_unique<CallSession>(ctx_, c, nullptr));
    s.start_callback();
    Offer o = MakeOffer(1);
    o.call_id = "cb-1";
    o.callback_number = "+4930555";
    o.callback_trunk = trunk;
    o.callback_ring_timeout = seconds(25);
    EXPECT_EQ(s.on_offer(o), OfferRefusal::kNone);
    media_.create_ok();  // the agent's relay leg
    return s;
  }

  // The agent answers; the relay takes the answer; the customer's leg is made and called.
  FakeLeg* AgentAnswersAndCustomerIsCalled(CallSession& s) {
    s.on_agent_response(sip_.legs[0], 200, "agent-answer");
    EXPECT_EQ(media_.updates.size(), 1u);
    EXPECT_EQ(media_.updates.front().sdp, "agent-answer");
    auto u = std::move(media_.updates.front());
    media_.updates.pop_front();
    u.done(std::string("ok"));
    media_.create_ok();  // the customer's relay leg
    EXPECT_EQ(sip_.invites.size(), 2u);
    return sip_.legs.size() >= 2 ? sip_.legs[1] : nullptr;
  }
};

TEST_F(CallbackSessionTest, TheCallerConfirmsTheCallerIdAndIsToldThenHungUp) {
  auto& s = Waiting();
  s.on_digit('1');
  EXPECT_EQ(last_played(), (Strings{"en/callback-number", "en/digit-4", "en/digit-9", "en/digit-3",
                                    "en/digit-0", "en/digit-1", "en/digit-2", "en/digit-3",
                                    "en/digit-4", "en/digit-5", "en/callback-confirm"}));
  s.on_digit('1');
  ASSERT_EQ(queue_.callbacks.size(), 1u);
  EXPECT_EQ(queue_.callbacks.front().first, "call-1 493012345");
  queue_.callbacks.front().second(OkStatus());
  EXPECT_EQ(last_played(), Strings{"en/callback-done"});
  s.on_prompt_finished({"en/callback-done"});
  EXPECT_EQ(customer_->sent(), "200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "callback requested");
  EXPECT_TRUE(queue_.sent.empty());  // no cancel: queue-service keeps the call
}

TEST_F(CallbackSessionTest, AnotherNumberIsEnteredAndANoKeyGoesBackToTheMusic) {
  auto& s = Waiting();
  s.on_digit('1');
  s.on_digit('2');
  EXPECT_EQ(last_played(), Strings{"en/callback-enter"});
  for (char d : std::string("0301234#")) s.on_digit(d);
  ASSERT_EQ(queue_.callbacks.size(), 1u);
  EXPECT_EQ(queue_.callbacks.front().first, "call-1 0301234");
  // queue-service refuses (an agent is being rung): the caller waits on, with the music.
  queue_.callbacks.front().second(FailedPrecondition("call is OFFERED"));
  EXPECT_EQ(last_played(), Strings{"moh"});
  EXPECT_EQ(s.phase(), CallPhase::kQueued);

  // No key at all, twice: back to the music.
  s.on_digit('1');
  s.on_prompt_finished({});
  timers_.advance(seconds(5));  // "no choice", the menu again
  s.on_prompt_finished({});
  s.on_prompt_finished({});
  timers_.advance(seconds(5));
  EXPECT_EQ(last_played(), Strings{"moh"});
  EXPECT_EQ(customer_->sent(), "200");
}

TEST_F(CallbackSessionTest, TheOfferJoinsTheAnnouncementsOnceTheCallerHasWaitedLongEnough) {
  auto& s = Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
  e.callback.enabled = true;
  e.callback.offer_after = seconds(20);
  e.announce.every = seconds(10);
  e.announce.first_after = seconds(10);
  e.announce.periodic = {"en/important"};
  queue_.enqueue_answers(e);
  QueuePosition place;
  place.waiting = true;
  place.position = 2;
  timers_.advance(seconds(10));
  queue_.position_answers(place);
  EXPECT_EQ(last_played(), Strings{"en/important"});  // 10 s: not yet
  s.on_prompt_finished({"en/important"});
  timers_.advance(seconds(10));
  ASSERT_EQ(queue_.positions.size(), 1u);
  queue_.position_answers(place);
  EXPECT_EQ(last_played(), (Strings{"en/important", "en/callback-offer"}));
}

TEST_F(CallbackSessionTest, AnOfferedCallbackRingsTheAgentThenCallsTheCustomerAndBridgesThem) {
  auto& s = Placing();
  ASSERT_EQ(sip_.invites.size(), 1u);
  EXPECT_EQ(sip_.invites[0].headers, Strings{"X-CC-Callback: +4930555"});
  EXPECT_FALSE(sip_.invites[0].customer);
  FakeLeg* customer = AgentAnswersAndCustomerIsCalled(s);
  const AgentInvite& inv = sip_.invites[1];
  EXPECT_TRUE(inv.customer);
  EXPECT_EQ(inv.contact, "sip:+4930555@198.51.100.7:5070");
  EXPECT_EQ(inv.route, "sip:198.51.100.7:5070");
  EXPECT_EQ(inv.from, "<sip:sales@callcenter.local>");
  EXPECT_EQ(inv.sdp, "sdp-of-customer");
  EXPECT_TRUE(queue_.sent.empty());  // nothing reported before the customer answers
  s.on_customer_response(customer, 180, "");
  s.on_customer_response(customer, 200, "customer-answer");
  ASSERT_EQ(media_.updates.size(), 1u);
  EXPECT_EQ(media_.updates.front().sdp, "customer-answer");
  media_.updates.front().done(std::string("ok"));
  EXPECT_EQ(queue_.sent_reports(), "connected");
  queue_.report_answers(OkStatus());
  media_.connect_ok();
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  // The customer hangs up: the agent is told, the end reported.
  s.on_customer_left("caller hung up");
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
}

TEST_F(CallbackSessionTest, ACustomerWhoDoesNotAnswerIsReportedAndTheAgentReleased) {
  auto& s = Placing();
  FakeLeg* customer = AgentAnswersAndCustomerIsCalled(s);
  timers_.advance(seconds(24));
  EXPECT_EQ(customer->sent(), "");
  timers_.advance(seconds(1));
  EXPECT_EQ(customer->sent(), "CANCEL");
  s.on_customer_response(customer, 487, "");
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(queue_.reports.front().report.failure, OfferFailure::kCallbackUnanswered);
  EXPECT_EQ(queue_.reports.front().report.reason, "customer: no answer");
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");  // the agent
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
}

TEST_F(CallbackSessionTest, TheAgentHangingUpWhileTheCustomerRingsCancelsTheCustomer) {
  auto& s = Placing();
  FakeLeg* customer = AgentAnswersAndCustomerIsCalled(s);
  s.on_agent_bye(sip_.legs[0]);
  EXPECT_EQ(customer->sent(), "CANCEL");
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(queue_.reports.front().report.failure, OfferFailure::kRejected);
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
}

TEST_F(CallbackSessionTest, WithoutATrunkTheAttemptFailsVisibly) {
  auto& s = Placing("");  // and no --outbound-proxy
  s.on_agent_response(sip_.legs[0], 200, "agent-answer");
  media_.updates.front().done(std::string("ok"));
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(queue_.reports.front().report.reason,
            "customer: no callback trunk and no --outbound-proxy");
}

// A menu's callback choice: the number confirmed, then the call enqueued as a callback (the
// number in the enqueue), the caller told and hung up; nothing is cancelled.
TEST_F(CallbackSessionTest, AMenusCallbackChoiceConfirmsTheNumberThenEnqueuesTheCallback) {
  auto& s = Start();
  media_.create_ok();
  Menu main;
  main.name = "main";
  main.prompts = {"menu-main"};
  main.options["5"].kind = MenuAction::Kind::kCallback;
  main.options["5"].queue = "sales";
  Enqueued e;
  e.menus = {main};
  queue_.enqueue_answers(e);
  s.on_digit('5');
  EXPECT_EQ(last_played().front(), "en/callback-number");
  s.on_digit('1');
  ASSERT_EQ(queue_.enqueues.size(), 1u);
  EXPECT_EQ(queue_.enqueues.front().req.queue, "sales");
  EXPECT_EQ(queue_.enqueues.front().req.callback_number, "493012345");
  Enqueued waiting = Waiting(AnswerMode::kAnswerImmediately);
  queue_.enqueue_answers(waiting);
  EXPECT_EQ(last_played(), Strings{"en/callback-done"});
  s.on_prompt_finished({"en/callback-done"});
  EXPECT_EQ(customer_->sent(), "200,BYE");
  EXPECT_TRUE(queue_.sent.empty());
}

// Closed, with a callback at the next opening: the closed prompts, then the offer; declining
// it (no key) ends the call with goodbye.
TEST_F(CallbackSessionTest, AClosedQueueOffersTheCallbackAfterItsPrompts) {
  auto& s = Start();
  media_.create_ok();
  Enqueued e;
  e.queue = "sales";
  e.offer_callback = true;
  e.exit_prompts = {"en/closed"};
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "200");
  EXPECT_EQ(last_played().front(), "en/closed");
  EXPECT_EQ(last_played()[1], "en/callback-number");
  s.on_digit('1');
  ASSERT_EQ(queue_.enqueues.size(), 1u);
  EXPECT_EQ(queue_.enqueues.front().req.queue, "sales");
  EXPECT_EQ(queue_.enqueues.front().req.callback_number, "493012345");
}

TEST_F(CallbackSessionTest, AClosedQueueRedirectsAfterItsPrompts) {
  auto& s = Start();
  media_.create_ok();
  Enqueued e;
  e.queue = "sales";
  e.redirect_uri = "sip:night@pbx.example";
  e.exit_prompts = {"en/closed"};
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "183");
  s.on_prompt_finished({"en/closed"});
  EXPECT_EQ(customer_->sent(), "183,302 sip:night@pbx.example");
  EXPECT_TRUE(queue_.sent.empty());
}

}  // namespace
}  // namespace cc::edge
