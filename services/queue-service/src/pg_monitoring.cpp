// Supervisors over queues, and their monitoring sessions of connected calls: who may, the
// one live session per call, each mode it was in, and its end.
#include "pg_rows.h"
#include "pg_rules.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

namespace {

const std::string kMonitorColumns =
    "id, call_id, queue, supervisor_id, agent_id, edge_id, mode, requested_by, " +
    EpochMs("started_at") + ", " + EpochMs("answered_at") + ", " + EpochMs("ended_at") +
    ", end_reason";

MonitorSession ReadMonitor(pqxx::work& tx, const pqxx::row& r) {
  MonitorSession m;
  m.id = r[0].as<std::int64_t>();
  m.call_id = r[1].as<std::string>();
  m.queue = r[2].as<std::string>();
  m.supervisor_id = r[3].as<std::string>();
  m.agent_id = r[4].as<std::string>();
  m.edge_id = r[5].as<std::string>();
  m.mode = MonitorModeFrom(r[6].as<std::string>()).value_or(MonitorMode::kListen);
  m.requested_by = r[7].as<std::string>();
  m.started_at = Ms(r[8]);
  m.answered_at = OptMs(r[9]);
  m.ended_at = OptMs(r[10]);
  m.end_reason = r[11].as<std::string>();
  for (const auto& row : tx.exec_params("SELECT " + EpochMs("at") +
                                            ", mode FROM monitor_modes WHERE session_id = $1"
                                            " ORDER BY at, mode",
                                        m.id)) {
    m.modes.push_back(
        {Ms(row[0]), MonitorModeFrom(row[1].as<std::string>()).value_or(MonitorMode::kListen)});
  }
  return m;
}

Result<MonitorSession> LoadMonitor(pqxx::work& tx, std::int64_t id, bool lock) {
  auto r = tx.exec_params("SELECT " + kMonitorColumns + " FROM monitor_sessions WHERE id = $1" +
                              (lock ? " FOR UPDATE" : ""),
                          id);
  if (r.empty()) return NotFound("no monitoring session " + std::to_string(id));
  return ReadMonitor(tx, r[0]);
}

std::vector<std::string> Supervisors(pqxx::work& tx, const std::string& queue) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_params(
           "SELECT agent_id FROM queue_supervisors WHERE queue = $1 ORDER BY agent_id", queue)) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

}  // namespace

namespace pg {

std::vector<MonitorSession> LoadMonitors(pqxx::work& tx, const std::string& call_id) {
  std::vector<MonitorSession> out;
  for (const auto& r : tx.exec_params(
           "SELECT " + kMonitorColumns + " FROM monitor_sessions WHERE call_id = $1 ORDER BY id",
           call_id)) {
    out.push_back(ReadMonitor(tx, r));
  }
  return out;
}

}  // namespace pg

Result<std::vector<std::string>> PgQueueRepository::set_supervisor(const std::string& queue,
                                                                   const std::string& agent_id,
                                                                   bool add) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<std::string>> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, queue));
    if (tx.exec_params("SELECT 1 FROM agents WHERE id = $1", agent_id).empty()) {
      return NotFound("no agent '" + agent_id + "'");
    }
    if (add) {
      tx.exec_params(
          "INSERT INTO queue_supervisors (queue, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          queue, agent_id);
    } else {
      tx.exec_params("DELETE FROM queue_supervisors WHERE queue = $1 AND agent_id = $2", queue,
                     agent_id);
    }
    return Supervisors(tx, queue);
  });
}

Result<std::vector<std::string>> PgQueueRepository::list_supervisors(const std::string& queue) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<std::string>> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, queue));
    return Supervisors(tx, queue);
  });
}

Result<std::pair<MonitorSession, std::optional<MonitorOrder>>> PgQueueRepository::monitor(
    const MonitorRequest& r, TimePoint now) {
  using Out = std::pair<MonitorSession, std::optional<MonitorOrder>>;
  return pool_.transact([&](pqxx::work& tx) -> Result<Out> {
    auto call = LoadCall(tx, r.call_id, true);
    if (!call) return NotFound("no call " + r.call_id);
    if (call->state != CallState::kConnected) {
      return FailedPrecondition("call " + r.call_id + " is not connected (" +
                                std::string(ToString(call->state)) + ")");
    }
    if (tx.exec_params("SELECT 1 FROM agents WHERE id = $1", r.supervisor_id).empty()) {
      return NotFound("no agent '" + r.supervisor_id + "'");
    }
    if (r.supervisor_id == call->agent_id) {
      return FailedPrecondition(r.supervisor_id + " is the agent on call " + r.call_id);
    }
    if (tx.exec_params("SELECT 1 FROM queue_supervisors WHERE queue = $1 AND agent_id = $2",
                       call->queue, r.supervisor_id)
            .empty()) {
      return PermissionDenied(r.supervisor_id + " has no supervisor role over queue " +
                              call->queue);
    }
    MonitorOrder order;
    order.call_id = call->id;
    order.supervisor_id = r.supervisor_id;
    order.edge_id = call->edge_id;
    order.mode = r.mode;
    auto live = tx.exec_params("SELECT " + kMonitorColumns +
                                   " FROM monitor_sessions WHERE call_id = $1 AND ended_at IS NULL"
                                   " FOR UPDATE",
                               call->id);
    if (!live.empty()) {
      MonitorSession s = ReadMonitor(tx, live[0]);
      if (s.supervisor_id != r.supervisor_id) {
        return FailedPrecondition(s.supervisor_id + " is monitoring call " + r.call_id +
                                  " already");
      }
      if (s.mode == r.mode) return Out{s, std::nullopt};  // as it is
      tx.exec_params("UPDATE monitor_sessions SET mode = $2 WHERE id = $1", s.id,
                     std::string(ToString(r.mode)));
      tx.exec_params(
          "INSERT INTO monitor_modes (session_id, at, mode) VALUES ($1, $2::timestamptz, $3)"
          " ON CONFLICT DO NOTHING",
          s.id, Ts(now), std::string(ToString(r.mode)));
      order.session_id = s.id;
      CC_ASSIGN_OR_RETURN(MonitorSession changed, LoadMonitor(tx, s.id, false));
      return Out{changed, order};
    }
    for (const auto& b : tx.exec_prepared("offer_bindings", r.supervisor_id, Ts(now),
                                          settings_.max_offer_bindings)) {
      order.bindings.push_back({b[0].as<std::string>(), b[1].as<std::string>(), b[2].as<int>(),
                                b[3].as<bool>(), b[4].as<bool>()});
    }
    if (order.bindings.empty()) {
      return FailedPrecondition("supervisor " + r.supervisor_id + " has no registered phone");
    }
    auto row = tx.exec_params(
        "INSERT INTO monitor_sessions (call_id, queue, supervisor_id, agent_id, edge_id, mode,"
        " requested_by, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz)"
        " RETURNING id",
        call->id, call->queue, r.supervisor_id, call->agent_id, call->edge_id,
        std::string(ToString(r.mode)), r.requested_by, Ts(now));
    order.session_id = row[0][0].as<std::int64_t>();
    tx.exec_params(
        "INSERT INTO monitor_modes (session_id, at, mode) VALUES ($1, $2::timestamptz, $3)",
        order.session_id, Ts(now), std::string(ToString(r.mode)));
    CC_ASSIGN_OR_RETURN(MonitorSession s, LoadMonitor(tx, order.session_id, false));
    return Out{s, order};
  });
}

Result<MonitorSession> PgQueueRepository::get_monitor(std::int64_t id) {
  return pool_.transact(
      [&](pqxx::work& tx) -> Result<MonitorSession> { return LoadMonitor(tx, id, false); });
}

Result<MonitorSession> PgQueueRepository::end_monitor(std::int64_t id, const std::string& reason,
                                                      TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<MonitorSession> {
    CC_ASSIGN_OR_RETURN(MonitorSession s, LoadMonitor(tx, id, true));
    if (s.ended_at) return s;
    tx.exec_params(
        "UPDATE monitor_sessions SET ended_at = $2::timestamptz, end_reason = left($3, 200)"
        " WHERE id = $1",
        id, Ts(now), reason);
    return LoadMonitor(tx, id, false);
  });
}

Result<MonitorSession> PgQueueRepository::monitor_answered(std::int64_t id, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<MonitorSession> {
    CC_ASSIGN_OR_RETURN(MonitorSession s, LoadMonitor(tx, id, true));
    if (s.ended_at) {
      return FailedPrecondition("monitoring session " + std::to_string(id) + " is over (" +
                                s.end_reason + ")");
    }
    if (!s.answered_at) {
      tx.exec_params("UPDATE monitor_sessions SET answered_at = $2::timestamptz WHERE id = $1", id,
                     Ts(now));
    }
    return LoadMonitor(tx, id, false);
  });
}

}  // namespace cc::queue
