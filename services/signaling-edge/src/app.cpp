#include "signaling_edge/app.h"

#include <thread>

#include "common/ids.h"
#include "common/log.h"
#include "common/runtime.h"
#include "common/signals.h"
#include "signaling_edge/grpc_service.h"

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
        failures_(prometheus::BuildCounter()
                      .Name("cc_edge_call_failures_total")
                      .Help("Calls or offers that failed, by reason")
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

  void request(const char* method) override { requests_.Add({{"method", method}}).Increment(); }
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
  void call_failure(const char* reason) override {
    failures_.Add({{"reason", reason}}).Increment();
  }
  void setup_time(double seconds) override { setup_.Observe(seconds); }
  void gauges(int dialogs, int calls) override {
    dialogs_.Set(dialogs);
    calls_.Set(calls);
  }

 private:
  prometheus::Family<prometheus::Counter>&requests_, &responses_, &registrations_, &failures_;
  prometheus::Histogram& setup_;
  prometheus::Gauge &dialogs_, &calls_;
};

}  // namespace

int RunSignalingEdge(int argc, char** argv) {
  ShutdownSignal::Block();
  Config config("signaling-edge");
  AddCommonOptions(config, {"signaling-edge", "127.0.0.1:50054", "127.0.0.1:9104", false, true});
  config.add_host_port("sip-listen", "127.0.0.1:5060", "SIP address (UDP and TCP)");
  config.add_string("sip-advertise", "", "host:port for our Contact (default: --sip-listen)");
  config.add_string("sip-realm", "callcenter.local", "digest realm (the agents' HA1 realm)");
  config.add_string("auth-secret", "",
                    "key for digest nonces, the same on every edge "
                    "(default: random, so nonces die with the process)");
  config.add_int("nonce-lifetime", 300, "seconds a digest nonce is valid (then stale=true)", 10,
                 86400);
  config.add_int("min-expires", 60, "shorter registrations get 423 Interval Too Brief", 1, 86400);
  config.add_int("max-expires", 3600, "longer registrations are cut to this", 1, 86400);
  config.add_int("auth-failures", 10, "failed REGISTERs from one source before it is blocked", 1,
                 100000);
  config.add_duration("auth-block", Duration{60000},
                      "window for counting failures, and how long a source stays blocked",
                      Duration{1000}, Duration{86'400'000});
  config.add_int("max-calls", 2000, "live calls before new INVITEs get 503", 1, 1000000);
  config.add_host_port("agent-registry", "127.0.0.1:50051", "agent-registry gRPC address");
  config.add_host_port("queue-service", "127.0.0.1:50052", "queue-service gRPC address");
  config.add_host_port("media-relay", "127.0.0.1:50053", "media-relay gRPC address");
  config.add_string("edge-id", "", "this edge's id in queue-service (default: the instance id)");
  config.add_duration("rpc-timeout", Duration{3000}, "deadline of calls to the other services",
                      Duration{100}, Duration{60'000});
  if (auto code = ParseOrExit(config, argc, argv)) return *code;
  if (config.integer("min-expires") > config.integer("max-expires")) {
    std::fprintf(stderr, "signaling-edge: configuration error: min-expires > max-expires\n");
    return 2;
  }
  const std::string instance = SetupLogging(config, "signaling-edge");
  auto metrics = Metrics::Start(config.str("metrics-listen"));
  if (StartupFailed(metrics)) return 1;
  auto nats = NatsClient::Connect(NatsSettingsFrom(config, instance));
  if (StartupFailed(nats)) return 1;
  EdgeSettings settings;
  settings.edge_id = config.str("edge-id").empty() ? instance : config.str("edge-id");
  settings.sip_listen = config.str("sip-listen");
  settings.sip_advertise = config.str("sip-advertise");
  settings.realm = config.str("sip-realm");
  settings.auth_secret =
      config.str("auth-secret").empty() ? RandomHex(16) : config.str("auth-secret");
  settings.nonce_lifetime = std::chrono::seconds(config.integer("nonce-lifetime"));
  settings.min_expires = static_cast<int>(config.integer("min-expires"));
  settings.max_expires = static_cast<int>(config.integer("max-expires"));
  settings.default_expires = settings.max_expires;
  settings.auth_failures_before_block = static_cast<int>(config.integer("auth-failures"));
  settings.auth_failure_window =
      std::chrono::duration_cast<std::chrono::seconds>(config.duration("auth-block"));
  settings.max_calls = static_cast<int>(config.integer("max-calls"));
  settings.rpc_timeout = config.duration("rpc-timeout");

  SipLoop loop;
  loop.start();
  EdgeMetrics edge_metrics((*metrics)->registry());
  Edge edge(settings, loop, **nats, MakeChannel(config.str("agent-registry")),
            MakeChannel(config.str("queue-service")), MakeChannel(config.str("media-relay")),
            &edge_metrics);
  if (StartupFailed(edge.start())) {
    loop.stop();
    return 1;
  }
  GrpcMetrics grpc_metrics((*metrics)->registry(), "signaling-edge");
  SignalingEdgeGrpc grpc_service(edge, grpc_metrics);
  GrpcServer server(config.str("grpc-listen"), {&grpc_service});
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
