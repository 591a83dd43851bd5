// Sweeps, run by every instance on a timer; SKIP LOCKED hands each row to one of them.
#include "pg_rows.h"
#include "pg_rules.h"
#include "pg_statements.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

Result<Effects> PgQueueRepository::expire_offers(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r :
         tx.exec_params("SELECT id FROM assignments WHERE state = 'OFFERED'"
                        " AND lease_deadline < $1::timestamptz ORDER BY lease_deadline LIMIT $2"
                        " FOR UPDATE SKIP LOCKED",
                        Ts(now), settings_.sweep_batch)) {
      auto a = LockAssignment(tx, r[0].as<std::int64_t>());
      auto call = LoadCall(tx, a->call_id, true);
      OfferEnd end;
      end.state = "EXPIRED";
      end.outcome = "lease expired";
      end.agent_reason = "offer lease expired";
      EndOffer(tx, *a, end, now, fx);
      if (call && call->state == CallState::kOffered) {
        Requeue(tx, *call, call->priority, call->attempts, Duration{0}, "offer lease expired", now,
                fx);
      }
    }
    return fx;
  });
}

Result<Effects> PgQueueRepository::expire_edges(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r :
         tx.exec_params("SELECT c.id FROM calls c JOIN edges e ON e.id = c.edge_id"
                        " WHERE c.state IN ('WAITING','OFFERED','CONNECTED')"
                        " AND e.lease_until < $1::timestamptz LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
                        Ts(now), settings_.sweep_batch)) {
      const std::string id = r[0].as<std::string>();
      Call call = ReloadCall(tx, id);
      std::optional<AssignmentRow> live;
      if (call.state != CallState::kWaiting) {
        // Locked call-first here, so never wait for the assignment: whoever holds it (an
        // outcome report) locks the call next; try again on the next sweep.
        live = LockLiveAssignment(tx, id, true);
        if (!live) continue;
      }
      EndAbandoned(tx, call, live, "EXPIRED", "edge " + call.edge_id + " lost", queues(), now, fx);
    }
    return fx;
  });
}

Result<Effects> PgQueueRepository::expire_waits(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    // Max wait, or nobody left who could answer per the queue's leave rule (asked once per
    // queue, not per waiting call: under a backlog that is thousands of times a sweep).
    // Callbacks are exempt: nobody is on the line, and the place is what was promised.
    for (const auto& r : tx.exec_params(
             "WITH empty AS (SELECT q.name FROM queues q WHERE NOT " +
                 QueueHasAnswerers("q.name", "q.leave_empty", "$1") +
                 ") SELECT c.id, CASE WHEN q.max_wait_ms > 0 AND c.queue_entered_at"
                 "   + q.max_wait_ms * interval '1 millisecond' <= $1::timestamptz"
                 "   THEN 'wait' ELSE 'empty' END"
                 " FROM calls c JOIN queues q ON q.name = c.queue WHERE c.state = 'WAITING'"
                 " AND c.callback_number = '' AND ((q.max_wait_ms > 0 AND c.queue_entered_at + "
                 "q.max_wait_ms * interval"
                 "   '1 millisecond' <= $1::timestamptz) OR c.queue IN (SELECT name FROM empty))"
                 " LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
             Ts(now), settings_.sweep_batch)) {
      Call call = ReloadCall(tx, r[0].as<std::string>());
      auto queue = LoadQueue(tx, call.queue);
      if (!queue) continue;
      Exit(tx, call, *queue,
           r[1].as<std::string>() == "wait" ? ExitCause::kMaxWait
                                            : NobodyToAnswer(queue->leave_empty),
           now, fx);
    }
    return fx;
  });
}

Result<Effects> PgQueueRepository::finish_wrap_ups(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r : tx.exec_params(
             "SELECT id FROM agents WHERE status = 'WRAP_UP' AND wrap_up_until <= $1::timestamptz"
             " LIMIT $2 FOR UPDATE SKIP LOCKED",
             Ts(now), settings_.sweep_batch)) {
      auto agent = LockAgent(tx, r[0].as<std::string>());
      SetAgentStatus(tx, *agent, AgentStatus::kAvailable, "wrap-up finished", "", now, fx);
      fx.capacity_freed = true;
    }
    return fx;
  });
}

}  // namespace cc::queue
