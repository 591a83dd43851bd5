#include "common/proto_convert.h"

namespace cc {

namespace v1 = callcenter::v1;

void ToProto(TimePoint t, google::protobuf::Timestamp* out) {
  const auto ms = ToUnixMillis(t);
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

TimePoint FromProto(const google::protobuf::Timestamp& t) {
  return FromUnixMillis(t.seconds() * 1000 + t.nanos() / 1'000'000);
}

void ToProto(Duration d, google::protobuf::Duration* out) {
  out->set_seconds(d.count() / 1000);
  out->set_nanos(static_cast<int>(d.count() % 1000) * 1'000'000);
}

Duration FromProto(const google::protobuf::Duration& d) {
  return Duration{d.seconds() * 1000 + d.nanos() / 1'000'000};
}

v1::AgentStatus ToProto(AgentStatus s) {
  switch (s) {
    case AgentStatus::kLoggedOut:
      return v1::AGENT_STATUS_LOGGED_OUT;
    case AgentStatus::kAvailable:
      return v1::AGENT_STATUS_AVAILABLE;
    case AgentStatus::kReserved:
      return v1::AGENT_STATUS_RESERVED;
    case AgentStatus::kOnCall:
      return v1::AGENT_STATUS_ON_CALL;
    case AgentStatus::kWrapUp:
      return v1::AGENT_STATUS_WRAP_UP;
    case AgentStatus::kPaused:
      return v1::AGENT_STATUS_PAUSED;
  }
  return v1::AGENT_STATUS_UNSPECIFIED;
}

std::optional<AgentStatus> FromProto(v1::AgentStatus s) {
  switch (s) {
    case v1::AGENT_STATUS_LOGGED_OUT:
      return AgentStatus::kLoggedOut;
    case v1::AGENT_STATUS_AVAILABLE:
      return AgentStatus::kAvailable;
    case v1::AGENT_STATUS_RESERVED:
      return AgentStatus::kReserved;
    case v1::AGENT_STATUS_ON_CALL:
      return AgentStatus::kOnCall;
    case v1::AGENT_STATUS_WRAP_UP:
      return AgentStatus::kWrapUp;
    case v1::AGENT_STATUS_PAUSED:
      return AgentStatus::kPaused;
    default:
      return std::nullopt;
  }
}

}  // namespace cc
