#include "queue_service/policy.h"

#include <algorithm>

namespace cc::queue {

std::string_view ToString(ExitCause c) {
  switch (c) {
    case ExitCause::kMaxWait:
      return "max wait exceeded";
    case ExitCause::kMaxAttempts:
      return "max attempts reached";
    case ExitCause::kNoAgents:
      return "no agents logged in";
    case ExitCause::kNoRegisteredAgents:
      return "no agent registered";
    case ExitCause::kQueueFull:
      return "queue full";
    case ExitCause::kClosed:
      return "closed";
  }
  return "";
}

ExitCause NobodyToAnswer(EmptyQueueRule rule) {
  return rule == EmptyQueueRule::kLoggedIn ? ExitCause::kNoAgents : ExitCause::kNoRegisteredAgents;
}

ExitDecision DecideExit(const QueueConfig& queue, ExitCause cause) {
  ExitDecision d;
  if (cause == ExitCause::kClosed) {
    if (!queue.opening.closed_queue.empty()) {
      d.kind = ExitDecision::Kind::kMoveToQueue;
      d.target_queue = queue.opening.closed_queue;
    } else {
      d.kind = ExitDecision::Kind::kEnd;
      d.end_state = CallState::kFailed;
    }
    d.reason = queue.opening.closed_reason();
    return d;
  }
  if (!queue.overflow_queue.empty()) {
    d.kind = ExitDecision::Kind::kMoveToQueue;
    d.target_queue = queue.overflow_queue;
    d.reason = std::string(ToString(cause));
    return d;
  }
  d.kind = ExitDecision::Kind::kEnd;
  if (!queue.overflow_hangup_reason.empty()) {
    d.end_state = CallState::kOverflowed;
    d.reason = queue.overflow_hangup_reason;
    return d;
  }
  d.end_state = cause == ExitCause::kMaxWait ? CallState::kTimedOut : CallState::kFailed;
  d.reason = std::string(ToString(cause));
  return d;
}

FailureDecision DecideFailure(const QueueConfig& queue, OfferFailure reason, int call_priority,
                              int call_attempts_before, int agent_no_answers_before) {
  FailureDecision d;
  switch (reason) {
    case OfferFailure::kNoAnswer:
    case OfferFailure::kUnreachable:
      d.agent_delay = queue.no_answer_delay;
      break;
    case OfferFailure::kBusy:
      d.agent_delay = queue.busy_delay;
      break;
    case OfferFailure::kRejected:
      d.agent_delay = queue.reject_delay;
      break;
    case OfferFailure::kCallbackUnanswered:
      break;  // the agent answered: no delay, and the count of unanswered rings stays
  }
  // Only unanswered rings count towards auto-pause; a busy or rejecting agent is present.
  d.consecutive_no_answers = reason == OfferFailure::kNoAnswer ? agent_no_answers_before + 1
                             : reason == OfferFailure::kCallbackUnanswered ? agent_no_answers_before
                                                                           : 0;
  if (queue.auto_pause_after_no_answers > 0 &&
      d.consecutive_no_answers >= queue.auto_pause_after_no_answers) {
    d.auto_pause = true;
    d.pause_reason =
        "auto-paused after " + std::to_string(d.consecutive_no_answers) + " unanswered calls";
  }
  d.call_priority = call_priority + queue.requeue_priority_boost;
  d.call_attempts = call_attempts_before + 1;
  d.exceeded_attempts = queue.max_attempts > 0 && d.call_attempts >= queue.max_attempts;
  return d;
}

CallbackDecision DecideCallbackFailure(const QueueConfig& queue, int callback_attempts_before) {
  CallbackDecision d;
  d.attempts = callback_attempts_before + 1;
  d.give_up = d.attempts >= std::max(1, queue.callback.max_attempts);
  d.retry_delay = queue.callback.retry_delay;
  d.reason = "callback not answered after " + std::to_string(d.attempts) +
             (d.attempts == 1 ? " attempt" : " attempts");
  return d;
}

int WrapUpSeconds(const QueueConfig& queue, int agent_wrap_up_seconds) {
  return queue.wrap_up_seconds >= 0 ? queue.wrap_up_seconds : agent_wrap_up_seconds;
}

Duration EstimateWait(int position, Duration average_handle_time, int serving_agents) {
  if (position <= 0) return Duration{0};
  const auto aht = average_handle_time.count() > 0 ? average_handle_time : Duration{60000};
  const int agents = std::max(1, serving_agents);
  // Callers ahead drain at `agents` per handle time; the caller waits for its own turn too.
  return Duration{aht.count() * ((position + agents - 1) / agents)};
}

}  // namespace cc::queue
