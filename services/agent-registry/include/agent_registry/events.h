#pragma once

#include <string>

#include "agent_registry/model.h"

namespace cc::registry {

enum class BindingEvent { kAdded, kRefreshed, kRemoved, kExpired };
enum class LifecycleEvent { kCreated, kUpdated, kDeleted };

// Where the registry announces facts after they are committed. Implementations must not
// throw and must not block for long; a lost event is tolerated by design (the database is
// the truth), but should be counted. Thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void status_changed(const StatusChangeResult& change) = 0;
  virtual void routability_changed(const std::string& agent_id, bool routable, int bindings,
                                   const std::string& reason) = 0;
  virtual void binding_changed(BindingEvent kind, const Binding& binding) = 0;
  virtual void lifecycle(LifecycleEvent kind, const std::string& agent_id) = 0;
};

}  // namespace cc::registry
