#include "queue_service/store.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/names.h"
#include "queue_service/policy.h"

namespace cc::queue {
namespace {

std::string Ts(TimePoint t) {
  return FormatTime(t);
}
TimePoint Ms(const pqxx::field& f) {
  return FromUnixMillis(f.as<std::int64_t>());
}
std::optional<TimePoint> OptMs(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Ms(f);
}
std::string EpochMs(const std::string& col) {
  return "(extract(epoch from " + col + ") * 1000)::bigint";
}

// The agents that may be offered a call of the queues `which` selects (with $2 = now):
// routable, a free line, no offer ringing. One row per agent and queue.
std::string RoutableAgents(const std::string& which) {
  return "SELECT a.id, " + EpochMs("a.idle_since") +
         ", a.calls_answered, a.talk_time_ms, m.queue, m.position, " +
         EpochMs("m.last_offered_at") +
         " FROM agents a JOIN agent_queue_memberships m ON m.agent_id = a.id WHERE " + which +
         " AND (a.status = 'AVAILABLE' OR (a.status = 'ON_CALL' AND a.max_calls > 1))"
         " AND a.active_calls < a.max_calls"
         " AND a.routing_not_before <= $2::timestamptz"
         " AND EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
         "   AND b.expires_at > $2::timestamptz)"
         " AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.agent_id = a.id"
         "   AND x.state = 'OFFERED')";
}

// The statement reading a queue's first $3 routable agents in the order the router ranks
// them for `strategy` (Router::OrderAgents; ids compared bytewise like std::string), or
// none where that order cannot be written in SQL (random, skills).
std::string TopAgentsStatement(Strategy strategy) {
  switch (strategy) {
    case Strategy::kRandom:
    case Strategy::kSkillsBased:
      return "";
    default:
      return "snapshot_top_agents_" + std::string(ToString(strategy));
  }
}

std::vector<std::string> ParseTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Queues

const std::string kQueueColumns =
    "name, display_name, strategy, answer_mode, ring_timeout_ms, max_wait_ms,"
    " max_waiting_calls, max_attempts, overflow_queue, overflow_hangup_reason,"
    " requeue_priority_boost, priority_aging_per_second, wrap_up_seconds,"
    " service_level_threshold_ms, no_answer_delay_ms, busy_delay_ms, reject_delay_ms,"
    " auto_pause_after_no_answers, weight, music_prompts, version";

QueueConfig ReadQueue(const pqxx::row& r) {
  QueueConfig q;
  q.name = r[0].as<std::string>();
  q.display_name = r[1].as<std::string>();
  q.strategy = StrategyFromString(r[2].as<std::string>()).value_or(Strategy::kLongestIdleAgent);
  q.answer_mode =
      AnswerModeFromString(r[3].as<std::string>()).value_or(AnswerMode::kAnswerImmediately);
  q.ring_timeout = Duration{r[4].as<int>()};
  q.max_wait = Duration{r[5].as<int>()};
  q.max_waiting_calls = r[6].as<int>();
  q.max_attempts = r[7].as<int>();
  q.overflow_queue = r[8].as<std::string>();
  q.overflow_hangup_reason = r[9].as<std::string>();
  q.requeue_priority_boost = r[10].as<int>();
  q.priority_aging_per_second = r[11].as<double>();
  q.wrap_up_seconds = r[12].as<int>();
  q.service_level_threshold = Duration{r[13].as<int>()};
  q.no_answer_delay = Duration{r[14].as<int>()};
  q.busy_delay = Duration{r[15].as<int>()};
  q.reject_delay = Duration{r[16].as<int>()};
  q.auto_pause_after_no_answers = r[17].as<int>();
  q.weight = r[18].as<int>();
  q.music_prompts = ParseTextArray(r[19]);
  q.version = r[20].as<std::int64_t>();
  return q;
}

void LoadSkills(pqxx::work& tx, std::map<std::string, QueueConfig>& queues) {
  if (queues.empty()) return;
  std::vector<std::string> names;
  for (auto& [n, q] : queues) {
    q.required_skills.clear();
    names.push_back(n);
  }
  for (const auto& r : tx.exec_params("SELECT queue, skill, min_level FROM queue_required_skills"
                                      " WHERE queue = ANY($1::text[]) ORDER BY queue, skill",
                                      TextArray(names))) {
    queues[r[0].as<std::string>()].required_skills.push_back(
        {r[1].as<std::string>(), r[2].as<int>()});
  }
}

std::optional<QueueConfig> LoadQueue(pqxx::work& tx, const std::string& name, bool lock = false) {
  auto rows = tx.exec_params(
      "SELECT " + kQueueColumns + " FROM queues WHERE name = $1" + (lock ? " FOR UPDATE" : ""),
      name);
  if (rows.empty()) return std::nullopt;
  std::map<std::string, QueueConfig> one{{name, ReadQueue(rows[0])}};
  LoadSkills(tx, one);
  return std::move(one.begin()->second);
}

Result<QueueConfig> RequireQueue(pqxx::work& tx, const std::string& name, bool lock = false) {
  auto q = LoadQueue(tx, name, lock);
  if (!q) return NotFound("queue '" + name + "' not found");
  return std::move(*q);
}

void WriteQueue(pqxx::work& tx, const QueueConfig& q, bool insert, TimePoint now) {
  const std::string values =
      "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
      " $20::text[]";
  if (insert) {
    tx.exec_params(
        "INSERT INTO queues (" + kQueueColumns.substr(0, kQueueColumns.rfind(',')) +
            ", created_at, updated_at) VALUES (" + values + ", $21::timestamptz, $21::timestamptz)",
        q.name, q.display_name, std::string(ToString(q.strategy)),
        std::string(ToString(q.answer_mode)), static_cast<int>(q.ring_timeout.count()),
        static_cast<int>(q.max_wait.count()), q.max_waiting_calls, q.max_attempts, q.overflow_queue,
        q.overflow_hangup_reason, q.requeue_priority_boost, q.priority_aging_per_second,
        q.wrap_up_seconds, static_cast<int>(q.service_level_threshold.count()),
        static_cast<int>(q.no_answer_delay.count()), static_cast<int>(q.busy_delay.count()),
        static_cast<int>(q.reject_delay.count()), q.auto_pause_after_no_answers, q.weight,
        TextArray(q.music_prompts), Ts(now));
  } else {
    tx.exec_params(
        "UPDATE queues SET display_name = $2, strategy = $3, answer_mode = $4,"
        " ring_timeout_ms = $5, max_wait_ms = $6, max_waiting_calls = $7, max_attempts = $8,"
        " overflow_queue = $9, overflow_hangup_reason = $10, requeue_priority_boost = $11,"
        " priority_aging_per_second = $12, wrap_up_seconds = $13,"
        " service_level_threshold_ms = $14, no_answer_delay_ms = $15, busy_delay_ms = $16,"
        " reject_delay_ms = $17, auto_pause_after_no_answers = $18, weight = $19,"
        " music_prompts = $20::text[], version = version + 1, updated_at = $21::timestamptz"
        " WHERE name = $1",
        q.name, q.display_name, std::string(ToString(q.strategy)),
        std::string(ToString(q.answer_mode)), static_cast<int>(q.ring_timeout.count()),
        static_cast<int>(q.max_wait.count()), q.max_waiting_calls, q.max_attempts, q.overflow_queue,
        q.overflow_hangup_reason, q.requeue_priority_boost, q.priority_aging_per_second,
        q.wrap_up_seconds, static_cast<int>(q.service_level_threshold.count()),
        static_cast<int>(q.no_answer_delay.count()), static_cast<int>(q.busy_delay.count()),
        static_cast<int>(q.reject_delay.count()), q.auto_pause_after_no_answers, q.weight,
        TextArray(q.music_prompts), Ts(now));
  }
  tx.exec_params("DELETE FROM queue_required_skills WHERE queue = $1", q.name);
  for (const auto& s : q.required_skills) {
    tx.exec_params("INSERT INTO queue_required_skills (queue, skill, min_level) VALUES ($1,$2,$3)",
                   q.name, s.name, s.min_level);
  }
}

// ---------------------------------------------------------------------------------------
// Calls

const std::string kCallColumns =
    "id, queue, caller, priority, state, edge_id, COALESCE(agent_id, ''), attempts, " +
    EpochMs("enqueued_at") + ", " + EpochMs("queue_entered_at") + ", " + EpochMs("offered_at") +
    ", " + EpochMs("connected_at") + ", " + EpochMs("ended_at") +
    ", outcome_reason, overflowed_from, COALESCE(assignment_id, 0)";

Call ReadCall(const pqxx::row& r) {
  Call c;
  c.id = r[0].as<std::string>();
  c.queue = r[1].as<std::string>();
  c.caller = r[2].as<std::string>();
  c.priority = r[3].as<int>();
  c.state = CallStateFromString(r[4].as<std::string>()).value_or(CallState::kFailed);
  c.edge_id = r[5].as<std::string>();
  c.agent_id = r[6].as<std::string>();
  c.attempts = r[7].as<int>();
  c.enqueued_at = Ms(r[8]);
  c.queue_entered_at = Ms(r[9]);
  c.offered_at = OptMs(r[10]);
  c.connected_at = OptMs(r[11]);
  c.ended_at = OptMs(r[12]);
  c.outcome_reason = r[13].as<std::string>();
  c.overflowed_from = r[14].as<std::string>();
  c.assignment_id = r[15].as<std::int64_t>();
  return c;
}

std::optional<Call> LoadCall(pqxx::work& tx, const std::string& id, bool lock) {
  auto rows = tx.exec_params(
      "SELECT " + kCallColumns + " FROM calls WHERE id = $1" + (lock ? " FOR UPDATE" : ""), id);
  if (rows.empty()) return std::nullopt;
  return ReadCall(rows[0]);
}

Call ReloadCall(pqxx::work& tx, const std::string& id) {
  return *LoadCall(tx, id, false);
}

CallEvent Event(CallEventKind kind, const Call& call, std::string reason = "") {
  return CallEvent{kind, call, std::move(reason)};
}

// ---------------------------------------------------------------------------------------
// Agents

struct AgentRow {
  std::string id;
  AgentStatus status;
  int active_calls;
  int max_calls;
  int wrap_up_seconds;
  int consecutive_no_answers;
};

std::optional<AgentRow> LockAgent(pqxx::work& tx, const std::string& id) {
  auto r = tx.exec_params(
      "SELECT id, status, active_calls, max_calls, wrap_up_seconds, consecutive_no_answers"
      " FROM agents WHERE id = $1 FOR UPDATE",
      id);
  if (r.empty()) return std::nullopt;
  return AgentRow{
      r[0][0].as<std::string>(),
      AgentStatusFromString(r[0][1].as<std::string>()).value_or(AgentStatus::kLoggedOut),
      r[0][2].as<int>(),
      r[0][3].as<int>(),
      r[0][4].as<int>(),
      r[0][5].as<int>()};
}

// Moves an agent along the status table (checked here and again by the database trigger)
// and records the change for the events that follow the commit.
void SetAgentStatus(pqxx::work& tx, const AgentRow& agent, AgentStatus to,
                    const std::string& reason, const std::string& call_id, TimePoint now,
                    Effects& fx, const std::string& pause_reason = "") {
  if (agent.status == to) return;
  if (!IsLegalTransition(agent.status, to)) {
    throw std::logic_error("queue-service attempted illegal transition " +
                           std::string(ToString(agent.status)) + " -> " +
                           std::string(ToString(to)) + " for agent " + agent.id);
  }
  auto r = tx.exec_params(
      "UPDATE agents SET status = $2, status_reason = $3, status_call_id = $4,"
      " pause_reason = $5, status_changed_at = $6::timestamptz WHERE id = $1"
      " RETURNING status_audit_id",
      agent.id, std::string(ToString(to)), reason, call_id, pause_reason, Ts(now));
  fx.agents.push_back({agent.id, agent.status, to, reason, call_id, r[0][0].as<std::int64_t>()});
}

int CountAssignments(pqxx::work& tx, const std::string& agent_id, const char* state) {
  return tx
      .exec_params("SELECT count(*)::int FROM assignments WHERE agent_id = $1 AND state = $2",
                   agent_id, std::string(state))[0][0]
      .as<int>();
}

// After an offer ended without a connection: the agent is free again, maybe after a delay,
// maybe paused. Call after the assignment left OFFERED (so active_calls is already down).
void ReleaseAfterOffer(pqxx::work& tx, const std::string& agent_id, const std::string& call_id,
                       const std::string& reason, Duration delay, int no_answers,
                       const std::string& auto_pause_reason, TimePoint now, Effects& fx) {
  auto agent = LockAgent(tx, agent_id);
  if (!agent) return;  // deleted meanwhile
  tx.exec_params(
      "UPDATE agents SET consecutive_no_answers = $2,"
      " routing_not_before = GREATEST(routing_not_before, $3::timestamptz) WHERE id = $1",
      agent_id, no_answers, Ts(now + delay));
  if (delay.count() > 0) fx.wake_at = now + delay;
  if (agent->status == AgentStatus::kReserved) {
    if (!auto_pause_reason.empty()) {
      SetAgentStatus(tx, *agent, AgentStatus::kPaused, reason, call_id, now, fx, auto_pause_reason);
    } else {
      SetAgentStatus(tx, *agent, AgentStatus::kAvailable, reason, call_id, now, fx);
    }
  } else if (agent->status == AgentStatus::kOnCall &&
             CountAssignments(tx, agent_id, "CONNECTED") == 0) {
    // A multi-call agent whose other call ended while this offer rang.
    SetAgentStatus(tx, *agent, AgentStatus::kAvailable, reason, call_id, now, fx);
  }
  fx.capacity_freed = true;
}

// After a connected call ended: wrap-up (or straight back to available) once the agent has
// no call left.
void ReleaseAfterCall(pqxx::work& tx, const std::string& agent_id, const std::string& call_id,
                      const QueueConfig* queue, TimePoint now, Effects& fx) {
  auto agent = LockAgent(tx, agent_id);
  if (!agent || agent->status != AgentStatus::kOnCall) return;
  if (CountAssignments(tx, agent_id, "CONNECTED") > 0 ||
      CountAssignments(tx, agent_id, "OFFERED") > 0) {
    return;  // still busy with another call; the last one decides
  }
  const int wrap = queue ? WrapUpSeconds(*queue, agent->wrap_up_seconds) : agent->wrap_up_seconds;
  if (wrap > 0) {
    const TimePoint until = now + std::chrono::seconds(wrap);
    SetAgentStatus(tx, *agent, AgentStatus::kWrapUp, "call ended", call_id, now, fx);
    tx.exec_params("UPDATE agents SET wrap_up_until = $2::timestamptz WHERE id = $1", agent_id,
                   Ts(until));
    fx.wake_at = fx.wake_at ? std::min(*fx.wake_at, until) : until;
  } else {
    SetAgentStatus(tx, *agent, AgentStatus::kAvailable, "call ended", call_id, now, fx);
    fx.capacity_freed = true;
  }
}

// ---------------------------------------------------------------------------------------
// Leaving a queue

bool AnyoneLoggedIn(pqxx::work& tx, const std::string& queue) {
  return tx
      .exec_params(
          "SELECT EXISTS (SELECT 1 FROM agent_queue_memberships m JOIN agents a"
          " ON a.id = m.agent_id WHERE m.queue = $1 AND a.status <> 'LOGGED_OUT')",
          queue)[0][0]
      .as<bool>();
}

constexpr int kMaxOverflowHops = 5;

// Applies DecideExit to a locked call; follows overflow into the target queue, whose own
// checks (full, nobody logged in) apply in turn.
void Exit(pqxx::work& tx, Call& call, const QueueConfig& queue, ExitCause cause, TimePoint now,
          Effects& fx, int hops = 0) {
  ExitDecision d = DecideExit(queue, cause);
  std::optional<QueueConfig> target;
  if (d.kind == ExitDecision::Kind::kMoveToQueue) {
    target = LoadQueue(tx, d.target_queue);
    if (!target || hops >= kMaxOverflowHops) {
      d.kind = ExitDecision::Kind::kEnd;
      d.end_state = CallState::kFailed;
      d.reason =
          !target ? "overflow queue '" + d.target_queue + "' does not exist" : "overflow loop";
    }
  }
  if (d.kind == ExitDecision::Kind::kEnd) {
    tx.exec_params(
        "UPDATE calls SET state = $2, ended_at = $3::timestamptz, outcome_reason = $4,"
        " agent_id = NULL, version = version + 1 WHERE id = $1",
        call.id, std::string(ToString(d.end_state)), Ts(now), d.reason);
    call = ReloadCall(tx, call.id);
    const CallEventKind kind = d.end_state == CallState::kTimedOut     ? CallEventKind::kTimedOut
                               : d.end_state == CallState::kOverflowed ? CallEventKind::kOverflowed
                                                                       : CallEventKind::kFailed;
    fx.calls.push_back(Event(kind, call, d.reason));
    return;
  }
  tx.exec_params(
      "UPDATE calls SET queue = $2, state = 'WAITING', agent_id = NULL, attempts = 0,"
      " overflowed_from = $3, queue_entered_at = $4::timestamptz, version = version + 1"
      " WHERE id = $1",
      call.id, target->name, queue.name, Ts(now));
  call = ReloadCall(tx, call.id);
  fx.calls.push_back(Event(CallEventKind::kOverflowed, call, d.reason));
  fx.capacity_freed = true;
  if (target->max_waiting_calls > 0) {
    const int waiting =
        tx.exec_params(
              "SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING'"
              " AND id <> $2",
              target->name, call.id)[0][0]
            .as<int>();
    if (waiting >= target->max_waiting_calls) {
      Exit(tx, call, *target, ExitCause::kQueueFull, now, fx, hops + 1);
      return;
    }
  }
  if (!AnyoneLoggedIn(tx, target->name)) {
    Exit(tx, call, *target, ExitCause::kNoAgents, now, fx, hops + 1);
  }
}

// Back into the queue at its old place after an offer that did not connect.
void Requeue(pqxx::work& tx, Call& call, int priority, int attempts, Duration backoff,
             const std::string& reason, TimePoint now, Effects& fx) {
  tx.exec_params(
      "UPDATE calls SET state = 'WAITING', agent_id = NULL, priority = $2, attempts = $3,"
      " not_before = $4::timestamptz, version = version + 1 WHERE id = $1",
      call.id, priority, attempts, Ts(now + backoff));
  call = ReloadCall(tx, call.id);
  fx.calls.push_back(Event(CallEventKind::kRequeued, call, reason));
  fx.capacity_freed = true;
  if (backoff.count() > 0) fx.wake_at = now + backoff;
}

struct AssignmentRow {
  std::int64_t id;
  std::string call_id;
  std::string agent_id;
  std::string queue;
  std::string state;
  std::optional<TimePoint> connected_at;
};

std::optional<AssignmentRow> LockAssignment(pqxx::work& tx, std::int64_t id,
                                            bool skip_locked = false) {
  auto r = tx.exec_params("SELECT id, call_id, agent_id, queue, state, " + EpochMs("connected_at") +
                              " FROM assignments WHERE id = $1 FOR UPDATE" +
                              (skip_locked ? " SKIP LOCKED" : ""),
                          id);
  if (r.empty()) return std::nullopt;
  return AssignmentRow{r[0][0].as<std::int64_t>(), r[0][1].as<std::string>(),
                       r[0][2].as<std::string>(),  r[0][3].as<std::string>(),
                       r[0][4].as<std::string>(),  OptMs(r[0][5])};
}

Result<AssignmentRow> RequireAssignment(pqxx::work& tx, std::int64_t id,
                                        const std::string& call_id) {
  auto a = LockAssignment(tx, id);
  if (!a) return NotFound("assignment " + std::to_string(id) + " not found");
  if (a->call_id != call_id) {
    return InvalidArgument("assignment " + std::to_string(id) + " belongs to call " + a->call_id +
                           ", not " + call_id);
  }
  return std::move(*a);
}

void SetAssignmentState(pqxx::work& tx, std::int64_t id, const std::string& state,
                        const std::string& outcome, TimePoint now) {
  tx.exec_params(
      "UPDATE assignments SET state = $2, outcome = $3, ended_at = $4::timestamptz WHERE id = $1",
      id, state, outcome, Ts(now));
}

// Every request from an edge is a sign of life. The edge row is shared by all of that edge's
// calls, so it is written (and locked) only when less than half of its lease is left;
// otherwise every transaction of the edge would queue behind that one row lock.
void TouchEdge(pqxx::work& tx, const std::string& edge_id, Duration lease, TimePoint now) {
  auto fresh = tx.exec_prepared("edge_lease_fresh", edge_id, Ts(now + lease / 2));
  if (!fresh.empty()) return;
  tx.exec_prepared("edge_touch", edge_id, Ts(now), Ts(now + lease));
}

Result<std::pair<int, Duration>> PositionOf(pqxx::work& tx, const Call& call, Duration aht,
                                            int serving) {
  if (call.state != CallState::kWaiting) return std::make_pair(0, Duration{0});
  const int ahead =
      tx.exec_params(
            "SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING' AND id <> $2"
            " AND (priority > $3 OR (priority = $3 AND queue_entered_at < $4::timestamptz))",
            call.queue, call.id, call.priority, Ts(call.queue_entered_at))[0][0]
          .as<int>();
  const int position = ahead + 1;
  return std::make_pair(position, EstimateWait(position, aht, serving));
}

// Statements of the hot paths (enqueue, match, outcomes), prepared once per connection:
// planning them on every call cost a third of the database time.
const std::vector<std::pair<std::string, std::string>>& HotStatements() {
  static const std::vector<std::pair<std::string, std::string>> kStatements = {
      {"dialplan_lookup", "SELECT queue FROM dialplan WHERE pattern = $1"},
      {"insert_call",
       "INSERT INTO calls (id, queue, caller, priority, state, edge_id, enqueued_at,"
       " queue_entered_at) VALUES ($1, $2, $3, $4, 'WAITING', $5, $6::timestamptz,"
       " $6::timestamptz) ON CONFLICT (id) DO NOTHING RETURNING " +
           kCallColumns},
      {"entry_checks",
       "SELECT (SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING'"
       "   AND id <> $2),"
       " (SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING' AND id <> $2"
       "   AND priority >= $3),"
       " EXISTS (SELECT 1 FROM agent_queue_memberships m JOIN agents a ON a.id = m.agent_id"
       "   WHERE m.queue = $1 AND a.status <> 'LOGGED_OUT')"},
      {"serving_agents",
       "SELECT count(*)::int FROM agent_queue_memberships m JOIN agents a ON a.id = m.agent_id"
       " WHERE m.queue = $1 AND a.status NOT IN ('LOGGED_OUT', 'PAUSED')"},
      {"snapshot_calls", "SELECT id, queue, priority, " + EpochMs("queue_entered_at") +
                             " FROM calls WHERE state = 'WAITING' AND not_before <= $1::timestamptz"
                             " ORDER BY priority DESC, queue_entered_at LIMIT $2"},
      {"snapshot_queues", "SELECT " + kQueueColumns + " FROM queues WHERE name = ANY($1::text[])"},
      {"snapshot_agents", RoutableAgents("m.queue = ANY($1::text[])")},
      {TopAgentsStatement(Strategy::kLongestIdleAgent), RoutableAgents("m.queue = $1") +
                                                            " ORDER BY " + EpochMs("a.idle_since") +
                                                            ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kRoundRobin),
       RoutableAgents("m.queue = $1") + " ORDER BY m.last_offered_at IS NOT NULL, " +
           EpochMs("m.last_offered_at") + ", m.position, a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kFewestCalls),
       RoutableAgents("m.queue = $1") + " ORDER BY a.calls_answered, " + EpochMs("a.idle_since") +
           ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kLeastTalkTime),
       RoutableAgents("m.queue = $1") + " ORDER BY a.talk_time_ms, " + EpochMs("a.idle_since") +
           ", a.id COLLATE \"C\" LIMIT $3"},
      {TopAgentsStatement(Strategy::kTopDown),
       RoutableAgents("m.queue = $1") + " ORDER BY m.position, a.id COLLATE \"C\" LIMIT $3"},
      {"snapshot_skills",
       "SELECT agent_id, skill, level FROM agent_skills WHERE agent_id = ANY($1::text[])"},
      {"lock_waiting_call", "SELECT " + kCallColumns +
                                " FROM calls WHERE id = $1 AND state = 'WAITING'"
                                " AND not_before <= $2::timestamptz"
                                " FOR UPDATE SKIP LOCKED"},
      {"lock_eligible_agent",
       "SELECT a.status FROM agents a WHERE a.id = $1"
       " AND EXISTS (SELECT 1 FROM agent_queue_memberships m WHERE m.agent_id = a.id"
       "   AND m.queue = $2)"
       " AND (a.status = 'AVAILABLE' OR (a.status = 'ON_CALL' AND a.max_calls > 1))"
       " AND a.active_calls < a.max_calls AND a.routing_not_before <= $3::timestamptz"
       " AND EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
       "   AND b.expires_at > $3::timestamptz)"
       " FOR UPDATE OF a SKIP LOCKED"},
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
      {"assignment_ended",
       "UPDATE assignments SET state = 'ENDED', outcome = $3, ended_at = $4::timestamptz"
       " WHERE id = $1 AND call_id = $2 AND state = 'CONNECTED'"
       " RETURNING agent_id, queue, " +
           EpochMs("connected_at")},
      {"call_ended",
       "UPDATE calls SET state = 'ENDED', ended_at = $2::timestamptz, outcome_reason = $3,"
       " version = version + 1 WHERE id = $1 RETURNING " +
           kCallColumns},
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
  return kStatements;
}

}  // namespace

void Effects::merge(Effects other) {
  for (auto& c : other.calls) calls.push_back(std::move(c));
  for (auto& a : other.agents) agents.push_back(std::move(a));
  if (other.wake_at) wake_at = wake_at ? std::min(*wake_at, *other.wake_at) : other.wake_at;
  capacity_freed = capacity_freed || other.capacity_freed;
}

Status ValidateQueueName(const std::string& name) {
  if (name.empty()) return InvalidArgument("queue name is required");
  if (!IsName(name)) {
    return InvalidArgument("queue name '" + name +
                           "' must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit");
  }
  return OkStatus();
}

Status ValidateCallId(const std::string& id) {
  if (id.empty()) return InvalidArgument("call_id is required");
  if (id.size() > 128) return InvalidArgument("call_id is longer than 128 bytes");
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return InvalidArgument("call_id must be printable ASCII");
  }
  return OkStatus();
}

Status ValidateQueue(const QueueConfig& q) {
  CC_RETURN_IF_ERROR(ValidateQueueName(q.name));
  auto range = [](const char* what, std::int64_t v, std::int64_t lo, std::int64_t hi) -> Status {
    if (v < lo || v > hi) {
      return InvalidArgument(std::string(what) + " must be between " + std::to_string(lo) +
                             " and " + std::to_string(hi) + " (got " + std::to_string(v) + ")");
    }
    return OkStatus();
  };
  if (q.display_name.size() > 128) return InvalidArgument("display_name is longer than 128 bytes");
  CC_RETURN_IF_ERROR(range("ring_timeout (ms)", q.ring_timeout.count(), 1000, 300000));
  CC_RETURN_IF_ERROR(range("max_wait (ms)", q.max_wait.count(), 0, 86400000));
  CC_RETURN_IF_ERROR(range("max_waiting_calls", q.max_waiting_calls, 0, 100000));
  CC_RETURN_IF_ERROR(range("max_attempts", q.max_attempts, 0, 1000));
  CC_RETURN_IF_ERROR(range("requeue_priority_boost", q.requeue_priority_boost, 0, 1000));
  if (q.priority_aging_per_second < 0 || q.priority_aging_per_second > 1000) {
    return InvalidArgument("priority_aging_per_second must be between 0 and 1000");
  }
  CC_RETURN_IF_ERROR(range("wrap_up_seconds", q.wrap_up_seconds, -1, 3600));
  CC_RETURN_IF_ERROR(
      range("service_level_threshold (ms)", q.service_level_threshold.count(), 1000, 3600000));
  CC_RETURN_IF_ERROR(range("no_answer_delay (ms)", q.no_answer_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("busy_delay (ms)", q.busy_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("reject_delay (ms)", q.reject_delay.count(), 0, 3600000));
  CC_RETURN_IF_ERROR(range("auto_pause_after_no_answers", q.auto_pause_after_no_answers, 0, 100));
  CC_RETURN_IF_ERROR(range("weight", q.weight, 1, 100));
  if (!q.overflow_queue.empty() && !q.overflow_hangup_reason.empty()) {
    return InvalidArgument("overflow: give a queue or a hang-up reason, not both");
  }
  if (!q.overflow_queue.empty()) {
    CC_RETURN_IF_ERROR(ValidateQueueName(q.overflow_queue));
    if (q.overflow_queue == q.name) return InvalidArgument("a queue cannot overflow into itself");
  }
  if (q.overflow_hangup_reason.size() > 200) {
    return InvalidArgument("overflow hang-up reason is longer than 200 bytes");
  }
  std::set<std::string> seen;
  for (const auto& s : q.required_skills) {
    if (!IsSkillName(s.name)) {
      return InvalidArgument("required skill '" + s.name + "' is not a valid skill name");
    }
    CC_RETURN_IF_ERROR(
        range(("required skill '" + s.name + "' min_level").c_str(), s.min_level, 1, 10));
    if (!seen.insert(s.name).second) return InvalidArgument("skill '" + s.name + "' given twice");
  }
  if (q.music_prompts.size() > 20) return InvalidArgument("at most 20 music prompts");
  for (const auto& p : q.music_prompts) {
    if (p.empty() || p.size() > 256) return InvalidArgument("music prompt names are 1-256 bytes");
  }
  return OkStatus();
}

QueueStore::QueueStore(PgPool& pool, Settings settings) : pool_(pool), settings_(settings) {
  for (const auto& [name, sql] : HotStatements()) pool_.prepare(name, sql);
}

std::optional<QueueConfig> QueueStore::queue(pqxx::work& tx, const std::string& name) {
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
T QueueStore::estimate(
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

Duration QueueStore::handle_time(pqxx::work& tx, const std::string& queue, TimePoint now) {
  return estimate(handle_times_, queue, std::chrono::seconds(10), [&] {
    return Duration{
        tx.exec_params("SELECT COALESCE(avg(extract(epoch from ended_at - connected_at) * 1000),"
                       " 0)::bigint FROM calls WHERE queue = $1 AND state = 'ENDED'"
                       " AND connected_at IS NOT NULL AND ended_at > $2::timestamptz",
                       queue, Ts(now - std::chrono::hours(1)))[0][0]
            .as<std::int64_t>()};
  });
}

Result<std::pair<int, Duration>> QueueStore::position_of(pqxx::work& tx, const Call& call,
                                                         TimePoint now) {
  return PositionOf(tx, call, handle_time(tx, call.queue, now), serving_agents(tx, call.queue));
}

int QueueStore::serving_agents(pqxx::work& tx, const std::string& queue) {
  return estimate(serving_, queue, std::chrono::seconds(1),
                  [&] { return tx.exec_prepared("serving_agents", queue)[0][0].as<int>(); });
}

void QueueStore::forget_queue(const std::string& name) {
  std::lock_guard lock(cache_mu_);
  queues_.erase(name);
}

void QueueStore::touch_edge(pqxx::work& tx, const std::string& edge_id, TimePoint now) {
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

// ---------------------------------------------------------------------------------------
// Queues, members, dialplan

Result<QueueConfig> QueueStore::create_queue(const QueueConfig& q, TimePoint now) {
  auto r = pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    WriteQueue(tx, q, true, now);
    return RequireQueue(tx, q.name);
  });
  if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) {
    return AlreadyExists("queue '" + q.name + "' already exists");
  }
  return r;
}

Result<QueueConfig> QueueStore::get_queue(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) { return RequireQueue(tx, name); });
}

Result<std::vector<QueueConfig>> QueueStore::list_queues() {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<QueueConfig>> {
    std::map<std::string, QueueConfig> all;
    for (const auto& r : tx.exec("SELECT " + kQueueColumns + " FROM queues ORDER BY name")) {
      QueueConfig q = ReadQueue(r);
      all[q.name] = q;
    }
    LoadSkills(tx, all);
    std::vector<QueueConfig> out;
    for (auto& [n, q] : all) out.push_back(std::move(q));
    return out;
  });
}

Result<QueueConfig> QueueStore::update_queue(const std::string& name, std::int64_t expected_version,
                                             const QueueMutation& mutate, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    CC_ASSIGN_OR_RETURN(QueueConfig q, RequireQueue(tx, name, true));
    if (expected_version != 0 && expected_version != q.version) {
      return Aborted("queue " + name + " changed meanwhile (version " + std::to_string(q.version) +
                     ", expected " + std::to_string(expected_version) + ")");
    }
    CC_RETURN_IF_ERROR(mutate(q));
    q.name = name;
    CC_RETURN_IF_ERROR(ValidateQueue(q));
    WriteQueue(tx, q, false, now);
    forget_queue(name);
    return RequireQueue(tx, name);
  });
}

Status QueueStore::delete_queue(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) -> Status {
    CC_RETURN_IF_ERROR(RequireQueue(tx, name, true));
    const int live = tx.exec_params(
                           "SELECT count(*)::int FROM calls WHERE queue = $1"
                           " AND state IN ('WAITING','OFFERED','CONNECTED')",
                           name)[0][0]
                         .as<int>();
    if (live > 0) {
      return FailedPrecondition("queue " + name + " has " + std::to_string(live) +
                                " live calls; delete it when they are done");
    }
    tx.exec_params("UPDATE queues SET overflow_queue = '' WHERE overflow_queue = $1", name);
    tx.exec_params("DELETE FROM agent_queue_memberships WHERE queue = $1", name);
    tx.exec_params("DELETE FROM queues WHERE name = $1", name);
    forget_queue(name);
    return OkStatus();
  });
}

namespace {
const std::string kMemberSelect =
    "SELECT m.queue, m.agent_id, m.position, a.display_name, a.status,"
    " EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
    "   AND b.expires_at > $1::timestamptz), a.active_calls"
    " FROM agent_queue_memberships m JOIN agents a ON a.id = m.agent_id ";

Member ReadMember(const pqxx::row& r) {
  Member m;
  m.queue = r[0].as<std::string>();
  m.agent_id = r[1].as<std::string>();
  m.position = r[2].as<int>();
  m.display_name = r[3].as<std::string>();
  m.status = AgentStatusFromString(r[4].as<std::string>()).value_or(AgentStatus::kLoggedOut);
  m.routable = r[5].as<bool>();
  m.active_calls = r[6].as<int>();
  return m;
}
}  // namespace

Result<Member> QueueStore::set_member(const Member& m, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Member> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, m.queue));
    if (tx.exec_params("SELECT 1 FROM agents WHERE id = $1", m.agent_id).empty()) {
      return NotFound("agent '" + m.agent_id + "' not found");
    }
    tx.exec_params(
        "INSERT INTO agent_queue_memberships (agent_id, queue, position) VALUES ($1, $2, $3)"
        " ON CONFLICT (agent_id, queue) DO UPDATE SET position = EXCLUDED.position",
        m.agent_id, m.queue, m.position);
    auto r = tx.exec_params(kMemberSelect + "WHERE m.queue = $2 AND m.agent_id = $3", Ts(now),
                            m.queue, m.agent_id);
    return ReadMember(r[0]);
  });
}

Result<Member> QueueStore::remove_member(const std::string& queue, const std::string& agent_id,
                                         TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Member> {
    auto r = tx.exec_params(kMemberSelect + "WHERE m.queue = $2 AND m.agent_id = $3", Ts(now),
                            queue, agent_id);
    if (r.empty()) {
      return NotFound("agent '" + agent_id + "' is not a member of queue '" + queue + "'");
    }
    tx.exec_params("DELETE FROM agent_queue_memberships WHERE queue = $1 AND agent_id = $2", queue,
                   agent_id);
    return ReadMember(r[0]);
  });
}

Result<std::vector<Member>> QueueStore::list_members(const std::string& queue, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Member>> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, queue));
    std::vector<Member> out;
    for (const auto& r : tx.exec_params(kMemberSelect + "WHERE m.queue = $2 ORDER BY m.position,"
                                                        " m.agent_id",
                                        Ts(now), queue)) {
      out.push_back(ReadMember(r));
    }
    return out;
  });
}

Result<DialplanEntry> QueueStore::set_dialplan(const DialplanEntry& e) {
  return pool_.transact([&](pqxx::work& tx) -> Result<DialplanEntry> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, e.queue));
    tx.exec_params(
        "INSERT INTO dialplan (pattern, queue) VALUES ($1, $2)"
        " ON CONFLICT (pattern) DO UPDATE SET queue = EXCLUDED.queue",
        e.pattern, e.queue);
    return e;
  });
}

Result<DialplanEntry> QueueStore::delete_dialplan(const std::string& pattern) {
  return pool_.transact([&](pqxx::work& tx) -> Result<DialplanEntry> {
    auto r = tx.exec_params("DELETE FROM dialplan WHERE pattern = $1 RETURNING queue", pattern);
    if (r.empty()) return NotFound("no dialplan entry '" + pattern + "'");
    return DialplanEntry{pattern, r[0][0].as<std::string>()};
  });
}

Result<std::vector<DialplanEntry>> QueueStore::list_dialplan() {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<DialplanEntry>> {
    std::vector<DialplanEntry> out;
    for (const auto& r : tx.exec("SELECT pattern, queue FROM dialplan ORDER BY pattern")) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>()});
    }
    return out;
  });
}

Result<QueueConfig> QueueStore::resolve(const std::string& dialed) {
  return pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    auto r = tx.exec_params("SELECT queue FROM dialplan WHERE pattern = $1", dialed);
    if (r.empty()) return NotFound("no dialplan entry for '" + dialed + "'");
    return RequireQueue(tx, r[0][0].as<std::string>());
  });
}

// ---------------------------------------------------------------------------------------
// Calls

Result<EnqueueResult> QueueStore::enqueue(const NewCall& nc, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<EnqueueResult> {
    EnqueueResult out;
    std::string queue_name = nc.queue;
    if (queue_name.empty()) {
      auto r = tx.exec_prepared("dialplan_lookup", nc.dialed);
      if (r.empty()) return NotFound("no dialplan entry for '" + nc.dialed + "'");
      queue_name = r[0][0].as<std::string>();
    }
    auto queue = this->queue(tx, queue_name);
    if (!queue) return NotFound("queue '" + queue_name + "' not found");
    touch_edge(tx, nc.edge_id, now);
    auto inserted = tx.exec_prepared("insert_call", nc.id, queue->name, nc.caller, nc.priority,
                                     nc.edge_id, Ts(now));
    if (inserted.empty()) {  // a retried enqueue
      Call existing = *LoadCall(tx, nc.id, true);
      if (existing.edge_id != nc.edge_id) {
        return AlreadyExists("call '" + nc.id + "' already exists (owned by edge " +
                             existing.edge_id + ")");
      }
      out.call = existing;
      out.existing = true;
      out.queue = this->queue(tx, existing.queue).value_or(*queue);
      CC_ASSIGN_OR_RETURN(auto pos, position_of(tx, out.call, now));
      std::tie(out.position, out.estimated_wait) = pos;
      return out;
    }
    Call call = ReadCall(inserted[0]);
    out.effects.calls.push_back(Event(CallEventKind::kEnqueued, call));
    out.effects.capacity_freed = true;
    // Everything the entry checks and the caller's position need, in one round trip. A new
    // call is behind every waiting call of its priority or higher.
    auto r = tx.exec_prepared("entry_checks", queue->name, call.id, call.priority);
    const int waiting = r[0][0].as<int>();
    if (queue->max_waiting_calls > 0 && waiting >= queue->max_waiting_calls) {
      Exit(tx, call, *queue, ExitCause::kQueueFull, now, out.effects);
    } else if (!r[0][2].as<bool>()) {
      Exit(tx, call, *queue, ExitCause::kNoAgents, now, out.effects);
    }
    out.call = call;
    if (call.queue == queue->name && call.state == CallState::kWaiting) {
      out.queue = *queue;
      out.position = r[0][1].as<int>() + 1;
      out.estimated_wait = EstimateWait(out.position, handle_time(tx, queue->name, now),
                                        serving_agents(tx, queue->name));
    } else {
      out.queue = this->queue(tx, call.queue).value_or(*queue);
      CC_ASSIGN_OR_RETURN(auto pos, position_of(tx, call, now));
      std::tie(out.position, out.estimated_wait) = pos;
    }
    return out;
  });
}

Result<Call> QueueStore::get_call(const std::string& id) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Call> {
    auto c = LoadCall(tx, id, false);
    if (!c) return NotFound("call '" + id + "' not found");
    return *c;
  });
}

Result<std::pair<int, Duration>> QueueStore::position(const Call& call, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) { return position_of(tx, call, now); });
}

Result<std::vector<Call>> QueueStore::list_calls(const CallFilter& f) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Call>> {
    std::vector<std::string> states;
    for (auto s : f.states) states.emplace_back(ToString(s));
    if (states.empty()) states = {"WAITING", "OFFERED", "CONNECTED"};
    std::vector<Call> out;
    for (const auto& r :
         tx.exec_params("SELECT " + kCallColumns +
                            " FROM calls WHERE ($1 = '' OR queue = $1) AND state = ANY($2::text[])"
                            " ORDER BY enqueued_at DESC, id LIMIT $3",
                        f.queue, TextArray(states), f.limit)) {
      out.push_back(ReadCall(r));
    }
    return out;
  });
}

Result<std::pair<Call, Effects>> QueueStore::cancel(const std::string& call_id,
                                                    const std::string& reason, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    auto live_assignment = [&]() -> std::optional<AssignmentRow> {
      auto row = tx.exec_params(
          "SELECT id FROM assignments WHERE call_id = $1 AND state IN ('OFFERED','CONNECTED')",
          call_id);
      if (row.empty()) return std::nullopt;
      return LockAssignment(tx, row[0][0].as<std::int64_t>());
    };
    std::optional<AssignmentRow> live = live_assignment();
    auto call = LoadCall(tx, call_id, true);
    if (!call) return NotFound("call '" + call_id + "' not found");
    const bool live_now = live && (live->state == "OFFERED" || live->state == "CONNECTED");
    if (!live_now && call->state == CallState::kOffered) {
      // The offer read above (if any) ended and the call was offered again before we got
      // the call's lock (which waited for that commit). Under the lock no other offer can
      // appear, so this read is the last word; without it the new offer stayed open and
      // its agent reserved until the lease ran out. Locking the assignment after the call
      // may deadlock with a report that locks them the other way round: the database then
      // aborts one and it is retried.
      live = live_assignment();
    }
    touch_edge(tx, call->edge_id, now);
    if (IsTerminal(call->state)) return std::make_pair(*call, fx);  // already over
    if (call->state == CallState::kConnected) {
      return FailedPrecondition("call " + call_id + " is connected; report it ended instead");
    }
    const std::string why = reason.empty() ? "caller hung up" : reason;
    if (live && live->state == "OFFERED") {
      SetAssignmentState(tx, live->id, "WITHDRAWN", "caller abandoned", now);
      auto agent = LockAgent(tx, live->agent_id);
      ReleaseAfterOffer(tx, live->agent_id, call_id, "caller abandoned", Duration{0},
                        agent ? agent->consecutive_no_answers : 0, "", now, fx);
    }
    tx.exec_params(
        "UPDATE calls SET state = 'ABANDONED', ended_at = $2::timestamptz, outcome_reason = $3,"
        " version = version + 1 WHERE id = $1",
        call_id, Ts(now), why);
    Call done = ReloadCall(tx, call_id);
    fx.calls.push_back(Event(CallEventKind::kAbandoned, done, why));
    return std::make_pair(done, fx);
  });
}

Result<int> QueueStore::heartbeat(const std::string& edge_id, Duration lease, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<int> {
    tx.exec_params(
        "INSERT INTO edges (id, last_seen, lease_until) VALUES ($1, $2::timestamptz,"
        " $3::timestamptz) ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen,"
        " lease_until = EXCLUDED.lease_until",
        edge_id, Ts(now), Ts(now + lease));
    return tx
        .exec_params(
            "SELECT count(*)::int FROM calls WHERE edge_id = $1"
            " AND state IN ('WAITING','OFFERED','CONNECTED')",
            edge_id)[0][0]
        .as<int>();
  });
}

// ---------------------------------------------------------------------------------------
// Matching

Result<RoutingSnapshot> QueueStore::snapshot(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<RoutingSnapshot> {
    RoutingSnapshot s;
    std::set<std::string> queue_names;
    for (const auto& r : tx.exec_prepared("snapshot_calls", Ts(now), settings_.snapshot_calls)) {
      s.calls.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int>(), Ms(r[3])});
      queue_names.insert(r[1].as<std::string>());
    }
    if (s.calls.empty()) return s;
    const std::string names =
        TextArray(std::vector<std::string>(queue_names.begin(), queue_names.end()));
    for (const auto& r : tx.exec_prepared("snapshot_queues", names)) {
      QueueConfig q = ReadQueue(r);
      s.queues[q.name] = q;
    }
    LoadSkills(tx, s.queues);
    std::map<std::string, AgentCandidate> agents;
    auto add_agents = [&](const pqxx::result& rows) {
      for (const auto& r : rows) {
        AgentCandidate& a = agents[r[0].as<std::string>()];
        a.id = r[0].as<std::string>();
        a.idle_since = Ms(r[1]);
        a.calls_answered = r[2].as<std::int64_t>();
        a.talk_time_ms = r[3].as<std::int64_t>();
        a.queues[r[4].as<std::string>()] = {r[5].as<int>(), OptMs(r[6])};
      }
    };
    // A pass makes at most one offer per call, so for a queue whose ranking SQL can repeat,
    // its first calls.size() agents are all the router can reach: before a call's turn at
    // most calls.size() - 1 agents are taken, and the best one left is among them. Reading
    // every free agent instead made the snapshot the heaviest statement under load.
    std::vector<std::string> all_of;
    for (const auto& [name, q] : s.queues) {
      const std::string top = TopAgentsStatement(q.strategy);
      if (top.empty() || !q.required_skills.empty() || !settings_.snapshot_top_agents) {
        all_of.push_back(name);
        continue;
      }
      add_agents(tx.exec_prepared(top, name, Ts(now), static_cast<std::int64_t>(s.calls.size())));
    }
    if (!all_of.empty())
      add_agents(tx.exec_prepared("snapshot_agents", TextArray(all_of), Ts(now)));
    // Skills only matter to queues that require some or rank agents by them.
    const bool skills_matter = std::any_of(s.queues.begin(), s.queues.end(), [](const auto& q) {
      return !q.second.required_skills.empty() || q.second.strategy == Strategy::kSkillsBased;
    });
    if (!agents.empty() && skills_matter) {
      std::vector<std::string> ids;
      for (auto& [id, a] : agents) ids.push_back(id);
      for (const auto& r : tx.exec_prepared("snapshot_skills", TextArray(ids))) {
        agents[r[0].as<std::string>()].skills[r[1].as<std::string>()] = r[2].as<int>();
      }
    }
    for (auto& [id, a] : agents) s.agents.push_back(std::move(a));
    return s;
  });
}

Result<std::optional<std::pair<Offer, Effects>>> QueueStore::try_assign(const Proposal& p,
                                                                        const Clock& clock) {
  using Out = std::optional<std::pair<Offer, Effects>>;
  return pool_.transact([&](pqxx::work& tx) -> Result<Out> {
    const TimePoint checked = clock.now();
    auto call_rows = tx.exec_prepared("lock_waiting_call", p.call_id, Ts(checked));
    if (call_rows.empty()) return Out{};
    Call call = ReadCall(call_rows[0]);
    auto queue = this->queue(tx, call.queue);
    if (!queue) return Out{};
    // The same eligibility as the snapshot, now under the agent's row lock.
    auto agent_rows = tx.exec_prepared("lock_eligible_agent", p.agent_id, call.queue, Ts(checked));
    if (agent_rows.empty()) return Out{};
    // The offer is stamped once both rows are held, not when the pass began: a stamp taken
    // before waiting for a connection could fall before the end of the agent's previous
    // call, and the history would show the agent holding two calls at once.
    const TimePoint now = clock.now();
    const AgentStatus agent_status =
        AgentStatusFromString(agent_rows[0][0].as<std::string>()).value_or(AgentStatus::kAvailable);
    const TimePoint lease = now + queue->ring_timeout + settings_.lease_grace;
    auto ins = tx.exec_prepared("insert_offer", call.id, p.agent_id, call.queue, call.edge_id,
                                call.attempts + 1, Ts(lease), Ts(now));
    const std::int64_t assignment_id = ins[0][0].as<std::int64_t>();
    auto updated = tx.exec_prepared("call_offered", call.id, p.agent_id, Ts(now), assignment_id);
    // The round-robin mark and the agent's status (RESERVED unless already on another call).
    auto reserved = tx.exec_prepared("reserve_agent", p.agent_id, call.queue, Ts(now), call.id);
    Effects fx;
    if (!reserved.empty()) {
      fx.agents.push_back({p.agent_id, agent_status, AgentStatus::kReserved, "call offered",
                           call.id, reserved[0][0].as<std::int64_t>()});
    }
    Offer offer{assignment_id,
                call.id,
                p.agent_id,
                call.queue,
                call.edge_id,
                call.caller,
                call.attempts + 1,
                queue->ring_timeout,
                lease,
                call.enqueued_at,
                now};
    fx.calls.push_back(Event(CallEventKind::kOffered, ReadCall(updated[0])));
    return Out{std::make_pair(offer, fx)};
  });
}

Result<Effects> QueueStore::withdraw(std::int64_t assignment_id, const std::string& reason,
                                     TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    auto a = LockAssignment(tx, assignment_id);
    if (!a || a->state != "OFFERED") return fx;  // answered, failed or expired meanwhile
    auto call = LoadCall(tx, a->call_id, true);
    SetAssignmentState(tx, a->id, "WITHDRAWN", reason, now);
    auto agent = LockAgent(tx, a->agent_id);
    ReleaseAfterOffer(tx, a->agent_id, a->call_id, "offer withdrawn: " + reason, Duration{0},
                      agent ? agent->consecutive_no_answers : 0, "", now, fx);
    if (call && call->state == CallState::kOffered) {
      Requeue(tx, *call, call->priority, call->attempts, settings_.offer_retry_backoff,
              "offer withdrawn: " + reason, now, fx);
    }
    return fx;
  });
}

// ---------------------------------------------------------------------------------------
// Outcomes

Result<std::pair<Call, Effects>> QueueStore::connected(std::int64_t assignment_id,
                                                       const std::string& call_id, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    // The usual case in three statements: assignment, call, agent (the lock order).
    auto a = tx.exec_prepared("offer_connected", assignment_id, call_id, Ts(now));
    if (a.empty()) {
      CC_ASSIGN_OR_RETURN(AssignmentRow row, RequireAssignment(tx, assignment_id, call_id));
      if (row.state == "CONNECTED") return std::make_pair(*LoadCall(tx, call_id, false), fx);
      return FailedPrecondition("the offer of call " + call_id + " to " + row.agent_id +
                                " is no longer valid (" + row.state + "); hang up the agent leg");
    }
    const std::string agent_id = a[0][0].as<std::string>();
    auto c = tx.exec_prepared("call_connected", call_id, Ts(now));
    Call done = ReadCall(c[0]);
    touch_edge(tx, done.edge_id, now);
    auto agent = tx.exec_prepared("agent_answered", agent_id, call_id, Ts(now));
    if (!agent.empty() && agent[0][0].as<std::string>() == "RESERVED") {
      fx.agents.push_back({agent_id, AgentStatus::kReserved, AgentStatus::kOnCall, "agent answered",
                           call_id, agent[0][1].as<std::int64_t>()});
    }
    fx.calls.push_back(Event(CallEventKind::kConnected, done));
    return std::make_pair(done, fx);
  });
}

Result<std::pair<Call, Effects>> QueueStore::failed(std::int64_t assignment_id,
                                                    const std::string& call_id, OfferFailure reason,
                                                    const std::string& detail, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    CC_ASSIGN_OR_RETURN(AssignmentRow a, RequireAssignment(tx, assignment_id, call_id));
    auto call = LoadCall(tx, call_id, true);
    touch_edge(tx, call->edge_id, now);
    if (a.state == "FAILED") return std::make_pair(*call, fx);  // repeated report
    if (a.state != "OFFERED") {
      return FailedPrecondition("the offer of call " + call_id + " is no longer pending (" +
                                a.state + ")");
    }
    auto queue = this->queue(tx, a.queue);
    QueueConfig q = queue ? *queue : QueueConfig{};
    auto agent = LockAgent(tx, a.agent_id);
    const FailureDecision d = DecideFailure(q, reason, call->priority, call->attempts,
                                            agent ? agent->consecutive_no_answers : 0);
    const std::string outcome =
        std::string(ToString(reason)) + (detail.empty() ? "" : ": " + detail);
    SetAssignmentState(tx, a.id, "FAILED", outcome, now);
    ReleaseAfterOffer(tx, a.agent_id, call_id, "offer failed: " + outcome, d.agent_delay,
                      d.consecutive_no_answers, d.auto_pause ? d.pause_reason : "", now, fx);
    Call c = *call;
    if (c.state == CallState::kOffered) {
      if (d.exceeded_attempts && queue) {
        tx.exec_params("UPDATE calls SET attempts = $2 WHERE id = $1", c.id, d.call_attempts);
        Exit(tx, c, *queue, ExitCause::kMaxAttempts, now, fx);
      } else {
        Requeue(tx, c, d.call_priority, d.call_attempts, Duration{0}, "offer failed: " + outcome,
                now, fx);
      }
    }
    return std::make_pair(c, fx);
  });
}

Result<std::pair<Call, Effects>> QueueStore::ended(std::int64_t assignment_id,
                                                   const std::string& call_id,
                                                   const std::string& reason, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    const std::string why = reason.empty() ? "hangup" : reason;
    auto a = tx.exec_prepared("assignment_ended", assignment_id, call_id, why, Ts(now));
    if (a.empty()) {
      CC_ASSIGN_OR_RETURN(AssignmentRow row, RequireAssignment(tx, assignment_id, call_id));
      if (row.state == "ENDED") return std::make_pair(*LoadCall(tx, call_id, false), fx);
      return FailedPrecondition("call " + call_id + " is not connected (" + row.state +
                                "); report a failed offer or cancel the call instead");
    }
    const std::string agent_id = a[0][0].as<std::string>();
    const auto talk_ms = std::max<std::int64_t>(0, ToUnixMillis(now) - a[0][2].as<std::int64_t>());
    auto c = tx.exec_prepared("call_ended", call_id, Ts(now), why);
    Call done = ReadCall(c[0]);
    touch_edge(tx, done.edge_id, now);
    auto queue = this->queue(tx, a[0][1].as<std::string>());
    const int queue_wrap = queue ? queue->wrap_up_seconds : -1;
    // Counters, and wrap-up (or back to available) once the agent has no call left; the
    // trigger has already taken this call off active_calls.
    auto agent =
        tx.exec_prepared("agent_after_call", agent_id, talk_ms, call_id, queue_wrap, Ts(now));
    if (!agent.empty()) {
      const auto from = AgentStatusFromString(agent[0][0].as<std::string>());
      const auto to = AgentStatusFromString(agent[0][1].as<std::string>());
      if (from && to && *from != *to) {
        fx.agents.push_back(
            {agent_id, *from, *to, "call ended", call_id, agent[0][2].as<std::int64_t>()});
        if (*to == AgentStatus::kWrapUp && !agent[0][3].is_null()) {
          fx.wake_at = Ms(agent[0][3]);
        } else if (*to == AgentStatus::kAvailable) {
          fx.capacity_freed = true;
        }
      }
    }
    fx.calls.push_back(Event(CallEventKind::kEnded, done, why));
    return std::make_pair(done, fx);
  });
}

// ---------------------------------------------------------------------------------------
// Sweeps

Result<Effects> QueueStore::expire_offers(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r :
         tx.exec_params("SELECT id FROM assignments WHERE state = 'OFFERED'"
                        " AND lease_deadline < $1::timestamptz ORDER BY lease_deadline LIMIT $2"
                        " FOR UPDATE SKIP LOCKED",
                        Ts(now), settings_.sweep_batch)) {
      auto a = LockAssignment(tx, r[0].as<std::int64_t>());
      auto call = LoadCall(tx, a->call_id, true);
      SetAssignmentState(tx, a->id, "EXPIRED", "lease expired", now);
      auto agent = LockAgent(tx, a->agent_id);
      ReleaseAfterOffer(tx, a->agent_id, a->call_id, "offer lease expired", Duration{0},
                        agent ? agent->consecutive_no_answers : 0, "", now, fx);
      if (call && call->state == CallState::kOffered) {
        Requeue(tx, *call, call->priority, call->attempts, Duration{0}, "offer lease expired", now,
                fx);
      }
    }
    return fx;
  });
}

Result<Effects> QueueStore::expire_edges(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r :
         tx.exec_params("SELECT c.id FROM calls c JOIN edges e ON e.id = c.edge_id"
                        " WHERE c.state IN ('WAITING','OFFERED','CONNECTED')"
                        " AND e.lease_until < $1::timestamptz LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
                        Ts(now), settings_.sweep_batch)) {
      const std::string id = r[0].as<std::string>();
      auto live = tx.exec_params(
          "SELECT id FROM assignments WHERE call_id = $1 AND state IN ('OFFERED','CONNECTED')", id);
      std::optional<AssignmentRow> a;
      if (!live.empty()) {
        // Locked call-first here, so never wait for the assignment: whoever holds it (an
        // outcome report) locks the call next; try again on the next sweep.
        a = LockAssignment(tx, live[0][0].as<std::int64_t>(), true);
        if (!a) continue;
      }
      Call call = *LoadCall(tx, id, true);
      const std::string why = "edge " + call.edge_id + " lost";
      if (a && a->state == "CONNECTED") {
        SetAssignmentState(tx, a->id, "ENDED", why, now);
        tx.exec_params(
            "UPDATE calls SET state = 'ENDED', ended_at = $2::timestamptz, outcome_reason = $3,"
            " version = version + 1 WHERE id = $1",
            id, Ts(now), why);
        auto queue = LoadQueue(tx, a->queue);
        ReleaseAfterCall(tx, a->agent_id, id, queue ? &*queue : nullptr, now, fx);
        fx.calls.push_back(Event(CallEventKind::kEnded, ReloadCall(tx, id), why));
        continue;
      }
      if (a && a->state == "OFFERED") {
        SetAssignmentState(tx, a->id, "EXPIRED", why, now);
        auto agent = LockAgent(tx, a->agent_id);
        ReleaseAfterOffer(tx, a->agent_id, id, why, Duration{0},
                          agent ? agent->consecutive_no_answers : 0, "", now, fx);
      }
      tx.exec_params(
          "UPDATE calls SET state = 'ABANDONED', ended_at = $2::timestamptz, outcome_reason = $3,"
          " version = version + 1 WHERE id = $1",
          id, Ts(now), why);
      fx.calls.push_back(Event(CallEventKind::kAbandoned, ReloadCall(tx, id), why));
    }
    return fx;
  });
}

Result<Effects> QueueStore::expire_waits(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    for (const auto& r : tx.exec_params(
             "SELECT c.id, CASE WHEN q.max_wait_ms > 0 AND c.queue_entered_at"
             "   + q.max_wait_ms * interval '1 millisecond' <= $1::timestamptz"
             "   THEN 'wait' ELSE 'empty' END"
             " FROM calls c JOIN queues q ON q.name = c.queue WHERE c.state = 'WAITING' AND ("
             "  (q.max_wait_ms > 0 AND c.queue_entered_at + q.max_wait_ms * interval"
             "   '1 millisecond' <= $1::timestamptz)"
             "  OR NOT EXISTS (SELECT 1 FROM agent_queue_memberships m JOIN agents a"
             "   ON a.id = m.agent_id WHERE m.queue = c.queue AND a.status <> 'LOGGED_OUT'))"
             " LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
             Ts(now), settings_.sweep_batch)) {
      Call call = *LoadCall(tx, r[0].as<std::string>(), false);
      auto queue = LoadQueue(tx, call.queue);
      if (!queue) continue;
      Exit(tx, call, *queue,
           r[1].as<std::string>() == "wait" ? ExitCause::kMaxWait : ExitCause::kNoAgents, now, fx);
    }
    return fx;
  });
}

Result<Effects> QueueStore::finish_wrap_ups(TimePoint now) {
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

// ---------------------------------------------------------------------------------------
// Statistics

Result<std::vector<QueueStats>> QueueStore::stats(const std::string& queue, Duration window,
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
