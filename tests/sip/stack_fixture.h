#pragma once

// The fixture of the on-the-wire tests: the four services as processes on their own ports, one
// database, one NATS subject prefix, and SIPp playing customers and agents (scenarios in this
// folder). After every scenario the stack must be back to zero dialogs, zero relay legs and
// all agents available.
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/events.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "stack.h"
#include "testing.h"

namespace cc {

namespace v1 = callcenter::v1;

inline const std::string kScenarios = CC_SIP_SCENARIOS;

class StackIt : public ::testing::Test {
 protected:
  using milliseconds = std::chrono::milliseconds;
  using seconds = std::chrono::seconds;

  void SetUp() override {
    nats_ = testing::ConnectNats(prefix_);
    const int rtp = 40000 + static_cast<int>(std::stoul(RandomHex(2), nullptr, 16) % 190) * 100;
    testing::StackOptions o;
    o.db_url = db_.url();
    o.nats_url = testing::NatsUrl();
    o.subject_prefix = prefix_;
    o.common = {"--drain-timeout=1s", "--log-level=warn"};
    o.registry_args = {"--sip-realm=test.local", "--min-expires=1", "--sweep-interval=200ms"};
    o.queue_args = {"--sweep-interval=100ms", "--match-interval=200ms", "--lease-grace=2s"};
    // The default prompts the build spoke (tools/prompts.sh), as an installation has them.
    o.relay_args = {media_timeout_, "--default-prompt-dir=" CC_DEFAULT_PROMPT_DIR};
    o.relay_args.insert(o.relay_args.end(), extra_relay_args_.begin(), extra_relay_args_.end());
    o.relays = relays_;
    o.rtp_port_min = rtp;
    o.rtp_ports_per_relay = 100;
    o.sip_port = sip_port_wanted_;
    o.queue_args.insert(o.queue_args.end(), extra_queue_args_.begin(), extra_queue_args_.end());
    o.edge_args = {"--sip-realm=test.local", "--edge-id=edge-it", "--min-expires=2",
                   "--auth-failures=3",      "--auth-block=30s",  "--nonce-lifetime=10"};
    o.edge_args.insert(o.edge_args.end(), extra_edge_args_.begin(), extra_edge_args_.end());
    stack_ = std::make_unique<testing::Stack>(
        testing::StackBinaries{CC_AGENT_REGISTRY_BIN, CC_QUEUE_SERVICE_BIN, CC_MEDIA_RELAY_BIN,
                               CC_SIGNALING_EDGE_BIN},
        o);
    ASSERT_EQ(stack_->failure(), "");
    edge_ = &stack_->edge();
    sip_port_ = stack_->sip_port();
    if (send_to_ == 0) send_to_ = sip_port_;
    agents_ = v1::AgentRegistry::NewStub(MakeChannel(stack_->registry().target()));
    queues_ = v1::QueueService::NewStub(MakeChannel(stack_->queue().target()));
    relay_stub_ = v1::MediaRelay::NewStub(MakeChannel(stack_->relay().target()));
    edge_stub_ = v1::SignalingEdge::NewStub(MakeChannel(edge_->target()));
    work_ = ::testing::TempDir() + "/stack-" + RandomHex(4);
    std::filesystem::create_directories(work_);
  }

  void TearDown() override {
    if (::testing::Test::HasFailure()) {
      fprintf(stderr, "--- edge log ---\n%s\n", edge_ ? edge_->process().output().c_str() : "");
      if (stack_) {
        // A relay that died says why only in its own output.
        const std::string relay = stack_->relay().process().output();
        if (relay.find("ERROR") != std::string::npos ||
            relay.find("runtime error") != std::string::npos) {
          fprintf(stderr, "--- relay log ---\n%s\n", relay.c_str());
        }
      }
    }
    std::filesystem::remove_all(work_);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() { return MakeContext(seconds(5)); }

  void AddAgent(const std::string& id, const std::string& password,
                const std::vector<std::string>& queues, int wrap_up = 0,
                const std::vector<std::pair<std::string, int>>& skills = {}) {
    v1::CreateAgentRequest req;
    req.set_id(id);
    req.set_display_name(id);
    req.set_sip_username(id);
    req.set_password(password);
    req.set_wrap_up_seconds(wrap_up);
    for (const auto& q : queues) req.add_queues()->set_queue(q);
    for (const auto& [name, level] : skills) {
      auto* s = req.add_skills();
      s->set_name(name);
      s->set_level(level);
    }
    v1::CreateAgentResponse resp;
    ASSERT_TRUE(agents_->CreateAgent(Ctx().get(), req, &resp).ok());
    v1::LoginRequest login;
    login.set_id(id);
    v1::StatusChangeResponse sc;
    ASSERT_TRUE(agents_->Login(Ctx().get(), login, &sc).ok());
  }

  // Registers the agent's phone directly in the registry (the REGISTER path has its own
  // tests), so that a SIPp UAS on `port` can take the calls.
  void Bind(const std::string& id, int port) {
    v1::RegisterBindingRequest req;
    req.set_sip_username(id);
    req.set_contact_uri("sip:" + id + "@127.0.0.1:" + std::to_string(port));
    req.set_source_address("127.0.0.1");
    req.set_source_port(port);
    req.set_expires_seconds(600);
    v1::RegisterBindingResponse resp;
    ASSERT_TRUE(agents_->RegisterBinding(Ctx().get(), req, &resp).ok());
  }

  // `empty`: who must be there for callers to join and stay (default: a registered agent).
  void AddQueue(const std::string& name, v1::AnswerMode mode, int ring_timeout_s = 10,
                int wrap_up_s = 0, v1::EmptyQueueRule empty = v1::EMPTY_QUEUE_RULE_UNSPECIFIED) {
    v1::CreateQueueRequest req;
    req.mutable_queue()->set_name(name);
    req.mutable_queue()->set_answer_mode(mode);
    req.mutable_queue()->set_join_empty(empty);
    req.mutable_queue()->set_leave_empty(empty);
    req.mutable_queue()->mutable_ring_timeout()->set_seconds(ring_timeout_s);
    req.mutable_queue()->set_wrap_up_seconds(wrap_up_s);
    req.mutable_queue()->add_music_prompts("moh");
    v1::QueueResponse resp;
    ASSERT_TRUE(queues_->CreateQueue(Ctx().get(), req, &resp).ok());
    v1::SetDialplanEntryRequest dp;
    dp.mutable_entry()->set_pattern(name);
    dp.mutable_entry()->set_queue(name);
    v1::DialplanResponse dr;
    ASSERT_TRUE(queues_->SetDialplanEntry(Ctx().get(), dp, &dr).ok());
  }

  // A SIPp instance on its own port, against the edge.
  std::unique_ptr<testing::ChildProcess> Sipp(const std::string& scenario, int port,
                                              std::vector<std::string> args) {
    return SippFrom("127.0.0.1", scenario, port, std::move(args));
  }
  // The same from another loopback address (another source for the edge's front door).
  std::unique_ptr<testing::ChildProcess> SippFrom(const std::string& ip,
                                                  const std::string& scenario, int port,
                                                  std::vector<std::string> args) {
    std::vector<std::string> a = {
        "-sf",         kScenarios + "/" + scenario,
        "-i",          ip,
        "-p",          std::to_string(port),
        "-nostdin",    "-trace_err",
        "-error_file", work_ + "/" + scenario + "-" + std::to_string(port) + ".err"};
    a.insert(a.end(), args.begin(), args.end());
    a.push_back("127.0.0.1:" + std::to_string(send_to_));
    return std::make_unique<testing::ChildProcess>("sipp", a);
  }

  // Runs a SIPp scenario to its end; returns its exit code (0: every call succeeded).
  int RunSipp(const std::string& scenario, std::vector<std::string> args, int port = 0) {
    if (port == 0) port = testing::FreeUdpPort();
    args.insert(args.end(), {"-timeout", "60s", "-timeout_error"});
    auto p = Sipp(scenario, port, args);
    const int rc = p->wait(seconds(90));
    if (rc != 0) {
      fprintf(stderr, "sipp %s exited %d:\n%s\n", scenario.c_str(), rc,
              ErrorsOf(scenario, port).c_str());
    }
    return rc;
  }

  std::string ErrorsOf(const std::string& scenario, int port) {
    std::ifstream in(work_ + "/" + scenario + "-" + std::to_string(port) + ".err");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string Scalar(const std::string& sql) { return db_.scalar(sql); }

  // The value of one series on the edge's /metrics; 0 when it is not there (not yet counted).
  double EdgeMetric(const std::string& series) {
    std::istringstream in(testing::HttpGet(edge_->metrics_port(), "/metrics"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return 0;
  }

  // The edge answers the SIP side at once and reports to queue-service after: what the
  // report writes is there a moment later.
  void ExpectScalarSoon(const std::string& sql, const std::string& want) {
    testing::WaitFor([&] { return Scalar(sql) == want; }, seconds(5));
    EXPECT_EQ(Scalar(sql), want) << sql;
  }

  // Zero live dialogs at the edge, zero legs in the relay, every agent available.
  void ExpectClean(const std::vector<std::string>& agents) {
    const bool clean = testing::WaitFor(
        [&] {
          v1::EdgeStatsResponse es;
          v1::ListLegsResponse legs;
          if (!edge_stub_->Stats(Ctx().get(), {}, &es).ok()) return false;
          if (!relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok()) return false;
          return es.live_dialogs() == 0 && es.live_calls() == 0 && legs.legs_size() == 0;
        },
        seconds(10));
    v1::EdgeStatsResponse es;
    edge_stub_->Stats(Ctx().get(), {}, &es);
    v1::ListLegsResponse legs;
    relay_stub_->ListLegs(Ctx().get(), {}, &legs);
    EXPECT_TRUE(clean) << "dialogs " << es.live_dialogs() << ", calls " << es.live_calls()
                       << ", relay legs " << legs.legs_size();
    for (const auto& id : agents) {
      EXPECT_TRUE(testing::WaitFor(
          [&] {
            return Scalar("SELECT status FROM agents WHERE id = '" + id + "'") == "AVAILABLE";
          },
          seconds(10)))
          << id << " is " << Scalar("SELECT status FROM agents WHERE id = '" + id + "'");
    }
    EXPECT_EQ(Scalar("SELECT count(*) FROM calls WHERE state IN ('WAITING','OFFERED','CONNECTED')"),
              "0");
  }

  // Set by a derived fixture before SetUp.
  std::vector<std::string> extra_edge_args_;
  std::vector<std::string> extra_relay_args_;
  std::vector<std::string> extra_queue_args_;
  int relays_ = 1;
  int sip_port_wanted_ = 0;  // the edge's SIP port (0: any free one)
  int send_to_ = 0;          // where SIPp sends (0: the edge's SIP port)
  std::string media_timeout_ = "--media-timeout=60s";
  testing::TestDatabase db_;
  std::string prefix_ = testing::UniqueSubjectPrefix();
  std::unique_ptr<NatsClient> nats_;
  std::unique_ptr<testing::Stack> stack_;
  testing::ServiceProcess* edge_ = nullptr;
  int sip_port_ = 0;
  std::unique_ptr<v1::AgentRegistry::Stub> agents_;
  std::unique_ptr<v1::QueueService::Stub> queues_;
  std::unique_ptr<v1::MediaRelay::Stub> relay_stub_;
  std::unique_ptr<v1::SignalingEdge::Stub> edge_stub_;
  std::string work_;
};

}  // namespace cc
