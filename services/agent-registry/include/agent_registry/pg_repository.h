#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "agent_registry/repository.h"
#include "common/pg.h"

namespace cc::registry {

// AgentRepository on PostgreSQL (schema: services/common/migrations/0001_agents.sql).
// Every method is one transaction; agent rows are locked (FOR UPDATE) before their bindings,
// always in that order, so concurrent replicas serialize per agent without deadlocks.
//
// Registrations are group-committed: concurrent upsert_binding calls are written together,
// up to kMaxBindingBatch in one transaction of three statements, whatever their number (one
// request per agent in a batch; the agents are locked in id order). A request's outcome is
// its own: a refused one (unknown user, out of order, too many bindings) does not hold back
// the others, and if the batch transaction fails, each of its requests is retried alone.
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

  // Transactions that wrote registrations so far (each carrying one or more).
  std::int64_t binding_batches() const { return binding_batches_.load(); }

 private:
  struct PendingBinding;
  // Writes the requests in one transaction; one result per request, in order.
  Result<std::vector<Result<BindingUpsert>>> upsert_bindings(
      const std::vector<PendingBinding*>& batch);
  void run_binding_batch(std::vector<PendingBinding*> batch);

  static constexpr size_t kMaxBindingBatch = 64;
  static constexpr int kMaxBindingWriters = 2;  // batches in flight at once

  PgPool& pool_;
  std::mutex batch_mu_;
  std::condition_variable batch_cv_;
  std::deque<PendingBinding*> batch_queue_;
  int batch_writers_ = 0;
  std::atomic<std::int64_t> binding_batches_{0};
};

}  // namespace cc::registry
