#include "media_relay/app.h"

#include <sys/stat.h>

#include <thread>

#include "common/log.h"
#include "common/runtime.h"
#include "common/signals.h"
#include "media_relay/grpc_service.h"

namespace cc::relay {
namespace {

// Prometheus side of the relay, refreshed every second from the workers' counters.
class RelayMetrics {
 public:
  explicit RelayMetrics(prometheus::Registry& r)
      : legs_(Gauge(r, "cc_relay_legs", "Live legs")),
        bridges_(Gauge(r, "cc_relay_bridges", "Live bridges")),
        ports_used_(Gauge(r, "cc_relay_ports_in_use", "RTP port pairs in use")),
        ports_total_(Gauge(r, "cc_relay_ports_total", "RTP port pairs in the range")),
        lost_(Gauge(r, "cc_relay_packets_lost", "Packets lost on the way in, live legs")),
        packets_(prometheus::BuildGauge()
                     .Name("cc_relay_packets_total")
                     .Help("RTP/RTCP packets received (in) and sent (out)")
                     .Register(r)),
        bytes_(prometheus::BuildGauge()
                   .Name("cc_relay_bytes_total")
                   .Help("Bytes received (in) and sent (out)")
                   .Register(r)),
        drops_(prometheus::BuildGauge()
                   .Name("cc_relay_dropped_packets_total")
                   .Help("Packets dropped, by reason")
                   .Register(r)),
        send_errors_(Gauge(r, "cc_relay_send_errors_total", "Packets the kernel refused to send")) {
  }

  void refresh(Relay& relay) {
    const RelayTotals t = relay.totals();
    legs_.Set(relay.live_legs());
    bridges_.Set(relay.bridges());
    ports_used_.Set(static_cast<double>(relay.ports().in_use()));
    ports_total_.Set(static_cast<double>(relay.ports().capacity()));
    packets_.Add({{"direction", "in"}}).Set(static_cast<double>(t.packets_in));
    packets_.Add({{"direction", "out"}}).Set(static_cast<double>(t.packets_out));
    bytes_.Add({{"direction", "in"}}).Set(static_cast<double>(t.bytes_in));
    bytes_.Add({{"direction", "out"}}).Set(static_cast<double>(t.bytes_out));
    for (int i = 0; i < kDropReasons; ++i) {
      drops_.Add({{"reason", ToString(static_cast<DropReason>(i))}})
          .Set(static_cast<double>(t.drops[i]));
    }
    send_errors_.Set(static_cast<double>(t.send_errors));
    std::uint64_t lost = 0;
    for (const auto& leg : relay.list_legs("")) lost += leg.stats.packets_lost;
    lost_.Set(static_cast<double>(lost));
  }

 private:
  // The totals are sums kept by the workers, exported as gauges holding counter values.
  static prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  }
  prometheus::Gauge &legs_, &bridges_, &ports_used_, &ports_total_, &lost_;
  prometheus::Family<prometheus::Gauge>&packets_, &bytes_, &drops_;
  prometheus::Gauge& send_errors_;
};

}  // namespace

int RunMediaRelay(int argc, char** argv) {
  ShutdownSignal::Block();
  Config config("media-relay");
  AddCommonOptions(config, {"media-relay", "127.0.0.1:50053", "127.0.0.1:9103", false, true});
  config.add_string("rtp-bind", "127.0.0.1", "IPv4 address the RTP/RTCP sockets bind to");
  config.add_string("rtp-advertise", "", "address put in SDP (default: --rtp-bind)");
  config.add_int("rtp-port-min", 30000, "first port of the RTP range", 1024, 65534);
  config.add_int("rtp-port-max", 30999, "last port of the RTP range", 1025, 65535);
  config.add_int("workers", 1, "forwarding threads (each with its own epoll loop)", 1, 64);
  config.add_duration("media-timeout", Duration{30000},
                      "no RTP on a bridged leg (not on hold) for this long -> media timeout event",
                      Duration{1000}, Duration{3'600'000});
  config.add_duration("edge-lease", Duration{30000},
                      "legs of an edge that has not listed them (EdgeLegs) for this long are "
                      "released (the edge's own lease applies once it has)",
                      Duration{1000}, Duration{3'600'000});
  config.add_duration("edge-legs-grace", Duration{5000},
                      "an edge's leg missing from its list is released once older than this",
                      Duration{100}, Duration{600'000});
  config.add_duration("relatch-after", Duration{2000},
                      "a latched source silent this long may be replaced by a new one",
                      Duration{100}, Duration{600'000});
  config.add_bool("strict-source", false,
                  "accept the first packet of a leg only from the address in its SDP");
  config.add_string("prompt-dir", "",
                    "the operator's prompts: <dir>/[<lang>/]<name>.wav, searched first");
  config.add_string("default-prompt-dir", "",
                    "the default prompts made from text (tools/prompts.sh), searched after "
                    "prompt-dir; moh and beep are built in");
  config.add_string("recording-dir", "", "where recordings are written (empty: recording off)");
  config.add_int("socket-buffer", 4 << 20, "SO_RCVBUF / SO_SNDBUF of each leg socket", 65536,
                 64 << 20);
  if (auto code = ParseOrExit(config, argc, argv)) return *code;
  if (config.integer("rtp-port-min") >= config.integer("rtp-port-max")) {
    std::fprintf(stderr, "media-relay: configuration error: rtp-port-min >= rtp-port-max\n");
    return 2;
  }
  const std::string instance = SetupLogging(config, "media-relay");
  if (auto code = SetupApiAuth(config)) return *code;
  auto metrics = Metrics::Start(config.str("metrics-listen"));
  if (StartupFailed(metrics)) return 1;
  auto nats = NatsClient::Connect(NatsSettingsFrom(config, instance));
  if (StartupFailed(nats)) return 1;
  RelaySettings settings;
  settings.bind_address = config.str("rtp-bind");
  settings.advertise_address = config.str("rtp-advertise");
  settings.port_min = static_cast<std::uint16_t>(config.integer("rtp-port-min"));
  settings.port_max = static_cast<std::uint16_t>(config.integer("rtp-port-max"));
  settings.workers = static_cast<int>(config.integer("workers"));
  settings.media_timeout = config.duration("media-timeout");
  settings.edge_lease = config.duration("edge-lease");
  settings.edge_legs_grace = config.duration("edge-legs-grace");
  settings.relatch_after = config.duration("relatch-after");
  settings.strict_source = config.boolean("strict-source");
  settings.prompt_dir = config.str("prompt-dir");
  settings.default_prompt_dir = config.str("default-prompt-dir");
  settings.recording_dir = config.str("recording-dir");
  settings.socket_buffer_bytes = static_cast<int>(config.integer("socket-buffer"));
  if (!settings.recording_dir.empty()) mkdir(settings.recording_dir.c_str(), 0750);

  NatsMediaEvents events(**nats, instance);
  Relay relay(settings, events);
  if (StartupFailed(relay.start())) return 1;
  RelayMetrics relay_metrics((*metrics)->registry());
  ThreadTimers timers("relay-timers");
  auto refresh = std::make_unique<Periodic>(timers, Duration{1000}, [&] {
    relay.release_orphans();
    relay_metrics.refresh(relay);
  });
  // Recordings past their retention day go: at start, then every ten minutes.
  const auto sweep_recordings = [&] {
    const std::time_t t = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char today[9];
    std::strftime(today, sizeof today, "%Y%m%d", &utc);
    if (const int n = relay.expire_recordings(today); n > 0) {
      log::Info("recordings past their retention removed", {{"entries", n}});
    }
  };
  sweep_recordings();
  auto retention = std::make_unique<Periodic>(timers, std::chrono::minutes(10), sweep_recordings);

  GrpcMetrics grpc_metrics((*metrics)->registry(), "media-relay");
  MediaRelayGrpc grpc_service(relay, grpc_metrics);
  GrpcServer server(config.str("grpc-listen"), {&grpc_service});
  if (StartupFailed(server.start())) return 1;
  log::Info("media-relay ready",
            {{"grpc_port", server.port()},
             {"rtp", settings.bind_address + ":" + std::to_string(settings.port_min) + "-" +
                         std::to_string(settings.port_max)},
             {"workers", settings.workers}});
  return ServeUntilSignal(server, config, [&] {
    // Calls in progress keep their audio until they end or the drain timeout passes.
    relay.drain();
    const auto deadline = std::chrono::steady_clock::now() + config.duration("drain-timeout");
    while (relay.live_legs() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (relay.live_legs() > 0) {
      log::Warn("drain timeout: stopping with live legs", {{"legs", relay.live_legs()}});
    }
    refresh.reset();
    relay.stop();
  });
}

}  // namespace cc::relay
