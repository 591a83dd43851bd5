// Calls entering and leaving: enqueue, cancel, reads, and the edge's heartbeat with the
// reconciliation of the calls it holds.
#include <set>

#include "pg_rows.h"
#include "pg_rules.h"
#include "pg_statements.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

Result<EnqueueResult> PgQueueRepository::enqueue(const NewCall& nc, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<EnqueueResult> {
    EnqueueResult out;
    std::string queue_name = nc.queue;
    // A dialled number's own hours come before its queue's: closed, the caller meets the
    // number's closed action, applied as a queue's would be.
    std::optional<OpeningRule> number_closed;
    if (queue_name.empty()) {
      auto entry = LoadDialplanEntry(tx, nc.dialed);
      if (!entry) return NotFound("no dialplan entry for '" + nc.dialed + "'");
      if (!entry->menu.empty()) {
        // A menu first: the edge runs it and enqueues the call where the caller chose.
        out.call.id = nc.id;
        out.call.caller = nc.caller;
        out.call.edge_id = nc.edge_id;
        out.menus = menus_from(tx, entry->menu);
        if (out.menus.empty()) return NotFound("menu '" + entry->menu + "' not found");
        return out;
      }
      queue_name = entry->queue;
      if (!entry->opening.open_at(now)) number_closed = entry->opening;
    }
    auto queue = this->queue(tx, queue_name);
    if (!queue) return NotFound("queue '" + queue_name + "' not found");
    // What a call that ended at once because something was closed lets the caller hear: the
    // closed prompts of the queue it ended in, or of the number.
    auto closed_prompts = [&](const Call& c, const QueueConfig& in) -> std::vector<std::string> {
      if (!IsTerminal(c.state)) return {};
      if (!in.opening.open_at(now) && c.outcome_reason == in.opening.closed_reason()) {
        return in.opening.prompts();
      }
      if (number_closed && c.outcome_reason == number_closed->closed_reason()) {
        return number_closed->prompts();
      }
      return {};
    };
    touch_edge(tx, nc.edge_id, now);
    const bool callback = !nc.callback_number.empty();
    const OpeningRule* shut = number_closed                  ? &*number_closed
                              : !queue->opening.open_at(now) ? &queue->opening
                                                             : nullptr;
    if (callback) {
      if (!queue->callback.enabled && !(shut && shut->closed_callback)) {
        return FailedPrecondition("queue " + queue->name + " offers no callback");
      }
    } else if (shut && shut->diverts()) {
      // Closed, and the edge carries out the closed action after the closed prompts: a
      // menu, a redirect, or the callback offer (whose enqueue comes back with the number).
      out.call.id = nc.id;
      out.call.caller = nc.caller;
      out.call.edge_id = nc.edge_id;
      out.queue = *queue;
      out.exit_prompts = shut->prompts();
      if (!shut->closed_menu.empty()) {
        out.menus = menus_from(tx, shut->closed_menu);
        if (out.menus.empty()) return NotFound("menu '" + shut->closed_menu + "' not found");
      }
      out.redirect_uri = shut->closed_uri;
      out.offer_callback = shut->closed_callback;
      return out;
    }
    // A callback waits held by no edge, from the next opening if closed now.
    const std::string edge = callback ? "" : nc.edge_id;
    auto inserted = tx.exec_prepared("insert_call", nc.id, queue->name, nc.caller, nc.priority,
                                     edge, Ts(now), TextArray(DataArray(nc.data)),
                                     TextArray(SkillArray(nc.skills)), nc.language);
    if (!inserted.empty() && callback) {
      TimePoint from = now;
      if (shut) {
        if (auto schedule = Schedule::Parse(shut->hours); schedule.ok()) {
          from = schedule->next_opening(now).value_or(now);
        }
      }
      tx.exec_params(
          "UPDATE calls SET callback_number = $2, not_before = $3::timestamptz WHERE id = $1",
          nc.id, nc.callback_number, Ts(from));
      Call c = ReloadCall(tx, nc.id);
      out.effects.calls.push_back(Event(CallEventKind::kEnqueued, c, "callback requested"));
      out.effects.capacity_freed = true;
      if (from > now) out.effects.wake_at = from;
      out.call = c;
      out.queue = *queue;
      CC_ASSIGN_OR_RETURN(auto pos, position_of(tx, c, now));
      std::tie(out.position, out.estimated_wait) = pos;
      return out;
    }
    if (inserted.empty()) {  // a retried enqueue
      Call existing = *LoadCall(tx, nc.id, true);
      if (existing.edge_id != edge) {
        return AlreadyExists("call '" + nc.id + "' already exists (owned by edge " +
                             existing.edge_id + ")");
      }
      out.call = existing;
      out.existing = true;
      out.queue = this->queue(tx, existing.queue).value_or(*queue);
      CC_ASSIGN_OR_RETURN(auto pos, position_of(tx, out.call, now));
      std::tie(out.position, out.estimated_wait) = pos;
      out.exit_prompts = closed_prompts(out.call, out.queue);
      return out;
    }
    Call call = ReadCall(inserted[0]);
    out.effects.calls.push_back(Event(CallEventKind::kEnqueued, call));
    out.effects.capacity_freed = true;
    if (number_closed || !queue->opening.open_at(now)) {
      // Outside the opening hours: the closed action (another queue, whose own checks apply,
      // or the end), and the caller hears why first.
      QueueConfig closed = *queue;
      if (number_closed) closed.opening = *number_closed;
      Exit(tx, call, closed, ExitCause::kClosed, now, out.effects);
    } else {
      // Everything the entry checks and the caller's position need, in one round trip. A new
      // call is behind every waiting call of its priority or higher.
      auto r = tx.exec_prepared("entry_checks", queue->name, call.id, call.priority,
                                std::string(ToString(queue->join_empty)), Ts(now));
      const int waiting = r[0][0].as<int>();
      if (queue->max_waiting_calls > 0 && waiting >= queue->max_waiting_calls) {
        Exit(tx, call, *queue, ExitCause::kQueueFull, now, out.effects);
      } else if (!r[0][2].as<bool>()) {
        Exit(tx, call, *queue, NobodyToAnswer(queue->join_empty), now, out.effects);
      }
      if (call.queue == queue->name && call.state == CallState::kWaiting) {
        out.call = call;
        out.queue = *queue;
        out.position = r[0][1].as<int>() + 1;
        out.estimated_wait = EstimateWait(out.position, handle_time(tx, queue->name, now),
                                          serving_agents(tx, queue->name));
        return out;
      }
    }
    out.call = call;
    out.queue = this->queue(tx, call.queue).value_or(*queue);
    CC_ASSIGN_OR_RETURN(auto pos, position_of(tx, call, now));
    std::tie(out.position, out.estimated_wait) = pos;
    out.exit_prompts = closed_prompts(call, out.queue);
    return out;
  });
}

Result<std::pair<Call, Effects>> PgQueueRepository::request_callback(const std::string& call_id,
                                                                     const std::string& number,
                                                                     const std::string& edge_id,
                                                                     TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    auto call = LoadCall(tx, call_id, true);
    if (!call) return NotFound("call '" + call_id + "' not found");
    if (!call->callback_number.empty()) return std::make_pair(*call, fx);  // asked already
    if (call->edge_id != edge_id) {
      return FailedPrecondition("call " + call_id + " is held by edge " + call->edge_id);
    }
    if (call->state != CallState::kWaiting) {
      return FailedPrecondition("call " + call_id + " is " + std::string(ToString(call->state)) +
                                ", not waiting");
    }
    auto queue = this->queue(tx, call->queue);
    if (!queue || !queue->callback.enabled) {
      return FailedPrecondition("queue " + call->queue + " offers no callback");
    }
    touch_edge(tx, edge_id, now);
    // The caller hangs up: the call keeps its place, held by no edge (neither the edge's
    // heartbeat nor its lease concern it now), until an offer gives it to a live edge.
    tx.exec_params(
        "UPDATE calls SET callback_number = $2, edge_id = '', version = version + 1"
        " WHERE id = $1",
        call_id, number);
    Call c = ReloadCall(tx, call_id);
    fx.calls.push_back(Event(CallEventKind::kRequeued, c, "callback requested"));
    return std::make_pair(c, fx);
  });
}

Result<Call> PgQueueRepository::get_call(const std::string& id) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Call> {
    auto c = LoadCall(tx, id, false);
    if (!c) return NotFound("call '" + id + "' not found");
    return *c;
  });
}

Result<std::pair<int, Duration>> PgQueueRepository::position(const Call& call, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) { return position_of(tx, call, now); });
}

Result<int> PgQueueRepository::agents_available(const std::string& queue) {
  return pool_.transact([&](pqxx::work& tx) -> Result<int> {
    return tx
        .exec_params(
            "SELECT count(*)::int FROM agent_queue_memberships m JOIN agents a"
            " ON a.id = m.agent_id WHERE m.queue = $1 AND a.status = 'AVAILABLE'",
            queue)[0][0]
        .as<int>();
  });
}

Result<std::vector<Call>> PgQueueRepository::list_calls(const CallFilter& f) {
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

Result<std::pair<Call, Effects>> PgQueueRepository::cancel(const std::string& call_id,
                                                           const std::string& reason,
                                                           TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::pair<Call, Effects>> {
    Effects fx;
    // The lock order of every path: the live assignment, then the call.
    std::optional<AssignmentRow> live = LockLiveAssignment(tx, call_id);
    auto call = LoadCall(tx, call_id, true);
    if (!call) return NotFound("call '" + call_id + "' not found");
    if (call->state == CallState::kOffered && (!live || live->id != call->assignment_id)) {
      // The offer read above ended and the call was offered again before we held the call.
      // Locking the new offer now would take the locks the other way round: start over.
      throw pqxx::serialization_failure("call " + call_id + " was offered again meanwhile");
    }
    touch_edge(tx, call->edge_id, now);
    if (IsTerminal(call->state)) return std::make_pair(*call, fx);  // already over
    if (call->state == CallState::kConnected) {
      return FailedPrecondition("call " + call_id + " is connected; report it ended instead");
    }
    Call c = *call;
    EndAbandoned(tx, c, live, "WITHDRAWN", reason.empty() ? "caller hung up" : reason, queues(),
                 now, fx);
    return std::make_pair(c, fx);
  });
}

Result<EdgeReconciliation> PgQueueRepository::heartbeat(const EdgeHeartbeat& hb, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<EdgeReconciliation> {
    EdgeReconciliation out;
    tx.exec_params(
        "INSERT INTO edges (id, last_seen, lease_until) VALUES ($1, $2::timestamptz,"
        " $3::timestamptz) ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen,"
        " lease_until = EXCLUDED.lease_until",
        hb.edge_id, Ts(now), Ts(now + hb.lease));
    if (hb.reconcile) {
      const std::string held = TextArray(hb.call_ids);
      // Live here, not held by the edge, and old enough that the edge had listed it if it
      // held it: the caller is gone (the edge restarted, or a report was lost for good).
      const std::string why = "edge " + hb.edge_id + " no longer holds the call";
      for (const auto& r : tx.exec_params(
               "SELECT id FROM calls WHERE edge_id = $1 AND state IN ('WAITING','OFFERED',"
               "'CONNECTED') AND NOT (id = ANY($2::text[])) AND enqueued_at < $3::timestamptz"
               " LIMIT $4",
               hb.edge_id, held, Ts(now - settings_.reconcile_grace), settings_.sweep_batch)) {
        const std::string id = r[0].as<std::string>();
        // Both rows SKIP LOCKED: whoever holds them (a report, a sweep) is done with them by
        // the next heartbeat.
        auto live = LockLiveAssignment(tx, id, true);
        auto locked = tx.exec_params(
            "SELECT 1 FROM calls WHERE id = $1 AND state IN ('WAITING','OFFERED','CONNECTED')"
            " FOR UPDATE SKIP LOCKED",
            id);
        if (locked.empty()) continue;
        Call call = ReloadCall(tx, id);
        if (call.state != CallState::kWaiting && (!live || live->id != call.assignment_id)) {
          continue;  // its offer is being changed right now
        }
        EndAbandoned(tx, call, live, "EXPIRED", why, queues(), now, out.effects);
        ++out.reconciled;
      }
      std::set<std::string> known;
      for (const auto& r :
           tx.exec_params("SELECT id, state FROM calls WHERE id = ANY($1::text[])", held)) {
        const std::string id = r[0].as<std::string>();
        known.insert(id);
        auto state = CallStateFromString(r[1].as<std::string>());
        if (!state || IsTerminal(*state)) out.ended_call_ids.push_back(id);
      }
      for (const auto& id : hb.call_ids) {
        if (!known.count(id)) out.unknown_call_ids.push_back(id);
      }
    }
    out.live_calls = tx.exec_params(
                           "SELECT count(*)::int FROM calls WHERE edge_id = $1"
                           " AND state IN ('WAITING','OFFERED','CONNECTED')",
                           hb.edge_id)[0][0]
                         .as<int>();
    return out;
  });
}

}  // namespace cc::queue
