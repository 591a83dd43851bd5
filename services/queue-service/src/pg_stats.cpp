// Queue statistics over a window, read from the calls and assignments.
#include "pg_rows.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

Result<std::vector<QueueStats>> PgQueueRepository::stats(const std::string& queue, Duration window,
                                                         TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<QueueStats>> {
    if (!queue.empty()) CC_RETURN_IF_ERROR(RequireQueue(tx, queue));
    const std::string since = Ts(now - window);
    std::vector<QueueStats> out;
    for (const auto& r : tx.exec_params(
             "SELECT q.name,"
             " (SELECT count(*)::int FROM calls c WHERE c.queue = q.name AND c.state = 'WAITING'),"
             " (SELECT COALESCE(max(extract(epoch from $2::timestamptz - c.queue_entered_at)"
             "   * 1000), 0)::bigint FROM calls c WHERE c.queue = q.name AND c.state = 'WAITING'),"
             " (SELECT count(*)::int FROM agent_queue_memberships m JOIN agents a"
             "   ON a.id = m.agent_id WHERE m.queue = q.name AND a.status = 'AVAILABLE'"
             "   AND EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
             "   AND b.expires_at > $2::timestamptz)),"
             " (SELECT count(*)::int FROM agent_queue_memberships m JOIN agents a"
             "   ON a.id = m.agent_id WHERE m.queue = q.name"
             "   AND a.status IN ('RESERVED','ON_CALL','WRAP_UP')),"
             " (SELECT count(*) FROM assignments x WHERE x.queue = q.name"
             "   AND x.offered_at >= $3::timestamptz),"
             " (SELECT count(*) FROM calls c WHERE c.queue = q.name"
             "   AND c.connected_at >= $3::timestamptz),"
             " (SELECT count(*) FROM calls c WHERE c.queue = q.name AND c.state = 'ABANDONED'"
             "   AND c.ended_at >= $3::timestamptz),"
             " (SELECT count(*) FROM calls c WHERE c.queue = q.name"
             "   AND c.connected_at >= $3::timestamptz AND c.connected_at - c.enqueued_at"
             "   <= q.service_level_threshold_ms * interval '1 millisecond'),"
             " (SELECT count(*) FROM calls c WHERE c.queue = q.name"
             "   AND c.state IN ('ABANDONED','TIMED_OUT','OVERFLOWED','FAILED')"
             "   AND c.connected_at IS NULL AND c.ended_at >= $3::timestamptz),"
             " (SELECT COALESCE(avg(extract(epoch from c.connected_at - c.enqueued_at) * 1000),"
             "   0)::bigint FROM calls c WHERE c.queue = q.name"
             "   AND c.connected_at >= $3::timestamptz),"
             " (SELECT COALESCE(avg(extract(epoch from c.ended_at - c.connected_at) * 1000),"
             "   0)::bigint FROM calls c WHERE c.queue = q.name AND c.state = 'ENDED'"
             "   AND c.connected_at IS NOT NULL AND c.ended_at >= $3::timestamptz)"
             " FROM queues q WHERE ($1 = '' OR q.name = $1) ORDER BY q.name",
             queue, Ts(now), since)) {
      QueueStats s;
      s.queue = r[0].as<std::string>();
      s.waiting = r[1].as<int>();
      s.longest_wait = Duration{r[2].as<std::int64_t>()};
      s.agents_available = r[3].as<int>();
      s.agents_busy = r[4].as<int>();
      s.offered = r[5].as<std::int64_t>();
      s.answered = r[6].as<std::int64_t>();
      s.abandoned = r[7].as<std::int64_t>();
      const auto within = r[8].as<std::int64_t>();
      const auto lost = r[9].as<std::int64_t>();
      s.service_level = (s.answered + lost) == 0
                            ? 1.0
                            : static_cast<double>(within) / static_cast<double>(s.answered + lost);
      s.average_speed_of_answer = Duration{r[10].as<std::int64_t>()};
      s.average_handle_time = Duration{r[11].as<std::int64_t>()};
      s.window = window;
      out.push_back(s);
    }
    return out;
  });
}

}  // namespace cc::queue
