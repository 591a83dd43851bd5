// A call session driven through its events with fake ports, a fake SIP side and a simulated
// clock: every path of a call, including the ones that are hard to make happen on the wire.
#include "signaling_edge/call_session.h"

#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeLeg;
using CallSessionTest = testing::CallSessionFixture;

TEST(CallPhaseTest, TheTableAllowsOnlyForwardStepsAndEndedIsFinal) {
  EXPECT_TRUE(IsLegalStep(CallPhase::kQueued, CallPhase::kRinging));
  EXPECT_TRUE(IsLegalStep(CallPhase::kRinging, CallPhase::kQueued));
  EXPECT_TRUE(IsLegalStep(CallPhase::kConnected, CallPhase::kQueued));  // a blind transfer
  EXPECT_FALSE(IsLegalStep(CallPhase::kConnected, CallPhase::kRinging));
  EXPECT_FALSE(IsLegalStep(CallPhase::kSetup, CallPhase::kRinging));
  EXPECT_FALSE(IsLegalStep(CallPhase::kEnding, CallPhase::kQueued));
  for (const auto& s : kCallPhaseSteps) EXPECT_NE(s.from, CallPhase::kEnded);
  // Every phase but Ended can end.
  for (auto p : {CallPhase::kSetup, CallPhase::kEnqueuing, CallPhase::kQueued, CallPhase::kRinging,
                 CallPhase::kConnecting, CallPhase::kConnected}) {
    EXPECT_TRUE(IsLegalStep(p, CallPhase::kEnding)) << ToString(p);
  }
}

// The front door's cap reads how many calls an address holds from the registry, which adds
// and forgets that count with the call itself.
TEST_F(CallSessionTest, TheRegistryCountsCallsPerSourceAddress) {
  for (int i = 0; i < 3; ++i) {
    CustomerCall c;
    c.id = "src-" + std::to_string(i);
    c.sip_call_id = "sip-src-" + std::to_string(i);
    c.source = i < 2 ? "192.0.2.1" : "192.0.2.2";
    registry_.add(std::make_unique<CallSession>(ctx_, c, std::make_unique<FakeLeg>("customer")));
  }
  EXPECT_EQ(registry_.from_source("192.0.2.1"), 2);
  EXPECT_EQ(registry_.from_source("192.0.2.2"), 1);
  EXPECT_EQ(registry_.from_source("192.0.2.3"), 0);
  registry_.erase("src-0");
  registry_.erase("src-0");  // twice: counted once
  EXPECT_EQ(registry_.from_source("192.0.2.1"), 1);
  registry_.erase("src-1");
  registry_.erase("src-2");
  EXPECT_EQ(registry_.from_source("192.0.2.1"), 0);
  EXPECT_EQ(registry_.from_source("192.0.2.2"), 0);
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(CallSessionTest, AnsweredByAnAgentTheCallIsBridgedAndBothEndsAreToldAtTheEnd) {
  auto& s = Connected();
  ASSERT_EQ(sip_.invites.size(), 1u);
  const AgentInvite& inv = sip_.invites[0];
  EXPECT_EQ(inv.contact, "sip:alice@10.0.0.1:5060");
  EXPECT_EQ(inv.route, "sip:127.0.0.1:40000");  // where its REGISTER came from
  EXPECT_EQ(inv.sdp, "sdp-of-agent");           // the relay's offer, not the customer's
  EXPECT_EQ(inv.max_forwards, 69u);
  EXPECT_EQ(media_.creates.size(), 0u);
  EXPECT_EQ(customer_->sent(), "180,200");
  EXPECT_EQ(customer_->sdp_sent, "sdp-of-customer");
  EXPECT_EQ(queue_.sent_reports(), "connected");
  s.on_customer_left("caller hung up");
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
  EXPECT_EQ(queue_.reports.back().report.assignment_id, 7);
  EXPECT_EQ(queue_.reports.back().report.reason, "caller hung up");
  EXPECT_EQ(media_.released, (std::vector<std::string>{"customer-leg", "agent-leg"}));
  EXPECT_TRUE(finished_.empty());  // the dialogs are still closing
  Terminated(s, customer_);
  Terminated(s, sip_.legs[0]);
  EXPECT_EQ(s.phase(), CallPhase::kEnded);
  EXPECT_EQ(finished_, std::vector<std::string>{"call-1"});
}

TEST_F(CallSessionTest, ARingTimeoutCancelsEveryDeviceAndReportsNoAnswer) {
  auto& s = Ringing(2);
  timers_.advance(seconds(14));
  EXPECT_EQ(sip_.legs[0]->sent(), "");
  timers_.advance(seconds(1));
  EXPECT_EQ(sip_.legs[0]->sent(), "CANCEL");
  EXPECT_EQ(sip_.legs[1]->sent(), "CANCEL");
  for (FakeLeg* l : {sip_.legs[0], sip_.legs[1]}) {
    s.on_agent_response(l, 487, "");
    EXPECT_TRUE(queue_.sent.empty());  // not before every device is done
    Terminated(s, l, 487);
  }
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(queue_.reports[0].report.failure, OfferFailure::kNoAnswer);
  EXPECT_EQ(s.phase(), CallPhase::kQueued);  // the caller waits on
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
  EXPECT_EQ(customer_->sent(), "180");
  // The next offer is taken.
  queue_.report_answers(OkStatus());
  EXPECT_EQ(s.on_offer(MakeOffer(1, 8)), OfferRefusal::kNone);
}

TEST_F(CallSessionTest, OfForkedDevicesTheFirstToAnswerWinsAndTheOthersAreCancelled) {
  auto& s = Ringing(3);
  s.on_agent_response(sip_.legs[0], 180, "");
  EXPECT_EQ(customer_->sent(), "180");  // passed on once
  s.on_agent_response(sip_.legs[1], 200, "answer-2");
  EXPECT_EQ(sip_.legs[0]->sent(), "CANCEL");
  EXPECT_EQ(sip_.legs[2]->sent(), "CANCEL");
  EXPECT_EQ(s.phase(), CallPhase::kConnecting);
  // The third device answered before our CANCEL reached it: it is hung up.
  s.on_agent_response(sip_.legs[2], 200, "answer-3");
  EXPECT_EQ(sip_.legs[2]->sent(), "CANCEL,BYE");
  queue_.report_answers(OkStatus());
  ASSERT_EQ(media_.connects.size(), 1u);
  EXPECT_EQ(media_.connects[0].sdp, "answer-2");
  EXPECT_EQ(media_.connects[0].customer.id, "customer-leg");
  media_.connect_ok();
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
  EXPECT_EQ(s.view().agent_state, "answered");
  EXPECT_EQ(queue_.sent_reports(), "connected");
  EXPECT_EQ(s.dialogs(), 4);  // the customer, the agent, two devices closing
  Terminated(s, sip_.legs[0], 487);
  Terminated(s, sip_.legs[2], 200);
  EXPECT_EQ(s.dialogs(), 2);
  EXPECT_EQ(s.phase(), CallPhase::kConnected);
}

TEST_F(CallSessionTest, TheCallerAbandonsWhileTheAgentRings) {
  auto& s = Ringing(1);
  s.on_customer_left("caller cancelled");
  EXPECT_EQ(sip_.legs[0]->sent(), "CANCEL");
  EXPECT_EQ(customer_->sent(), "180");  // nothing more to a caller who left
  EXPECT_EQ(queue_.sent_reports(), "cancelled");
  EXPECT_EQ(queue_.reports[0].report.reason, "caller cancelled");
  EXPECT_EQ(media_.released, (std::vector<std::string>{"agent-leg", "customer-leg"}));
  // The device answers as the CANCEL crosses: hung up, and still no report of an answer.
  s.on_agent_response(sip_.legs[0], 200, "late");
  EXPECT_EQ(sip_.legs[0]->sent(), "CANCEL,BYE");
  Terminated(s, customer_, 487);
  Terminated(s, sip_.legs[0]);
  EXPECT_EQ(queue_.sent_reports(), "cancelled");
  EXPECT_EQ(finished_, std::vector<std::string>{"call-1"});
}

TEST_F(CallSessionTest, ByeFromTheAgentFirstThenTheCallerCrossing) {
  auto& s = Connected();
  FakeLeg* agent = sip_.legs[0];
  s.on_agent_bye(agent);         // the stack answered it
  EXPECT_EQ(agent->sent(), "");  // no BYE back to who hung up
  EXPECT_EQ(customer_->sent(), "180,200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "agent hung up");
  s.on_customer_left("caller hung up");                 // the caller's BYE crossed ours
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");  // once
  Terminated(s, agent);
  Terminated(s, customer_);
  EXPECT_EQ(finished_.size(), 1u);
}

TEST_F(CallSessionTest, ByeFromTheCallerFirstThenTheAgentCrossing) {
  auto& s = Connected();
  FakeLeg* agent = sip_.legs[0];
  s.on_customer_left("caller hung up");
  EXPECT_EQ(agent->sent(), "BYE");
  s.on_agent_bye(agent);  // crossed our BYE
  EXPECT_EQ(customer_->sent(), "180,200");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
  Terminated(s, customer_);
  Terminated(s, agent);
  EXPECT_EQ(finished_.size(), 1u);
}

TEST_F(CallSessionTest, ARelayThatFailsTheCallersLegRefusesTheCallWithoutQueuing) {
  auto& s = Start();
  media_.create_fails(Unavailable("relay down"));
  EXPECT_EQ(customer_->sent(), "503");
  EXPECT_EQ(customer_->last_reason.text, "media unavailable");
  EXPECT_TRUE(queue_.enqueues.empty());
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
  Terminated(s, customer_, 503);
  EXPECT_EQ(finished_.size(), 1u);
}

TEST_F(CallSessionTest, AnOfferTheCallerCannotHearIsRefusedWith488) {
  Start();
  media_.create_fails(InvalidArgument("no supported codec"));
  EXPECT_EQ(customer_->sent(), "488");
}

TEST_F(CallSessionTest, ARelayThatFailsTheAgentsLegFailsTheOfferAndTheCallerWaitsOn) {
  auto& s = Queued();
  EXPECT_EQ(s.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  media_.create_fails(Unavailable("relay down"));
  EXPECT_TRUE(sip_.invites.empty());
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(queue_.reports[0].report.failure, OfferFailure::kUnreachable);
  EXPECT_EQ(queue_.reports[0].report.reason, "relay: relay down");
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
}

TEST_F(CallSessionTest, AnAgentWithNoReachableDeviceFailsTheOfferAtOnce) {
  auto& s = Queued();
  sip_.unreachable_contact = "sip:alice@10.0.0.1:5060";
  EXPECT_EQ(s.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  media_.create_ok();
  EXPECT_EQ(queue_.sent_reports(), "failed");
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  // An offer with no device at all: the same.
  queue_.report_answers(OkStatus());
  EXPECT_EQ(s.on_offer(MakeOffer(0, 8)), OfferRefusal::kNone);
  EXPECT_EQ(queue_.sent_reports(), "failed,failed");
}

// queue-service down at the caller's arrival: the caller rings while the enqueue is retried
// with backoff, and is queued as soon as it answers.
TEST_F(CallSessionTest, AnEnqueueIsRetriedWhileQueueServiceIsUnreachable) {
  auto& s = Start();
  media_.create_ok();
  ASSERT_EQ(queue_.enqueues.size(), 1u);
  queue_.enqueue_answers(Unavailable("connection refused"));
  EXPECT_EQ(customer_->sent(), "180");  // ringing meanwhile
  EXPECT_TRUE(queue_.enqueues.empty());
  timers_.advance(milliseconds(200));
  ASSERT_EQ(queue_.enqueues.size(), 1u);  // tried again
  queue_.enqueue_answers(Error{ErrorCode::kDeadlineExceeded, "deadline"});
  timers_.advance(milliseconds(400));
  ASSERT_EQ(queue_.enqueues.size(), 1u);
  queue_.enqueue_answers(Waiting(AnswerMode::kAnswerImmediately));
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  EXPECT_EQ(customer_->sent(), "180,200");
  ASSERT_EQ(media_.plays.size(), 1u);
  EXPECT_EQ(media_.plays[0].idle_timeout, settings_.waiting_media_timeout);
}

// queue-service down for longer than the retry window: 503, and an abandon follows the
// enqueue (which may have landed) so that the call does not wait for nobody.
TEST_F(CallSessionTest, AnEnqueueThatNeverLandsEndsTheCallWith503) {
  auto& s = Start();
  media_.create_ok();
  for (int i = 0; i < 1000 && s.phase() == CallPhase::kEnqueuing; ++i) {
    if (!queue_.enqueues.empty()) queue_.enqueue_answers(Unavailable("connection refused"));
    timers_.advance(milliseconds(100));
  }
  EXPECT_EQ(customer_->sent(), "180,503");
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
  EXPECT_GE(clock_.now() - s.call().started_at, settings_.enqueue_retry);
  EXPECT_EQ(queue_.sent_reports(), "cancelled");
}

TEST_F(CallSessionTest, AnUnknownNumberGets404AndNoReport) {
  Start();
  media_.create_ok();
  queue_.enqueue_answers(NotFound("no dialplan entry"));
  EXPECT_EQ(customer_->sent(), "404");
  EXPECT_TRUE(queue_.sent.empty());
  EXPECT_EQ(media_.released, std::vector<std::string>{"customer-leg"});
}

// A dialled number that cannot be one (queue-service refuses its characters) is not found
// either: 404 at once, not a 503 that invites the caller to try again.
TEST_F(CallSessionTest, ANumberQueueServiceRefusesAsMalformedGets404) {
  Start();
  media_.create_ok();
  queue_.enqueue_answers(InvalidArgument("dialled number must be letters, digits or . _ + * # -"));
  EXPECT_EQ(customer_->sent(), "404");
  EXPECT_TRUE(queue_.sent.empty());
}

// A waiting caller who hears media: the greeting, then the music; every `every` (after
// `first_after`) the news from queue-service, then the music again. Ringing the caller (no
// media) gets none of it.
TEST_F(CallSessionTest, AWaitingCallerHearsTheGreetingThenTheNewsBetweenTheMusic) {
  auto& session = Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
  e.announce.greeting = {"en/greeting"};
  e.announce.first_after = seconds(20);
  e.announce.every = seconds(30);
  e.announce.position = true;
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "200");
  ASSERT_EQ(media_.plays.size(), 1u);
  EXPECT_EQ(media_.plays[0].prompts, std::vector<std::string>{"en/greeting"});
  session.on_prompt_finished();
  ASSERT_EQ(media_.plays.size(), 2u);
  EXPECT_EQ(media_.plays[1].prompts, std::vector<std::string>{"moh"});

  timers_.advance(seconds(20));
  ASSERT_EQ(queue_.positions.size(), 1u);
  EXPECT_EQ(queue_.positions.front().first, session.call().id);
  queue_.position_answers(QueuePosition{true, 4, seconds(200)});
  ASSERT_EQ(media_.plays.size(), 3u);
  EXPECT_EQ(media_.plays[2].prompts,
            (std::vector<std::string>{"en/position", "en/number-4", "en/in-queue"}));
  session.on_prompt_finished();
  EXPECT_EQ(media_.plays.back().prompts, std::vector<std::string>{"moh"});

  // Same place 30 s later: nothing to say, the music plays on.
  timers_.advance(seconds(30));
  queue_.position_answers(QueuePosition{true, 4, seconds(200)});
  EXPECT_EQ(media_.plays.size(), 4u);

  // A better place; the relay's word that it was said is lost: the music comes back anyway.
  timers_.advance(seconds(30));
  queue_.position_answers(QueuePosition{true, 2, seconds(100)});
  ASSERT_EQ(media_.plays.size(), 5u);
  timers_.advance(settings_.announcement_limit);
  ASSERT_EQ(media_.plays.size(), 6u);
  EXPECT_EQ(media_.plays.back().prompts, std::vector<std::string>{"moh"});
}

// An agent answers while the caller hears an announcement: the connect goes out at once (the
// relay's ConnectLeg stops the prompt), and the announcement's late end starts no music.
TEST_F(CallSessionTest, AnAnnouncementNeverDelaysTheAgentsAnswer) {
  auto& session = Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
  e.announce.greeting = {"en/greeting"};
  queue_.enqueue_answers(e);
  ASSERT_EQ(media_.plays.size(), 1u);  // the greeting is playing
  ASSERT_EQ(session.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  media_.create_ok();
  session.on_agent_response(sip_.legs[0], 200, "agent-answer");
  queue_.report_answers(OkStatus());
  ASSERT_EQ(media_.connects.size(), 1u) << "connected without waiting for the greeting's end";
  media_.connect_ok();
  EXPECT_EQ(session.phase(), CallPhase::kConnected);
  session.on_prompt_finished();
  EXPECT_EQ(media_.plays.size(), 1u) << "no music after the bridge";
  EXPECT_EQ(session.phase(), CallPhase::kConnected);
}

TEST_F(CallSessionTest, ACallerWhoOnlyHearsRingingGetsNoAnnouncements) {
  Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kRingUntilAgent);
  e.announce.greeting = {"en/greeting"};
  e.announce.every = seconds(30);
  e.announce.position = true;
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "180");
  timers_.advance(seconds(120));
  EXPECT_TRUE(media_.plays.empty());
  EXPECT_TRUE(queue_.positions.empty());
}

// A closed queue: the caller hears its announcement as early media (183, not answered), and
// the call ends with the queue's reason when the relay says the prompts are over.
TEST_F(CallSessionTest, AClosedQueuesAnnouncementPlaysBeforeTheCallEnds) {
  auto& session = Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kRingUntilAgent);
  e.waiting = false;
  e.outcome_reason = "closed";
  e.exit_prompts = {"de/closed", "en/closed"};
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "183");
  EXPECT_EQ(customer_->sdp_sent, "sdp-of-customer");
  ASSERT_EQ(media_.plays.size(), 1u);
  EXPECT_EQ(media_.plays[0].prompts, e.exit_prompts);
  EXPECT_EQ(media_.plays[0].idle_timeout, Duration{0});
  session.on_prompt_finished();
  EXPECT_EQ(customer_->sent(), "183,480");
  EXPECT_EQ(customer_->last_reason.text, "closed");
  EXPECT_TRUE(queue_.sent.empty());  // queue-service has it over already
  session.on_prompt_finished();      // a late second word changes nothing
  EXPECT_EQ(customer_->sent(), "183,480");
}

// The relay's word that the announcement is over is lost: the call ends all the same.
TEST_F(CallSessionTest, AnAnnouncementWhoseEndIsNeverReportedEndsOnTime) {
  Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
  e.waiting = false;
  e.outcome_reason = "closed";
  e.exit_prompts = {"en/closed"};
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "183");
  timers_.advance(settings_.announcement_limit - milliseconds(1));
  EXPECT_EQ(customer_->sent(), "183");
  timers_.advance(milliseconds(1));
  EXPECT_EQ(customer_->sent(), "183,480");
}

TEST_F(CallSessionTest, ACallerRefusedAtEntryGets480WithTheQueuesReason) {
  Start();
  media_.create_ok();
  Enqueued e = Waiting(AnswerMode::kAnswerImmediately);
  e.waiting = false;
  e.outcome_reason = "no agent registered";
  queue_.enqueue_answers(e);
  EXPECT_EQ(customer_->sent(), "480");
  EXPECT_EQ(customer_->last_reason.text, "no agent registered");
  EXPECT_TRUE(queue_.sent.empty());  // queue-service has it over already
}

TEST_F(CallSessionTest, OffersAreTakenOnlyWhileTheCallWaits) {
  auto& s = Start();
  EXPECT_EQ(s.on_offer(MakeOffer(1)), OfferRefusal::kBusy);  // no relay leg yet
  media_.create_ok();
  // Before the enqueue's answer: taken (queue-service may offer before it answers).
  EXPECT_EQ(s.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  EXPECT_EQ(s.on_offer(MakeOffer(1, 8)), OfferRefusal::kBusy);  // already ringing an agent
  media_.create_ok();
  queue_.enqueue_answers(Waiting(AnswerMode::kRingUntilAgent));
  EXPECT_EQ(s.phase(), CallPhase::kRinging);
  s.on_customer_left("caller hung up");
  EXPECT_EQ(s.on_offer(MakeOffer(1, 9)), OfferRefusal::kBusy);  // ending
}

TEST_F(CallSessionTest, AReinviteBeforeTheRelayLegExistsIsAskedToWait) {
  auto& s = Start();
  std::string answer;
  s.on_reinvite(customer_, "new-offer", std::make_unique<testing::FakeAnswer>(&answer));
  EXPECT_EQ(answer, "491");
  media_.create_ok();
  queue_.enqueue_answers(Waiting(AnswerMode::kAnswerImmediately));
  // On hold while waiting: the relay answers the new offer.
  s.on_reinvite(customer_, "hold-offer", std::make_unique<testing::FakeAnswer>(&answer));
  ASSERT_EQ(media_.updates.size(), 1u);
  EXPECT_EQ(media_.updates[0].leg.id, "customer-leg");
  EXPECT_EQ(media_.updates[0].sdp, "hold-offer");
  media_.updates[0].done(std::string("relay-recvonly"));
  EXPECT_EQ(answer, "200 relay-recvonly");
  // A refresh without an offer gets the current answer; an offer the relay refuses, 488.
  s.on_reinvite(customer_, "", std::make_unique<testing::FakeAnswer>(&answer));
  EXPECT_EQ(answer, "200 relay-recvonly");
  s.on_reinvite(customer_, "garbage", std::make_unique<testing::FakeAnswer>(&answer));
  media_.updates[1].done(InvalidArgument("bad sdp"));
  EXPECT_EQ(answer, "488");
}

// queue-service says the offer is no longer valid when the agent answers (its lease ran
// out): the agent is hung up, nothing is reported failed, and the caller waits for the next.
TEST_F(CallSessionTest, AConnectRefusedByQueueServiceSendsTheAgentAwayAndTheCallerWaitsOn) {
  auto& s = Ringing(1);
  s.on_agent_response(sip_.legs[0], 200, "answer");
  queue_.report_answers(FailedPrecondition("the offer is no longer valid"));
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_TRUE(media_.connects.empty());
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  EXPECT_EQ(queue_.sent_reports(), "connected");
  EXPECT_EQ(media_.released, std::vector<std::string>{"agent-leg"});
}

// The agent answered but queue-service never confirms (down longer than the offer's life):
// the agent is let go, an "ended" follows the "connected" (settling it if it lands late),
// and the caller waits on.
TEST_F(CallSessionTest, AConnectNeverConfirmedLetsTheAgentGo) {
  auto& s = Ringing(1);
  s.on_agent_response(sip_.legs[0], 200, "answer");
  for (int i = 0; i < 5; ++i) {
    queue_.report_answers(Unavailable("down"));
    timers_.advance(seconds(1));
  }
  timers_.advance(seconds(30));
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  // Still retrying the connected; the ended waits behind it.
  queue_.report_answers(OkStatus());
  EXPECT_EQ(queue_.reports.front().report.kind, Report::Kind::kEnded);
  EXPECT_EQ(queue_.reports.front().report.assignment_id, 7);
}

TEST_F(CallSessionTest, AWaitingCallerGoneSilentIsAbandoned) {
  auto& s = Queued(AnswerMode::kAnswerImmediately);
  s.on_media_timeout();
  EXPECT_EQ(customer_->sent(), "200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "caller media stopped");
  EXPECT_EQ(queue_.sent_reports(), "cancelled");
}

TEST_F(CallSessionTest, AMediaTimeoutEndsAConnectedCall) {
  auto& s = Connected();
  s.on_media_timeout();
  EXPECT_EQ(customer_->sent(), "180,200,BYE");
  EXPECT_EQ(sip_.legs[0]->sent(), "BYE");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
}

TEST_F(CallSessionTest, QueueServiceEndingACallHangsItUpWithoutAReport) {
  auto& s = Ringing(1);
  s.on_queue_ended("max wait exceeded", true);
  EXPECT_EQ(customer_->sent(), "180,480");
  EXPECT_EQ(customer_->last_reason.q850, 102);
  EXPECT_EQ(sip_.legs[0]->sent(), "CANCEL");
  EXPECT_TRUE(queue_.sent.empty());
}

TEST_F(CallSessionTest, EachAnswerModeTreatsTheWaitingCallerItsWay) {
  Queued(AnswerMode::kEarlyMedia);
  EXPECT_EQ(customer_->sent(), "183");
  EXPECT_EQ(customer_->sdp_sent, "sdp-of-customer");
  ASSERT_EQ(media_.plays.size(), 1u);
  EXPECT_EQ(media_.plays[0].idle_timeout, Duration{0});  // not answered: no idle timeout
}

TEST_F(CallSessionTest, ADialogThatNeverClosesIsDroppedAfterTheEndingTimeout) {
  auto& s = Connected();
  s.on_customer_left("caller hung up");
  Terminated(s, customer_);
  // The agent's phone never answers our BYE, and Sofia's own timers fail too.
  timers_.advance(settings_.ending_timeout - seconds(1));
  EXPECT_TRUE(finished_.empty());
  timers_.advance(seconds(2));
  EXPECT_EQ(finished_.size(), 1u);
  EXPECT_EQ(s.dialogs(), 0);
}

TEST_F(CallSessionTest, HangUpByTheEdgeTellsQueueServiceOnlyWhenAsked) {
  auto& s = Connected();
  s.hang_up({41, "media relay lost"}, true);
  EXPECT_EQ(customer_->sent(), "180,200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "media relay lost");
  EXPECT_EQ(queue_.sent_reports(), "connected,ended");
}

}  // namespace
}  // namespace cc::edge
