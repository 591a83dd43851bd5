#include "pg_rules.h"

#include <algorithm>
#include <stdexcept>

#include "pg_statements.h"

namespace cc::queue::pg {
namespace {

int CountAssignments(pqxx::work& tx, const std::string& agent_id, const char* state) {
  return tx
      .exec_params("SELECT count(*)::int FROM assignments WHERE agent_id = $1 AND state = $2",
                   agent_id, std::string(state))[0][0]
      .as<int>();
}

constexpr int kMaxOverflowHops = 5;

void ExitFrom(pqxx::work& tx, Call& call, const QueueConfig& queue, ExitCause cause, TimePoint now,
              Effects& fx, int hops) {
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
      " overflowed_from = $3, queue_entered_at = $4::timestamptz, last_failed_agent = '',"
      " version = version + 1 WHERE id = $1",
      call.id, target->name, queue.name, Ts(now));
  call = ReloadCall(tx, call.id);
  fx.calls.push_back(Event(CallEventKind::kOverflowed, call, d.reason));
  fx.capacity_freed = true;
  // The target queue's own entry checks: closed, full, or nobody there to answer.
  if (!target->opening.open_at(now)) {
    ExitFrom(tx, call, *target, ExitCause::kClosed, now, fx, hops + 1);
    return;
  }
  auto r = tx.exec_params(
      "SELECT (SELECT count(*)::int FROM calls WHERE queue = $1 AND state = 'WAITING'"
      " AND id <> $2), " +
          QueueHasAnswerers("$1", "$3::text", "$4"),
      target->name, call.id, std::string(ToString(target->join_empty)), Ts(now));
  if (target->max_waiting_calls > 0 && r[0][0].as<int>() >= target->max_waiting_calls) {
    ExitFrom(tx, call, *target, ExitCause::kQueueFull, now, fx, hops + 1);
  } else if (!r[0][1].as<bool>()) {
    ExitFrom(tx, call, *target, NobodyToAnswer(target->join_empty), now, fx, hops + 1);
  }
}

}  // namespace

void SetAgentStatus(pqxx::work& tx, const AgentRow& agent, AgentStatus to,
                    const std::string& reason, const std::string& call_id, TimePoint now,
                    Effects& fx, const std::string& pause_reason) {
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

void EndOffer(pqxx::work& tx, const AssignmentRow& a, const OfferEnd& end, TimePoint now,
              Effects& fx) {
  tx.exec_params(
      "UPDATE assignments SET state = $2, outcome = $3, ended_at = $4::timestamptz WHERE id = $1",
      a.id, end.state, end.outcome, Ts(now));
  // The trigger has taken the offer off active_calls; now the agent.
  auto agent = LockAgent(tx, a.agent_id);
  if (!agent) return;  // deleted meanwhile
  tx.exec_params(
      "UPDATE agents SET consecutive_no_answers = $2,"
      " routing_not_before = GREATEST(routing_not_before, $3::timestamptz) WHERE id = $1",
      a.agent_id, end.no_answers.value_or(agent->consecutive_no_answers),
      Ts(now + end.agent_delay));
  if (end.agent_delay.count() > 0) {
    const TimePoint at = now + end.agent_delay;
    fx.wake_at = fx.wake_at ? std::min(*fx.wake_at, at) : at;
  }
  if (agent->status == AgentStatus::kReserved) {
    if (!end.auto_pause_reason.empty()) {
      SetAgentStatus(tx, *agent, AgentStatus::kPaused, end.agent_reason, a.call_id, now, fx,
                     end.auto_pause_reason);
    } else {
      SetAgentStatus(tx, *agent, AgentStatus::kAvailable, end.agent_reason, a.call_id, now, fx);
    }
  } else if (agent->status == AgentStatus::kOnCall &&
             CountAssignments(tx, a.agent_id, "CONNECTED") == 0) {
    // A multi-call agent whose other call ended while this offer rang.
    SetAgentStatus(tx, *agent, AgentStatus::kAvailable, end.agent_reason, a.call_id, now, fx);
  }
  fx.capacity_freed = true;
}

std::optional<Call> EndConnected(pqxx::work& tx, std::int64_t assignment_id,
                                 const std::string& call_id, const std::string& reason,
                                 const QueueLookup& queues, TimePoint now, Effects& fx) {
  auto a = tx.exec_prepared("assignment_ended", assignment_id, call_id, reason, Ts(now));
  if (a.empty()) return std::nullopt;
  auto c = tx.exec_prepared("call_ended", call_id, Ts(now), reason);
  Call done = ReadCall(c[0]);
  AfterCall(tx, a[0], call_id, queues, now, fx);
  fx.calls.push_back(Event(CallEventKind::kEnded, done, reason));
  return done;
}

void AfterCall(pqxx::work& tx, const pqxx::row& ended, const std::string& call_id,
               const QueueLookup& queues, TimePoint now, Effects& fx) {
  const std::string agent_id = ended[0].as<std::string>();
  const auto talk_ms = std::max<std::int64_t>(0, ToUnixMillis(now) - ended[2].as<std::int64_t>());
  auto queue = queues(tx, ended[1].as<std::string>());
  const int queue_wrap = queue ? queue->wrap_up_seconds : -1;
  auto agent =
      tx.exec_prepared("agent_after_call", agent_id, talk_ms, call_id, queue_wrap, Ts(now));
  if (agent.empty()) return;
  const auto from = AgentStatusFromString(agent[0][0].as<std::string>());
  const auto to = AgentStatusFromString(agent[0][1].as<std::string>());
  if (!from || !to || *from == *to) return;
  fx.agents.push_back(
      {agent_id, *from, *to, "call ended", call_id, agent[0][2].as<std::int64_t>()});
  if (*to == AgentStatus::kWrapUp && !agent[0][3].is_null()) {
    const TimePoint until = Ms(agent[0][3]);
    fx.wake_at = fx.wake_at ? std::min(*fx.wake_at, until) : until;
  } else if (*to == AgentStatus::kAvailable) {
    fx.capacity_freed = true;
  }
}

void Requeue(pqxx::work& tx, Call& call, int priority, int attempts, Duration backoff,
             const std::string& reason, TimePoint now, Effects& fx) {
  tx.exec_params(
      "UPDATE calls SET state = 'WAITING', agent_id = NULL, priority = $2, attempts = $3,"
      " not_before = $4::timestamptz, version = version + 1 WHERE id = $1",
      call.id, priority, attempts, Ts(now + backoff));
  call = ReloadCall(tx, call.id);
  fx.calls.push_back(Event(CallEventKind::kRequeued, call, reason));
  fx.capacity_freed = true;
  if (backoff.count() > 0) {
    const TimePoint at = now + backoff;
    fx.wake_at = fx.wake_at ? std::min(*fx.wake_at, at) : at;
  }
}

void Exit(pqxx::work& tx, Call& call, const QueueConfig& queue, ExitCause cause, TimePoint now,
          Effects& fx) {
  ExitFrom(tx, call, queue, cause, now, fx, 0);
}

void EndAbandoned(pqxx::work& tx, Call& call, const std::optional<AssignmentRow>& live,
                  const std::string& offer_state, const std::string& reason,
                  const QueueLookup& queues, TimePoint now, Effects& fx) {
  if (live && live->state == "CONNECTED") {
    if (auto done = EndConnected(tx, live->id, call.id, reason, queues, now, fx)) call = *done;
    return;
  }
  if (live && live->state == "OFFERED") {
    OfferEnd end;
    end.state = offer_state;
    end.outcome = reason;
    end.agent_reason = reason;
    EndOffer(tx, *live, end, now, fx);
  }
  tx.exec_params(
      "UPDATE calls SET state = 'ABANDONED', ended_at = $2::timestamptz, outcome_reason = $3,"
      " version = version + 1 WHERE id = $1",
      call.id, Ts(now), reason);
  call = ReloadCall(tx, call.id);
  fx.calls.push_back(Event(CallEventKind::kAbandoned, call, reason));
}

void TouchEdge(pqxx::work& tx, const std::string& edge_id, Duration lease, TimePoint now) {
  if (edge_id.empty()) return;  // a callback waiting: no edge holds it
  auto fresh = tx.exec_prepared("edge_lease_fresh", edge_id, Ts(now + lease / 2));
  if (!fresh.empty()) return;
  tx.exec_prepared("edge_touch", edge_id, Ts(now), Ts(now + lease));
}

}  // namespace cc::queue::pg
