#pragma once

#include <string>

#include "common/status.h"
#include "queue_service/model.h"

// Checks of what clients send, shared by the gRPC adapter and the repository.
namespace cc::queue {

Status ValidateQueueName(const std::string& name);
Status ValidateQueue(const QueueConfig& q);
// A queue's or a dialled number's opening rule; `owner` is the queue it belongs to ("" for a
// number), which may not be its own closed queue.
Status ValidateOpeningRule(const OpeningRule& o, const std::string& owner);
Status ValidateCallId(const std::string& id);
// A number to call back: 3-20 digits, optionally after a '+'.
Status ValidateCallbackNumber(const std::string& number);
// A transfer: one target, each well formed.
Status ValidateTransfer(const TransferRequest& r);

}  // namespace cc::queue
