#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace cc {

// Agent presence. The one transition table below is the only place that says which changes
// are legal; the database mirrors it (table agent_status_transitions + trigger) so that no
// writer, in any service, can make an illegal change. A test checks the two agree.
enum class AgentStatus { kLoggedOut, kAvailable, kReserved, kOnCall, kWrapUp, kPaused };

struct StatusTransition {
  AgentStatus from;
  AgentStatus to;
  std::string_view why;  // what drives it
};

inline constexpr std::array<StatusTransition, 15> kAgentStatusTransitions{{
    {AgentStatus::kLoggedOut, AgentStatus::kAvailable, "login"},
    {AgentStatus::kLoggedOut, AgentStatus::kPaused, "login paused"},
    {AgentStatus::kAvailable, AgentStatus::kReserved, "call offered"},
    {AgentStatus::kAvailable, AgentStatus::kPaused, "pause"},
    {AgentStatus::kAvailable, AgentStatus::kLoggedOut, "logout"},
    {AgentStatus::kReserved, AgentStatus::kOnCall, "agent answered"},
    {AgentStatus::kReserved, AgentStatus::kAvailable, "offer failed or withdrawn"},
    {AgentStatus::kReserved, AgentStatus::kPaused, "auto-pause after no answer"},
    {AgentStatus::kOnCall, AgentStatus::kWrapUp, "call ended"},
    {AgentStatus::kOnCall, AgentStatus::kAvailable, "call ended, no wrap-up"},
    {AgentStatus::kWrapUp, AgentStatus::kAvailable, "wrap-up finished"},
    {AgentStatus::kWrapUp, AgentStatus::kPaused, "pause"},
    {AgentStatus::kWrapUp, AgentStatus::kLoggedOut, "logout"},
    {AgentStatus::kPaused, AgentStatus::kAvailable, "unpause"},
    {AgentStatus::kPaused, AgentStatus::kLoggedOut, "logout"},
}};

constexpr bool IsLegalTransition(AgentStatus from, AgentStatus to) {
  for (const auto& t : kAgentStatusTransitions) {
    if (t.from == from && t.to == to) return true;
  }
  return false;
}

// "LOGGED_OUT", "AVAILABLE", ... as stored in the database and shown to operators.
constexpr std::string_view ToString(AgentStatus s) {
  switch (s) {
    case AgentStatus::kLoggedOut:
      return "LOGGED_OUT";
    case AgentStatus::kAvailable:
      return "AVAILABLE";
    case AgentStatus::kReserved:
      return "RESERVED";
    case AgentStatus::kOnCall:
      return "ON_CALL";
    case AgentStatus::kWrapUp:
      return "WRAP_UP";
    case AgentStatus::kPaused:
      return "PAUSED";
  }
  return "LOGGED_OUT";
}

inline constexpr std::array<AgentStatus, 6> kAllAgentStatuses{
    AgentStatus::kLoggedOut, AgentStatus::kAvailable, AgentStatus::kReserved,
    AgentStatus::kOnCall,    AgentStatus::kWrapUp,    AgentStatus::kPaused};

constexpr std::optional<AgentStatus> AgentStatusFromString(std::string_view s) {
  for (auto st : kAllAgentStatuses) {
    if (ToString(st) == s) return st;
  }
  return std::nullopt;
}

}  // namespace cc
