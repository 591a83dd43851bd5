// Recording control in queue-service against a real PostgreSQL: the queue's policy decides
// what may be ordered, the edge's reports become the metadata (each idempotent, pauses as
// spans), a lost report of the end is closed with the agent leg, and past their retention
// day recordings are marked deleted.
#include "queue_service/recordings.h"

#include "repository_fixture.h"

namespace cc::queue {
namespace {

class OrdersTaken final : public EdgeOrders {
 public:
  Status deliver(const MonitorOrder&) override { return OkStatus(); }
  Status deliver(const RecordOrder& o) override {
    orders.push_back(o);
    return refuse.empty() ? OkStatus() : NotFound(refuse);
  }
  std::vector<RecordOrder> orders;
  std::string refuse;
};

class RecordingsIt : public QueueRepositoryIt {
 protected:
  RecordingsIt() : recordings_(store_, orders_, clock_) {}
  void SetUp() override {
    AddQueue("sales", [](QueueConfig& q) {
      q.recording.mode = RecordingMode::kOnDemand;
      q.recording.retention_days = 3;
    });
    AddQueue("quiet");
    AddAgent("alice", {{"sales", 0}, {"quiet", 0}});
  }
  std::int64_t Connect(const std::string& call, const std::string& queue) {
    Enqueue(call, queue);
    EXPECT_EQ(Match(), 1);
    const auto leg = OfferFor(call).assignment_id;
    EXPECT_TRUE(engine_.connected(leg, call).ok());
    return leg;
  }
  Status Report(const std::string& call, std::int64_t leg, RecordingAction event,
                std::uint64_t bytes = 0) {
    return recordings_.report(
        {call, leg, "until-x/" + call + ".wav", event, bytes, "2024-01-01", "test"});
  }
  OrdersTaken orders_;
  Recordings recordings_;
};

TEST_F(RecordingsIt, ThePolicyDecidesAndTheReportsBecomeTheMetadata) {
  const auto leg = Connect("c1", "sales");
  ASSERT_TRUE(recordings_.control("c1", RecordingAction::kStart, "sup").ok());
  ASSERT_EQ(orders_.orders.size(), 1u);
  EXPECT_EQ(orders_.orders[0].edge_id, "edge-1");
  EXPECT_EQ(orders_.orders[0].retention_days, 3);
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kStart).ok());
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kStart).ok());  // repeated: one row
  clock_.advance(seconds(2));
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kPause).ok());
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kPause).ok());  // one open pause
  clock_.advance(seconds(3));
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kResume).ok());
  clock_.advance(seconds(1));
  ASSERT_TRUE(Report("c1", leg, RecordingAction::kStop, 96044).ok());
  auto h = store_.history("c1");
  ASSERT_EQ(h->recordings.size(), 1u);
  const RecordingRecord& r = h->recordings[0];
  EXPECT_EQ(r.agent_id, "alice");
  EXPECT_EQ(r.queue, "sales");
  EXPECT_EQ(r.keep_until, "2024-01-01");
  EXPECT_EQ(r.bytes, 96044u);
  EXPECT_EQ(*r.ended_at - r.started_at, seconds(6));
  ASSERT_EQ(r.pauses.size(), 1u);
  EXPECT_EQ(*r.pauses[0].resumed_at - r.pauses[0].paused_at, seconds(3));
  // An order the edge refuses, and a report of a recording nobody started.
  orders_.refuse = "the call is not being recorded";
  EXPECT_EQ(recordings_.control("c1", RecordingAction::kPause, "sup").error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(Report("c1", leg, RecordingAction::kPause).ok());
  EXPECT_EQ(recordings_.report({"c1", leg, "nope.wav", RecordingAction::kStop}).error().code,
            ErrorCode::kNotFound);
}

TEST_F(RecordingsIt, AQueueThatNeverRecordsRefusesAndALostEndIsClosedWithTheLeg) {
  Connect("q1", "quiet");
  auto never = recordings_.control("q1", RecordingAction::kStart, "sup");
  EXPECT_EQ(never.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(orders_.orders.empty());
  ASSERT_TRUE(engine_.ended(OfferFor("q1").assignment_id, "q1", "hangup").ok());
  const auto leg = Connect("c2", "sales");
  ASSERT_TRUE(Report("c2", leg, RecordingAction::kStart).ok());
  ASSERT_TRUE(Report("c2", leg, RecordingAction::kPause).ok());
  clock_.advance(seconds(4));
  ASSERT_TRUE(engine_.ended(leg, "c2", "caller hung up").ok());  // the edge's stop was lost
  auto r = store_.history("c2")->recordings.at(0);
  ASSERT_TRUE(r.ended_at.has_value());
  ASSERT_TRUE(r.pauses.at(0).resumed_at.has_value());
  // Past its retention day (2024-01-01): marked deleted.
  EXPECT_EQ(*store_.expire_recordings(clock_.now()), 0);
  clock_.advance(std::chrono::hours(24 * 60));
  EXPECT_EQ(*store_.expire_recordings(clock_.now()), 1);
  EXPECT_TRUE(store_.history("c2")->recordings.at(0).deleted);
}

}  // namespace
}  // namespace cc::queue
