#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent_registry/model.h"
#include "common/status.h"

namespace cc::registry {

// Storage of agents and bindings. Implementations are thread-safe, and each method is
// atomic: the `decide` callbacks run while the agent is locked, so a decision is always
// made on the row as it is now and written before anyone else can change it. `now` comes
// from the injected clock and is the only notion of time used for expiry.
class AgentRepository {
 public:
  virtual ~AgentRepository() = default;

  // ALREADY_EXISTS if the id or the SIP username is taken.
  virtual Result<Agent> insert(const Agent& agent, TimePoint now) = 0;
  virtual Result<Agent> get(const std::string& id, TimePoint now) = 0;
  virtual Result<Agent> get_by_username(const std::string& sip_username, TimePoint now) = 0;
  virtual Result<AgentPage> list(const AgentFilter& filter, TimePoint now) = 0;

  using PatchDecision = std::function<Result<AgentPatch>(const Agent& current)>;
  virtual Result<Agent> update(const std::string& id, const PatchDecision& decide,
                               TimePoint now) = 0;

  using DeleteCheck = std::function<Status(const Agent& current)>;
  // Returns the agent as it was just before deletion (bindings go with it).
  virtual Result<Agent> remove(const std::string& id, const DeleteCheck& check, TimePoint now) = 0;

  // `decide` returns the change to make, or nullopt for "already there, change nothing".
  using StatusDecision = std::function<Result<std::optional<StatusChange>>(const Agent& current)>;
  virtual Result<StatusChangeResult> change_status(const std::string& id,
                                                   const StatusDecision& decide, TimePoint now) = 0;

  // Adds or refreshes the binding (agent, contact_uri). FAILED_PRECONDITION when it would
  // exceed `max_bindings` live bindings, ABORTED for an out-of-order REGISTER (same
  // Call-ID, CSeq not higher).
  virtual Result<BindingUpsert> upsert_binding(const BindingRequest& request, TimePoint expires_at,
                                               int max_bindings, TimePoint now) = 0;
  // contact_uri "*" removes every binding of the agent.
  virtual Result<BindingRemoval> remove_bindings(const std::string& sip_username,
                                                 const std::string& contact_uri, TimePoint now) = 0;
  // Live bindings of one agent (NOT_FOUND for an unknown agent), or of all agents when
  // agent_id is empty.
  virtual Result<std::vector<Binding>> bindings(const std::string& agent_id, TimePoint now) = 0;
  // Deletes up to `limit` bindings that expired at or before `now`.
  virtual Result<std::vector<ExpiredBindings>> sweep_expired(TimePoint now, int limit) = 0;

  virtual Result<Credentials> credentials(const std::string& sip_username) = 0;

  struct Counts {
    std::map<AgentStatus, int> by_status;
    int bindings = 0;
    int routable_agents = 0;
  };
  virtual Result<Counts> counts(TimePoint now) = 0;
};

}  // namespace cc::registry
