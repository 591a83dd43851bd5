#pragma once

#include "common/status.h"
#include "queue_service/model.h"

namespace cc::queue {

// Delivers an order about a connected call to the edge holding it and waits for its word:
// OK (taken), NOT_FOUND (the edge refused it: unknown call, another supervisor), or an error
// of delivery. Thread-safe.
class EdgeOrders {
 public:
  virtual ~EdgeOrders() = default;
  virtual Status deliver(const MonitorOrder& order) = 0;
  virtual Status deliver(const RecordOrder& order) = 0;
};

}  // namespace cc::queue
