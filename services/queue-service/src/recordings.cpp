#include "queue_service/recordings.h"

#include "common/log.h"

namespace cc::queue {

Status Recordings::control(const std::string& call_id, RecordingAction action,
                           const std::string& requested_by) {
  CC_ASSIGN_OR_RETURN(RecordOrder order, store_.record_order(call_id, action, requested_by));
  const Status st = orders_.deliver(order);
  if (st.ok()) {
    log::Info("recording control", {{"call_id", call_id},
                                    {"action", std::string(ToString(action))},
                                    {"requested_by", requested_by}});
    return OkStatus();
  }
  if (st.error().code == ErrorCode::kNotFound) {
    return FailedPrecondition("the edge holding call " + call_id +
                              " refused: " + st.error().message);
  }
  return Unavailable("the edge holding call " + call_id +
                     " did not take the recording order: " + st.error().message);
}

}  // namespace cc::queue
