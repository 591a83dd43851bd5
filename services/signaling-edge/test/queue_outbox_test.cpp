// The outbox on a fake queue-service and a simulated clock: every report is retried until
// acknowledged, one at a time and in order per call.
#include "signaling_edge/queue_outbox.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace cc::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class QueueOutboxTest : public ::testing::Test {
 protected:
  QueueOutboxTest() : outbox_(queue_, timers_, clock_, Settings(), nullptr) {}
  static OutboxSettings Settings() {
    OutboxSettings s;
    s.first_backoff = milliseconds(100);
    s.max_backoff = seconds(2);
    s.enqueue_retry = seconds(10);
    s.report_max_age = seconds(60);
    return s;
  }
  static Report Ended(const std::string& call) {
    Report r;
    r.kind = Report::Kind::kEnded;
    r.call_id = call;
    r.assignment_id = 3;
    return r;
  }
  static Report Cancelled(const std::string& call) {
    Report r;
    r.kind = Report::Kind::kCancelled;
    r.call_id = call;
    return r;
  }

  SimulatedClock clock_;
  ManualTimers timers_{clock_};
  testing::FakeQueue queue_;
  QueueOutbox outbox_;
};

TEST_F(QueueOutboxTest, AReportIsRetriedWithGrowingBackoffUntilAcknowledged) {
  std::optional<Result<Ok>> answer;
  outbox_.report(Ended("c1"), [&](Result<Ok> r) { answer = std::move(r); });
  EXPECT_TRUE(outbox_.pending("c1"));
  std::vector<Duration> gaps;
  TimePoint last = clock_.now();
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(queue_.reports.size(), 1u);
    queue_.report_answers(Unavailable("queue-service down"));
    for (int step = 0; step < 1000 && queue_.reports.empty(); ++step) {
      timers_.advance(milliseconds(10));
    }
    gaps.push_back(std::chrono::duration_cast<Duration>(clock_.now() - last));
    last = clock_.now();
  }
  EXPECT_FALSE(answer);
  EXPECT_LT(gaps[0], milliseconds(200));
  EXPECT_GT(gaps[3], gaps[0] * 4);         // backoff grows ...
  EXPECT_LE(gaps[5], milliseconds(2600));  // ... up to the maximum (plus jitter)
  queue_.report_answers(OkStatus());
  ASSERT_TRUE(answer && answer->ok());
  EXPECT_FALSE(outbox_.pending("c1"));
  EXPECT_EQ(queue_.sent.size(), 7u);
}

TEST_F(QueueOutboxTest, ReportsOfOneCallGoOneAtATimeInOrderOthersDoNotWait) {
  outbox_.report(Ended("c1"));
  outbox_.report(Cancelled("c1"));
  outbox_.report(Cancelled("c2"));
  EXPECT_EQ(queue_.sent_reports(), "ended,cancelled");  // c1's first, and c2's
  queue_.report_answers(Unavailable("down"));           // c1's ended
  timers_.advance(seconds(1));
  EXPECT_EQ(queue_.sent_reports(), "ended,cancelled,ended");  // c1's cancel still waits
  queue_.report_answers(OkStatus());                          // c2's cancel
  queue_.report_answers(OkStatus());                          // c1's ended, at last
  EXPECT_EQ(queue_.sent_reports(), "ended,cancelled,ended,cancelled");
  EXPECT_EQ(queue_.reports.back().report.call_id, "c1");
  queue_.report_answers(OkStatus());
  EXPECT_EQ(outbox_.size(), 0u);
}

TEST_F(QueueOutboxTest, AReportRefusedForGoodIsNotRetried) {
  std::optional<Result<Ok>> answer;
  outbox_.report(Ended("c1"), [&](Result<Ok> r) { answer = std::move(r); });
  queue_.report_answers(FailedPrecondition("not connected"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->error().code, ErrorCode::kFailedPrecondition);
  timers_.advance(seconds(10));
  EXPECT_EQ(queue_.sent.size(), 1u);
  EXPECT_FALSE(outbox_.pending("c1"));
}

TEST_F(QueueOutboxTest, AReportNeverAcknowledgedIsDroppedAfterItsMaximumAge) {
  outbox_.report(Ended("c1"));
  for (int i = 0; i < 200 && outbox_.pending("c1"); ++i) {
    if (!queue_.reports.empty()) queue_.report_answers(Unavailable("down"));
    timers_.advance(seconds(1));
  }
  EXPECT_FALSE(outbox_.pending("c1"));
  EXPECT_GE(clock_.now() - TimePoint{std::chrono::seconds{1'700'000'000}}, seconds(60));
}

TEST_F(QueueOutboxTest, AnAbandonWaitsForItsEnqueue) {
  std::optional<Result<Enqueued>> enqueued;
  int retries = 0;
  EnqueueRequest req;
  req.call_id = "c1";
  req.dialed = "sales";
  req.edge_id = "edge";
  outbox_.enqueue(
      req, [&](Result<Enqueued> r) { enqueued = std::move(r); }, [&](const Error&) { ++retries; });
  outbox_.report(Cancelled("c1"));
  EXPECT_TRUE(queue_.sent.empty());  // the cancel waits
  queue_.enqueue_answers(Unavailable("down"));
  EXPECT_EQ(retries, 1);
  timers_.advance(seconds(1));
  queue_.enqueue_answers(Enqueued{});
  ASSERT_TRUE(enqueued && enqueued->ok());
  EXPECT_EQ(queue_.sent_reports(), "cancelled");
  // The heartbeat lists calls with reports on their way.
  EXPECT_EQ(outbox_.pending_calls(), std::vector<std::string>{"c1"});
}

}  // namespace
}  // namespace cc::edge
