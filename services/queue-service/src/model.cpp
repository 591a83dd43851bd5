#include "queue_service/model.h"

#include <array>
#include <utility>

namespace cc::queue {
namespace {

template <typename E, size_t N>
std::optional<E> Lookup(const std::array<std::pair<E, std::string_view>, N>& table,
                        std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table) {
    if (v == e) return name;
  }
  return "";
}

constexpr std::array<std::pair<Strategy, std::string_view>, 7> kStrategies{{
    {Strategy::kLongestIdleAgent, "LONGEST_IDLE_AGENT"},
    {Strategy::kRoundRobin, "ROUND_ROBIN"},
    {Strategy::kFewestCalls, "FEWEST_CALLS"},
    {Strategy::kLeastTalkTime, "LEAST_TALK_TIME"},
    {Strategy::kRandom, "RANDOM"},
    {Strategy::kTopDown, "TOP_DOWN"},
    {Strategy::kSkillsBased, "SKILLS_BASED"},
}};

constexpr std::array<std::pair<AnswerMode, std::string_view>, 3> kAnswerModes{{
    {AnswerMode::kAnswerImmediately, "ANSWER_IMMEDIATELY"},
    {AnswerMode::kRingUntilAgent, "RING_UNTIL_AGENT"},
    {AnswerMode::kEarlyMedia, "EARLY_MEDIA"},
}};

constexpr std::array<std::pair<EmptyQueueRule, std::string_view>, 3> kEmptyQueueRules{{
    {EmptyQueueRule::kRoutable, "ROUTABLE"},
    {EmptyQueueRule::kLoggedIn, "LOGGED_IN"},
    {EmptyQueueRule::kAlways, "ALWAYS"},
}};

constexpr std::array<std::pair<CallState, std::string_view>, 8> kCallStates{{
    {CallState::kWaiting, "WAITING"},
    {CallState::kOffered, "OFFERED"},
    {CallState::kConnected, "CONNECTED"},
    {CallState::kEnded, "ENDED"},
    {CallState::kAbandoned, "ABANDONED"},
    {CallState::kTimedOut, "TIMED_OUT"},
    {CallState::kOverflowed, "OVERFLOWED"},
    {CallState::kFailed, "FAILED"},
}};

constexpr std::array<std::pair<OfferFailure, std::string_view>, 5> kFailures{{
    {OfferFailure::kNoAnswer, "no-answer"},
    {OfferFailure::kBusy, "busy"},
    {OfferFailure::kRejected, "rejected"},
    {OfferFailure::kUnreachable, "unreachable"},
    {OfferFailure::kCallbackUnanswered, "callback-unanswered"},
}};

}  // namespace

std::string_view ToString(Strategy s) {
  return Name(kStrategies, s);
}
std::optional<Strategy> StrategyFromString(std::string_view s) {
  return Lookup(kStrategies, s);
}
std::string_view ToString(AnswerMode m) {
  return Name(kAnswerModes, m);
}
std::optional<AnswerMode> AnswerModeFromString(std::string_view s) {
  return Lookup(kAnswerModes, s);
}
std::string_view ToString(EmptyQueueRule r) {
  return Name(kEmptyQueueRules, r);
}
std::optional<EmptyQueueRule> EmptyQueueRuleFromString(std::string_view s) {
  return Lookup(kEmptyQueueRules, s);
}
std::string_view ToString(CallState s) {
  return Name(kCallStates, s);
}
std::optional<CallState> CallStateFromString(std::string_view s) {
  return Lookup(kCallStates, s);
}
std::string_view ToString(OfferFailure f) {
  return Name(kFailures, f);
}

bool IsTerminal(CallState s) {
  return s != CallState::kWaiting && s != CallState::kOffered && s != CallState::kConnected;
}

std::string_view ToString(MonitorMode m) {
  switch (m) {
    case MonitorMode::kListen:
      return "LISTEN";
    case MonitorMode::kWhisper:
      return "WHISPER";
    case MonitorMode::kBarge:
      return "BARGE";
  }
  return "LISTEN";
}

std::optional<MonitorMode> MonitorModeFrom(std::string_view s) {
  for (auto m : {MonitorMode::kListen, MonitorMode::kWhisper, MonitorMode::kBarge}) {
    if (ToString(m) == s) return m;
  }
  return std::nullopt;
}

std::string_view ToString(RecordingMode m) {
  switch (m) {
    case RecordingMode::kNever:
      return "NEVER";
    case RecordingMode::kAlways:
      return "ALWAYS";
    case RecordingMode::kOnDemand:
      return "ON_DEMAND";
  }
  return "NEVER";
}

std::optional<RecordingMode> RecordingModeFrom(std::string_view s) {
  for (auto m : {RecordingMode::kNever, RecordingMode::kAlways, RecordingMode::kOnDemand}) {
    if (ToString(m) == s) return m;
  }
  return std::nullopt;
}

std::string_view ToString(RecordingAction a) {
  switch (a) {
    case RecordingAction::kStart:
      return "START";
    case RecordingAction::kPause:
      return "PAUSE";
    case RecordingAction::kResume:
      return "RESUME";
    case RecordingAction::kStop:
      return "STOP";
  }
  return "START";
}

}  // namespace cc::queue
