// libFuzzer: the edge's request handling, in process. The input is one UDP datagram sent to a
// real SIP stack of the edge (SofiaStack with its front door, and the Registrar with its digest
// module and credential cache) listening on loopback, as the signaling-edge executable wires
// them: Sofia-SIP parses it, the stack classifies and admits it, REGISTERs go through the
// registrar (one known agent, 1001), new INVITEs are parsed into the edge's InviteRequest and
// refused (a call needs queue-service and a relay, which the in-process run does not have).
// After each input an OPTIONS from the same socket must be answered: a stack that stops
// answering is a finding, as is any crash or sanitizer report. The getaddrinfo() hook of the
// executable is linked too: no input may make the stack look up a name.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <sofia-sip/nta_tag.h>

#include "common/digest.h"
#include "common/log.h"
#include "signaling_edge/name_guard.h"
#include "signaling_edge/registrar.h"
#include "signaling_edge/sip_loop.h"
#include "signaling_edge/sofia_stack.h"
#include "signaling_edge/source_guard.h"

namespace cc::edge {
namespace {

constexpr int kAnswerTimeoutMs = 5000;

// agent-registry with one agent: 1001, password s3cret. Bindings are accepted and listed.
class OneAgentRegistry final : public RegistryPort {
 public:
  explicit OneAgentRegistry(std::string realm) : realm_(std::move(realm)) {}
  void credentials(const std::string& user, Reply<std::string> done) override {
    if (user == "1001") return done(DigestHa1("1001", realm_, "s3cret"));
    done(NotFound("no agent " + user));
  }
  void register_binding(const BindingRequest& req, Reply<BindingsReply> done) override {
    BindingsReply r;
    r.bindings.push_back({req.contact, req.expires});
    r.created = true;
    done(r);
  }
  void unregister(const std::string&, const std::string&, Reply<BindingsReply> done) override {
    done(BindingsReply{});
  }
  void list_bindings(const std::string&, Reply<BindingsReply> done) override {
    done(BindingsReply{});
  }

 private:
  std::string realm_;
};

// A UDP socket bound to a free loopback port (aborts if there is none).
int LoopbackUdp(int* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::abort();
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int FreePort() {
  int port = 0;
  close(LoopbackUdp(&port));
  return port;
}

// The edge's SIP stack on its own loop thread, and a client socket that talks to it.
struct Edge {
  Edge() {
    log::Configure("fuzz_sip_request", "fuzz", log::Level::kError);
    settings.sip_listen = "127.0.0.1:" + std::to_string(FreePort());
    settings.auth_secret = "fuzz-secret";
    settings.realm = "fuzz.local";
    // The front door stays in the path, without limits: every input gets handled.
    for (auto& l : settings.front_door.limits) l = RateLimit{0, 0};
    settings.front_door.digest_failures = 0;
    guard = std::make_unique<SourceGuard>(settings.front_door, SystemClock::instance());
    stack = std::make_unique<SofiaStack>(settings, loop, observer, *guard);
    registrar = std::make_unique<Registrar>(settings, *stack, registry, SystemClock::instance(),
                                            observer, *guard);
    loop.start();
    Status started = OkStatus();
    loop.run_sync([&] {
      SofiaStack::Handlers h;
      h.on_register = [this](nua_handle_t* nh, sip_t const* sip, const RequestSource& src) {
        registrar->on_register(nh, sip, src);
      };
      h.on_invite = [this](nua_handle_t* nh, const InviteRequest& r) {
        (void)r;
        stack->reject(nh, 480, "Temporarily Unavailable");
      };
      h.find_call = [](const std::string&) -> CallSession* { return nullptr; };
      started = stack->start(std::move(h));
      if (started.ok()) started = registrar->start(loop.root());
      // Transactions end after 2 s instead of 32 (T1x64): thousands of inputs a second would
      // otherwise keep a hundred thousand of them (and their messages) alive at once.
      if (started.ok()) nua_set_params(stack->nua(), NTATAG_SIP_T1X64(2000), TAG_END());
    });
    if (!started.ok()) {
      std::fprintf(stderr, "edge did not start: %s\n", started.error().message.c_str());
      std::abort();
    }
    ArmNameGuard();
    client = LoopbackUdp(&client_port);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<uint16_t>(std::stoi(settings.sip_listen.substr(10))));
  }

  void send(const void* data, std::size_t size) {
    (void)sendto(client, data, size, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }

  // An OPTIONS after the input: answered once the input has been handled (one socket, in
  // order). Every other datagram that arrives meanwhile (answers to the input) is dropped.
  bool still_answers() {
    const std::string id = "probe-" + std::to_string(++probes);
    const std::string msg = "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
                            std::to_string(client_port) + ";branch=z9hG4bK-" + id +
                            "\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=" + id +
                            "\r\nTo: <sip:edge@127.0.0.1>\r\nCall-ID: " + id +
                            "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    send(msg.data(), msg.size());
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{client, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const auto got = recv(client, buf, sizeof buf, 0);
      if (got <= 0) continue;
      const std::string answer(buf, static_cast<std::size_t>(got));
      if (answer.rfind("SIP/2.0 200", 0) == 0 &&
          answer.find("Call-ID: " + id) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  EdgeSettings settings;
  EdgeObserver observer;
  OneAgentRegistry registry{"fuzz.local"};
  SipLoop loop;
  std::unique_ptr<SourceGuard> guard;
  std::unique_ptr<SofiaStack> stack;
  std::unique_ptr<Registrar> registrar;
  int client = -1;
  int client_port = 0;
  sockaddr_in to{};
  int probes = 0;
};

}  // namespace
}  // namespace cc::edge

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Never destroyed: the loop thread runs until the process ends.
  static auto* edge = new cc::edge::Edge();
  if (size == 0 || size > 65000) return -1;
  edge->send(data, size);
  if (!edge->still_answers()) {
    std::fprintf(stderr, "the edge stopped answering OPTIONS after this input\n");
    std::abort();
  }
  return 0;
}
