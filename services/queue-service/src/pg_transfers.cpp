// Blind transfers of a connected call, what becomes of one its target did not take, and the
// record of a call's agent legs and transfers.
#include "pg_rows.h"
#include "pg_rules.h"
#include "pg_statements.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

namespace {

const std::string kTransferColumns =
    "id, call_id, from_assignment, from_agent, target_kind, target, from_queue, on_failure,"
    " requested_by, " +
    EpochMs("requested_at") + ", result, to_agent, " + EpochMs("finished_at") + ", detail";

Transfer ReadTransfer(const pqxx::row& r) {
  Transfer t;
  t.id = r[0].as<std::int64_t>();
  t.call_id = r[1].as<std::string>();
  t.from_assignment = r[2].as<std::int64_t>();
  t.from_agent = r[3].as<std::string>();
  (r[4].as<std::string>() == "QUEUE" ? t.to_queue : t.to_agent) = r[5].as<std::string>();
  t.from_queue = r[6].as<std::string>();
  t.on_failure = r[7].as<std::string>() == "QUEUE" ? TransferFallback::kQueue
                                                   : TransferFallback::kReturnToAgent;
  t.requested_by = r[8].as<std::string>();
  t.requested_at = Ms(r[9]);
  const std::string result = r[10].as<std::string>();
  t.result = result == "COMPLETED"  ? TransferResult::kCompleted
             : result == "RETURNED" ? TransferResult::kReturned
             : result == "FAILED"   ? TransferResult::kFailed
                                    : TransferResult::kPending;
  t.taken_by = r[11].as<std::string>();
  t.finished_at = OptMs(r[12]);
  t.detail = r[13].as<std::string>();
  return t;
}

// Where `number` (a phone's Refer-To user) leads: a queue through the dialplan, else an
// agent by id or SIP user.
Status ResolveTransferNumber(pqxx::work& tx, const std::string& number, std::string& to_queue,
                             std::string& to_agent) {
  auto plan = tx.exec_params("SELECT queue, menu FROM dialplan WHERE pattern = $1", number);
  if (!plan.empty()) {
    if (plan[0][0].is_null()) {
      return FailedPrecondition("'" + number + "' leads to menu '" + plan[0][1].as<std::string>() +
                                "'; a call with an agent is transferred to a queue or an agent");
    }
    to_queue = plan[0][0].as<std::string>();
    return OkStatus();
  }
  auto agent = tx.exec_params(
      "SELECT id FROM agents WHERE id = $1 OR sip_username = $1 ORDER BY id = $1 DESC LIMIT 1",
      number);
  if (agent.empty()) {
    return NotFound("nothing to transfer to at '" + number +
                    "': no number of the dialplan, agent or SIP user of that name");
  }
  to_agent = agent[0][0].as<std::string>();
  return OkStatus();
}

// Locks the named agent if it can take a call now (as the router would offer one, but
// without membership of the call's queue); its status, or why not.
Result<AgentStatus> LockFreeAgent(pqxx::work& tx, const std::string& agent_id, TimePoint now) {
  auto rows = tx.exec_params("SELECT a.status FROM agents a WHERE a.id = $1 AND " +
                                 AgentEligible("$2") + " FOR UPDATE OF a",
                             agent_id, Ts(now));
  if (!rows.empty()) {
    return AgentStatusFromString(rows[0][0].as<std::string>()).value_or(AgentStatus::kAvailable);
  }
  auto st = tx.exec_params(
      "SELECT status, EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
      " AND b.expires_at > $2::timestamptz) FROM agents a WHERE id = $1",
      agent_id, Ts(now));
  if (st.empty()) return NotFound("no agent '" + agent_id + "'");
  const std::string status = st[0][0].as<std::string>();
  const std::string why = status != "AVAILABLE"  ? status
                          : !st[0][1].as<bool>() ? "no registered phone"
                                                 : "not free to take a call now";
  return FailedPrecondition("agent " + agent_id + " cannot take the call now (" + why + ")");
}

}  // namespace

Result<TransferOutcome> PgQueueRepository::transfer(const TransferRequest& r, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<TransferOutcome> {
    TransferOutcome out;
    // The leg was transferred already (a repeated request): the same answer.
    if (r.assignment_id != 0) {
      auto done = tx.exec_params("SELECT " + kTransferColumns +
                                     " FROM call_transfers WHERE from_assignment = $1"
                                     " AND call_id = $2",
                                 r.assignment_id, r.call_id);
      if (!done.empty()) {
        out.transfer = ReadTransfer(done[0]);
        out.call = ReloadCall(tx, r.call_id);
        return out;
      }
    }
    // Rows in the usual order: the assignment, the call, then the agents.
    auto live = LockLiveAssignment(tx, r.call_id);
    auto call = LoadCall(tx, r.call_id, true);
    if (!call) return NotFound("no call " + r.call_id);
    if (!live || live->state != "CONNECTED" || call->state != CallState::kConnected) {
      return FailedPrecondition("call " + r.call_id + " is not connected to an agent (" +
                                std::string(ToString(call->state)) + ")");
    }
    if (r.assignment_id != 0 && live->id != r.assignment_id) {
      return FailedPrecondition("agent leg " + std::to_string(r.assignment_id) + " of call " +
                                r.call_id + " is over; the call is with " + live->agent_id);
    }
    std::string to_queue = r.to_queue;
    std::string to_agent = r.to_agent;
    if (!r.to_number.empty()) {
      CC_RETURN_IF_ERROR(ResolveTransferNumber(tx, r.to_number, to_queue, to_agent));
    }
    if (!to_queue.empty()) {
      // The target queue must take the caller now, as it would a new one: open, not full,
      // someone there to answer by its join rule. Else the call stays with its agent.
      CC_ASSIGN_OR_RETURN(QueueConfig q, RequireQueue(tx, to_queue));
      if (!q.opening.open_at(now)) {
        return FailedPrecondition("queue " + to_queue + " is closed now");
      }
      auto checks = tx.exec_prepared("entry_checks", q.name, call->id, call->priority,
                                     std::string(ToString(q.join_empty)), Ts(now));
      if (q.max_waiting_calls > 0 && checks[0][0].as<int>() >= q.max_waiting_calls) {
        return FailedPrecondition("queue " + to_queue + " is full");
      }
      if (!checks[0][2].as<bool>()) {
        return FailedPrecondition("nobody in queue " + to_queue + " can answer now (join rule " +
                                  std::string(ToString(q.join_empty)) + ")");
      }
    }
    AgentStatus target_status = AgentStatus::kAvailable;
    if (!to_agent.empty()) {
      if (to_agent == live->agent_id) {
        return FailedPrecondition("call " + r.call_id + " is with agent " + to_agent + " already");
      }
      // A named agent who cannot take it now: refused, and the call stays where it is.
      CC_ASSIGN_OR_RETURN(target_status, LockFreeAgent(tx, to_agent, now));
    }
    const std::string outcome =
        to_queue.empty() ? "transferred to agent " + to_agent : "transferred to queue " + to_queue;

    // The first agent's leg ends, and the agent goes on to wrap-up (the after-call rule).
    auto ended = tx.exec_prepared("assignment_ended", live->id, call->id, outcome, Ts(now));
    // The call waits again, in the target queue at the place its first wait gave it
    // (queue_entered_at is kept), its attempts counted afresh.
    tx.exec_params(
        "UPDATE calls SET state = 'WAITING', agent_id = NULL, queue = $2, attempts = 0,"
        " not_before = '-infinity', last_failed_agent = '', avoid_agent_until = NULL,"
        " version = version + 1 WHERE id = $1",
        call->id, to_queue.empty() ? call->queue : to_queue);
    AfterCall(tx, ended[0], call->id, queues(), now, out.effects);
    auto row = tx.exec_params(
        "INSERT INTO call_transfers (call_id, from_assignment, from_agent, target_kind, target,"
        " from_queue, on_failure, requested_by, requested_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz) RETURNING " +
            kTransferColumns,
        call->id, live->id, live->agent_id, to_queue.empty() ? "AGENT" : "QUEUE",
        to_queue.empty() ? to_agent : to_queue, call->queue,
        r.on_failure == TransferFallback::kQueue ? "QUEUE" : "RETURN_TO_AGENT", r.requested_by,
        Ts(now));
    out.transfer = ReadTransfer(row[0]);
    Call waiting = ReloadCall(tx, call->id);
    CallEvent moved = Event(CallEventKind::kTransferred, waiting, outcome);
    moved.transferred_assignment = live->id;
    out.effects.calls.push_back(moved);
    if (to_agent.empty()) {
      out.effects.capacity_freed = true;  // the router takes it from here
    } else {
      auto queue = this->queue(tx, waiting.queue);
      out.effects.offers.push_back(offer_call(tx, waiting, queue ? *queue : QueueConfig{}, to_agent,
                                              target_status, waiting.edge_id, now, out.effects));
    }
    out.call = ReloadCall(tx, call->id);
    return out;
  });
}

std::optional<Offer> PgQueueRepository::after_failed_transfer(pqxx::work& tx, Call& call,
                                                              const QueueConfig& queue,
                                                              TimePoint now, Effects& fx) {
  auto pending = tx.exec_params(
      "SELECT id, from_agent, on_failure, target FROM call_transfers WHERE call_id = $1"
      " AND result = 'PENDING' AND target_kind = 'AGENT' FOR UPDATE",
      call.id);
  if (pending.empty() || pending[0][3].as<std::string>() != call.agent_id) return std::nullopt;
  const std::int64_t id = pending[0][0].as<std::int64_t>();
  const std::string first = pending[0][1].as<std::string>();
  auto settle = [&](const std::string& result, const std::string& to, const std::string& detail) {
    tx.exec_params(
        "UPDATE call_transfers SET result = $2, to_agent = $3, finished_at = $4::timestamptz,"
        " detail = left($5, 200) WHERE id = $1",
        id, result, to, Ts(now), detail);
  };
  const std::string why = "agent " + call.agent_id + " did not take the transfer";
  if (pending[0][2].as<std::string>() == "RETURN_TO_AGENT") {
    // The first agent may be in the wrap-up of this very call: that is cut short.
    auto agent = tx.exec_params(
        "SELECT a.status FROM agents a WHERE a.id = $1"
        " AND a.status IN ('AVAILABLE', 'WRAP_UP', 'ON_CALL') AND a.active_calls < a.max_calls"
        " AND (a.status <> 'ON_CALL' OR a.max_calls > 1)"
        " AND EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
        "   AND b.expires_at > $2::timestamptz)"
        " AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.agent_id = a.id"
        "   AND x.state = 'OFFERED') FOR UPDATE OF a",
        first, Ts(now));
    if (!agent.empty()) {
      AgentStatus status =
          AgentStatusFromString(agent[0][0].as<std::string>()).value_or(AgentStatus::kAvailable);
      if (status == AgentStatus::kWrapUp) {
        if (auto row = LockAgent(tx, first)) {
          SetAgentStatus(tx, *row, AgentStatus::kAvailable, "transferred call came back", call.id,
                         now, fx);
        }
        status = AgentStatus::kAvailable;
      }
      settle("RETURNED", first, why);
      tx.exec_params("UPDATE calls SET state = 'WAITING', agent_id = NULL WHERE id = $1", call.id);
      call = ReloadCall(tx, call.id);
      Offer offer = offer_call(tx, call, queue, first, status, call.edge_id, now, fx);
      call = ReloadCall(tx, call.id);
      return offer;
    }
  }
  // Back to its queue: the transfer stays pending until the call is connected or ends.
  tx.exec_params("UPDATE call_transfers SET detail = left($2, 200) WHERE id = $1", id,
                 why + (pending[0][2].as<std::string>() == "QUEUE"
                            ? "; back to the queue"
                            : "; " + first + " not free; back to the queue"));
  return std::nullopt;
}

Result<CallHistory> PgQueueRepository::history(const std::string& call_id) {
  return pool_.transact([&](pqxx::work& tx) -> Result<CallHistory> {
    CallHistory h;
    for (const auto& r :
         tx.exec_params("SELECT id, agent_id, queue, state, " + EpochMs("offered_at") + ", " +
                            EpochMs("connected_at") + ", " + EpochMs("ended_at") +
                            ", outcome FROM assignments WHERE call_id = $1 ORDER BY id",
                        call_id)) {
      h.legs.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                        r[3].as<std::string>(), Ms(r[4]), OptMs(r[5]), OptMs(r[6]),
                        r[7].as<std::string>()});
    }
    for (const auto& r : tx.exec_params(
             "SELECT " + kTransferColumns + " FROM call_transfers WHERE call_id = $1 ORDER BY id",
             call_id)) {
      h.transfers.push_back(ReadTransfer(r));
    }
    h.monitors = LoadMonitors(tx, call_id);
    h.recordings = LoadRecordings(tx, call_id);
    return h;
  });
}

}  // namespace cc::queue
