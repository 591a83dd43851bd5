#include "agent_registry/app.h"

#include <memory>

#include "agent_registry/grpc_service.h"
#include "agent_registry/nats_events.h"
#include "agent_registry/pg_repository.h"
#include "agent_registry/service.h"
#include "common/log.h"
#include "common/migrations.h"
#include "common/runtime.h"
#include "common/signals.h"

namespace cc::registry {
namespace {

// Prometheus side of the registry: counters bumped by the service, gauges refreshed from
// the database (the same numbers on every replica; dashboards take max()).
class RegistryMetrics final : public RegistryObserver {
 public:
  explicit RegistryMetrics(prometheus::Registry& r)
      : registrations_(prometheus::BuildCounter()
                           .Name("cc_registrations_total")
                           .Help("SIP binding registrations handled, by result")
                           .Register(r)),
        changes_(prometheus::BuildCounter()
                     .Name("cc_agent_status_changes_total")
                     .Help("Agent status changes made by this instance, by new status")
                     .Register(r)),
        expired_(prometheus::BuildCounter()
                     .Name("cc_agent_bindings_expired_total")
                     .Help("Bindings removed because they expired")
                     .Register(r)
                     .Add({})),
        agents_(prometheus::BuildGauge()
                    .Name("cc_agents")
                    .Help("Agents by status (whole database)")
                    .Register(r)),
        bindings_(prometheus::BuildGauge()
                      .Name("cc_agent_bindings")
                      .Help("Live SIP bindings (whole database)")
                      .Register(r)
                      .Add({})),
        routable_(prometheus::BuildGauge()
                      .Name("cc_agents_routable")
                      .Help("Agents with at least one live binding (whole database)")
                      .Register(r)
                      .Add({})),
        publish_failures_(prometheus::BuildGauge()
                              .Name("cc_event_publish_failures")
                              .Help("Events this instance failed to publish on NATS")
                              .Register(r)
                              .Add({})) {
    for (const char* result : {"created", "refreshed", "removed", "rejected"}) {
      registrations_.Add({{"result", result}});
    }
    for (auto s : kAllAgentStatuses) {
      changes_.Add({{"to", std::string(ToString(s))}});
      agents_.Add({{"status", std::string(ToString(s))}});
    }
  }

  void registration(std::string_view result) override {
    registrations_.Add({{"result", std::string(result)}}).Increment();
  }
  void status_changed(AgentStatus, AgentStatus to) override {
    changes_.Add({{"to", std::string(ToString(to))}}).Increment();
  }
  void bindings_expired(int n) override { expired_.Increment(n); }

  void refresh(AgentRepository& repo, const NatsEventSink& sink) {
    auto c = repo.counts(SystemClock::instance().now());
    if (!c.ok()) return;
    for (const auto& [status, n] : c->by_status) {
      agents_.Add({{"status", std::string(ToString(status))}}).Set(n);
    }
    bindings_.Set(c->bindings);
    routable_.Set(c->routable_agents);
    publish_failures_.Set(static_cast<double>(sink.failures()));
  }

 private:
  prometheus::Family<prometheus::Counter>& registrations_;
  prometheus::Family<prometheus::Counter>& changes_;
  prometheus::Counter& expired_;
  prometheus::Family<prometheus::Gauge>& agents_;
  prometheus::Gauge& bindings_;
  prometheus::Gauge& routable_;
  prometheus::Gauge& publish_failures_;
};

}  // namespace

int RunAgentRegistry(int argc, char** argv) {
  ShutdownSignal::Block();
  Config config("agent-registry");
  AddCommonOptions(config, {"agent-registry", "127.0.0.1:50051", "127.0.0.1:9101", true, true});
  config.add_string("sip-realm", "callcenter.local", "digest realm of agent credentials",
                    [](const std::string& v) -> std::optional<std::string> {
                      if (v.empty() || v.size() > 255 || v.find('"') != std::string::npos) {
                        return "must be 1-255 characters without quotes";
                      }
                      return std::nullopt;
                    });
  config.add_int("default-wrap-up-seconds", 0, "wrap-up time of agents created without one", 0,
                 3600);
  config.add_int("min-expires", 60, "shortest registration granted (seconds)", 1, 86400);
  config.add_int("max-expires", 3600, "longest registration granted (seconds)", 1, 86400);
  config.add_int("max-bindings-per-agent", 10, "SIP devices one agent may register", 1, 100);
  config.add_duration("sweep-interval", Duration{1000}, "how often expired bindings are removed",
                      Duration{100}, Duration{600'000});
  config.add_bool("migrate", false, "apply pending database migrations at startup");
  if (auto code = ParseOrExit(config, argc, argv)) return *code;
  if (config.integer("min-expires") > config.integer("max-expires")) {
    std::fprintf(stderr, "agent-registry: configuration error: min-expires > max-expires\n");
    return 2;
  }
  const std::string instance = SetupLogging(config, "agent-registry");
  if (auto code = SetupApiAuth(config)) return *code;

  auto metrics = Metrics::Start(config.str("metrics-listen"));
  if (StartupFailed(metrics)) return 1;
  PgPool pool(PgSettingsFrom(config, instance));
  if (!MigrateIfAsked(config, pool)) return 1;
  auto nats = NatsClient::Connect(NatsSettingsFrom(config, instance));
  if (StartupFailed(nats)) return 1;

  RegistrySettings settings;
  settings.realm = config.str("sip-realm");
  settings.default_wrap_up_seconds = static_cast<int>(config.integer("default-wrap-up-seconds"));
  settings.min_expires_seconds = static_cast<int>(config.integer("min-expires"));
  settings.max_expires_seconds = static_cast<int>(config.integer("max-expires"));
  settings.max_bindings_per_agent = static_cast<int>(config.integer("max-bindings-per-agent"));

  PgAgentRepository repo(pool);
  NatsEventSink events(**nats, instance);
  RegistryMetrics registry_metrics((*metrics)->registry());
  AgentService service(repo, events, SystemClock::instance(), settings, &registry_metrics);
  GrpcMetrics grpc_metrics((*metrics)->registry(), "agent-registry");
  AgentRegistryGrpc grpc_service(service, grpc_metrics);

  GrpcServer server(config.str("grpc-listen"), {&grpc_service});
  if (StartupFailed(server.start())) return 1;
  ThreadTimers timers("registry-timers");
  auto sweep = std::make_unique<Periodic>(timers, config.duration("sweep-interval"), [&] {
    auto n = service.sweep_expired();
    if (!n.ok()) log::Warn("binding sweep failed", {{"error", n.error().message}});
  });
  auto gauges = std::make_unique<Periodic>(timers, Duration{2000},
                                           [&] { registry_metrics.refresh(repo, events); });
  registry_metrics.refresh(repo, events);
  log::Info("agent-registry ready", {{"grpc_port", server.port()},
                                     {"metrics_port", (*metrics)->port()},
                                     {"realm", settings.realm}});
  return ServeUntilSignal(server, config, [&] {
    sweep.reset();
    gauges.reset();
  });
}

}  // namespace cc::registry
