#pragma once

#include <string>
#include <vector>

#include "agent_registry/events.h"
#include "agent_registry/model.h"
#include "agent_registry/repository.h"
#include "common/clock.h"
#include "common/status.h"

namespace cc::registry {

struct RegistrySettings {
  std::string realm = "callcenter.local";
  int default_wrap_up_seconds = 0;
  int min_expires_seconds = 60;    // shorter requests are raised to this
  int max_expires_seconds = 3600;  // longer requests are cut to this
  int max_bindings_per_agent = 10;
  int sweep_batch = 500;
};

// Counters the service bumps; the main wires them to Prometheus. Thread-safe if the
// callbacks are.
struct RegistryObserver {
  virtual ~RegistryObserver() = default;
  virtual void registration(std::string_view result) { (void)result; }  // created/refreshed/...
  virtual void status_changed(AgentStatus from, AgentStatus to) { (void)from, (void)to; }
  virtual void bindings_expired(int n) { (void)n; }
};

// The agent registry's rules: validation, the status machine, binding expiry and the events
// that follow each committed change. Thread-safe (state lives in the repository).
class AgentService {
 public:
  AgentService(AgentRepository& repo, EventSink& events, const Clock& clock,
               RegistrySettings settings, RegistryObserver* observer = nullptr);

  Result<Agent> create(const NewAgent& request);
  Result<Agent> get(const std::string& id);
  Result<Agent> get_by_username(const std::string& sip_username);
  Result<AgentPage> list(const AgentFilter& filter);
  Result<Agent> update(const AgentUpdate& request);
  Status remove(const std::string& id);

  Result<StatusChangeResult> login(const std::string& id, bool paused,
                                   const std::string& pause_reason);
  Result<StatusChangeResult> logout(const std::string& id, const std::string& reason);
  Result<StatusChangeResult> pause(const std::string& id, const std::string& reason);
  Result<StatusChangeResult> unpause(const std::string& id);
  // Generic transition (queue-service, operators). `expected_from` guards against races.
  Result<StatusChangeResult> change_status(const std::string& id, AgentStatus to,
                                           const std::string& reason,
                                           std::optional<AgentStatus> expected_from,
                                           const std::string& call_id);

  Result<BindingUpsert> register_binding(BindingRequest request);
  Result<BindingRemoval> unregister_binding(const std::string& sip_username,
                                            const std::string& contact_uri);
  Result<std::vector<Binding>> list_bindings(const std::string& agent_id,
                                             const std::string& sip_username);
  Result<Credentials> credentials(const std::string& sip_username);

  // Removes expired bindings and announces agents that became unroutable. Run periodically
  // by every replica; each expired binding is removed (and announced) exactly once.
  Result<int> sweep_expired();

  const RegistrySettings& settings() const { return settings_; }

  // Expiry the registry grants for a requested one (clamped to [min, max]).
  int GrantedExpiry(int requested) const;

 private:
  Result<StatusChangeResult> transition(const std::string& id,
                                        const AgentRepository::StatusDecision& decide);
  void announce(const StatusChangeResult& change);

  AgentRepository& repo_;
  EventSink& events_;
  const Clock& clock_;
  RegistrySettings settings_;
  RegistryObserver default_observer_;
  RegistryObserver* observer_;
};

// Validation shared by the service and its adapters; each returns a clear message.
Status ValidateAgentId(const std::string& id);
Status ValidateSipUsername(const std::string& username);
Status ValidateDisplayName(const std::string& name);
Status ValidateSkills(const std::vector<Skill>& skills);
Status ValidateMemberships(const std::vector<Membership>& queues);
Status ValidateReason(const std::string& what, const std::string& reason, bool required);

// A SIP/SIPS contact URI reduced to what routing needs. INVALID_ARGUMENT if it has no host
// or no explicit port (the edge fills a missing port from the packet's source).
struct ContactAddress {
  std::string host;
  int port = 0;
};
Result<ContactAddress> ParseContactUri(const std::string& uri);

}  // namespace cc::registry
