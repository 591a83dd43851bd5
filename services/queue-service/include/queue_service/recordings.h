#pragma once

#include "common/clock.h"
#include "queue_service/edge_orders.h"
#include "queue_service/repository.h"

namespace cc::queue {

// Recording control of connected calls: queue-service checks the queue's policy, the edge
// holding the call carries it out on the relay (stereo file, pauses as silence) and reports
// each step, which becomes the recording's metadata. Thread-safe.
class Recordings {
 public:
  Recordings(QueueRepository& store, EdgeOrders& orders, const Clock& clock)
      : store_(store), orders_(orders), clock_(clock) {}

  Status control(const std::string& call_id, RecordingAction action,
                 const std::string& requested_by);
  Status report(const RecordingReport& r) { return store_.report_recording(r, clock_.now()); }

 private:
  QueueRepository& store_;
  EdgeOrders& orders_;
  const Clock& clock_;
};

}  // namespace cc::queue
