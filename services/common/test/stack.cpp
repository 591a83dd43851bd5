#include "stack.h"

namespace cc::testing {

std::unique_ptr<ServiceProcess> Stack::start(const std::string& name, const std::string& binary,
                                             const StackOptions& o, std::vector<std::string> args) {
  std::vector<std::string> all = {"--nats-url=" + o.nats_url,
                                  "--nats-subject-prefix=" + o.subject_prefix};
  all.insert(all.end(), o.common.begin(), o.common.end());
  all.insert(all.end(), args.begin(), args.end());
  auto p = std::make_unique<ServiceProcess>(binary, all);
  if (!p->ready() && failure_.empty()) {
    failure_ = name + " did not become healthy:\n" + p->process().output();
  }
  return p;
}

Stack::Stack(const StackBinaries& bins, const StackOptions& o) {
  auto with = [](std::vector<std::string> first, const std::vector<std::string>& more) {
    first.insert(first.end(), more.begin(), more.end());
    return first;
  };
  auto targets = [](const std::vector<std::unique_ptr<ServiceProcess>>& all) {
    std::string out;
    for (const auto& p : all) out += (out.empty() ? "" : ",") + p->target();
    return out;
  };
  for (int i = 0; i < o.registries; ++i) {
    registries_.push_back(start("agent-registry", bins.agent_registry, o,
                                with({"--db-url=" + o.db_url}, o.registry_args)));
  }
  for (int i = 0; i < o.queues; ++i) {
    queues_.push_back(start("queue-service", bins.queue_service, o,
                            with({"--db-url=" + o.db_url}, o.queue_args)));
  }
  for (int i = 0; i < o.relays; ++i) {
    std::vector<std::string> args;
    if (o.rtp_port_min > 0) {
      const int min = o.rtp_port_min + i * o.rtp_ports_per_relay;
      args = {"--rtp-port-min=" + std::to_string(min),
              "--rtp-port-max=" + std::to_string(min + o.rtp_ports_per_relay - 1)};
    }
    relays_.push_back(start("media-relay", bins.media_relay, o, with(args, o.relay_args)));
  }
  sip_port_ = o.sip_port > 0 ? o.sip_port : FreePort();
  edge_ = start("signaling-edge", bins.signaling_edge, o,
                with({"--sip-listen=127.0.0.1:" + std::to_string(sip_port_),
                      "--agent-registry=" + targets(registries_),
                      "--queue-service=" + targets(queues_), "--media-relay=" + targets(relays_)},
                     o.edge_args));
}

}  // namespace cc::testing
