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
// on one database and one NATS subject prefix, then signaling-edge pointed at them with SIP
// on a free port. `common` goes to every service; each `*_args` only to that one.
struct StackOptions {
  std::string db_url;
  std::string nats_url;
  std::string subject_prefix;
  std::vector<std::string> common;
  std::vector<std::string> registry_args, queue_args, relay_args, edge_args;
};

class Stack {
 public:
  Stack(const StackBinaries& bins, const StackOptions& options);
  // Empty when every service answered its health check; otherwise which one did not, with
  // its output.
  const std::string& failure() const { return failure_; }
  ServiceProcess& registry() { return *registry_; }
  ServiceProcess& queue() { return *queue_; }
  ServiceProcess& relay() { return *relay_; }
  ServiceProcess& edge() { return *edge_; }
  int sip_port() const { return sip_port_; }

 private:
  std::unique_ptr<ServiceProcess> start(const std::string& name, const std::string& binary,
                                        const StackOptions& o, std::vector<std::string> args);

  std::unique_ptr<ServiceProcess> registry_, queue_, relay_, edge_;
  int sip_port_ = 0;
  std::string failure_;
};

}  // namespace cc::testing
