#pragma once

#include <atomic>
#include <string>

#include "agent_registry/events.h"
#include "common/nats.h"

namespace cc::registry {

// Publishes registry events as callcenter.v1 protobuf messages on:
//   <prefix>.agent.status.<id>     AgentStatusChanged
//   <prefix>.agent.routable.<id>   AgentRoutabilityChanged
//   <prefix>.agent.binding.<id>    BindingChanged
//   <prefix>.agent.lifecycle.<id>  AgentLifecycle
// where <id> is the agent id with '.' written as '~' (a '.' would split the token).
// Thread-safe; a failed publish is logged and counted, never thrown.
class NatsEventSink final : public EventSink {
 public:
  NatsEventSink(NatsClient& nats, std::string emitter)
      : nats_(nats), emitter_(std::move(emitter)) {}
  void status_changed(const StatusChangeResult& change) override;
  void routability_changed(const std::string& agent_id, bool routable, int bindings,
                           const std::string& reason) override;
  void binding_changed(BindingEvent kind, const Binding& binding) override;
  void lifecycle(LifecycleEvent kind, const std::string& agent_id) override;
  std::uint64_t failures() const { return failures_.load(); }

 private:
  void send(const std::string& kind, const std::string& agent_id, const std::string& payload);
  NatsClient& nats_;
  std::string emitter_;
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace cc::registry
