#include "queue_service/app.h"

#include <random>

#include "common/log.h"
#include "common/migrations.h"
#include "common/runtime.h"
#include "common/signals.h"
#include "queue_service/engine.h"
#include "queue_service/grpc_service.h"
#include "queue_service/nats_adapters.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {
namespace {

// Prometheus side of the queue-service. Counters count what this instance did; the queue
// gauges are read from the database (the same on every replica: dashboards take max()).
class QueueMetrics final : public EngineObserver {
 public:
  explicit QueueMetrics(prometheus::Registry& r)
      : events_(prometheus::BuildCounter()
                    .Name("cc_call_events_total")
                    .Help("Call events made by this instance, by queue and kind")
                    .Register(r)),
        offers_(prometheus::BuildCounter()
                    .Name("cc_offers_total")
                    .Help("Offers sent to edges, by result (delivered / withdrawn)")
                    .Register(r)),
        to_offer_(prometheus::BuildHistogram()
                      .Name("cc_enqueue_to_offer_seconds")
                      .Help("From a call's enqueue to its first offer")
                      .Register(r)
                      .Add({}, LatencyBuckets())),
        wait_(prometheus::BuildHistogram()
                  .Name("cc_queue_wait_seconds")
                  .Help("How long callers waited before being answered or giving up")
                  .Register(r)),
        match_(prometheus::BuildHistogram()
                   .Name("cc_match_pass_seconds")
                   .Help("Duration of one matching pass")
                   .Register(r)
                   .Add({}, LatencyBuckets())),
        waiting_(Gauge(r, "cc_queue_waiting_calls", "Calls waiting in the queue")),
        longest_(Gauge(r, "cc_queue_longest_wait_seconds", "Longest current wait")),
        available_(Gauge(r, "cc_queue_agents_available", "Members available and routable")),
        busy_(Gauge(r, "cc_queue_agents_busy", "Members reserved, on a call or in wrap-up")),
        service_level_(
            Gauge(r, "cc_queue_service_level", "Answered within the threshold, last 15 min")),
        asa_(Gauge(r, "cc_queue_average_speed_of_answer_seconds", "Last 15 min")),
        aht_(Gauge(r, "cc_queue_average_handle_time_seconds", "Last 15 min")),
        answered_(Gauge(r, "cc_queue_answered_calls", "Calls answered, last 15 min")),
        abandoned_(Gauge(r, "cc_queue_abandoned_calls", "Calls abandoned, last 15 min")) {}

  void call_event(const CallEvent& e, TimePoint now) override {
    events_.Add({{"queue", e.call.queue}, {"kind", std::string(EventName(e.kind))}}).Increment();
    if (e.kind == CallEventKind::kConnected || e.kind == CallEventKind::kAbandoned) {
      const TimePoint until = e.call.connected_at.value_or(now);
      wait_.Add({{"queue", e.call.queue}}, WaitBuckets())
          .Observe(std::chrono::duration<double>(until - e.call.enqueued_at).count());
    }
  }
  void offer(const Offer& o, bool delivered) override {
    offers_.Add({{"queue", o.queue}, {"result", delivered ? "delivered" : "withdrawn"}})
        .Increment();
    if (delivered && o.attempt == 1) {  // the time until the first offer that reached an edge
      to_offer_.Observe(std::chrono::duration<double>(o.offered_at - o.enqueued_at).count());
    }
  }
  void match_pass(double seconds, int) override { match_.Observe(seconds); }
  void stats(const std::vector<QueueStats>& all) override {
    auto secs = [](Duration d) { return static_cast<double>(d.count()) / 1000.0; };
    for (const auto& s : all) {
      const prometheus::Labels l{{"queue", s.queue}};
      waiting_.Add(l).Set(s.waiting);
      longest_.Add(l).Set(secs(s.longest_wait));
      available_.Add(l).Set(s.agents_available);
      busy_.Add(l).Set(s.agents_busy);
      service_level_.Add(l).Set(s.service_level);
      asa_.Add(l).Set(secs(s.average_speed_of_answer));
      aht_.Add(l).Set(secs(s.average_handle_time));
      answered_.Add(l).Set(static_cast<double>(s.answered));
      abandoned_.Add(l).Set(static_cast<double>(s.abandoned));
    }
  }

 private:
  static prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& r, const char* name,
                                                      const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
  }
  static prometheus::Histogram::BucketBoundaries WaitBuckets() {
    return {1, 5, 10, 20, 30, 60, 120, 300, 600, 1800};
  }
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& offers_;
  prometheus::Histogram& to_offer_;
  prometheus::Family<prometheus::Histogram>& wait_;
  prometheus::Histogram& match_;
  prometheus::Family<prometheus::Gauge>&waiting_, &longest_, &available_, &busy_, &service_level_,
      &asa_, &aht_, &answered_, &abandoned_;
};

}  // namespace

int RunQueueService(int argc, char** argv) {
  ShutdownSignal::Block();
  Config config("queue-service");
  AddCommonOptions(config, {"queue-service", "127.0.0.1:50052", "127.0.0.1:9102", true, true});
  config.add_duration("match-interval", Duration{1000},
                      "fallback matching period (matching also runs on every change)", Duration{50},
                      Duration{60'000});
  config.add_duration("sweep-interval", Duration{250},
                      "how often leases, silent edges, max waits and wrap-ups are checked",
                      Duration{20}, Duration{60'000});
  config.add_duration("offer-ack-timeout", Duration{1000},
                      "how long an edge has to acknowledge an offer before it is withdrawn",
                      Duration{10}, Duration{30'000});
  config.add_duration("lease-grace", Duration{5000},
                      "added to a queue's ring timeout to make an offer's lease", Duration{0},
                      Duration{600'000});
  config.add_duration("edge-lease", Duration{30000},
                      "how long an edge's calls outlive its last sign of life", Duration{1000},
                      Duration{3'600'000});
  config.add_duration("reconcile-grace", Duration{5000},
                      "a live call an edge's heartbeat does not list is ended once it is older "
                      "than this (its enqueue may still be on the way)",
                      Duration{1000}, Duration{600'000});
  config.add_int("dispatch-threads", 4, "threads delivering offers to edges", 1, 64);
  config.add_duration("match-batch-window", Duration{10},
                      "under load, at most one match pass per window (0: a pass per trigger)",
                      Duration{0}, Duration{1000});
  config.add_int("assign-parallelism", 4,
                 "assignments of one match pass committed in parallel (keep below db-pool-size)", 1,
                 64);
  config.add_bool("migrate", false, "apply pending database migrations at startup");
  if (auto code = ParseOrExit(config, argc, argv)) return *code;
  const std::string instance = SetupLogging(config, "queue-service");
  if (auto code = SetupApiAuth(config)) return *code;

  auto metrics = Metrics::Start(config.str("metrics-listen"));
  if (StartupFailed(metrics)) return 1;
  PgPool pool(PgSettingsFrom(config, instance));
  if (!MigrateIfAsked(config, pool)) return 1;
  auto nats = NatsClient::Connect(NatsSettingsFrom(config, instance));
  if (StartupFailed(nats)) return 1;

  Settings store_settings;
  store_settings.lease_grace = config.duration("lease-grace");
  store_settings.edge_lease = config.duration("edge-lease");
  store_settings.reconcile_grace = config.duration("reconcile-grace");
  PgQueueRepository store(pool, store_settings);
  NatsOfferChannel offers(**nats, instance, config.duration("offer-ack-timeout"));
  NatsEventPublisher events(**nats, instance);
  NatsEdgeOrders edge_orders(**nats, instance, config.duration("offer-ack-timeout"));
  QueueMetrics queue_metrics((*metrics)->registry());
  ThreadTimers timers("queue-timers");
  EngineSettings engine_settings;
  engine_settings.match_interval = config.duration("match-interval");
  engine_settings.sweep_interval = config.duration("sweep-interval");
  engine_settings.dispatch_threads = static_cast<int>(config.integer("dispatch-threads"));
  engine_settings.assign_parallelism = static_cast<int>(config.integer("assign-parallelism"));
  engine_settings.match_batch_window = config.duration("match-batch-window");
  std::mt19937_64 rng{std::random_device{}()};
  std::mutex rng_mu;
  QueueEngine engine(store, offers, events, SystemClock::instance(), timers, engine_settings,
                     &queue_metrics, [&] {
                       std::lock_guard lock(rng_mu);
                       return rng();
                     });

  // Agents becoming available or routable (registry events) are a reason to match now; the
  // periodic match covers a lost event.
  auto on_agent = [&](NatsMessage) { engine.trigger(); };
  auto status_sub = (*nats)->subscribe((*nats)->subject("agent.status.>"), on_agent);
  auto routable_sub = (*nats)->subscribe((*nats)->subject("agent.routable.>"), on_agent);
  if (!status_sub.ok() || !routable_sub.ok()) {
    log::Error("startup failed", {{"error", "cannot subscribe to agent events"}});
    return 1;
  }

  GrpcMetrics grpc_metrics((*metrics)->registry(), "queue-service");
  Monitoring monitoring(store, edge_orders, SystemClock::instance());
  Recordings recordings(store, edge_orders, SystemClock::instance());
  QueueServiceGrpc grpc_service(engine, monitoring, recordings, grpc_metrics,
                                store_settings.edge_lease);
  GrpcServer server(config.str("grpc-listen"), {&grpc_service});
  if (StartupFailed(server.start())) return 1;
  engine.start();
  log::Info("queue-service ready",
            {{"grpc_port", server.port()}, {"metrics_port", (*metrics)->port()}});
  return ServeUntilSignal(server, config, [&] {
    status_sub->reset();
    routable_sub->reset();
    engine.stop();
  });
}

}  // namespace cc::queue
