// Supervisors in calls, in queue-service against a real PostgreSQL: who may monitor (the role
// over the call's queue, a phone, not the agent on the call), one session per call, each mode
// kept for the audit, the edge's word deciding whether a session lives, and its end with the
// call whichever way the call ends.
#include "queue_service/monitoring.h"

#include "repository_fixture.h"

namespace cc::queue {
namespace {

class RecordingEdgeOrders final : public EdgeOrders {
 public:
  Status deliver(const MonitorOrder& o) override {
    std::lock_guard lock(mu);
    orders.push_back(o);
    if (!accept) return Unavailable("edge gone (test)");
    return OkStatus();
  }
  Status deliver(const RecordOrder&) override { return OkStatus(); }
  std::mutex mu;
  std::vector<MonitorOrder> orders;
  bool accept = true;
};

class MonitoringIt : public QueueRepositoryIt {
 protected:
  MonitoringIt() : monitoring_(store_, orders_, clock_) {}
  void SetUp() override {
    AddQueue("sales");
    AddQueue("support", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
    AddAgent("alice");
    AddAgent("sam", {});  // a supervisor: in no queue, with a phone
    Enqueue("c1");
    ASSERT_EQ(Match(), 1);
    leg_ = OfferFor("c1").assignment_id;
    ASSERT_TRUE(engine_.connected(leg_, "c1").ok());
  }
  Result<MonitorSession> Monitor(const std::string& who, MonitorMode mode,
                                 const std::string& call = "c1") {
    return monitoring_.start({call, who, mode, "test"});
  }
  RecordingEdgeOrders orders_;
  Monitoring monitoring_;
  std::int64_t leg_ = 0;
};

TEST_F(MonitoringIt, OnlyASupervisorOfTheQueueWithAPhoneMayAndOnlyOnAConnectedCall) {
  auto denied = Monitor("sam", MonitorMode::kListen);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().message, "sam has no supervisor role over queue sales");
  ASSERT_TRUE(store_.set_supervisor("support", "sam", true).ok());  // another queue's
  EXPECT_EQ(Monitor("sam", MonitorMode::kListen).error().code, ErrorCode::kPermissionDenied);
  auto list = store_.set_supervisor("sales", "sam", true);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, std::vector<std::string>{"sam"});
  EXPECT_EQ(store_.set_supervisor("sales", "nobody", true).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_.set_supervisor("sales", "alice", true).ok());
  EXPECT_EQ(Monitor("alice", MonitorMode::kListen).error().code,
            ErrorCode::kFailedPrecondition);  // the agent on the call
  Enqueue("c2");                              // waiting: nothing to monitor
  EXPECT_EQ(Monitor("sam", MonitorMode::kListen, "c2").error().code,
            ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(orders_.orders.empty());
  EXPECT_TRUE(store_.history("c1")->monitors.empty());
}

TEST_F(MonitoringIt, ASessionRingsTheSupervisorChangesModeAndEndsWithTheAuditOfEachMode) {
  ASSERT_TRUE(store_.set_supervisor("sales", "sam", true).ok());
  auto s = Monitor("sam", MonitorMode::kListen);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(orders_.orders.size(), 1u);
  const MonitorOrder first = orders_.orders[0];
  EXPECT_EQ(first.edge_id, "edge-1");
  EXPECT_EQ(first.mode, MonitorMode::kListen);
  ASSERT_EQ(first.bindings.size(), 1u);
  EXPECT_EQ(first.bindings[0].contact_uri, "sip:sam@127.0.0.1:5999");
  EXPECT_EQ(s->agent_id, "alice");
  EXPECT_EQ(s->requested_by, "test");
  ASSERT_TRUE(monitoring_.answered(s->id).ok());
  clock_.advance(seconds(5));
  // The same mode again: nothing to tell the edge.
  ASSERT_TRUE(Monitor("sam", MonitorMode::kListen).ok());
  EXPECT_EQ(orders_.orders.size(), 1u);
  clock_.advance(seconds(5));
  auto whisper = Monitor("sam", MonitorMode::kWhisper);
  ASSERT_TRUE(whisper.ok());
  ASSERT_EQ(orders_.orders.size(), 2u);
  EXPECT_EQ(orders_.orders[1].session_id, s->id);
  EXPECT_TRUE(orders_.orders[1].bindings.empty());  // the edge has the supervisor already
  EXPECT_EQ(whisper->mode, MonitorMode::kWhisper);
  // Another supervisor cannot join the same call.
  AddAgent("sue", {});
  ASSERT_TRUE(store_.set_supervisor("sales", "sue", true).ok());
  EXPECT_EQ(Monitor("sue", MonitorMode::kBarge).error().code, ErrorCode::kFailedPrecondition);
  clock_.advance(seconds(5));
  ASSERT_TRUE(Monitor("sam", MonitorMode::kBarge).ok());
  auto stopped = monitoring_.stop(s->id, "stopped by test");
  ASSERT_TRUE(stopped.ok());
  ASSERT_EQ(orders_.orders.size(), 4u);
  EXPECT_TRUE(orders_.orders[3].stop);
  EXPECT_EQ(stopped->end_reason, "stopped by test");
  ASSERT_EQ(stopped->modes.size(), 3u);
  EXPECT_EQ(stopped->modes[0].mode, MonitorMode::kListen);
  EXPECT_EQ(stopped->modes[1].mode, MonitorMode::kWhisper);
  EXPECT_EQ(stopped->modes[2].mode, MonitorMode::kBarge);
  EXPECT_EQ(stopped->modes[1].at - stopped->modes[0].at, seconds(10));
  EXPECT_TRUE(stopped->answered_at.has_value());
  // Over: the edge's late word is refused, a stop again is answered as it is.
  EXPECT_EQ(monitoring_.answered(s->id).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(monitoring_.stop(s->id, "again").ok());
  EXPECT_EQ(orders_.orders.size(), 4u);
  // A new session may begin after.
  EXPECT_TRUE(Monitor("sue", MonitorMode::kListen).ok());
}

TEST_F(MonitoringIt, AnOrderTheEdgeDoesNotTakeLeavesNoLiveSession) {
  ASSERT_TRUE(store_.set_supervisor("sales", "sam", true).ok());
  orders_.accept = false;
  auto s = Monitor("sam", MonitorMode::kBarge);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  auto h = store_.history("c1");
  ASSERT_EQ(h->monitors.size(), 1u);
  EXPECT_TRUE(h->monitors[0].ended_at.has_value());
  EXPECT_NE(h->monitors[0].end_reason.find("did not take"), std::string::npos);
  // A mode change the edge does not take: the record keeps the mode the edge has.
  orders_.accept = true;
  ASSERT_TRUE(Monitor("sam", MonitorMode::kListen).ok());
  orders_.accept = false;
  clock_.advance(seconds(1));
  EXPECT_EQ(Monitor("sam", MonitorMode::kBarge).error().code, ErrorCode::kUnavailable);
  h = store_.history("c1");
  EXPECT_EQ(h->monitors[1].mode, MonitorMode::kListen);
}

TEST_F(MonitoringIt, TheSessionEndsWithTheCallAndWhenTheCallLeavesItsAgent) {
  ASSERT_TRUE(store_.set_supervisor("sales", "sam", true).ok());
  auto s = Monitor("sam", MonitorMode::kListen);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(engine_.ended(leg_, "c1", "caller hung up").ok());
  auto over = store_.get_monitor(s->id);
  ASSERT_TRUE(over->ended_at.has_value());
  EXPECT_EQ(over->end_reason, "the call ended");
  // A transferred call: the session does not follow it to the next agent.
  AddAgent("bob", {{"support", 0}});
  Enqueue("c3");
  ASSERT_EQ(Match(), 1);
  const auto leg3 = OfferFor("c3").assignment_id;
  ASSERT_TRUE(engine_.connected(leg3, "c3").ok());
  auto s3 = Monitor("sam", MonitorMode::kListen, "c3");
  ASSERT_TRUE(s3.ok()) << s3.error().message;
  TransferRequest t;
  t.call_id = "c3";
  t.assignment_id = leg3;
  t.to_queue = "support";
  ASSERT_TRUE(engine_.transfer(t).ok());
  EXPECT_EQ(store_.get_monitor(s3->id)->end_reason, "the call left its agent");
}

}  // namespace
}  // namespace cc::queue
