#pragma once

#include <memory>
#include <string>
#include <vector>

#include "testing.h"

namespace cc::testing {

// Where the four service binaries are (each user passes its own build's paths).
struct StackBinaries {
  std::string agent_registry, queue_service, media_relay, signaling_edge;
};

// The whole engine as processes on free ports: agent-registry, queue-service and media-relay
// on one database and one NATS subject prefix, then signaling-edge pointed at them (at every
// replica) with SIP on a free port. `common` goes to every service; each `*_args` only to that
// one.
struct StackOptions {
  std::string db_url;
  std::string nats_url;
  std::string subject_prefix;
  std::vector<std::string> common;
  std::vector<std::string> registry_args, queue_args, relay_args, edge_args;
  int registries = 1, queues = 1, relays = 1;
  int sip_port = 0;  // 0: a free one
  // Each relay gets its own RTP range of this many ports from rtp_port_min (0: relay_args say).
  int rtp_port_min = 0, rtp_ports_per_relay = 100;
};

class Stack {
 public:
  Stack(const StackBinaries& bins, const StackOptions& options);
  // Empty when every service answered its health check; otherwise which one did not, with
  // its output.
  const std::string& failure() const { return failure_; }
  ServiceProcess& registry(int i = 0) { return *registries_.at(static_cast<size_t>(i)); }
  ServiceProcess& queue(int i = 0) { return *queues_.at(static_cast<size_t>(i)); }
  ServiceProcess& relay(int i = 0) { return *relays_.at(static_cast<size_t>(i)); }
  ServiceProcess& edge() { return *edge_; }
  int sip_port() const { return sip_port_; }

 private:
  std::unique_ptr<ServiceProcess> start(const std::string& name, const std::string& binary,
                                        const StackOptions& o, std::vector<std::string> args);

  std::vector<std::unique_ptr<ServiceProcess>> registries_, queues_, relays_;
  std::unique_ptr<ServiceProcess> edge_;
  int sip_port_ = 0;
  std::string failure_;
};

}  // namespace cc::testing
