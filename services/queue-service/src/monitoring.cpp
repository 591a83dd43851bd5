#include "queue_service/monitoring.h"

#include "common/log.h"

namespace cc::queue {

Result<MonitorSession> Monitoring::start(const MonitorRequest& r) {
  CC_ASSIGN_OR_RETURN(auto decided, store_.monitor(r, clock_.now()));
  auto& [session, order] = decided;
  if (!order) return session;  // in that mode already
  const bool fresh = session.modes.size() == 1;
  const Status st = channel_.deliver(*order);
  if (st.ok()) {
    log::Info(fresh ? "supervisor called into a call" : "monitoring mode changed",
              {{"call_id", session.call_id},
               {"session_id", session.id},
               {"supervisor_id", session.supervisor_id},
               {"mode", std::string(ToString(session.mode))}});
    return session;
  }
  const std::string why = "the edge holding call " + session.call_id +
                          " did not take the monitoring order: " + st.error().message;
  log::Warn(
      "monitoring order not taken",
      {{"call_id", session.call_id}, {"session_id", session.id}, {"error", st.error().message}});
  if (fresh) {
    (void)store_.end_monitor(session.id, why, clock_.now());
  } else if (session.modes.size() >= 2) {
    // The edge kept the mode it had: so does the record.
    MonitorRequest back = r;
    back.mode = session.modes[session.modes.size() - 2].mode;
    (void)store_.monitor(back, clock_.now());
  }
  return Unavailable(why);
}

Result<MonitorSession> Monitoring::stop(std::int64_t session_id, const std::string& reason) {
  CC_ASSIGN_OR_RETURN(MonitorSession s, store_.get_monitor(session_id));
  if (s.ended_at) return s;
  MonitorOrder order;
  order.session_id = s.id;
  order.call_id = s.call_id;
  order.supervisor_id = s.supervisor_id;
  order.edge_id = s.edge_id;
  order.mode = s.mode;
  order.stop = true;
  const Status st = channel_.deliver(order);
  // An edge that no longer knows the session has nobody mixed in: over either way.
  if (!st.ok() && st.error().code != ErrorCode::kNotFound) {
    return Unavailable("the edge holding call " + s.call_id +
                       " did not take the stop: " + st.error().message + "; try again");
  }
  return store_.end_monitor(session_id, reason, clock_.now());
}

Result<MonitorSession> Monitoring::answered(std::int64_t session_id) {
  return store_.monitor_answered(session_id, clock_.now());
}

Result<MonitorSession> Monitoring::ended(std::int64_t session_id, const std::string& reason) {
  return store_.end_monitor(session_id, reason.empty() ? "ended at the edge" : reason,
                            clock_.now());
}

}  // namespace cc::queue
