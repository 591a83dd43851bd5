// queue-service processes end to end: gRPC, offers and events on NATS, metrics, ccctl, and
// several instances on one database under random failures and kill -9.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "agent_registry/pg_repository.h"
#include "agent_registry/service.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/agent_status.h"
#include "common/grpc_server.h"
#include "fake_edge.h"
#include "null_agent_events.h"
#include "testing.h"

namespace cc::queue {
namespace {

namespace v1 = callcenter::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

class QueueProcessIt : public ::testing::Test {
 protected:
  QueueProcessIt()
      : pool_({db_.url(), 4}),
        agent_repo_(pool_),
        agents_(agent_repo_, agent_events_, SystemClock::instance(), {}) {
    nats_ = testing::ConnectNats(prefix_);
  }

  std::unique_ptr<testing::ServiceProcess> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--db-url=" + db_.url(),
                                     "--nats-url=" + testing::NatsUrl(),
                                     "--nats-subject-prefix=" + prefix_,
                                     "--sweep-interval=100ms",
                                     "--match-interval=200ms",
                                     "--drain-timeout=2s",
                                     "--log-level=warn"};
    for (auto& e : extra) args.push_back(std::move(e));
    auto p = std::make_unique<testing::ServiceProcess>(CC_QUEUE_SERVICE_BIN, args);
    EXPECT_TRUE(p->ready()) << p->process().output();
    return p;
  }

  void AddAgent(const std::string& id, const std::vector<std::string>& queues) {
    registry::NewAgent n;
    n.id = id;
    n.display_name = "Agent " + id;
    n.sip_username = id;
    n.password = "pw";
    for (const auto& q : queues) n.queues.push_back({q, 0});
    n.wrap_up_seconds = 0;
    ASSERT_TRUE(agents_.create(n).ok());
    ASSERT_TRUE(agents_.login(id, false, "").ok());
    registry::BindingRequest b;
    b.sip_username = id;
    b.contact_uri = "sip:" + id + "@127.0.0.1:5999";
    b.expires_seconds = 3600;
    ASSERT_TRUE(agents_.register_binding(b).ok());
  }

  // ccctl against `svc` with the admin token, not the local stack's env file.
  static testing::CommandResult Ccctl(const testing::ServiceProcess& svc,
                                      std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", svc.target()});
    return testing::RunCommand(
        CC_CCCTL_BIN, args,
        {{"CC_ENV_FILE", "/nonexistent"}, {"CC_API_TOKEN_FILE", testing::ApiTokens().admin_file}});
  }

  static std::unique_ptr<v1::QueueService::Stub> Stub(const testing::ServiceProcess& p) {
    return v1::QueueService::NewStub(MakeChannel(p.target()));
  }

  testing::TestDatabase db_;
  std::string prefix_ = testing::UniqueSubjectPrefix();
  std::unique_ptr<NatsClient> nats_;
  PgPool pool_;
  registry::PgAgentRepository agent_repo_;
  testing::NullAgentEvents agent_events_;
  registry::AgentService agents_;
};

#define CALL(stub, method, req, resp) (stub)->method(MakeContext(seconds(5)).get(), (req), (resp))

v1::Queue MakeQueue(const std::string& name) {
  v1::Queue q;
  q.set_name(name);
  q.set_wrap_up_seconds(0);
  q.mutable_ring_timeout()->set_seconds(5);
  return q;
}

TEST_F(QueueProcessIt, EndToEndOverGrpcAndNats) {
  auto svc = Start({"--offer-ack-timeout=300ms"});
  auto stub = Stub(*svc);
  testing::MessageCollector call_events(*nats_, prefix_ + ".call.>");
  testing::MessageCollector agent_events(*nats_, prefix_ + ".agent.status.>");
  AddAgent("alice", {"sales"});

  v1::QueueResponse qr;
  v1::CreateQueueRequest bad;
  *bad.mutable_queue() = MakeQueue("sales");
  bad.mutable_queue()->mutable_ring_timeout()->set_seconds(0);
  bad.mutable_queue()->mutable_ring_timeout()->set_nanos(10'000'000);
  auto st = CALL(stub, CreateQueue, bad, &qr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("ring_timeout"), std::string::npos) << st.error_message();

  v1::CreateQueueRequest create;
  *create.mutable_queue() = MakeQueue("sales");
  ASSERT_TRUE(CALL(stub, CreateQueue, create, &qr).ok());
  EXPECT_EQ(CALL(stub, CreateQueue, create, &qr).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::SetDialplanEntryRequest dp;
  dp.mutable_entry()->set_pattern("5000");
  dp.mutable_entry()->set_queue("sales");
  v1::DialplanResponse dpr;
  ASSERT_TRUE(CALL(stub, SetDialplanEntry, dp, &dpr).ok());
  dp.mutable_entry()->set_queue("nope");
  EXPECT_EQ(CALL(stub, SetDialplanEntry, dp, &dpr).error_code(), grpc::StatusCode::NOT_FOUND);

  // An edge that does not answer: the offer is withdrawn at once and tried again later.
  testing::FakeEdge edge(*nats_, "edge-a");
  edge.set_silent(true);
  v1::EnqueueRequest enq;
  enq.set_call_id("call-1");
  enq.set_dialed("5000");
  enq.set_caller("+4930111");
  enq.set_edge_id("edge-a");
  v1::EnqueueResponse er;
  ASSERT_TRUE(CALL(stub, Enqueue, enq, &er).ok());
  EXPECT_EQ(er.queue(), "sales");
  EXPECT_EQ(er.call().state(), v1::CALL_STATE_WAITING);
  EXPECT_EQ(er.answer_mode(), v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return db_.scalar("SELECT count(*) FROM assignments WHERE state = 'WITHDRAWN'") != "0";
      },
      seconds(5)));
  edge.set_silent(false);
  ASSERT_TRUE(edge.wait_for_offers(1, seconds(5)));
  const v1::Offer offer = edge.offers()[0];
  EXPECT_EQ(offer.call_id(), "call-1");
  EXPECT_EQ(offer.agent_id(), "alice");
  EXPECT_EQ(offer.caller(), "+4930111");
  EXPECT_EQ(offer.ring_timeout_ms(), 5000);

  v1::ReportConnectedRequest conn;
  conn.set_call_id("call-1");
  conn.set_agent_id("alice");
  conn.set_assignment_id(offer.assignment_id());
  v1::ReportResponse rr;
  ASSERT_TRUE(CALL(stub, ReportConnected, conn, &rr).ok());
  EXPECT_EQ(rr.call().state(), v1::CALL_STATE_CONNECTED);
  conn.set_assignment_id(0);
  EXPECT_EQ(CALL(stub, ReportConnected, conn, &rr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListCallsRequest lc;
  v1::ListCallsResponse calls;
  ASSERT_TRUE(CALL(stub, ListCalls, lc, &calls).ok());
  ASSERT_EQ(calls.calls_size(), 1);
  EXPECT_EQ(calls.calls(0).agent_id(), "alice");

  v1::ReportEndedRequest end;
  end.set_call_id("call-1");
  end.set_assignment_id(offer.assignment_id());
  end.set_reason("customer hung up");
  ASSERT_TRUE(CALL(stub, ReportEnded, end, &rr).ok());
  EXPECT_EQ(rr.call().state(), v1::CALL_STATE_ENDED);
  EXPECT_EQ(rr.call().outcome_reason(), "customer hung up");

  // Events on NATS, as protobuf.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (const auto& m : call_events.messages()) {
          if (m.subject == prefix_ + ".call.ended.sales") return true;
        }
        return false;
      },
      seconds(5)));
  std::set<std::string> subjects;
  for (const auto& m : call_events.messages()) subjects.insert(m.subject);
  for (const char* kind : {"enqueued", "offered", "requeued", "connected", "ended"}) {
    EXPECT_TRUE(subjects.count(prefix_ + ".call." + kind + ".sales")) << kind;
  }
  v1::CallEvent ended;
  for (const auto& m : call_events.messages()) {
    if (m.subject == prefix_ + ".call.ended.sales") {
      ASSERT_TRUE(ended.ParseFromString(m.data));
    }
  }
  EXPECT_EQ(ended.call().id(), "call-1");
  EXPECT_EQ(ended.kind(), v1::CallEvent::KIND_ENDED);
  // RESERVED, AVAILABLE (withdrawn), RESERVED, ON_CALL, AVAILABLE: wait for the end of the
  // call rather than for a count (the first events may still be arriving).
  auto status_events = [&] {
    std::vector<std::pair<v1::AgentStatus, v1::AgentStatus>> out;
    for (const auto& m : agent_events.messages()) {
      v1::AgentStatusChanged e;
      if (e.ParseFromString(m.data) && e.agent_id() == "alice") out.push_back({e.from(), e.to()});
    }
    return out;
  };
  const std::pair<v1::AgentStatus, v1::AgentStatus> call_over{v1::AGENT_STATUS_ON_CALL,
                                                              v1::AGENT_STATUS_AVAILABLE};
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const auto events = status_events();
        return std::find(events.begin(), events.end(), call_over) != events.end();
      },
      seconds(5)));
  const auto events = status_events();
  const std::pair<v1::AgentStatus, v1::AgentStatus> answered{v1::AGENT_STATUS_RESERVED,
                                                             v1::AGENT_STATUS_ON_CALL};
  EXPECT_NE(std::find(events.begin(), events.end(), answered), events.end());

  v1::GetQueueStatsRequest sr;
  sr.set_queue("sales");
  v1::GetQueueStatsResponse stats;
  ASSERT_TRUE(CALL(stub, GetQueueStats, sr, &stats).ok());
  ASSERT_EQ(stats.stats_size(), 1);
  EXPECT_EQ(stats.stats(0).answered(), 1);
  EXPECT_EQ(stats.stats(0).agents_available(), 1);

  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return testing::HttpGet(svc->metrics_port(), "/metrics")
                   .find("cc_queue_waiting_calls{queue=\"sales\"}") != std::string::npos;
      },
      seconds(10)));
  const std::string metrics = testing::HttpGet(svc->metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("cc_enqueue_to_offer_seconds_count 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cc_offers_total{queue=\"sales\",result=\"withdrawn\"}"),
            std::string::npos);
}

TEST_F(QueueProcessIt, CcctlManagesQueuesDialplanAndShowsCalls) {
  auto svc = Start();
  AddAgent("bob", {});
  auto ccctl = [&](std::vector<std::string> args) { return Ccctl(*svc, std::move(args)); };
  auto r = ccctl({"queue", "create", "support", "--strategy", "round-robin", "--ring-timeout",
                  "15s", "--max-wait", "5m", "--skill", "english=3", "--wrap-up", "10",
                  "--overflow-hangup", "closed"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_EQ(ccctl({"queue", "create", "support"}).exit_code, 1);
  EXPECT_EQ(ccctl({"queue", "create", "x", "--strategy", "loudest"}).exit_code, 2);
  r = ccctl({"queue", "show", "support"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("ROUND_ROBIN"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("english>=3"), std::string::npos);
  EXPECT_NE(r.output.find("hang up (closed)"), std::string::npos);
  r = ccctl({"queue", "update", "support", "--ring-timeout", "25s", "--wrap-up", "agent"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("ring timeout:     25s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("agent's own"), std::string::npos);
  EXPECT_NE(r.output.find("english>=3"), std::string::npos);  // untouched
  r = ccctl({"queue", "members", "add", "support", "bob", "--position", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  r = ccctl({"queue", "members", "support"});
  EXPECT_NE(r.output.find("bob"), std::string::npos);
  EXPECT_NE(r.output.find("AVAILABLE"), std::string::npos) << r.output;
  ASSERT_EQ(ccctl({"dialplan", "set", "0800123", "support"}).exit_code, 0);
  r = ccctl({"--json", "dialplan", "list"});
  EXPECT_NE(r.output.find("\"pattern\": \"0800123\""), std::string::npos) << r.output;
  r = ccctl({"queue", "list"});
  EXPECT_NE(r.output.find("support"), std::string::npos);

  // Opening hours and announcements, each given whole, shown back; bad hours name the entry.
  r = ccctl({"dialplan", "set", "0800999", "support", "--time-zone", "Europe/Berlin", "--hours",
             "mon-fri 08:00-18:00", "--date", "2026-12-25 closed", "--closed-hangup",
             "after hours"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  r = ccctl({"dialplan", "list"});
  EXPECT_NE(r.output.find("Europe/Berlin: mon-fri 08:00-18:00; 2026-12-25 closed;"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("hang up (after hours)"), std::string::npos) << r.output;
  r = ccctl({"queue", "update", "support", "--time-zone", "UTC", "--hours", "mon-sun closed",
             "--greeting", "en/greeting", "--announce-every", "30s", "--announce-position"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  r = ccctl({"queue", "show", "support"});
  EXPECT_NE(r.output.find("UTC: mon-sun closed; CLOSED now"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("greeting en/greeting; every 30s after 30s: position (en)"),
            std::string::npos)
      << r.output;
  r = ccctl(
      {"queue", "update", "support", "--time-zone", "Mars/Olympus", "--hours", "mon 08:00-09:00"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.errors.find("'Mars/Olympus' is not an IANA time zone"), std::string::npos)
      << r.errors;
  ASSERT_EQ(ccctl({"queue", "update", "support", "--time-zone", ""}).exit_code, 0);
  r = ccctl({"queue", "show", "support"});
  EXPECT_NE(r.output.find("always open"), std::string::npos) << r.output;

  // A waiting call shows up in `calls`, and stats count it.
  auto stub = Stub(*svc);
  v1::EnqueueRequest enq;
  enq.set_call_id("c-77");
  enq.set_queue("support");
  enq.set_edge_id("edge-z");
  v1::EnqueueResponse er;
  ASSERT_TRUE(CALL(stub, Enqueue, enq, &er).ok());
  r = ccctl({"calls"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("c-77"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("WAITING"), std::string::npos);
  r = ccctl({"queue", "stats", "support"});
  EXPECT_NE(r.output.find("support"), std::string::npos);
  EXPECT_EQ(ccctl({"queue", "delete", "support"}).exit_code, 1);  // a call is waiting
  v1::CancelCallRequest cancel;
  cancel.set_call_id("c-77");
  v1::CancelCallResponse cr;
  ASSERT_TRUE(CALL(stub, CancelCall, cancel, &cr).ok());
  r = ccctl({"calls", "--state", "abandoned"});
  EXPECT_NE(r.output.find("ABANDONED"), std::string::npos) << r.output;
  ASSERT_EQ(ccctl({"queue", "members", "remove", "support", "bob"}).exit_code, 0);
  ASSERT_EQ(ccctl({"dialplan", "delete", "0800123"}).exit_code, 0);
  ASSERT_EQ(ccctl({"queue", "delete", "support"}).exit_code, 0);
  EXPECT_EQ(ccctl({"queue", "show", "support"}).exit_code, 1);
}

// IVR menus from a YAML file: imported whole, shown back as YAML that imports again, a
// number led to them, deletion refused while used; mistakes name the file's line, also
// those only the server can see (a queue that does not exist).
TEST_F(QueueProcessIt, CcctlImportsShowsAndDeletesIvrMenus) {
  auto svc = Start();
  auto ccctl = [&](std::vector<std::string> args) { return Ccctl(*svc, std::move(args)); };
  ASSERT_EQ(ccctl({"queue", "create", "sales"}).exit_code, 0);
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
  };
  const std::string good = write("menus.yaml", R"(menus:
  - name: main
    prompts: [menu-main]
    options:
      "1": {queue: sales, priority: 2}
      "2": {menu: pin, language: de}
  - name: pin
    collect: {name: pin, max: 4, then: {queue: sales, skills: {billing: 2}}}
)");
  auto r = ccctl({"ivr", "import", good});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("imported menu main (version 1)"), std::string::npos) << r.output;
  r = ccctl({"ivr", "list"});
  EXPECT_NE(r.output.find("collect pin"), std::string::npos) << r.output;
  r = ccctl({"ivr", "show", "main"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("queue: sales, priority: 2"), std::string::npos) << r.output;
  // What show prints imports again, unchanged but for the version.
  r = ccctl({"ivr", "show"});
  const std::string shown = write("shown.yaml", r.output);
  r = ccctl({"ivr", "import", shown});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("imported menu pin (version 2)"), std::string::npos) << r.output;
  r = ccctl({"dialplan", "set", "0800555", "--menu", "main"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("0800555 -> menu main"), std::string::npos);
  r = ccctl({"ivr", "delete", "main"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("FAILED_PRECONDITION"), std::string::npos) << r.errors;
  // Mistakes, each with its line: the file's own, then the server's.
  const std::string bad = write("bad.yaml", R"(menus:
  - name: other
    options:
      "1": {queue: sales}
      "#": {queue: sales, priorty: 1}
)");
  r = ccctl({"ivr", "import", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find(bad + ":5: menu 'other' key '#': unknown field 'priorty'"),
            std::string::npos)
      << r.errors;
  const std::string unknown_queue = write("unknown.yaml", R"(menus:
  - name: other
    options:
      "1": {queue: sales}
      "2": {queue: nowhere}
)");
  r = ccctl({"ivr", "import", unknown_queue});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find(unknown_queue + ":5: menu 'other' key '2': queue 'nowhere' not found"),
            std::string::npos)
      << r.errors;
  EXPECT_EQ(ccctl({"ivr", "show", "other"}).exit_code, 1);  // nothing of it stored
}

// A callback waiting in its queue shows as such in `ccctl calls`, and the queue's policy in
// `queue show`.
TEST_F(QueueProcessIt, CcctlShowsCallbacksAndTheirPolicy) {
  auto svc = Start();
  auto ccctl = [&](std::vector<std::string> args) { return Ccctl(*svc, std::move(args)); };
  auto r = ccctl({"queue", "create", "cb", "--join-empty", "always", "--callback",
                  "--callback-trunk", "127.0.0.1:5099", "--callback-attempts", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  r = ccctl({"queue", "show", "cb"});
  EXPECT_NE(
      r.output.find("callback:         key 1, via 127.0.0.1:5099, rings 30s, 2 tries 60s apart"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(ccctl({"queue", "update", "cb", "--callback-key", "5"}).exit_code,
            2);  // needs --callback
  auto stub = Stub(*svc);
  v1::EnqueueRequest req;
  req.set_call_id("cb-1");
  req.set_queue("cb");
  req.set_caller("+4930");
  req.set_edge_id("edge-1");
  req.set_callback_number("+4930777");
  v1::EnqueueResponse resp;
  ASSERT_TRUE(CALL(stub, Enqueue, req, &resp).ok());
  r = ccctl({"calls"});
  EXPECT_NE(r.output.find("callback=+4930777 tries=0"), std::string::npos) << r.output;
}
// A connected call transferred with ccctl to another queue, taken there by its agent, and
// its record printed: both agent legs and the transfer between them. The edge hears of the
// transfer on its own subject (KIND_TRANSFERRED, with the leg it ended).
TEST_F(QueueProcessIt, CcctlTransfersACallAndShowsItsChain) {
  auto svc = Start();
  auto stub = Stub(*svc);
  auto ccctl = [&](std::vector<std::string> args) { return Ccctl(*svc, std::move(args)); };
  ASSERT_EQ(ccctl({"queue", "create", "sales", "--wrap-up", "0"}).exit_code, 0);
  // Callers wait in support even before anyone is there (bob joins after the transfer).
  ASSERT_EQ(ccctl({"queue", "create", "support", "--join-empty", "always", "--leave-empty",
                   "always"})
                .exit_code,
            0);
  AddAgent("alice", {"sales"});
  testing::FakeEdge edge(*nats_, "edge-t");
  testing::MessageCollector edge_events(*nats_, prefix_ + ".edge.edge-t.call.transferred");
  v1::EnqueueRequest enq;
  enq.set_call_id("t-1");
  enq.set_queue("sales");
  enq.set_caller("+4930999");
  enq.set_edge_id("edge-t");
  v1::EnqueueResponse er;
  ASSERT_TRUE(CALL(stub, Enqueue, enq, &er).ok());
  auto connect = [&](size_t n) {
    ASSERT_TRUE(edge.wait_for_offers(n, seconds(5)));
    const v1::Offer o = edge.offers()[n - 1];
    v1::ReportConnectedRequest conn;
    conn.set_call_id("t-1");
    conn.set_agent_id(o.agent_id());
    conn.set_assignment_id(o.assignment_id());
    v1::ReportResponse rr;
    ASSERT_TRUE(CALL(stub, ReportConnected, conn, &rr).ok());
  };
  connect(1);
  auto r = ccctl({"calls", "transfer", "t-1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;  // no target
  r = ccctl({"calls", "transfer", "t-1", "--queue", "nowhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("NOT_FOUND"), std::string::npos) << r.errors;
  r = ccctl({"calls", "transfer", "t-1", "--queue", "support"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("transferred from alice to queue support (WAITING)"), std::string::npos)
      << r.output;
  ASSERT_TRUE(edge_events.wait_for(1, seconds(5)));
  v1::CallEvent moved;
  ASSERT_TRUE(moved.ParseFromString(edge_events.messages()[0].data));
  EXPECT_EQ(moved.kind(), v1::CallEvent::KIND_TRANSFERRED);
  EXPECT_EQ(moved.transferred_assignment_id(), edge.offers()[0].assignment_id());
  AddAgent("bob", {"support"});
  connect(2);
  EXPECT_EQ(edge.offers()[1].agent_id(), "bob");
  r = ccctl({"calls", "show", "t-1"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("transferred to queue support"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("COMPLETED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bob"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CONNECTED"), std::string::npos) << r.output;
}

// Several instances on one database, dozens of agents, hundreds of calls with random
// failures and abandons, and one instance killed with SIGKILL mid-run. Afterwards every
// call is in exactly one terminal state, no agent ever held two calls at once, and no agent
// is left reserved or on a call.

TEST_F(QueueProcessIt, SeveralInstancesWithRandomFailuresAndAKill9StayConsistent) {
  constexpr int kInstances = 3, kAgents = 24, kCalls = 300, kEdges = 3;
  std::vector<std::unique_ptr<testing::ServiceProcess>> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(Start({"--lease-grace=500ms", "--offer-ack-timeout=500ms"}));
    ASSERT_TRUE(instances.back()->ready());
  }
  std::vector<std::string> targets;
  for (auto& p : instances) targets.push_back(p->target());
  std::mutex stubs_mu;
  std::atomic<int> dead{-1};  // the killed instance
  // Any live instance will do; a dead one fails fast and the next is tried.
  auto with_stub = [&](auto fn) -> grpc::Status {
    static thread_local std::mt19937 rng(std::random_device{}());
    grpc::Status st;
    for (int attempt = 0; attempt < 6; ++attempt) {
      int i = static_cast<int>(rng() % targets.size());
      if (i == dead.load()) i = (i + 1) % static_cast<int>(targets.size());
      std::string target;
      {
        std::lock_guard lock(stubs_mu);
        target = targets[static_cast<size_t>(i)];
      }
      auto stub = v1::QueueService::NewStub(MakeChannel(target));
      st = fn(*stub);
      if (st.error_code() != grpc::StatusCode::UNAVAILABLE &&
          st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return st;
      }
    }
    return st;
  };

  {
    auto stub = Stub(*instances[0]);
    for (const char* name : {"sales", "support"}) {
      v1::CreateQueueRequest c;
      *c.mutable_queue() = MakeQueue(name);
      c.mutable_queue()->mutable_ring_timeout()->set_seconds(1);
      c.mutable_queue()->set_requeue_priority_boost(1);
      v1::QueueResponse r;
      ASSERT_TRUE(CALL(stub, CreateQueue, c, &r).ok());
    }
  }
  for (int i = 0; i < kAgents; ++i) {
    AddAgent("agent" + std::to_string(i),
             i % 3 == 0 ? std::vector<std::string>{"sales", "support"}
                        : std::vector<std::string>{i % 2 ? "sales" : "support"});
  }

  // Edges: acknowledge, then ring briefly; 25 % of offers fail, the rest talk and hang up.
  std::atomic<int> reports_refused{0};
  auto behave = [&](const v1::Offer& o) {
    thread_local std::mt19937 rng(std::random_device{}());
    std::this_thread::sleep_for(milliseconds(rng() % 30));
    const int roll = static_cast<int>(rng() % 100);
    if (roll < 25) {
      v1::ReportFailedRequest f;
      f.set_call_id(o.call_id());
      f.set_assignment_id(o.assignment_id());
      f.set_reason(roll < 10 ? v1::OFFER_FAILURE_NO_ANSWER
                             : (roll < 18 ? v1::OFFER_FAILURE_BUSY : v1::OFFER_FAILURE_REJECTED));
      v1::ReportResponse r;
      auto st = with_stub([&](v1::QueueService::Stub& s) { return CALL(&s, ReportFailed, f, &r); });
      if (!st.ok()) reports_refused++;
      return;
    }
    v1::ReportConnectedRequest c;
    c.set_call_id(o.call_id());
    c.set_assignment_id(o.assignment_id());
    v1::ReportResponse r;
    auto st =
        with_stub([&](v1::QueueService::Stub& s) { return CALL(&s, ReportConnected, c, &r); });
    if (!st.ok()) {
      reports_refused++;  // e.g. the caller abandoned meanwhile: the edge hangs up the agent
      return;
    }
    std::this_thread::sleep_for(milliseconds(20 + rng() % 80));
    v1::ReportEndedRequest e;
    e.set_call_id(o.call_id());
    e.set_assignment_id(o.assignment_id());
    auto st2 = with_stub([&](v1::QueueService::Stub& s) { return CALL(&s, ReportEnded, e, &r); });
    if (!st2.ok()) reports_refused++;
  };
  std::vector<std::unique_ptr<testing::FakeEdge>> edges;
  for (int e = 0; e < kEdges; ++e) {
    edges.push_back(
        std::make_unique<testing::FakeEdge>(*nats_, "edge-" + std::to_string(e), behave, 8));
  }

  // Callers arrive over ~3 s; 10 % hang up while waiting or ringing.
  std::vector<std::thread> callers;
  std::atomic<int> enqueued{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) * 31u + 7u);
      for (int i = t; i < kCalls; i += 4) {
        const std::string id = "call-" + std::to_string(i);
        v1::EnqueueRequest enq;
        enq.set_call_id(id);
        enq.set_queue(i % 2 ? "sales" : "support");
        enq.set_priority(static_cast<int>(rng() % 3));
        enq.set_edge_id("edge-" + std::to_string(i % kEdges));
        v1::EnqueueResponse r;
        auto st = with_stub([&](v1::QueueService::Stub& s) { return CALL(&s, Enqueue, enq, &r); });
        if (st.ok()) enqueued++;
        if (rng() % 10 == 0) {
          std::this_thread::sleep_for(milliseconds(rng() % 200));
          v1::CancelCallRequest c;
          c.set_call_id(id);
          v1::CancelCallResponse cr;
          with_stub([&](v1::QueueService::Stub& s) { return CALL(&s, CancelCall, c, &cr); });
        }
        std::this_thread::sleep_for(milliseconds(rng() % 40));
      }
    });
  }
  // Kill one instance in the middle of it all, without warning.
  std::this_thread::sleep_for(milliseconds(1500));
  dead = 1;
  instances[1]->process().signal(SIGKILL);
  for (auto& c : callers) c.join();
  EXPECT_EQ(enqueued.load(), kCalls);

  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return db_.scalar(
                   "SELECT count(*) FROM calls WHERE state IN"
                   " ('WAITING','OFFERED','CONNECTED')") == "0";
      },
      seconds(90)))
      << db_.scalar(
             "SELECT string_agg(id || ':' || state, ' ') FROM calls WHERE state IN"
             " ('WAITING','OFFERED','CONNECTED')");
  edges.clear();

  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  // Every call is in exactly one terminal state, with its end time.
  EXPECT_EQ(tx.exec("SELECT count(*) FROM calls")[0][0].as<int>(), kCalls);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM calls WHERE state IN ('ENDED','ABANDONED') AND"
                    " ended_at IS NOT NULL")[0][0]
                .as<int>(),
            kCalls);
  EXPECT_GT(tx.exec("SELECT count(*) FROM calls WHERE state = 'ENDED'")[0][0].as<int>(),
            kCalls / 2);
  // No call was answered twice; no offer is left open.
  EXPECT_EQ(tx.exec("SELECT count(*) FROM (SELECT call_id FROM assignments WHERE connected_at"
                    " IS NOT NULL GROUP BY call_id HAVING count(*) > 1) x")[0][0]
                .as<int>(),
            0);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM assignments WHERE state IN ('OFFERED','CONNECTED')")[0][0]
                .as<int>(),
            0)
      << tx.exec(
               "SELECT string_agg(format('%s is %s (%s), ended %s; its offers: %s', c.id, c.state,"
               " c.outcome_reason, c.ended_at, (SELECT string_agg(format('#%s %s %s %s..%s %s',"
               " x.id, x.agent_id, x.state, x.offered_at, x.ended_at, x.outcome), ', ' ORDER BY"
               " x.id) FROM assignments x WHERE x.call_id = c.id)), E'\\n') FROM calls c"
               " WHERE c.id IN (SELECT call_id FROM assignments WHERE state IN"
               " ('OFFERED','CONNECTED'))")[0][0]
             .c_str();
  // No agent held two calls at once: its offers never overlap in time...
  const auto overlaps = tx.exec(
      "SELECT count(*) FROM assignments a JOIN assignments b ON a.agent_id = b.agent_id"
      " AND a.id < b.id AND b.offered_at < a.ended_at AND a.offered_at < b.ended_at");
  EXPECT_EQ(overlaps[0][0].as<int>(), 0)
      << tx.exec(
               "SELECT string_agg(format('%s: #%s %s..%s %s / #%s %s..%s %s', a.agent_id, a.id,"
               " a.offered_at, a.ended_at, a.outcome, b.id, b.offered_at, b.ended_at, b.outcome), "
               "E'\\n')"
               " FROM assignments a JOIN assignments b ON a.agent_id = b.agent_id"
               " AND a.id < b.id AND b.offered_at < a.ended_at AND a.offered_at < b.ended_at")[0][0]
             .c_str();
  // ... and its audit trail is one legal chain, never RESERVED while busy.
  for (const auto& agent : tx.exec("SELECT id, status, active_calls FROM agents")) {
    const std::string id = agent[0].as<std::string>();
    EXPECT_EQ(agent[2].as<int>(), 0)
        << id << ": "
        << tx.exec_params(
                 "SELECT string_agg(format('#%s %s %s %s..%s..%s %s', id, call_id, state,"
                 " offered_at, connected_at, ended_at, outcome), E'\\n' ORDER BY id)"
                 " FROM assignments WHERE agent_id = $1",
                 id)[0][0]
               .c_str();
    const std::string status = agent[1].as<std::string>();
    EXPECT_TRUE(status == "AVAILABLE" || status == "PAUSED") << id << " is " << status;
    std::string from = "LOGGED_OUT";
    for (const auto& r : tx.exec_params("SELECT from_status, to_status FROM agent_status_audit"
                                        " WHERE agent_id = $1 ORDER BY id",
                                        id)) {
      ASSERT_EQ(r[0].as<std::string>(), from) << id;
      ASSERT_TRUE(IsLegalTransition(*AgentStatusFromString(r[0].as<std::string>()),
                                    *AgentStatusFromString(r[1].as<std::string>())));
      from = r[1].as<std::string>();
    }
    EXPECT_EQ(from, status) << id;
  }
  // The kill really interrupted work: the survivors recovered what it left behind.
  EXPECT_NE(instances[1]->process().wait(seconds(1)), 0);
  RecordProperty("refused_reports", reports_refused.load());
}

}  // namespace
}  // namespace cc::queue
