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
  registry_ = start("agent-registry", bins.agent_registry, o,
                    with({"--db-url=" + o.db_url}, o.registry_args));
  queue_ =
      start("queue-service", bins.queue_service, o, with({"--db-url=" + o.db_url}, o.queue_args));
  relay_ = start("media-relay", bins.media_relay, o, o.relay_args);
  sip_port_ = FreePort();
  edge_ = start("signaling-edge", bins.signaling_edge, o,
                with({"--sip-listen=127.0.0.1:" + std::to_string(sip_port_),
                      "--agent-registry=" + registry_->target(),
                      "--queue-service=" + queue_->target(), "--media-relay=" + relay_->target()},
                     o.edge_args));
}

}  // namespace cc::testing
