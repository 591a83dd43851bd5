#pragma once

#include <map>
#include <mutex>

#include "agent_registry/repository.h"

namespace cc::registry {

// An in-memory AgentRepository for unit tests: same contract, one mutex for atomicity.
class MemoryAgentRepository final : public AgentRepository {
 public:
  Result<Agent> insert(const Agent& agent, TimePoint now) override;
  Result<Agent> get(const std::string& id, TimePoint now) override;
  Result<Agent> get_by_username(const std::string& sip_username, TimePoint now) override;
  Result<AgentPage> list(const AgentFilter& filter, TimePoint now) override;
  Result<Agent> update(const std::string& id, const PatchDecision& decide, TimePoint now) override;
  Result<Agent> remove(const std::string& id, const DeleteCheck& check, TimePoint now) override;
  Result<StatusChangeResult> change_status(const std::string& id, const StatusDecision& decide,
                                           TimePoint now) override;
  Result<BindingUpsert> upsert_binding(const BindingRequest& request, TimePoint expires_at,
                                       int max_bindings, TimePoint now) override;
  Result<BindingRemoval> remove_bindings(const std::string& sip_username,
                                         const std::string& contact_uri, TimePoint now) override;
  Result<std::vector<Binding>> bindings(const std::string& agent_id, TimePoint now) override;
  Result<std::vector<ExpiredBindings>> sweep_expired(TimePoint now, int limit) override;
  Result<Credentials> credentials(const std::string& sip_username) override;
  Result<Counts> counts(TimePoint now) override;

  struct AuditRow {
    std::string agent_id;
    AgentStatus from, to;
    std::string reason;
  };
  std::vector<AuditRow> audit() const;

 private:
  Agent view(const Agent& a, TimePoint now) const;  // with binding_count filled
  std::vector<Binding> live(const std::string& agent_id, TimePoint now) const;
  Agent* find_by_username(const std::string& u);

  mutable std::mutex mu_;
  std::map<std::string, Agent> agents_;
  std::vector<Binding> bindings_;
  std::vector<AuditRow> audit_;
  std::int64_t next_binding_id_ = 1;
};

}  // namespace cc::registry
