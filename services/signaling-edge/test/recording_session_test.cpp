// Recording control at the edge, on fakes: a queue that records always starts at the agent's
// answer, in the folder of its retention day; queue-service's orders pause, resume, stop and
// start; every step is reported; the leg's end (the call's, or a transfer's) closes it, and
// the next agent's leg gets a file of its own.
#include <ctime>

#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

class RecordingSessionTest : public testing::CallSessionFixture {
 protected:
  // Queued, offered (a queue that records always, files kept `days`), answered, bridged.
  CallSession& RecordedCall(int days, std::int64_t assignment = 7) {
    auto& s = Queued();
    Offer o = MakeOffer(1, assignment);
    o.record = true;
    o.recording_retention_days = days;
    EXPECT_EQ(s.on_offer(o), OfferRefusal::kNone);
    media_.create_ok();
    s.on_agent_response(sip_.legs.back(), 200, "agent-answer");
    queue_.report_answers(OkStatus());
    media_.connect_ok();
    EXPECT_EQ(s.phase(), CallPhase::kConnected);
    return s;
  }
  std::string Day(int days, const char* format) {
    const std::time_t t =
        std::chrono::system_clock::to_time_t(clock_.now() + std::chrono::hours(24 * days));
    std::tm utc{};
    gmtime_r(&t, &utc);
    char out[16];
    std::strftime(out, sizeof out, format, &utc);
    return out;
  }
};

TEST_F(RecordingSessionTest, AQueueThatRecordsAlwaysStartsAtTheAnswerInItsRetentionFolder) {
  auto& s = RecordedCall(30);
  const std::string path = "until-" + Day(30, "%Y%m%d") + "/call-1-7.wav";
  EXPECT_EQ(media_.recording, std::vector<std::string>{"start customer-leg " + path});
  EXPECT_EQ(queue_.recording_reports,
            std::vector<std::string>{"start " + path + " 7 until " + Day(30, "%Y-%m-%d")});
  // Paused while a card number is read, then resumed; a pause twice is one.
  EXPECT_EQ(s.on_record(RecordingAction::kPause, 0, "api"), "");
  EXPECT_EQ(s.on_record(RecordingAction::kPause, 0, "api"), "");
  EXPECT_EQ(s.on_record(RecordingAction::kResume, 0, "api"), "");
  EXPECT_EQ(media_.recording,
            (std::vector<std::string>{"start customer-leg " + path, "pause customer-leg",
                                      "resume customer-leg"}));
  EXPECT_EQ(s.on_record(RecordingAction::kStart, 30, "api"), "the call is being recorded already");
  EXPECT_EQ(s.on_record(RecordingAction::kStop, 0, "api"), "");
  EXPECT_EQ(queue_.recording_reports.back(), "stop " + path + " 7 4096 bytes");
  EXPECT_EQ(s.on_record(RecordingAction::kPause, 0, "api"), "the call is not being recorded");
  // Started again on demand (kept for ever this time): a second file of the same leg.
  EXPECT_EQ(s.on_record(RecordingAction::kStart, 0, "api"), "");
  EXPECT_EQ(media_.recording.back(), "start customer-leg kept/call-1-7-2.wav");
  s.on_customer_left("caller hung up");
  EXPECT_EQ(queue_.recording_reports.back(), "stop kept/call-1-7-2.wav 7");
}

TEST_F(RecordingSessionTest, OrdersComeOnlyForConnectedCallsAndEachAgentLegHasItsFile) {
  auto& q = Queued();
  EXPECT_EQ(q.on_record(RecordingAction::kStart, 0, "api"), "call is queued");
  EXPECT_EQ(q.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  media_.create_ok();
  q.on_agent_response(sip_.legs.back(), 200, "agent-answer");
  queue_.report_answers(OkStatus());
  media_.connect_ok();
  EXPECT_TRUE(media_.recording.empty());  // this queue does not record by itself
  EXPECT_EQ(q.on_record(RecordingAction::kStart, 0, "api"), "");
  // Transferred: the first agent's file closes, the next agent's leg has its own.
  q.on_transferred(7);
  EXPECT_EQ(queue_.recording_reports.back(), "stop kept/call-1-7.wav 7");
  Offer next = MakeOffer(1, 8);
  next.record = true;
  ASSERT_EQ(q.on_offer(next), OfferRefusal::kNone);
  media_.create_ok();
  q.on_agent_response(sip_.legs.back(), 200, "bob-answer");
  queue_.report_answers(OkStatus());
  media_.connect_ok();
  EXPECT_EQ(media_.recording.back(), "start customer-leg kept/call-1-8.wav");
}

TEST_F(RecordingSessionTest, TheAgentsKeypadPausesAndResumesWithStarOneAndStarTwo) {
  auto& s = RecordedCall(0);
  s.on_leg_digit("agent-leg", '*');
  s.on_leg_digit("agent-leg", '1');
  EXPECT_EQ(media_.recording.back(), "pause customer-leg");
  // The caller's keys are not the agent's codes.
  s.on_leg_digit("customer-leg", '*');
  s.on_leg_digit("customer-leg", '2');
  EXPECT_EQ(media_.recording.back(), "pause customer-leg");
  // Too slow: the star is forgotten after three seconds.
  s.on_leg_digit("agent-leg", '*');
  timers_.advance(std::chrono::seconds(4));
  s.on_leg_digit("agent-leg", '2');
  EXPECT_EQ(media_.recording.back(), "pause customer-leg");
  s.on_agent_digit('*');  // SIP INFO from the agent's phone
  s.on_agent_digit('2');
  EXPECT_EQ(media_.recording.back(), "resume customer-leg");
  EXPECT_EQ(queue_.recording_reports.back(), "resume kept/call-1-7.wav 7");
}

}  // namespace
}  // namespace cc::edge
