#pragma once

#include "common/clock.h"
#include "queue_service/edge_orders.h"
#include "queue_service/repository.h"

namespace cc::queue {

// Supervisors in calls: the repository decides (role, one session per call, the audit), the
// edge holding the call carries it out (rings the supervisor, mixes it in). A session is
// live in the database only while the edge has taken its order: an order the edge does not
// take ends the session at once and the caller of the API hears why. Thread-safe.
class Monitoring {
 public:
  Monitoring(QueueRepository& store, EdgeOrders& channel, const Clock& clock)
      : store_(store), channel_(channel), clock_(clock) {}

  // Starts a session, or changes the mode of the supervisor's live one.
  Result<MonitorSession> start(const MonitorRequest& r);
  // Stops a session: the edge lets the supervisor go, then the session ends.
  Result<MonitorSession> stop(std::int64_t session_id, const std::string& reason);
  // The edge's reports: the supervisor's phone answered, or the session is over there.
  Result<MonitorSession> answered(std::int64_t session_id);
  Result<MonitorSession> ended(std::int64_t session_id, const std::string& reason);

 private:
  QueueRepository& store_;
  EdgeOrders& channel_;
  const Clock& clock_;
};

}  // namespace cc::queue
