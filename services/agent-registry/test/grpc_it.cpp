// The agent-registry binary end to end: gRPC API, NATS events, metrics, two replicas on one
// database, graceful shutdown, and ccctl against it.
#include <signal.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/events.pb.h"
#include "common/agent_status.h"
#include "common/grpc_server.h"
#include "testing.h"

namespace cc::registry {
namespace {

namespace v1 = callcenter::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

// One agent-registry process on its own ports, sharing the test's database and prefix.
class Registry : public testing::ServiceProcess {
 public:
  Registry(const testing::TestDatabase& db, const std::string& prefix,
           std::vector<std::string> extra = {})
      : ServiceProcess(CC_AGENT_REGISTRY_BIN, Args(db, prefix, std::move(extra))) {}
  std::unique_ptr<v1::AgentRegistry::Stub> stub() const {
    return v1::AgentRegistry::NewStub(MakeChannel(target()));
  }

 private:
  static std::vector<std::string> Args(const testing::TestDatabase& db, const std::string& prefix,
                                       std::vector<std::string> extra) {
    std::vector<std::string> args = {"--db-url=" + db.url(), "--nats-url=" + testing::NatsUrl(),
                                     "--nats-subject-prefix=" + prefix, "--sip-realm=it.test",
                                     "--drain-timeout=2s"};
    for (auto& e : extra) args.push_back(std::move(e));
    return args;
  }
};

class RegistryIt : public ::testing::Test {
 protected:
  void SetUp() override { nats_ = testing::ConnectNats(prefix_); }
  static grpc::Status Create(v1::AgentRegistry::Stub& stub, const std::string& id,
                             v1::CreateAgentResponse* out = nullptr) {
    v1::CreateAgentRequest req;
    req.set_id(id);
    req.set_display_name("Agent " + id);
    req.set_sip_username(id);
    req.set_password(id + "-pw");
    auto* s = req.add_skills();
    s->set_name("english");
    s->set_level(6);
    req.add_queues()->set_queue("sales");
    v1::CreateAgentResponse resp;
    auto ctx = MakeContext(seconds(5));
    return stub.CreateAgent(ctx.get(), req, out ? out : &resp);
  }
  testing::TestDatabase db_;
  std::string prefix_ = testing::UniqueSubjectPrefix();
  std::unique_ptr<NatsClient> nats_;
};

#define CALL(stub, method, req, resp) (stub)->method(MakeContext(seconds(5)).get(), (req), (resp))

TEST_F(RegistryIt, ApiEndToEndWithEvents) {
  Registry reg(db_, prefix_);
  ASSERT_TRUE(reg.ready()) << reg.process().output();
  testing::MessageCollector status_events(*nats_, prefix_ + ".agent.status.>");
  testing::MessageCollector routable_events(*nats_, prefix_ + ".agent.routable.>");
  auto stub = reg.stub();

  v1::CreateAgentResponse created;
  ASSERT_TRUE(Create(*stub, "alice", &created).ok());
  EXPECT_EQ(created.agent().realm(), "it.test");
  EXPECT_EQ(created.agent().status(), v1::AGENT_STATUS_LOGGED_OUT);
  auto dup = Create(*stub, "alice");
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  {  // bad input: INVALID_ARGUMENT with a message, nothing written
    v1::CreateAgentRequest bad;
    bad.set_id("bob");
    bad.set_display_name("Bob");
    bad.set_sip_username("bob");
    bad.set_password("pw");
    bad.add_skills()->set_name("english");  // level 0
    v1::CreateAgentResponse resp;
    auto st = CALL(stub, CreateAgent, bad, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("levels are 1 to 10"), std::string::npos);
    v1::GetAgentRequest get;
    get.set_id("bob");
    v1::GetAgentResponse got;
    EXPECT_EQ(CALL(stub, GetAgent, get, &got).error_code(), grpc::StatusCode::NOT_FOUND);
    v1::GetAgentRequest empty;
    EXPECT_EQ(CALL(stub, GetAgent, empty, &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }

  v1::StatusChangeResponse sc;
  v1::LoginRequest login;
  login.set_id("alice");
  ASSERT_TRUE(CALL(stub, Login, login, &sc).ok());
  EXPECT_EQ(sc.agent().status(), v1::AGENT_STATUS_AVAILABLE);
  v1::PauseRequest pause;
  pause.set_id("alice");
  EXPECT_EQ(CALL(stub, Pause, pause, &sc).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pause.set_reason("coffee");
  ASSERT_TRUE(CALL(stub, Pause, pause, &sc).ok());
  EXPECT_EQ(sc.agent().pause_reason(), "coffee");
  v1::ChangeStatusRequest illegal;
  illegal.set_id("alice");
  illegal.set_to(v1::AGENT_STATUS_ON_CALL);
  auto st = CALL(stub, ChangeStatus, illegal, &sc);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("PAUSED to ON_CALL"), std::string::npos);
  v1::ChangeStatusRequest unknown_status;
  unknown_status.set_id("alice");
  unknown_status.set_to(static_cast<v1::AgentStatus>(42));
  EXPECT_EQ(CALL(stub, ChangeStatus, unknown_status, &sc).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::UnpauseRequest unpause;
  unpause.set_id("alice");
  ASSERT_TRUE(CALL(stub, Unpause, unpause, &sc).ok());

  // Events arrive as protobuf with the transition.
  ASSERT_TRUE(status_events.wait_for(3, seconds(5)));
  v1::AgentStatusChanged ev;
  ASSERT_TRUE(ev.ParseFromString(status_events.messages()[1].data));
  EXPECT_EQ(ev.agent_id(), "alice");
  EXPECT_EQ(ev.from(), v1::AGENT_STATUS_AVAILABLE);
  EXPECT_EQ(ev.to(), v1::AGENT_STATUS_PAUSED);
  EXPECT_GT(ev.meta().seq(), 0);
  EXPECT_EQ(status_events.messages()[1].subject, prefix_ + ".agent.status.alice");

  // Bindings.
  v1::RegisterBindingRequest reg_req;
  reg_req.set_sip_username("alice");
  reg_req.set_contact_uri("sip:alice@127.0.0.1;transport=udp");
  reg_req.set_expires_seconds(120);
  v1::RegisterBindingResponse reg_resp;
  st = CALL(stub, RegisterBinding, reg_req, &reg_resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("no port"), std::string::npos);
  reg_req.set_contact_uri("sip:alice@127.0.0.1:5093;transport=udp");
  reg_req.set_source_address("127.0.0.1");
  reg_req.set_source_port(5093);
  reg_req.set_transport(v1::SIP_TRANSPORT_UDP);
  ASSERT_TRUE(CALL(stub, RegisterBinding, reg_req, &reg_resp).ok());
  EXPECT_TRUE(reg_resp.created());
  EXPECT_EQ(reg_resp.bindings_size(), 1);
  ASSERT_TRUE(routable_events.wait_for(1, seconds(5)));
  v1::AgentRoutabilityChanged rev;
  ASSERT_TRUE(rev.ParseFromString(routable_events.messages()[0].data));
  EXPECT_TRUE(rev.routable());

  // Credentials are the edge's alone: not even an admin reads them.
  v1::GetCredentialsRequest creds_req;
  creds_req.set_sip_username("alice");
  v1::GetCredentialsResponse creds;
  EXPECT_EQ(CALL(stub, GetCredentials, creds_req, &creds).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string edge = testing::ApiTokens().edge;
  ASSERT_TRUE(stub->GetCredentials(testing::ContextAs(edge).get(), creds_req, &creds).ok());
  EXPECT_EQ(creds.ha1().size(), 32u);
  EXPECT_EQ(creds.realm(), "it.test");
  creds_req.set_sip_username("mallory");
  EXPECT_EQ(stub->GetCredentials(testing::ContextAs(edge).get(), creds_req, &creds).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::ListAgentsRequest list_req;
  list_req.set_routable_only(true);
  v1::ListAgentsResponse list;
  ASSERT_TRUE(CALL(stub, ListAgents, list_req, &list).ok());
  ASSERT_EQ(list.agents_size(), 1);
  EXPECT_TRUE(list.agents(0).routable());
  list_req.Clear();
  list_req.add_statuses(v1::AGENT_STATUS_PAUSED);
  ASSERT_TRUE(CALL(stub, ListAgents, list_req, &list).ok());
  EXPECT_EQ(list.agents_size(), 0);

  v1::UpdateAgentRequest upd;
  upd.set_id("alice");
  upd.set_max_calls(2);
  upd.set_expected_version(1);  // stale: several changes happened since
  v1::UpdateAgentResponse upd_resp;
  EXPECT_EQ(CALL(stub, UpdateAgent, upd, &upd_resp).error_code(), grpc::StatusCode::ABORTED);
  upd.clear_expected_version();
  upd.mutable_skills();  // present and empty: clears skills
  ASSERT_TRUE(CALL(stub, UpdateAgent, upd, &upd_resp).ok());
  EXPECT_EQ(upd_resp.agent().max_calls(), 2);
  EXPECT_EQ(upd_resp.agent().skills_size(), 0);
  EXPECT_EQ(upd_resp.agent().queues_size(), 1);

  v1::UnregisterBindingRequest unreg;
  unreg.set_sip_username("alice");
  unreg.set_contact_uri("*");
  v1::UnregisterBindingResponse unreg_resp;
  ASSERT_TRUE(CALL(stub, UnregisterBinding, unreg, &unreg_resp).ok());
  EXPECT_EQ(unreg_resp.removed(), 1);
  ASSERT_TRUE(routable_events.wait_for(2, seconds(5)));

  v1::DeleteAgentRequest del;
  del.set_id("alice");
  v1::DeleteAgentResponse del_resp;
  ASSERT_TRUE(CALL(stub, DeleteAgent, del, &del_resp).ok());
  EXPECT_EQ(CALL(stub, DeleteAgent, del, &del_resp).error_code(), grpc::StatusCode::NOT_FOUND);

  // Metrics: the gauges and the per-method latencies are exposed.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return testing::HttpGet(reg.metrics_port(), "/metrics").find("cc_agents{") !=
               std::string::npos;
      },
      seconds(5)));
  const std::string metrics = testing::HttpGet(reg.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("cc_grpc_server_handled_total{code=\"ALREADY_EXISTS\""),
            std::string::npos);
  EXPECT_NE(metrics.find("cc_grpc_server_handling_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.find("cc_registrations_total{result=\"created\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("cc_agent_bindings"), std::string::npos);
}

TEST_F(RegistryIt, ExpiredBindingMakesTheAgentUnroutableWithAnEvent) {
  Registry reg(db_, prefix_, {"--min-expires=1", "--sweep-interval=100ms"});
  ASSERT_TRUE(reg.ready()) << reg.process().output();
  testing::MessageCollector routable(*nats_, prefix_ + ".agent.routable.>");
  auto stub = reg.stub();
  ASSERT_TRUE(Create(*stub, "bob").ok());
  v1::RegisterBindingRequest r;
  r.set_sip_username("bob");
  r.set_contact_uri("sip:bob@127.0.0.1:5094");
  r.set_expires_seconds(1);
  v1::RegisterBindingResponse resp;
  ASSERT_TRUE(CALL(stub, RegisterBinding, r, &resp).ok());
  ASSERT_TRUE(routable.wait_for(2, seconds(10)));
  v1::AgentRoutabilityChanged gone;
  ASSERT_TRUE(gone.ParseFromString(routable.messages()[1].data));
  EXPECT_FALSE(gone.routable());
  EXPECT_EQ(gone.reason(), "expired");
  v1::GetAgentRequest get;
  get.set_id("bob");
  v1::GetAgentResponse got;
  ASSERT_TRUE(CALL(stub, GetAgent, get, &got).ok());
  EXPECT_FALSE(got.agent().routable());
}

// Two replicas on one database under concurrent status changes and optimistic updates:
// every change is audited once, as one legal chain per agent, and matches the events.
TEST_F(RegistryIt, TwoReplicasStayConsistentUnderConcurrentUpdates) {
  Registry a(db_, prefix_);
  Registry b(db_, prefix_);
  ASSERT_TRUE(a.ready() && b.ready()) << a.process().output() << b.process().output();
  testing::MessageCollector events(*nats_, prefix_ + ".agent.status.>");
  const std::vector<std::string> agents = {"x1", "x2", "x3"};
  {
    auto stub = a.stub();
    for (const auto& id : agents) ASSERT_TRUE(Create(*stub, id).ok());
  }
  constexpr int kThreads = 6, kOps = 50;
  std::atomic<int> ok{0}, refused{0}, update_wins{0}, update_conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = (t % 2 ? a : b).stub();
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u);
      for (int i = 0; i < kOps; ++i) {
        const std::string& id = agents[rng() % agents.size()];
        if (rng() % 5 == 0) {
          // Read-modify-write with the version: at most one writer per version wins.
          v1::GetAgentRequest g;
          g.set_id(id);
          v1::GetAgentResponse cur;
          if (!CALL(stub, GetAgent, g, &cur).ok()) continue;
          v1::UpdateAgentRequest u;
          u.set_id(id);
          u.set_display_name("v" + std::to_string(cur.agent().version()));
          u.set_expected_version(cur.agent().version());
          v1::UpdateAgentResponse ur;
          auto st = CALL(stub, UpdateAgent, u, &ur);
          if (st.ok()) {
            ++update_wins;
          } else if (st.error_code() == grpc::StatusCode::ABORTED) {
            ++update_conflicts;
          }
          continue;
        }
        v1::ChangeStatusRequest req;
        req.set_id(id);
        req.set_to(static_cast<v1::AgentStatus>(1 + rng() % 6));
        req.set_reason("r" + std::to_string(t));
        v1::StatusChangeResponse resp;
        auto st = CALL(stub, ChangeStatus, req, &resp);
        if (st.ok()) {
          ++ok;
        } else {
          ASSERT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
          ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_GT(update_wins.load(), 0);

  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  int audit_rows = 0;
  for (const auto& id : agents) {
    std::string from = "LOGGED_OUT";
    for (const auto& r :
         tx.exec_params("SELECT from_status, to_status FROM agent_status_audit WHERE agent_id = $1 "
                        "ORDER BY id",
                        id)) {
      ++audit_rows;
      ASSERT_EQ(r[0].as<std::string>(), from) << id;
      ASSERT_TRUE(IsLegalTransition(*AgentStatusFromString(r[0].as<std::string>()),
                                    *AgentStatusFromString(r[1].as<std::string>())));
      from = r[1].as<std::string>();
    }
    EXPECT_EQ(tx.exec_params("SELECT status FROM agents WHERE id = $1", id)[0][0].as<std::string>(),
              from);
    // Display name always matches a version the writer saw: no lost update went unnoticed.
    const auto row = tx.exec_params("SELECT display_name, version FROM agents WHERE id = $1", id);
    EXPECT_EQ(row[0][0].as<std::string>().substr(0, 1) == "v" ||
                  row[0][0].as<std::string>() == "Agent " + id,
              true);
  }
  ASSERT_TRUE(events.wait_for(static_cast<size_t>(audit_rows), seconds(10)));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(events.messages().size(), static_cast<size_t>(audit_rows));  // one event each
}

TEST_F(RegistryIt, SigtermDrainsAndExitsCleanly) {
  Registry reg(db_, prefix_);
  ASSERT_TRUE(reg.ready()) << reg.process().output();
  reg.process().signal(SIGTERM);
  EXPECT_EQ(reg.process().wait(seconds(15)), 0) << reg.process().output();
  const std::string out = reg.process().output();
  EXPECT_NE(out.find("\"msg\":\"shutting down\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"msg\":\"stopped\""), std::string::npos) << out;
}

// --migrate (the Helm chart's default) brings an empty database to the current schema before
// serving; an unreachable database makes it exit 1 instead of serving without a schema.
TEST(RegistryMigrateIt, MigrateAtStartupOnAnEmptyDatabase) {
  testing::TestDatabase empty(/*migrate=*/false);
  const std::string prefix = testing::UniqueSubjectPrefix();
  {
    Registry reg(empty, prefix, {"--migrate"});
    ASSERT_TRUE(reg.ready()) << reg.process().output();
    EXPECT_EQ(empty.scalar("SELECT count(*) > 0 FROM schema_migrations"), "t");
    auto stub = reg.stub();
    v1::CreateAgentRequest req;
    req.set_id("m1");
    req.set_display_name("M");
    req.set_sip_username("m1");
    req.set_password("pw");
    v1::CreateAgentResponse resp;
    auto ctx = MakeContext(seconds(5));
    EXPECT_TRUE(stub->CreateAgent(ctx.get(), req, &resp).ok());
  }
  auto r = testing::RunCommand(
      CC_AGENT_REGISTRY_BIN,
      {"--migrate",
       "--db-url=postgresql://nobody@127.0.0.1:" + std::to_string(testing::FreePort()) + "/x",
       "--nats-url=" + testing::NatsUrl(), "--grpc-listen=127.0.0.1:0", "--metrics-listen="});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("migration failed"), std::string::npos) << r.errors;
}

TEST_F(RegistryIt, BadConfigurationExitsWithAClearMessage) {
  auto r = testing::RunCommand(CC_AGENT_REGISTRY_BIN, {"--min-expires=0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.errors.find("min-expires"), std::string::npos) << r.errors;
  auto help = testing::RunCommand(CC_AGENT_REGISTRY_BIN, {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("CC_DB_URL"), std::string::npos);
}

// ccctl against a running registry: tables by default, --json for scripts, exit codes.
// Every call needs a bearer token whose role allows it; a denial is UNAUTHENTICATED or
// PERMISSION_DENIED with a message, and changes nothing.
TEST_F(RegistryIt, EveryCallNeedsATokenWhoseRoleAllowsIt) {
  Registry reg(db_, prefix_);
  ASSERT_TRUE(reg.ready()) << reg.process().output();
  auto stub = reg.stub();
  ASSERT_TRUE(Create(*stub, "erin").ok());  // as admin
  const auto& t = testing::ApiTokens();
  v1::ListAgentsRequest list;
  v1::ListAgentsResponse agents;
  auto none = stub->ListAgents(testing::ContextAs("").get(), list, &agents);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.error_message().find("bearer token"), std::string::npos);
  EXPECT_EQ(
      stub->ListAgents(testing::ContextAs("not-a-token-at-all").get(), list, &agents).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  // read-only: reads, nothing else.
  EXPECT_TRUE(stub->ListAgents(testing::ContextAs(t.read_only).get(), list, &agents).ok());
  EXPECT_EQ(agents.agents_size(), 1);
  v1::CreateAgentRequest create;
  create.set_id("frank");
  create.set_display_name("Frank");
  create.set_sip_username("frank");
  create.set_password("frank-pw");
  v1::CreateAgentResponse created;
  auto denied = stub->CreateAgent(testing::ContextAs(t.read_only).get(), create, &created);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(denied.error_message().find("read-only"), std::string::npos) << denied.error_message();
  v1::LoginRequest login;
  login.set_id("erin");
  v1::StatusChangeResponse changed;
  EXPECT_EQ(stub->Login(testing::ContextAs(t.read_only).get(), login, &changed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // supervisor: agents' state, not the agents themselves.
  EXPECT_TRUE(stub->Login(testing::ContextAs(t.supervisor).get(), login, &changed).ok());
  EXPECT_EQ(
      stub->CreateAgent(testing::ContextAs(t.supervisor).get(), create, &created).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  // edge: bindings and credentials only.
  EXPECT_EQ(stub->CreateAgent(testing::ContextAs(t.edge).get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub->ListAgents(testing::ContextAs(t.edge).get(), list, &agents).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Nothing the denied calls asked for happened.
  ASSERT_TRUE(CALL(stub, ListAgents, list, &agents).ok());
  EXPECT_EQ(agents.agents_size(), 1);
  // ccctl without a token is refused with the reason.
  auto r = testing::RunCommand(CC_CCCTL_BIN, {"--server", reg.target(), "agent", "list"},
                               {{"CC_ENV_FILE", "/nonexistent"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("UNAUTHENTICATED"), std::string::npos) << r.errors;
}

TEST_F(RegistryIt, CcctlManagesAgents) {
  Registry reg(db_, prefix_);
  ASSERT_TRUE(reg.ready()) << reg.process().output();
  auto ccctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", reg.target()});
    return testing::RunCommand(
        CC_CCCTL_BIN, args,
        {{"CC_ENV_FILE", "/nonexistent"}, {"CC_API_TOKEN_FILE", testing::ApiTokens().admin_file}});
  };
  auto r = ccctl({"agent", "create", "dave", "--name", "Dave D", "--user", "1004", "--password",
                  "pw", "--skill", "english=9", "--skill", "spanish=3", "--queue", "sales:2"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("created agent dave"), std::string::npos);

  r = ccctl({"agent", "create", "dave", "--password", "pw"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("ALREADY_EXISTS"), std::string::npos);
  EXPECT_EQ(std::count(r.errors.begin(), r.errors.end(), '\n'), 1);  // one line

  ASSERT_EQ(ccctl({"agent", "login", "dave"}).exit_code, 0);
  r = ccctl({"agent", "pause", "dave", "--reason", "lunch"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("dave is PAUSED (lunch)"), std::string::npos) << r.output;

  r = ccctl({"agent", "list"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("ID"), std::string::npos);
  EXPECT_NE(r.output.find("PAUSED(lunch)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("english=9,spanish=3"), std::string::npos) << r.output;

  r = ccctl({"--json", "agent", "show", "dave"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("\"sip_username\": \"1004\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"status\": \"AGENT_STATUS_PAUSED\""), std::string::npos);
  EXPECT_EQ(r.output.find("ha1"), std::string::npos);  // the digest never leaves via the API

  ASSERT_EQ(ccctl({"agent", "unpause", "dave"}).exit_code, 0);
  r = ccctl({"agent", "update", "dave", "--wrap-up", "30", "--clear-queues"});
  ASSERT_EQ(r.exit_code, 0) << r.errors;
  EXPECT_NE(r.output.find("wrap-up:       30s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("queues:        -"), std::string::npos) << r.output;

  r = ccctl({"agent", "bindings", "dave"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("CONTACT"), std::string::npos);

  r = ccctl({"agent", "logout", "dave"});
  ASSERT_EQ(r.exit_code, 0);
  r = ccctl({"agent", "delete", "dave"});
  ASSERT_EQ(r.exit_code, 0);
  r = ccctl({"agent", "show", "dave"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("NOT_FOUND"), std::string::npos);

  EXPECT_EQ(ccctl({"agent", "frobnicate"}).exit_code, 2);
  EXPECT_EQ(ccctl({"agent", "create", "x", "--skill", "bad"}).exit_code, 2);
  EXPECT_EQ(ccctl({"agent", "pause", "x"}).exit_code, 2);
  r = testing::RunCommand(CC_CCCTL_BIN, {"--server", "127.0.0.1:1", "agent", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.errors.find("UNAVAILABLE"), std::string::npos) << r.errors;
}

}  // namespace
}  // namespace cc::registry
