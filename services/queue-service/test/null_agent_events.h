#pragma once

#include <string>

#include "agent_registry/events.h"

namespace cc::testing {

// The agent registry's events, dropped: queue-service tests that drive an agent registry
// in-process and watch only the queue side.
class NullAgentEvents final : public registry::EventSink {
 public:
  void status_changed(const registry::StatusChangeResult&) override {}
  void routability_changed(const std::string&, bool, int, const std::string&) override {}
  void binding_changed(registry::BindingEvent, const registry::Binding&) override {}
  void lifecycle(registry::LifecycleEvent, const std::string&) override {}
};

}  // namespace cc::testing
