#pragma once

// A call session with fake ports, a fake SIP side and a simulated clock, and the steps that
// bring it to each phase: shared by the session's test files.
#include <gtest/gtest.h>

#include "fakes.h"
#include "signaling_edge/call_registry.h"
#include "signaling_edge/call_session.h"

namespace cc::edge::testing {

using std::chrono::seconds;

class CallSessionFixture : public ::testing::Test {
 protected:
  CallSessionFixture()
      : outbox_(queue_, timers_, clock_, OutboxSettings{}, nullptr),
        ctx_{settings_, media_,
             outbox_,   sip_,
             timers_,   clock_,
             observer_, [this](const std::string& id) { finished_.push_back(id); }} {}

  CallSession& Start() {
    auto leg = std::make_unique<FakeLeg>("customer");
    customer_ = leg.get();
    CustomerCall c;
    c.id = "call-1";
    c.sip_call_id = "sip-1";
    c.caller = "493012345";
    c.dialed = "sales";
    c.sdp = "customer-offer";
    c.max_forwards = 69;
    c.started_at = clock_.now();
    auto& s = registry_.add(std::make_unique<CallSession>(ctx_, c, std::move(leg)));
    s.start();
    return s;
  }

  static Enqueued Waiting(AnswerMode mode) {
    Enqueued e;
    e.queue = "sales";
    e.answer_mode = mode;
    e.music = {"moh"};
    return e;
  }

  // Set up and queued in `mode`.
  CallSession& Queued(AnswerMode mode = AnswerMode::kRingUntilAgent) {
    auto& s = Start();
    media_.create_ok();
    queue_.enqueue_answers(Waiting(mode));
    EXPECT_EQ(s.phase(), CallPhase::kQueued);
    return s;
  }

  static Offer MakeOffer(int devices, std::int64_t assignment = 7) {
    Offer o;
    o.assignment_id = assignment;
    o.call_id = "call-1";
    o.agent_id = "alice";
    o.queue = "sales";
    o.ring_timeout = seconds(15);
    for (int i = 0; i < devices; ++i) {
      o.devices.push_back(
          {"sip:alice@10.0.0." + std::to_string(i + 1) + ":5060", "127.0.0.1", 40000 + i, false});
    }
    return o;
  }

  // Queued, then an offer taken and `devices` devices ringing.
  CallSession& Ringing(int devices = 1) {
    auto& s = Queued();
    EXPECT_EQ(s.on_offer(MakeOffer(devices)), OfferRefusal::kNone);
    media_.create_ok();  // the agent's relay leg
    EXPECT_EQ(sip_.legs.size(), static_cast<size_t>(devices));
    return s;
  }

  // Ringing, answered by the first device, confirmed and bridged.
  CallSession& Connected() {
    auto& s = Ringing();
    s.on_agent_response(sip_.legs[0], 200, "agent-answer");
    queue_.report_answers(OkStatus());  // connected
    media_.connect_ok();
    EXPECT_EQ(s.phase(), CallPhase::kConnected);
    return s;
  }

  // The SIP stack reporting a dialog closed.
  void Terminated(CallSession& s, FakeLeg* leg, int status = 200) { s.on_terminated(leg, status); }

  EdgeSettings settings_;
  SimulatedClock clock_;
  ManualTimers timers_{clock_};
  testing::FakeMedia media_;
  testing::FakeQueue queue_;
  testing::FakeSip sip_;
  EdgeObserver observer_;
  QueueOutbox outbox_;
  SessionContext ctx_;
  CallRegistry registry_;
  FakeLeg* customer_ = nullptr;
  std::vector<std::string> finished_;
};

}  // namespace cc::edge::testing
