#include "signaling_edge/app.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/ids.h"
#include "common/log.h"
#include "common/memory_returner.h"
#include "common/runtime.h"
#include "common/signals.h"
#include "signaling_edge/grpc_service.h"
#include "signaling_edge/name_guard.h"
#include "signaling_edge/sip_loop.h"

namespace cc::edge {
namespace {

class EdgeMetrics final : public EdgeObserver {
 public:
  explicit EdgeMetrics(prometheus::Registry& r)
      : requests_(prometheus::BuildCounter()
                      .Name("cc_sip_requests_total")
                      .Help("SIP requests received (and INVITEs sent to agents), by method")
                      .Register(r)),
        responses_(prometheus::BuildCounter()
                       .Name("cc_sip_responses_total")
                       .Help("SIP responses sent and received, by method and status code")
                       .Register(r)),
        registrations_(prometheus::BuildCounter()
                           .Name("cc_registrations_total")
                           .Help("REGISTER outcomes at the edge")
                           .Register(r)),
        refused_(prometheus::BuildCounter()
                     .Name("cc_sip_refused_total")
                     .Help("Requests the edge's front door refused before any work, by method "
                           "and reason (rate_limited, too_many_calls, locked_out)")
                     .Register(r)),
        failures_(prometheus::BuildCounter()
                      .Name("cc_edge_call_failures_total")
                      .Help("Calls or offers that failed, by reason")
                      .Register(r)),
        reports_(prometheus::BuildCounter()
                     .Name("cc_edge_reports_total")
                     .Help("Reports to queue-service, by kind and result (sent, retried, "
                           "acknowledged, refused, dropped)")
                     .Register(r)),
        reconciled_(prometheus::BuildCounter()
                        .Name("cc_edge_reconciled_calls_total")
                        .Help("Calls the edge hung up because another service had them over, "
                              "by why (queue_ended, unknown, relay_lost)")
                        .Register(r)),
        setup_(
            prometheus::BuildHistogram()
                .Name("cc_call_setup_seconds")
                .Help("From the customer's INVITE to the agent's answer")
                .Register(r)
                .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                 1, 2.5, 5, 10, 30, 60, 300})),
        dialogs_(prometheus::BuildGauge()
                     .Name("cc_sip_dialogs")
                     .Help("Live SIP handles (dialogs and transactions being answered)")
                     .Register(r)
                     .Add({})),
        calls_(prometheus::BuildGauge()
                   .Name("cc_edge_live_calls")
                   .Help("Calls this edge holds")
                   .Register(r)
                   .Add({})) {}

  void request(const char* method) override {
    requests_.Add({{"method", method}}).Increment();
    seen_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t requests_seen() const { return seen_.load(std::memory_order_relaxed); }
  void response(const char* method, int status, bool sent) override {
    responses_
        .Add({{"method", method},
              {"code", std::to_string(status)},
              {"direction", sent ? "sent" : "received"}})
        .Increment();
  }
  void registration(const char* result) override {
    registrations_.Add({{"result", result}}).Increment();
  }
  void refused(const char* method, const char* reason) override {
    refused_.Add({{"method", method}, {"reason", reason}}).Increment();
  }
  void call_failure(const char* reason) override {
    failures_.Add({{"reason", reason}}).Increment();
  }
  void setup_time(double seconds) override { setup_.Observe(seconds); }
  void report(const char* kind, const char* result) override {
    reports_.Add({{"kind", kind}, {"result", result}}).Increment();
  }
  void reconciled(const char* why) override { reconciled_.Add({{"why", why}}).Increment(); }
  void gauges(int dialogs, int calls) override {
    dialogs_.Set(dialogs);
    calls_.Set(calls);
  }

 private:
  prometheus::Family<prometheus::Counter>&requests_, &responses_, &registrations_, &refused_,
      &failures_, &reports_, &reconciled_;
  prometheus::Histogram& setup_;
  std::atomic<std::uint64_t> seen_{0};
  prometheus::Gauge &dialogs_, &calls_;
};

}  // namespace

int RunSignalingEdge(int argc, char** argv) {
  ShutdownSignal::Block();
  Config config("signaling-edge");
  AddCommonOptions(config, {"signaling-edge", "127.0.0.1:50054", "127.0.0.1:9104", false, true});
  config.add_host_port("sip-listen", "127.0.0.1:5060", "SIP address (UDP and TCP)");
  config.add_string("sip-advertise", "",
                    "host[:port] in the Contact and Via the edge sends, where a NAT or load "
                    "balancer forwards to --sip-listen (default: --sip-listen)");
  config.add_string("outbound-proxy", "",
                    "host:port customers are called through for callbacks (a trunk or proxy; "
                    "a queue's own callback trunk wins)");
  config.add_string("sip-tls-listen", "",
                    "host:port of SIP over TLS (sips:) beside --sip-listen; empty: none",
                    [](const std::string& v) -> std::optional<std::string> {
                      if (v.empty() || Config::ParseHostPort(v)) return std::nullopt;
                      return "expected host:port or empty";
                    });
  config.add_string("sip-tls-cert-dir", "",
                    "folder with agent.pem (private key and certificate chain, PEM) and "
                    "cafile.pem, for --sip-tls-listen");
  config.add_string("sip-realm", "callcenter.local", "digest realm (the agents' HA1 realm)");
  config.add_string("auth-secret", "",
                    "key for digest nonces, the same on every edge "
                    "(default: random, so nonces die with the process)");
  config.add_int("nonce-lifetime", 300, "seconds a digest nonce is valid (then stale=true)", 10,
                 86400);
  config.add_int("min-expires", 60, "shorter registrations get 423 Interval Too Brief", 1, 86400);
  config.add_int("max-expires", 3600, "longer registrations are cut to this", 1, 86400);
  config.add_int("auth-failures", 5,
                 "failed digests for one user from one address before that user is locked out "
                 "from that address (other users there are not)",
                 1, 100000);
  config.add_duration("auth-block", Duration{60000},
                      "window for counting failures, and how long a user stays locked out",
                      Duration{1000}, Duration{86'400'000});
  config.add_string("source-limit-register", "20/200",
                    "REGISTERs per second from one address, and the burst allowed (RATE/BURST; "
                    "0: no limit); more get 503 with Retry-After");
  config.add_string("source-limit-invite", "10/50", "new INVITEs from one address, as above");
  config.add_string("source-limit-options", "20/100", "OPTIONS from one address, as above");
  config.add_int("max-calls-per-source", 200, "live calls from one address (0: no cap)", 0,
                 1000000);
  config.add_string("trusted-sources", "",
                    "comma-separated networks (ADDRESS[/PREFIX]) exempt from the per-address "
                    "limits: carriers' trunks, SBCs, a load balancer");
  config.add_int("source-table-size", 65536,
                 "addresses (and address+user pairs) whose limits are remembered; the least "
                 "recently seen are forgotten first",
                 16, 10'000'000);
  config.add_int("max-calls", 2000, "live calls before new INVITEs get 503", 1, 1000000);
  config.add_host_port_list("agent-registry", "127.0.0.1:50051",
                            "agent-registry gRPC address(es): IPs, or one DNS name of all "
                            "replicas; calls are balanced over them");
  config.add_host_port_list("queue-service", "127.0.0.1:50052",
                            "queue-service gRPC address(es), as --agent-registry");
  config.add_host_port_list("media-relay", "127.0.0.1:50053",
                            "media-relay gRPC address(es): each a relay; a call goes to the "
                            "healthy one with the fewest legs");
  config.add_string("edge-id", "", "this edge's id in queue-service (default: the instance id)");
  config.add_duration("rpc-timeout", Duration{3000}, "deadline of calls to the other services",
                      Duration{100}, Duration{60'000});
  config.add_duration("heartbeat", Duration{5000},
                      "how often the edge tells queue-service it lives and which calls it holds",
                      Duration{200}, Duration{600'000});
  config.add_duration("enqueue-retry", Duration{10000},
                      "queue-service unreachable: how long a new caller rings while the enqueue "
                      "is retried, before 503",
                      Duration{0}, Duration{600'000});
  config.add_duration("waiting-media-timeout", Duration{60000},
                      "a waiting caller hearing music who sends no RTP this long is taken as "
                      "gone (0: never)",
                      Duration{0}, Duration{3'600'000});
  config.add_duration("relay-poll", Duration{1000},
                      "how often every relay is asked for its health (and told this edge's legs)",
                      Duration{100}, Duration{60'000});
  config.add_int("relay-failures", 2, "unanswered relay polls in a row before the relay is lost", 1,
                 100);
  if (auto code = ParseOrExit(config, argc, argv)) return *code;
  if (config.integer("min-expires") > config.integer("max-expires")) {
    std::fprintf(stderr, "signaling-edge: configuration error: min-expires > max-expires\n");
    return 2;
  }
  const std::string instance = SetupLogging(config, "signaling-edge");
  if (auto code = SetupApiAuth(config)) return *code;
  auto metrics = Metrics::Start(config.str("metrics-listen"));
  if (StartupFailed(metrics)) return 1;
  auto nats = NatsClient::Connect(NatsSettingsFrom(config, instance));
  if (StartupFailed(nats)) return 1;
  EdgeSettings settings;
  settings.edge_id = config.str("edge-id").empty() ? instance : config.str("edge-id");
  settings.sip_listen = config.str("sip-listen");
  settings.sip_advertise = config.str("sip-advertise");
  settings.outbound_proxy = config.str("outbound-proxy");
  settings.sip_tls_listen = config.str("sip-tls-listen");
  settings.sip_tls_cert_dir = config.str("sip-tls-cert-dir");
  if (!settings.sip_tls_listen.empty() &&
      !std::filesystem::exists(settings.sip_tls_cert_dir + "/agent.pem")) {
    std::fprintf(stderr,
                 "signaling-edge: configuration error: sip-tls-cert-dir: no agent.pem in '%s'\n",
                 settings.sip_tls_cert_dir.c_str());
    return 2;
  }
  settings.realm = config.str("sip-realm");
  settings.auth_secret =
      config.str("auth-secret").empty() ? RandomHex(16) : config.str("auth-secret");
  settings.nonce_lifetime = std::chrono::seconds(config.integer("nonce-lifetime"));
  settings.min_expires = static_cast<int>(config.integer("min-expires"));
  settings.max_expires = static_cast<int>(config.integer("max-expires"));
  settings.default_expires = settings.max_expires;
  SourceGuardSettings& door = settings.front_door;
  door.digest_failures = static_cast<int>(config.integer("auth-failures"));
  door.digest_window = config.duration("auth-block");
  const char* limit_names[kRequestClasses] = {"source-limit-register", "source-limit-invite",
                                              "source-limit-options"};
  for (int i = 0; i < kRequestClasses; ++i) {
    auto limit = ParseRateLimit(config.str(limit_names[i]));
    if (!limit.ok()) {
      std::fprintf(stderr, "signaling-edge: configuration error: %s: %s\n", limit_names[i],
                   limit.error().message.c_str());
      return 2;
    }
    door.limits[i] = *limit;
  }
  door.max_calls_per_source = static_cast<int>(config.integer("max-calls-per-source"));
  door.trusted = Config::SplitList(config.str("trusted-sources"));
  door.max_sources = door.max_lockouts =
      static_cast<std::size_t>(config.integer("source-table-size"));
  if (auto valid = SourceGuard::Validate(door); !valid.ok()) {
    std::fprintf(stderr, "signaling-edge: configuration error: trusted-sources: %s\n",
                 valid.error().message.c_str());
    return 2;
  }
  settings.max_calls = static_cast<int>(config.integer("max-calls"));
  settings.rpc_timeout = config.duration("rpc-timeout");
  settings.heartbeat = config.duration("heartbeat");
  settings.enqueue_retry = config.duration("enqueue-retry");
  settings.waiting_media_timeout = config.duration("waiting-media-timeout");
  settings.relay_poll = config.duration("relay-poll");
  settings.relay_failures = static_cast<int>(config.integer("relay-failures"));

  SipLoop loop;
  loop.start();
  EdgeMetrics edge_metrics((*metrics)->registry());
  EdgeTargets targets{MakeChannel(config.str("agent-registry")),
                      MakeChannel(config.str("queue-service")),
                      Config::SplitList(config.str("media-relay"))};
  Edge edge(settings, loop, **nats, std::move(targets), &edge_metrics);
  if (StartupFailed(edge.start())) {
    loop.stop();
    return 1;
  }
  ArmNameGuard();  // listening: from now on no name a message carries is looked up
  // What a flood's transactions held (freed ~32 s after it) goes back to the system, once the
  // edge is quiet: fewer than 50 SIP requests a second over the last 10 s.
  MemoryReturner memory_returner(std::chrono::seconds(10), [&, last = std::uint64_t{0}]() mutable {
    const std::uint64_t now = edge_metrics.requests_seen();
    const bool quiet = now - last < 500;
    last = now;
    return quiet;
  });
  GrpcMetrics grpc_metrics((*metrics)->registry(), "signaling-edge");
  auto admin = MakeAdminService(edge, grpc_metrics);
  GrpcServer server(config.str("grpc-listen"), {admin.get()});
  if (StartupFailed(server.start())) {
    edge.shutdown();
    loop.stop();
    return 1;
  }
  log::Info(
      "signaling-edge ready",
      {{"sip", settings.sip_listen}, {"grpc_port", server.port()}, {"edge_id", settings.edge_id}});
  return ServeUntilSignal(server, config, [&] {
    // New calls get 503; calls in progress may finish within the drain timeout.
    edge.drain();
    const auto deadline = std::chrono::steady_clock::now() + config.duration("drain-timeout");
    while (edge.stats().live_calls > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    edge.shutdown();
    loop.stop();
  });
}

}  // namespace cc::edge
