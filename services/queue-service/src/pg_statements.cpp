#include "pg_statements.h"

#include <utility>
#include <vector>

#include "pg_rows.h"

namespace cc::queue::pg {
namespace {

// Eligible members of the queues `which` selects (with $2 = now): one row per agent and queue.
std::string EligibleMembers(const std::string& which) {
  return "SELECT a.id, " + EpochMs("a.idle_since") +
         ", a.calls_answered, a.talk_time_ms, m.queue, m.position, " +
         EpochMs("m.last_offered_at") +
         " FROM agents a JOIN agent_queue_memberships m ON m.agent_id = a.id WHERE " + which +
         " AND " + AgentEligible("$2");
}

}  // namespace

std::string AgentEligible(const std::string& now) {
  return "(a.status = 'AVAILABLE' OR (a.status = 'ON_CALL' AND a.max_calls > 1))"
         " AND a.active_calls < a.max_calls"
         " AND a.routing_not_before <= " +
         now +
         "::timestamptz"
         " AND EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
         "   AND b.expires_at > " +
         now +
         "::timestamptz)"
         " AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.agent_id = a.id"
         "   AND x.state = 'OFFERED')";
}

std::string QueueHasAnswerers(const std::string& queue, const std::string& rule,
                              const std::string& now) {
  return "(" + rule + " = 'ALWAYS' OR EXISTS (SELECT 1 FROM agent_queue_memberships hm" +
         " JOIN agents ha ON ha.id = hm.agent_id WHERE hm.queue = " + queue +
         " AND ha.status <> 'LOGGED_OUT' AND (" + rule +
         " = 'LOGGED_IN' OR EXISTS (SELECT 1 FROM agent_bindings hb WHERE hb.agent_id = ha.id"
         " AND hb.expires_at > " +
         now + "::timestamptz))))";
}

std::string TopAgentsStatement(Strategy strategy) {
  switch (strategy) {
    case Strategy::kRandom:
    case Strategy::kSkillsBased:
      return "";
    default:
      return "snapshot_top_agents_" + std::string(ToString(strategy));
  }
}

void PrepareHotStatements(PgPool& pool) {
  const std::vector<std::pair<std::string, std::string>> statements = {
      {"insert_call",
       "INSERT INTO calls (id, queue, caller, priority, state, edge_id, enqueued_at,"
       " queue_entered_at, data, extra_skills, language) VALUES ($1, $2, $3, $4, 'WAITING', $5,"
       " $6::timestamptz, $6::timestamptz, $7::text[], $8::text[], $9)"
       " ON CONFLICT (id) DO NOTHING RETURNING " +
           kCallColumns},
      // Waiting calls, those ahead of a new one ($3: its priority), and whether someone who
      // could answer is there per the queue's join rule ($4).
      {"entry_checks",
       "SELECT (SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING'"
       "   AND id <> $2),"
       " (SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING' AND id <> $2"
       "   AND priority >= $3), " +
           QueueHasAnswerers("$1", "$4::text", "$5")},
      {"serving_agents",
       "SELECT count(*)::int FROM agent_queue_memberships m JOIN agents a ON a.id = m.agent_id"
       " WHERE m.queue = $1 AND a.status NOT IN ('LOGGED_OUT', 'PAUSED')"},
      {"snapshot_calls", "SELECT id, queue, priority, " + EpochMs("queue_entered_at") +
                             ", last_failed_agent, " + EpochMs("avoid_agent_until") +
                             ", extra_skills" +
                             " FROM calls WHERE state = 'WAITING' AND not_before <= $1::timestamptz"
                             " ORDER BY priority DESC, queue_entered_at LIMIT $2"},
      {"snapshot_queues", "SELECT " + kQueueColumns + " FROM queues WHERE name = ANY($1::text[])"},
      {"snapshot_agents", EligibleMembers("m.queue = ANY($1::text[])")},
      {TopAgentsStatement(Strategy::kLongestIdleAgent), EligibleMembers("m.queue = $1") +
                                                            " ORDER BY " + EpochMs("a.idle_since") +
                                                            ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kRoundRobin),
       EligibleMembers("m.queue = $1") + " ORDER BY m.last_offered_at IS NOT NULL, " +
           EpochMs("m.last_offered_at") + ", m.position, a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kFewestCalls),
       EligibleMembers("m.queue = $1") + " ORDER BY a.calls_answered, " + EpochMs("a.idle_since") +
           ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kLeastTalkTime),
       EligibleMembers("m.queue = $1") + " ORDER BY a.talk_time_ms, " + EpochMs("a.idle_since") +
           ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kTopDown),
       EligibleMembers("m.queue = $1") + " ORDER BY m.position, a.id COLLATE \"C\" LIMIT $3"},
      {"snapshot_skills",
       "SELECT agent_id, skill, level FROM agent_skills WHERE agent_id = ANY($1::text[])"},
      {"lock_waiting_call", "SELECT " + kCallColumns +
                                " FROM calls WHERE id = $1 AND state = 'WAITING'"
                                " AND not_before <= $2::timestamptz"
                                " FOR UPDATE SKIP LOCKED"},
      {"lock_eligible_agent",
       "SELECT a.status FROM agents a WHERE a.id = $1"
       " AND EXISTS (SELECT 1 FROM agent_queue_memberships m WHERE m.agent_id = a.id"
       "   AND m.queue = $2) AND " +
           AgentEligible("$3") + " FOR UPDATE OF a SKIP LOCKED"},
      {"offer_bindings",
       "SELECT contact_uri, source_address, source_port, transport IN ('TCP', 'TLS'),"
       " transport = 'TLS' FROM agent_bindings"
       " WHERE agent_id = $1 AND expires_at > $2::timestamptz ORDER BY updated_at DESC, id"
       " LIMIT $3"},
      {"insert_offer",
       "INSERT INTO assignments (call_id, agent_id, queue, edge_id, state, attempt,"
       " lease_deadline, offered_at) VALUES ($1, $2, $3, $4, 'OFFERED', $5, $6::timestamptz,"
       " $7::timestamptz) RETURNING id"},
      {"call_offered",
       "UPDATE calls SET state = 'OFFERED', agent_id = $2, offered_at = $3::timestamptz,"
       " assignment_id = $4, version = version + 1 WHERE id = $1 RETURNING " +
           kCallColumns},
      {"reserve_agent",
       "WITH seat AS (UPDATE agent_queue_memberships SET last_offered_at = $3::timestamptz"
       "   WHERE agent_id = $1 AND queue = $2)"
       " UPDATE agents SET status = 'RESERVED', status_reason = 'call offered',"
       " status_call_id = $4, pause_reason = '', status_changed_at = $3::timestamptz"
       " WHERE id = $1 AND status = 'AVAILABLE' RETURNING status_audit_id"},
      {"offer_connected",
       "UPDATE assignments SET state = 'CONNECTED', connected_at = $3::timestamptz,"
       " lease_deadline = 'infinity' WHERE id = $1 AND call_id = $2 AND state = 'OFFERED'"
       " RETURNING agent_id"},
      {"call_connected",
       "UPDATE calls SET state = 'CONNECTED', connected_at = $2::timestamptz,"
       " version = version + 1 WHERE id = $1 RETURNING " +
           kCallColumns},
      {"agent_answered",
       "WITH cur AS (SELECT status FROM agents WHERE id = $1 FOR UPDATE)"
       " UPDATE agents a SET consecutive_no_answers = 0,"
       " status = CASE WHEN cur.status = 'RESERVED' THEN 'ON_CALL' ELSE a.status END,"
       " status_reason = 'agent answered', status_call_id = $2,"
       " status_changed_at = CASE WHEN cur.status = 'RESERVED' THEN $3::timestamptz"
       "   ELSE a.status_changed_at END"
       " FROM cur WHERE a.id = $1 RETURNING cur.status, a.status_audit_id"},
      // A connected call's end: the assignment ($3 the outcome), the call, then the agent.
      {"assignment_ended",
       "UPDATE assignments SET state = 'ENDED', outcome = $3, ended_at = $4::timestamptz"
       " WHERE id = $1 AND call_id = $2 AND state = 'CONNECTED'"
       " RETURNING agent_id, queue, " +
           EpochMs("connected_at")},
      {"call_ended",
       "UPDATE calls SET state = 'ENDED', ended_at = $2::timestamptz, outcome_reason = $3,"
       " version = version + 1 WHERE id = $1 RETURNING " +
           kCallColumns},
      // The after-call rule: counters, then wrap-up (the queue's $4 when >= 0, else the
      // agent's own) or straight back to available, once the agent has no call left (the
      // assignments trigger has already taken this call off active_calls).
      {"agent_after_call",
       "WITH cur AS (SELECT id, status, active_calls,"
       "   CASE WHEN $4::int >= 0 THEN $4::int ELSE wrap_up_seconds END AS wrap"
       "   FROM agents WHERE id = $1 FOR UPDATE),"
       " next AS (SELECT id, CASE WHEN status <> 'ON_CALL' OR active_calls > 0 THEN status"
       "   WHEN wrap > 0 THEN 'WRAP_UP' ELSE 'AVAILABLE' END AS status, wrap FROM cur)"
       " UPDATE agents a SET calls_answered = calls_answered + 1,"
       " talk_time_ms = talk_time_ms + $2, status = next.status,"
       " status_reason = CASE WHEN next.status <> a.status THEN 'call ended'"
       "   ELSE a.status_reason END,"
       " status_call_id = CASE WHEN next.status <> a.status THEN $3 ELSE a.status_call_id END,"
       " status_changed_at = CASE WHEN next.status <> a.status THEN $5::timestamptz"
       "   ELSE a.status_changed_at END,"
       " wrap_up_until = CASE WHEN next.status = 'WRAP_UP' AND a.status <> 'WRAP_UP'"
       "   THEN $5::timestamptz + next.wrap * interval '1 second' ELSE a.wrap_up_until END"
       " FROM cur, next WHERE a.id = $1"
       " RETURNING cur.status, a.status, a.status_audit_id, " +
           EpochMs("a.wrap_up_until")},
      {"edge_lease_fresh", "SELECT 1 FROM edges WHERE id = $1 AND lease_until >= $2::timestamptz"},
      {"edge_touch",
       "INSERT INTO edges (id, last_seen, lease_until) VALUES ($1, $2::timestamptz, "
       "$3::timestamptz)"
       " ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen,"
       " lease_until = GREATEST(edges.lease_until, EXCLUDED.lease_until)"},
  };
  for (const auto& [name, sql] : statements) pool.prepare(name, sql);
}

}  // namespace cc::queue::pg
