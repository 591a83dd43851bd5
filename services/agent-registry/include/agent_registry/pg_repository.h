#pragma once

#include "agent_registry/repository.h"
#include "common/pg.h"

namespace cc::registry {

// AgentRepository on PostgreSQL (schema: services/common/migrations/0001_agents.sql).
// Every method is one transaction; agent rows are locked (FOR UPDATE) before their bindings,
// always in that order, so concurrent replicas serialize per agent without deadlocks.
class PgAgentRepository final : public AgentRepository {
 public:
  explicit PgAgentRepository(PgPool& pool);

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

 private:
  PgPool& pool_;
};

}  // namespace cc::registry
