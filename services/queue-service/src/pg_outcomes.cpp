// Outcomes the edge reports for an offer: connected, failed, ended. Each is idempotent for a
// repeated report.
#include "pg_rows.h"
#include "pg_rules.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

Result<std::pair<Call, Effects>> PgQueueRepository::connected(std::int64_t assignment_id,
                                                              const std::string& call_id,
                                                              TimePoint now) {
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
    // A callback connected belongs to the edge that placed it from now on (its heartbeat and
    // lease cover the conversation like any other).
    tx.exec_params(
        "UPDATE calls SET edge_id = a.edge_id FROM assignments a WHERE calls.id = $1"
        " AND a.id = $2 AND calls.callback_number <> ''",
        call_id, assignment_id);
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

Result<std::pair<Call, Effects>> PgQueueRepository::failed(std::int64_t assignment_id,
                                                           const std::string& call_id,
                                                           OfferFailure reason,
                                                           const std::string& detail,
                                                           TimePoint now) {
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
    OfferEnd end;
    end.state = "FAILED";
    end.outcome = outcome;
    end.agent_reason = "offer failed: " + outcome;
    end.agent_delay = d.agent_delay;
    end.no_answers = d.consecutive_no_answers;
    if (d.auto_pause) end.auto_pause_reason = d.pause_reason;
    EndOffer(tx, a, end, now, fx);
    Call c = *call;
    if (c.state == CallState::kOffered) {
      // A transfer's named agent did not take it: back to the first agent, when it can.
      if (auto back = after_failed_transfer(tx, c, q, now, fx)) {
        fx.offers.push_back(std::move(*back));
        return std::make_pair(c, fx);
      }
      // Any other agent may take the call at once; this one only after the re-offer delay.
      tx.exec_params(
          "UPDATE calls SET last_failed_agent = $2, avoid_agent_until = $3::timestamptz"
          " WHERE id = $1",
          c.id, a.agent_id, Ts(now + q.reoffer_delay));
      if (q.reoffer_delay.count() > 0) {
        const TimePoint at = now + q.reoffer_delay;
        fx.wake_at = fx.wake_at ? std::min(*fx.wake_at, at) : at;
      }
      if (reason == OfferFailure::kCallbackUnanswered && !c.callback_number.empty()) {
        // The customer did not answer: the place is kept for the next try, after the delay,
        // or the callback has failed for good.
        const CallbackDecision cd = DecideCallbackFailure(q, c.callback_attempts);
        tx.exec_params("UPDATE calls SET callback_attempts = $2 WHERE id = $1", c.id, cd.attempts);
        if (cd.give_up) {
          tx.exec_params(
              "UPDATE calls SET state = 'FAILED', agent_id = NULL, ended_at = $2::timestamptz,"
              " outcome_reason = $3, version = version + 1 WHERE id = $1",
              c.id, Ts(now), cd.reason);
          c = ReloadCall(tx, c.id);
          fx.calls.push_back(Event(CallEventKind::kFailed, c, cd.reason));
        } else {
          Requeue(tx, c, c.priority, c.attempts, cd.retry_delay, "callback: " + outcome, now, fx);
        }
      } else if (d.exceeded_attempts && queue) {
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

Result<std::pair<Call, Effects>> PgQueueRepository::ended(std::int64_t assignment_id,
                                                          const std::string& call_id,
                                                          const std::string& reason,
                                                          TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    const std::string why = reason.empty() ? "hangup" : reason;
    auto done = EndConnected(tx, assignment_id, call_id, why, queues(), now, fx);
    if (!done) {
      CC_ASSIGN_OR_RETURN(AssignmentRow row, RequireAssignment(tx, assignment_id, call_id));
      if (row.state == "ENDED") return std::make_pair(*LoadCall(tx, call_id, false), fx);
      return FailedPrecondition("call " + call_id + " is not connected (" + row.state +
                                "); report a failed offer or cancel the call instead");
    }
    touch_edge(tx, done->edge_id, now);
    return std::make_pair(*done, fx);
  });
}

}  // namespace cc::queue
