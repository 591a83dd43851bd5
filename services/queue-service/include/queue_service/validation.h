#pragma once

#include <string>

#include "common/status.h"
#include "queue_service/model.h"

// Checks of what clients send, shared by the gRPC adapter and the repository.
namespace cc::queue {

Status ValidateQueueName(const std::string& name);
Status ValidateQueue(const QueueConfig& q);
Status ValidateCallId(const std::string& id);

}  // namespace cc::queue
