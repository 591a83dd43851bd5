#pragma once

#include <array>
#include <string_view>

namespace cc::edge {

// Where a call stands at the edge. The one table below says which steps are legal; a session
// asked to take any other step refuses it (logged), never overwrites its phase silently.
enum class CallPhase {
  kSetup,       // the customer's INVITE is in, the relay leg on its way
  kEnqueuing,   // Enqueue sent (retried while queue-service is unreachable)
  kInMenu,      // the number leads to an IVR menu: the caller chooses (answered, keys)
  kQueued,      // waiting: ringing, early media or music
  kRinging,     // an offer taken: the agent's devices ring
  kConnecting,  // a device answered: queue-service confirms, the relay bridges
  kConnected,   // both legs bridged
  kEnding,      // torn down; waiting for the last dialog to close
  kEnded,       // nothing left: the registry forgets the call
};

struct PhaseStep {
  CallPhase from;
  CallPhase to;
  std::string_view why;
};

inline constexpr std::array<PhaseStep, 22> kCallPhaseSteps{{
    {CallPhase::kSetup, CallPhase::kEnqueuing, "relay leg created"},
    {CallPhase::kSetup, CallPhase::kEnding, "caller left, or no media"},
    {CallPhase::kSetup, CallPhase::kQueued, "a callback: placed once an offer comes"},
    {CallPhase::kEnqueuing, CallPhase::kQueued, "queue-service took the call"},
    {CallPhase::kEnqueuing, CallPhase::kRinging, "an offer came before the enqueue's answer"},
    {CallPhase::kEnqueuing, CallPhase::kEnding, "caller left, or queue-service refused"},
    {CallPhase::kEnqueuing, CallPhase::kInMenu, "the number leads to a menu"},
    {CallPhase::kInMenu, CallPhase::kEnqueuing, "the caller chose a queue"},
    {CallPhase::kInMenu, CallPhase::kEnding, "caller left, menu hung up, or transferred"},
    {CallPhase::kQueued, CallPhase::kRinging, "offer taken"},
    {CallPhase::kQueued, CallPhase::kEnding, "caller left, or queue-service ended it"},
    {CallPhase::kRinging, CallPhase::kQueued, "no device answered"},
    {CallPhase::kRinging, CallPhase::kEnqueuing, "no device answered, enqueue unanswered"},
    {CallPhase::kRinging, CallPhase::kConnecting, "a device answered"},
    {CallPhase::kRinging, CallPhase::kEnding, "caller left, or queue-service ended it"},
    {CallPhase::kConnecting, CallPhase::kConnected, "confirmed and bridged"},
    {CallPhase::kConnecting, CallPhase::kQueued, "the offer was no longer valid"},
    {CallPhase::kConnecting, CallPhase::kEnqueuing, "offer no longer valid, enqueue unanswered"},
    {CallPhase::kConnecting, CallPhase::kEnding, "a side hung up, or the bridge failed"},
    {CallPhase::kConnected, CallPhase::kEnding, "a side hung up"},
    {CallPhase::kConnected, CallPhase::kQueued, "the agent transferred the call (blind)"},
    {CallPhase::kEnding, CallPhase::kEnded, "every dialog closed"},
}};

constexpr bool IsLegalStep(CallPhase from, CallPhase to) {
  for (const auto& s : kCallPhaseSteps) {
    if (s.from == from && s.to == to) return true;
  }
  return false;
}

constexpr std::string_view ToString(CallPhase p) {
  switch (p) {
    case CallPhase::kSetup:
      return "setup";
    case CallPhase::kEnqueuing:
      return "enqueuing";
    case CallPhase::kInMenu:
      return "in_menu";
    case CallPhase::kQueued:
      return "queued";
    case CallPhase::kRinging:
      return "ringing";
    case CallPhase::kConnecting:
      return "connecting";
    case CallPhase::kConnected:
      return "connected";
    case CallPhase::kEnding:
      return "ending";
    case CallPhase::kEnded:
      return "ended";
  }
  return "unknown";
}

}  // namespace cc::edge
