#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/pg.h"
#include "queue_service/repository.h"

namespace cc::queue {

// The repository in PostgreSQL. Every method is one transaction (retried on serialization
// failures and deadlocks by the pool); rows are locked in the order assignment -> call ->
// agent everywhere, and SKIP LOCKED is used wherever another instance may be working on the
// same rows. The methods live in files by section: pg_queues.cpp, pg_calls.cpp,
// pg_matching.cpp, pg_outcomes.cpp, pg_transfers.cpp, pg_monitoring.cpp, pg_recordings.cpp,
// pg_sweeps.cpp, pg_stats.cpp; the rules they share (ending an offer, after a call, leaving a
// queue) in pg_rules.cpp. Thread-safe.
class PgQueueRepository final : public QueueRepository {
 public:
  PgQueueRepository(PgPool& pool, Settings settings);

  Result<QueueConfig> create_queue(const QueueConfig& q, TimePoint now) override;
  Result<QueueConfig> get_queue(const std::string& name) override;
  Result<std::vector<QueueConfig>> list_queues() override;
  Result<QueueConfig> update_queue(const std::string& name, std::int64_t expected_version,
                                   const QueueMutation& mutate, TimePoint now) override;
  Status delete_queue(const std::string& name) override;
  Result<Member> set_member(const Member& m, TimePoint now) override;
  Result<Member> remove_member(const std::string& queue, const std::string& agent_id,
                               TimePoint now) override;
  Result<std::vector<Member>> list_members(const std::string& queue, TimePoint now) override;
  Result<DialplanEntry> set_dialplan(const DialplanEntry& e) override;
  Result<DialplanEntry> delete_dialplan(const std::string& pattern) override;
  Result<std::vector<DialplanEntry>> list_dialplan() override;
  Result<QueueConfig> resolve(const std::string& dialed) override;
  Result<std::vector<Menu>> import_menus(const std::vector<Menu>& menus, TimePoint now) override;
  Result<Menu> get_menu(const std::string& name) override;
  Result<std::vector<Menu>> list_menus() override;
  Status delete_menu(const std::string& name) override;
  Result<std::pair<Call, Effects>> request_callback(const std::string& call_id,
                                                    const std::string& number,
                                                    const std::string& edge_id,
                                                    TimePoint now) override;

  Result<EnqueueResult> enqueue(const NewCall& call, TimePoint now) override;
  Result<Call> get_call(const std::string& id) override;
  Result<std::pair<int, Duration>> position(const Call& call, TimePoint now) override;
  Result<int> agents_available(const std::string& queue) override;
  Result<std::vector<Call>> list_calls(const CallFilter& filter) override;
  Result<std::pair<Call, Effects>> cancel(const std::string& call_id, const std::string& reason,
                                          TimePoint now) override;
  Result<EdgeReconciliation> heartbeat(const EdgeHeartbeat& hb, TimePoint now) override;
  Result<TransferOutcome> transfer(const TransferRequest& r, TimePoint now) override;
  Result<CallHistory> history(const std::string& call_id) override;
  Result<std::vector<std::string>> set_supervisor(const std::string& queue,
                                                  const std::string& agent_id, bool add) override;
  Result<std::vector<std::string>> list_supervisors(const std::string& queue) override;
  Result<std::pair<MonitorSession, std::optional<MonitorOrder>>> monitor(const MonitorRequest& r,
                                                                         TimePoint now) override;
  Result<MonitorSession> get_monitor(std::int64_t id) override;
  Result<MonitorSession> end_monitor(std::int64_t id, const std::string& reason,
                                     TimePoint now) override;
  Result<MonitorSession> monitor_answered(std::int64_t id, TimePoint now) override;
  Result<RecordOrder> record_order(const std::string& call_id, RecordingAction action,
                                   const std::string& requested_by) override;
  Status report_recording(const RecordingReport& r, TimePoint now) override;
  Result<int> expire_recordings(TimePoint now) override;

  Result<RoutingSnapshot> snapshot(TimePoint now) override;
  Result<std::optional<std::pair<Offer, Effects>>> try_assign(const Proposal& p,
                                                              const Clock& clock) override;
  Result<Effects> withdraw(std::int64_t assignment_id, const std::string& reason, bool call_gone,
                           TimePoint now) override;

  Result<std::pair<Call, Effects>> connected(std::int64_t assignment_id, const std::string& call_id,
                                             TimePoint now) override;
  Result<std::pair<Call, Effects>> failed(std::int64_t assignment_id, const std::string& call_id,
                                          OfferFailure reason, const std::string& detail,
                                          TimePoint now) override;
  Result<std::pair<Call, Effects>> ended(std::int64_t assignment_id, const std::string& call_id,
                                         const std::string& reason, TimePoint now) override;

  Result<Effects> expire_offers(TimePoint now) override;
  Result<Effects> expire_edges(TimePoint now) override;
  Result<Effects> expire_waits(TimePoint now) override;
  Result<Effects> finish_wrap_ups(TimePoint now) override;

  Result<std::vector<QueueStats>> stats(const std::string& queue, Duration window,
                                        TimePoint now) override;

  const Settings& settings() const override { return settings_; }

 private:
  // Queue configuration as hot paths see it: cached for queue_cache_ttl (changes made through
  // this instance are seen at once, others' within the TTL).
  std::optional<QueueConfig> queue(pqxx::work& tx, const std::string& name);
  // queue() as a function, for the shared rules.
  std::function<std::optional<QueueConfig>(pqxx::work&, const std::string&)> queues();
  void forget_queue(const std::string& name);
  // The menu a dialled number leads to and every menu it leads to, entry first.
  std::vector<Menu> menus_from(pqxx::work& tx, const std::string& entry);
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
  // Offers the call (locked, WAITING) to the agent (locked, free to take it) on `edge`: the
  // assignment with its lease, the call OFFERED, the agent RESERVED, and the offer to deliver.
  Offer offer_call(pqxx::work& tx, const Call& call, const QueueConfig& queue,
                   const std::string& agent_id, AgentStatus agent_status, const std::string& edge,
                   TimePoint now, Effects& fx);
  // A transfer to a named agent that agent did not take: the call goes back to the agent who
  // transferred it (when that agent can take it) or to its queue. true: an offer was made.
  std::optional<Offer> after_failed_transfer(pqxx::work& tx, Call& call, const QueueConfig& queue,
                                             TimePoint now, Effects& fx);
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

}  // namespace cc::queue
