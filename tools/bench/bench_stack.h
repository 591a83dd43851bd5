#pragma once

// The whole stack for the SIP benchmark programs (sip-bench, sip-flood): the four services as
// the tests start them, stubs to each, and the provisioning both need. Not thread-safe.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "stack.h"
#include "testing.h"

namespace cc::bench {

namespace v1 = callcenter::v1;

class BenchStack {
 public:
  // What every tool starts with: a database, the NATS server, a subject prefix of its own,
  // warnings only in the services' logs.
  static cc::testing::StackOptions Options(const std::string& db_url, const std::string& nats_url,
                                           const std::string& prefix) {
    cc::testing::StackOptions o;
    o.db_url = db_url;
    o.nats_url = nats_url;
    o.subject_prefix = prefix + cc::RandomHex(3);
    o.common = {"--log-level=warn", "--drain-timeout=2s"};
    return o;
  }

  // Starts the services (the binaries the benchmark was built with); false, after saying why
  // on stderr, if one did not come up.
  bool start(const cc::testing::StackOptions& options) {
    stack_ = std::make_unique<cc::testing::Stack>(
        cc::testing::StackBinaries{CC_AGENT_REGISTRY_BIN, CC_QUEUE_SERVICE_BIN, CC_MEDIA_RELAY_BIN,
                                   CC_SIGNALING_EDGE_BIN},
        options);
    if (!stack_->failure().empty()) {
      std::fprintf(stderr, "%s\n", stack_->failure().c_str());
      return false;
    }
    registry = v1::AgentRegistry::NewStub(cc::MakeChannel(stack_->registry().target()));
    queues = v1::QueueService::NewStub(cc::MakeChannel(stack_->queue().target()));
    relay = v1::MediaRelay::NewStub(cc::MakeChannel(stack_->relay().target()));
    edge = v1::SignalingEdge::NewStub(cc::MakeChannel(stack_->edge().target()));
    return true;
  }
  void stop() { stack_.reset(); }
  cc::testing::Stack& stack() { return *stack_; }

  // A queue (ring until an agent answers, wrap-up 0, 10 s ring) dialled by its own name;
  // `tune` may change the rest.
  template <typename Tune>
  bool add_queue(const std::string& name, Tune&& tune) {
    v1::CreateQueueRequest q;
    q.mutable_queue()->set_name(name);
    q.mutable_queue()->set_answer_mode(v1::ANSWER_MODE_RING_UNTIL_AGENT);
    q.mutable_queue()->set_wrap_up_seconds(0);
    q.mutable_queue()->mutable_ring_timeout()->set_seconds(10);
    tune(*q.mutable_queue());
    v1::QueueResponse qr;
    auto st = queues->CreateQueue(ctx().get(), q, &qr);
    v1::SetDialplanEntryRequest dp;
    dp.mutable_entry()->set_pattern(name);
    dp.mutable_entry()->set_queue(name);
    v1::DialplanResponse dr;
    if (st.ok()) st = queues->SetDialplanEntry(ctx().get(), dp, &dr);
    return Report("queue " + name, st);
  }

  // An agent of `queue` (wrap-up 0, password "<id>-pw"), logged in.
  bool add_agent(const std::string& id, const std::string& queue) {
    v1::CreateAgentRequest req;
    req.set_id(id);
    req.set_display_name(id);
    req.set_sip_username(id);
    req.set_password(id + "-pw");
    req.set_wrap_up_seconds(0);
    req.add_queues()->set_queue(queue);
    v1::CreateAgentResponse resp;
    v1::LoginRequest login;
    login.set_id(id);
    v1::StatusChangeResponse sc;
    auto st = registry->CreateAgent(ctx().get(), req, &resp);
    if (st.ok()) st = registry->Login(ctx().get(), login, &sc);
    return Report("agent " + id, st);
  }

  // The agent's phone at ip:port, straight into the registry (no REGISTER).
  bool bind(const std::string& id, const std::string& ip, int port) {
    v1::RegisterBindingRequest req;
    req.set_sip_username(id);
    req.set_contact_uri("sip:" + id + "@" + ip + ":" + std::to_string(port));
    req.set_source_address(ip);
    req.set_source_port(port);
    req.set_expires_seconds(3600);
    v1::RegisterBindingResponse resp;
    return Report("binding " + id, registry->RegisterBinding(ctx().get(), req, &resp));
  }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    return cc::MakeContext(std::chrono::seconds(10));
  }

  std::unique_ptr<v1::AgentRegistry::Stub> registry;
  std::unique_ptr<v1::QueueService::Stub> queues;
  std::unique_ptr<v1::MediaRelay::Stub> relay;
  std::unique_ptr<v1::SignalingEdge::Stub> edge;

 private:
  static bool Report(const std::string& what, const grpc::Status& st) {
    if (!st.ok()) std::fprintf(stderr, "%s: %s\n", what.c_str(), st.error_message().c_str());
    return st.ok();
  }

  std::unique_ptr<cc::testing::Stack> stack_;
};

// SIPp with `scenario` (a path) from ip:port against the edge at `target`, run in `folder`
// (so that its -trace_rtt and -trace_stat files land there).
inline std::unique_ptr<cc::testing::ChildProcess> Sipp(const std::string& folder,
                                                       const std::string& scenario,
                                                       const std::string& ip, int port,
                                                       const std::string& target,
                                                       std::vector<std::string> args) {
  std::filesystem::create_directories(folder);
  std::vector<std::string> a = {"-c",
                                "cd \"$0\" && exec sipp \"$@\"",
                                folder,
                                "-sf",
                                scenario,
                                "-i",
                                ip,
                                "-p",
                                std::to_string(port),
                                "-nostdin",
                                "-buff_size",
                                "4194304"};
  a.insert(a.end(), args.begin(), args.end());
  a.push_back(target);
  return std::make_unique<cc::testing::ChildProcess>("/bin/sh", a);
}

}  // namespace cc::bench
