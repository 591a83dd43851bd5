#include "queue_service/pg_repository.h"

#include "pg_rows.h"
#include "pg_rules.h"
#include "pg_statements.h"
#include "queue_service/policy.h"

namespace cc::queue {

using namespace pg;

void Effects::merge(Effects other) {
  for (auto& c : other.calls) calls.push_back(std::move(c));
  for (auto& a : other.agents) agents.push_back(std::move(a));
  if (other.wake_at) wake_at = wake_at ? std::min(*wake_at, *other.wake_at) : other.wake_at;
  capacity_freed = capacity_freed || other.capacity_freed;
  for (auto& o : other.offers) offers.push_back(std::move(o));
}

PgQueueRepository::PgQueueRepository(PgPool& pool, Settings settings)
    : pool_(pool), settings_(settings) {
  PrepareHotStatements(pool_);
}

std::optional<QueueConfig> PgQueueRepository::queue(pqxx::work& tx, const std::string& name) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mu_);
    auto it = queues_.find(name);
    if (it != queues_.end() && now - it->second.second < settings_.queue_cache_ttl) {
      return it->second.first;
    }
  }
  auto q = LoadQueue(tx, name);
  std::lock_guard lock(cache_mu_);
  if (q) {
    queues_[name] = {*q, now};
  } else {
    queues_.erase(name);
  }
  return q;
}

template <typename T, typename Compute>
T PgQueueRepository::estimate(
    std::map<std::string, std::pair<T, std::chrono::steady_clock::time_point>>& cache,
    const std::string& queue, std::chrono::steady_clock::duration ttl, Compute compute) {
  const auto steady = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache.find(queue);
    if (it != cache.end() && steady - it->second.second < ttl) return it->second.first;
  }
  const T value = compute();
  std::lock_guard lock(cache_mu_);
  cache[queue] = {value, steady};
  return value;
}

Duration PgQueueRepository::handle_time(pqxx::work& tx, const std::string& queue, TimePoint now) {
  return estimate(handle_times_, queue, std::chrono::seconds(10), [&] {
    return Duration{
        tx.exec_params("SELECT COALESCE(avg(extract(epoch from ended_at - connected_at) * 1000),"
                       " 0)::bigint FROM calls WHERE queue = $1 AND state = 'ENDED'"
                       " AND connected_at IS NOT NULL AND ended_at > $2::timestamptz",
                       queue, Ts(now - std::chrono::hours(1)))[0][0]
            .as<std::int64_t>()};
  });
}

int PgQueueRepository::serving_agents(pqxx::work& tx, const std::string& queue) {
  return estimate(serving_, queue, std::chrono::seconds(1),
                  [&] { return tx.exec_prepared("serving_agents", queue)[0][0].as<int>(); });
}

Result<std::pair<int, Duration>> PgQueueRepository::position_of(pqxx::work& tx, const Call& call,
                                                                TimePoint now) {
  if (call.state != CallState::kWaiting) return std::make_pair(0, Duration{0});
  const int ahead =
      tx.exec_params(
            "SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING' AND id <> $2"
            " AND (priority > $3 OR (priority = $3 AND queue_entered_at < $4::timestamptz))",
            call.queue, call.id, call.priority, Ts(call.queue_entered_at))[0][0]
          .as<int>();
  const int position = ahead + 1;
  return std::make_pair(position, EstimateWait(position, handle_time(tx, call.queue, now),
                                               serving_agents(tx, call.queue)));
}

void PgQueueRepository::forget_queue(const std::string& name) {
  std::lock_guard lock(cache_mu_);
  queues_.erase(name);
}

void PgQueueRepository::touch_edge(pqxx::work& tx, const std::string& edge_id, TimePoint now) {
  {
    std::lock_guard lock(cache_mu_);
    auto it = edges_touched_.find(edge_id);
    if (it != edges_touched_.end() && now >= it->second &&
        now - it->second < settings_.edge_lease / 4) {
      return;
    }
  }
  TouchEdge(tx, edge_id, settings_.edge_lease, now);
  // Remembered when the transaction has not failed yet; a rollback only means the next
  // request of this edge within the quarter skips a refresh that the lease still covers.
  std::lock_guard lock(cache_mu_);
  if (edges_touched_.size() > 10000) edges_touched_.clear();
  edges_touched_[edge_id] = now;
}

QueueLookup PgQueueRepository::queues() {
  return [this](pqxx::work& tx, const std::string& name) { return queue(tx, name); };
}

}  // namespace cc::queue
