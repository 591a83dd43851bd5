// The edge's front door on the wire: an attacker on 127.0.0.2, legitimate phones and callers
// on 127.0.0.1 (stack_fixture.h). Limits are lowered so that a short flood crosses them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>

#include <random>

#include "stack_fixture.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kAttacker = "127.0.0.2";

class FrontDoorIt : public StackIt {
 protected:
  void SetUp() override {
    extra_edge_args_ = {"--source-limit-register=20/40", "--source-limit-options=20/40",
                        "--source-limit-invite=20/40", "--max-calls-per-source=3"};
    StackIt::SetUp();
  }

  int LiveCalls() {
    v1::EdgeStatsResponse es;
    return edge_stub_->Stats(Ctx().get(), {}, &es).ok() ? es.live_calls() : -1;
  }
};

// 1,500 REGISTERs without credentials from one address in about 3 s: every one is answered
// (401 while its bucket lasts, then 503 with Retry-After, before any lookup), and meanwhile a
// phone on another address registers and is probed with OPTIONS as if nothing happened.
TEST_F(FrontDoorIt, ARegisterFloodFromOneAddressIsRefusedWhileOthersAreServed) {
  AddAgent("2001", "pw2001", {});
  auto flood = SippFrom(kAttacker, "flood_register.xml", testing::FreeUdpPort(),
                        {"-s", "scan", "-r", "500", "-rp", "1000", "-m", "1500", "-timeout", "60s",
                         "-default_behaviors", "none", "-recv_timeout", "5000"});
  std::this_thread::sleep_for(milliseconds(500));  // the flood is on
  EXPECT_EQ(RunSipp("register.xml", {"-s", "2001", "-au", "2001", "-ap", "pw2001", "-set",
                                     "expires", "300", "-m", "1"}),
            0);
  EXPECT_EQ(RunSipp("options.xml", {"-s", "edge", "-r", "10", "-m", "20"}), 0);
  EXPECT_EQ(flood->wait(seconds(60)), 0) << "every flood request gets an answer";
  const double refused =
      EdgeMetric("cc_sip_refused_total{method=\"REGISTER\",reason=\"rate_limited\"}");
  const double challenged = EdgeMetric("cc_registrations_total{result=\"challenged\"}");
  // The attacker's bucket: 40 at once, 20/s after; the phone's own REGISTERs are on another.
  EXPECT_GE(refused, 1300);
  EXPECT_EQ(refused + challenged, 1500 + 1) << "the phone's first REGISTER is challenged too";
  EXPECT_LT(challenged, 200);
  EXPECT_EQ(EdgeMetric("cc_sip_refused_total{method=\"OPTIONS\",reason=\"rate_limited\"}"), 0);
  v1::ListBindingsRequest lb;
  lb.set_agent_id("2001");
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  EXPECT_EQ(bindings.bindings_size(), 1);
}

// An OPTIONS flood is refused the same way, and a probe from elsewhere is answered.
TEST_F(FrontDoorIt, AnOptionsFloodFromOneAddressIsRefusedWhileOthersAreAnswered) {
  auto flood = SippFrom(kAttacker, "flood_options.xml", testing::FreeUdpPort(),
                        {"-r", "500", "-rp", "1000", "-m", "1000", "-timeout", "60s",
                         "-default_behaviors", "none", "-recv_timeout", "5000"});
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RunSipp("options.xml", {"-s", "edge", "-r", "10", "-m", "10"}), 0);
  EXPECT_EQ(flood->wait(seconds(60)), 0);
  EXPECT_GE(EdgeMetric("cc_sip_refused_total{method=\"OPTIONS\",reason=\"rate_limited\"}"), 800);
}

// An INVITE flood from one address: its bucket (40 at once, 20/s) and its call cap (3) hold,
// every refusal counted with its reason, and a caller elsewhere is answered by an agent.
TEST_F(FrontDoorIt, AnInviteFloodFromOneAddressIsRefusedWhileACallerElsewhereGetsThrough) {
  AddQueue("hold", v1::ANSWER_MODE_RING_UNTIL_AGENT, 20, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("4001", "pw", {"sales"});
  const int agent_port = testing::FreeUdpPort();
  Bind("4001", agent_port);
  auto agent = Sipp("agent.xml", agent_port, {"-m", "1"});
  auto flood = SippFrom(kAttacker, "flood_invite.xml", testing::FreeUdpPort(),
                        {"-s", "hold", "-r", "300", "-rp", "1000", "-m", "300", "-timeout", "30s",
                         "-default_behaviors", "none", "-recv_timeout", "5000"});
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "sales", "-d", "200", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(20)), 0);
  flood->wait(seconds(40));
  const double rate_limited =
      EdgeMetric("cc_sip_refused_total{method=\"INVITE\",reason=\"rate_limited\"}");
  const double capped =
      EdgeMetric("cc_sip_refused_total{method=\"INVITE\",reason=\"too_many_calls\"}");
  EXPECT_GE(rate_limited, 200);
  EXPECT_GE(capped, 1);
  EXPECT_EQ(300 - rate_limited - capped, 3) << "the cap of calls was taken, no more";
  EXPECT_LE(LiveCalls(), 3);
}

// Calls from one address are capped (--max-calls-per-source=3): its fourth call is refused
// with 503 and Retry-After while a caller on another address gets through; when its calls
// end, it may call again. Calls never pile up relay legs for one address.
TEST_F(FrontDoorIt, LiveCallsFromOneAddressAreCappedAndCallersElsewhereGetThrough) {
  AddQueue("music", v1::ANSWER_MODE_ANSWER_IMMEDIATELY, 20, 0, v1::EMPTY_QUEUE_RULE_ALWAYS);
  auto held = SippFrom(kAttacker, "customer.xml", testing::FreeUdpPort(),
                       {"-s", "music", "-m", "3", "-l", "3", "-r", "50", "-d", "6000"});
  ASSERT_TRUE(testing::WaitFor([&] { return LiveCalls() == 3; }, seconds(5)));
  auto refused = SippFrom(kAttacker, "customer_503.xml", testing::FreeUdpPort(),
                          {"-s", "music", "-m", "1", "-timeout", "20s", "-timeout_error"});
  EXPECT_EQ(refused->wait(seconds(30)), 0) << "the fourth call from the same address: 503";
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "music", "-m", "1", "-d", "200"}), 0)
      << "a caller elsewhere gets through";
  EXPECT_EQ(EdgeMetric("cc_sip_refused_total{method=\"INVITE\",reason=\"too_many_calls\"}"), 1);
  v1::ListLegsResponse legs;
  ASSERT_TRUE(relay_stub_->ListLegs(Ctx().get(), {}, &legs).ok());
  EXPECT_LE(legs.legs_size(), 3);
  EXPECT_EQ(held->wait(seconds(30)), 0);
  ExpectClean({});
  // Its calls are over: the address may call again.
  auto again = SippFrom(kAttacker, "customer.xml", testing::FreeUdpPort(),
                        {"-s", "music", "-m", "1", "-d", "200", "-timeout", "20s"});
  EXPECT_EQ(again->wait(seconds(30)), 0);
  ExpectClean({});
}

// Sends `msg` from `fd` to the edge's SIP port on loopback; the first datagram back within
// 1.5 s ("" if none).
std::string Exchange(int fd, int sip_port, const std::string& msg) {
  sockaddr_in edge{};
  edge.sin_family = AF_INET;
  edge.sin_port = htons(static_cast<uint16_t>(sip_port));
  edge.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_GT(sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&edge), sizeof edge),
            0);
  pollfd pfd{fd, POLLIN, 0};
  if (poll(&pfd, 1, 1500) <= 0) return std::string();
  char buf[4096];
  const auto got = recv(fd, buf, sizeof buf, 0);
  return got > 0 ? std::string(buf, static_cast<size_t>(got)) : std::string();
}

// A request the stack refuses itself (an unknown SIP version: 505) is answered to its Via
// host. A numeric one is answered; a name is never looked up (here "localhost", which would
// resolve from /etc/hosts without touching the network): no answer, and the edge says so.
TEST_F(StackIt, ARequestNeverMakesTheEdgeLookUpANameItCarries) {
  int port = 0;
  const int fd = testing::BoundUdpSocket(&port);
  ASSERT_GE(fd, 0);
  auto ask = [&](const std::string& via_host, int n) {
    return Exchange(fd, sip_port_,
                    "OPTIONS sip:edge@127.0.0.1 SIP/7.0\r\nVia: SIP/2.0/UDP " + via_host + ":" +
                        std::to_string(port) + ";branch=z9hG4bK-names-" + std::to_string(n) +
                        "\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=" +
                        std::to_string(n) + "\r\nTo: <sip:edge@127.0.0.1>\r\nCall-ID: names-" +
                        std::to_string(n) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
  };
  EXPECT_EQ(ask("127.0.0.1", 1).rfind("SIP/2.0 505", 0), 0u) << "a numeric Via is answered";
  EXPECT_EQ(ask("localhost", 2), "") << "a name is not resolved to answer it";
  close(fd);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        return edge_->process().output().find("refused to look up a name") != std::string::npos;
      },
      seconds(3)));
  EXPECT_TRUE(edge_->process().running());
}

// The SIP port runs no STUN server (Sofia-SIP's leaked memory on every malformed request,
// found by fuzz_sip_request, whose regression input replays it under LeakSanitizer): a binding
// request gets the transport's fixed "600 Not Implemented" error, no work, and the edge
// answers SIP on the same port right after.
TEST_F(StackIt, AStunRequestOnTheSipPortGetsOnlyAFixedError) {
  int port = 0;
  const int fd = testing::BoundUdpSocket(&port);
  ASSERT_GE(fd, 0);
  auto exchange = [&](const std::string& msg) { return Exchange(fd, sip_port_, msg); };
  // Binding Request, RFC 5389 header (magic cookie 0x2112A442), no attributes.
  const std::string stun("\x00\x01\x00\x00\x21\x12\xa4\x42stuntxn12345", 20);
  const std::string answer = exchange(stun);
  ASSERT_GE(answer.size(), 20u);
  EXPECT_EQ(answer.substr(0, 2), std::string("\x01\x11", 2)) << "a Binding Error Response";
  EXPECT_NE(answer.find("Not Implemented"), std::string::npos);
  const std::string options =
      "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(port) +
      ";branch=z9hG4bK-stun\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=s\r\n"
      "To: <sip:edge@127.0.0.1>\r\nCall-ID: after-stun\r\nCSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  EXPECT_EQ(exchange(options).rfind("SIP/2.0 200", 0), 0u);
  close(fd);
  EXPECT_EQ(edge_->process().output().find("stun request"), std::string::npos);
}

// Malformed requests to every method of every service, as an admin would send them (the token
// is right, the bytes are not): random bytes, a truncated varint, a length prefix far past the
// end, a 1 MiB string, an empty message. Each gets a status, no service dies, and a call goes
// through the stack afterwards.
TEST_F(StackIt, MalformedGrpcRequestsToEveryServiceNeverCrashOne) {
  struct Target {
    const char* service;
    testing::ServiceProcess* process;
  };
  const std::vector<Target> targets = {
      {v1::AgentRegistry::service_full_name(), &stack_->registry()},
      {v1::QueueService::service_full_name(), &stack_->queue()},
      {v1::MediaRelay::service_full_name(), &stack_->relay()},
      {v1::SignalingEdge::service_full_name(), &stack_->edge()}};
  std::mt19937 rng(4475);
  std::vector<std::string> payloads = {
      "", "\x08", "\x0a\xff\xff\xff\xff\x0f",
      "\x12\x05"
      "ab",
      "\x0a" + std::string("\x80\x80\x40") + std::string(1 << 20, 'x')};
  for (int i = 0; i < 6; ++i) {
    std::string junk(rng() % 200, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    payloads.push_back(junk);
  }
  std::map<std::string, int> codes;
  // INTERNAL is gRPC's own answer to bytes that do not parse (no message); a handler's
  // escaped exception would say "internal error: ...".
  std::set<std::string> internal_messages;
  int calls = 0;
  for (const auto& t : targets) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(t.service);
    ASSERT_NE(service, nullptr) << t.service;
    grpc::GenericStub stub(MakeChannel(t.process->target()));
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      // Streams are not unary; Drain is a valid order (with any bytes), after which the
      // stack takes no call: both left out.
      if (method->client_streaming() || method->server_streaming()) continue;
      if (method->name() == "Drain") continue;
      const std::string path = "/" + std::string(t.service) + "/" + method->name();
      for (const auto& bytes : payloads) {
        grpc::CompletionQueue cq;
        auto ctx = MakeContext(seconds(5));
        grpc::Slice slice(bytes.data(), bytes.size());
        grpc::ByteBuffer request(&slice, 1), response;
        auto call = stub.PrepareUnaryCall(ctx.get(), path, request, &cq);
        call->StartCall();
        grpc::Status status;
        call->Finish(&response, &status, reinterpret_cast<void*>(1));
        void* tag = nullptr;
        bool ok = false;
        ASSERT_TRUE(cq.Next(&tag, &ok));
        cq.Shutdown();
        while (cq.Next(&tag, &ok)) {
        }
        ++calls;
        codes[GrpcCodeName(status.error_code())]++;
        if (status.error_code() == grpc::StatusCode::INTERNAL) {
          internal_messages.insert(status.error_message().substr(0, 60));
        }
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << path;
        EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << path;
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << path;
      }
    }
    EXPECT_TRUE(t.process->process().running()) << t.service;
  }
  std::string summary;
  for (const auto& [code, n] : codes) summary += code + "=" + std::to_string(n) + " ";
  std::fprintf(stderr, "%d malformed calls: %s\n", calls, summary.c_str());
  EXPECT_GT(calls, 200);
  for (const auto& m : internal_messages) {
    EXPECT_EQ(m.rfind("internal error", 0), std::string::npos) << "a handler failed: " << m;
  }
  for (const auto& t : targets) {
    EXPECT_TRUE(testing::WaitForServing(t.process->target(), seconds(2))) << t.service;
  }
  // The stack still takes a call end to end.
  AddQueue("after", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddAgent("after-agent", "pw", {"after"});
  const int agent_port = testing::FreeUdpPort();
  Bind("after-agent", agent_port);
  auto agent = Sipp("agent.xml", agent_port, {"-m", "1"});
  EXPECT_EQ(RunSipp("customer.xml", {"-s", "after", "-d", "200", "-m", "1"}), 0);
  EXPECT_EQ(agent->wait(seconds(20)), 0);
}

}  // namespace
}  // namespace cc
