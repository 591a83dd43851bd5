#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <optional>

#include "callcenter/v1/agent_registry.pb.h"
#include "common/agent_status.h"
#include "common/clock.h"

// Conversions every gRPC/NATS adapter needs. Adapter code only: domain headers never include
// this (it pulls in generated protobuf headers).
namespace cc {

void ToProto(TimePoint t, google::protobuf::Timestamp* out);
TimePoint FromProto(const google::protobuf::Timestamp& t);
void ToProto(Duration d, google::protobuf::Duration* out);
Duration FromProto(const google::protobuf::Duration& d);
callcenter::v1::AgentStatus ToProto(AgentStatus s);
std::optional<AgentStatus> FromProto(callcenter::v1::AgentStatus s);

}  // namespace cc
