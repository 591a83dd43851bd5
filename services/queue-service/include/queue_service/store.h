#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/pg.h"
#include "queue_service/model.h"
#include "queue_service/router.h"

namespace cc::queue {

// A status change the queue-service made to an agent (already audited in the database).
struct AgentChange {
  std::string agent_id;
  AgentStatus from = AgentStatus::kLoggedOut;
  AgentStatus to = AgentStatus::kLoggedOut;
  std::string reason;
  std::string call_id;
  std::int64_t audit_id = 0;
};

// What a committed operation did, to be announced and acted upon after commit.
struct Effects {
  std::vector<CallEvent> calls;
  std::vector<AgentChange> agents;
  std::optional<TimePoint> wake_at;  // when a delay or a wrap-up ends: run a match then
  bool capacity_freed = false;       // an agent or a call became available: match now
  void merge(Effects other);
};

struct NewCall {
  std::string id;
  std::string queue;   // either this ...
  std::string dialed;  // ... or the request-URI user, resolved through the dialplan
  std::string caller;
  int priority = 0;
  std::string edge_id;
};

struct EnqueueResult {
  Call call;
  QueueConfig queue;  // the queue it ended up in (after overflow)
  int position = 0;   // 0 if it did not stay waiting
  Duration estimated_wait{0};
  bool existing = false;  // a retried enqueue of a call already known
  Effects effects;
};

struct CallFilter {
  std::string queue;
  std::vector<CallState> states;  // empty = live states
  int limit = 500;
};

struct Settings {
  Duration lease_grace{5000};         // added to the ring timeout for an offer's lease
  Duration edge_lease{30000};         // how long an edge's calls outlive its last sign of life
  Duration offer_retry_backoff{500};  // after an undeliverable offer
  Duration queue_cache_ttl{1000};     // queue configs read by hot paths (0: always read)
  int snapshot_calls = 1000;
  bool snapshot_top_agents = true;  // false: every routable agent (tests compare the two)
  int sweep_batch = 200;
};

// All of the queue-service's state, in PostgreSQL. Every method is one transaction (retried
// on serialization failures and deadlocks by the pool); rows are locked in the order
// assignment -> call -> agent everywhere, and SKIP LOCKED is used wherever another instance
// may be working on the same rows. Thread-safe.
class QueueStore {
 public:
  QueueStore(PgPool& pool, Settings settings);

  // Queues, members, dialplan.
  Result<QueueConfig> create_queue(const QueueConfig& q, TimePoint now);
  Result<QueueConfig> get_queue(const std::string& name);
  Result<std::vector<QueueConfig>> list_queues();
  using QueueMutation = std::function<Status(QueueConfig& q)>;
  Result<QueueConfig> update_queue(const std::string& name, std::int64_t expected_version,
                                   const QueueMutation& mutate, TimePoint now);
  Status delete_queue(const std::string& name);
  Result<Member> set_member(const Member& m, TimePoint now);
  Result<Member> remove_member(const std::string& queue, const std::string& agent_id,
                               TimePoint now);
  Result<std::vector<Member>> list_members(const std::string& queue, TimePoint now);
  Result<DialplanEntry> set_dialplan(const DialplanEntry& e);
  Result<DialplanEntry> delete_dialplan(const std::string& pattern);
  Result<std::vector<DialplanEntry>> list_dialplan();
  Result<QueueConfig> resolve(const std::string& dialed);

  // Calls.
  Result<EnqueueResult> enqueue(const NewCall& call, TimePoint now);
  Result<Call> get_call(const std::string& id);
  Result<std::pair<int, Duration>> position(const Call& call, TimePoint now);
  Result<std::vector<Call>> list_calls(const CallFilter& filter);
  Result<std::pair<Call, Effects>> cancel(const std::string& call_id, const std::string& reason,
                                          TimePoint now);
  Result<int> heartbeat(const std::string& edge_id, Duration lease, TimePoint now);

  // Matching.
  Result<RoutingSnapshot> snapshot(TimePoint now);
  // Takes the pair if both are still free (SKIP LOCKED; nullopt otherwise) and writes the
  // offer with its lease, stamped from `clock` once both rows are held.
  Result<std::optional<std::pair<Offer, Effects>>> try_assign(const Proposal& p,
                                                              const Clock& clock);
  // The offer could not be delivered: the call goes back to its place, the agent is freed.
  Result<Effects> withdraw(std::int64_t assignment_id, const std::string& reason, TimePoint now);

  // Outcomes reported by the edge; each is idempotent for a repeated report.
  Result<std::pair<Call, Effects>> connected(std::int64_t assignment_id, const std::string& call_id,
                                             TimePoint now);
  Result<std::pair<Call, Effects>> failed(std::int64_t assignment_id, const std::string& call_id,
                                          OfferFailure reason, const std::string& detail,
                                          TimePoint now);
  Result<std::pair<Call, Effects>> ended(std::int64_t assignment_id, const std::string& call_id,
                                         const std::string& reason, TimePoint now);

  // Sweeps, run by every instance; each row is handled by exactly one of them.
  Result<Effects> expire_offers(TimePoint now);  // leases of unanswered offers
  Result<Effects> expire_edges(TimePoint now);   // calls of silent edges
  Result<Effects> expire_waits(TimePoint now);   // max wait, queues nobody serves
  Result<Effects> finish_wrap_ups(TimePoint now);

  Result<std::vector<QueueStats>> stats(const std::string& queue, Duration window, TimePoint now);

  const Settings& settings() const { return settings_; }

 private:
  // Queue configuration as hot paths see it: cached for queue_cache_ttl (changes made through
  // this instance are seen at once, others' within the TTL).
  std::optional<QueueConfig> queue(pqxx::work& tx, const std::string& name);
  void forget_queue(const std::string& name);
  // Average handle time of the last hour, for wait estimates; recomputed every 10 s.
  Duration handle_time(pqxx::work& tx, const std::string& queue, TimePoint now);
  // Agents logged in and not paused in the queue, for wait estimates; recomputed every
  // second (counting them on every call's entry read every member of the queue).
  int serving_agents(pqxx::work& tx, const std::string& queue);
  // A waiting call's position (1 = next) and estimated wait.
  Result<std::pair<int, Duration>> position_of(pqxx::work& tx, const Call& call, TimePoint now);
  // A per-queue estimate from `cache`, or `compute()` when older than `ttl`.
  template <typename T, typename Compute>
  T estimate(std::map<std::string, std::pair<T, std::chrono::steady_clock::time_point>>& cache,
             const std::string& queue, std::chrono::steady_clock::duration ttl, Compute compute);
  // Extends the edge's lease when a quarter of it has passed since this instance last did.
  void touch_edge(pqxx::work& tx, const std::string& edge_id, TimePoint now);

  PgPool& pool_;
  Settings settings_;
  std::mutex cache_mu_;
  std::map<std::string, std::pair<QueueConfig, std::chrono::steady_clock::time_point>> queues_;
  std::map<std::string, TimePoint> edges_touched_;
  std::map<std::string, std::pair<Duration, std::chrono::steady_clock::time_point>> handle_times_;
  std::map<std::string, std::pair<int, std::chrono::steady_clock::time_point>> serving_;
};

// Validation shared by the service and its adapters.
Status ValidateQueueName(const std::string& name);
Status ValidateQueue(const QueueConfig& q);
Status ValidateCallId(const std::string& id);

}  // namespace cc::queue
