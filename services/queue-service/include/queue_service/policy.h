#pragma once

#include <string>

#include "queue_service/model.h"

// The rules applied when something happens to a call, as pure functions of the queue's
// configuration and the state read under lock. The repository applies their decisions.
namespace cc::queue {

// Where a call goes when it must leave its queue (max wait, max attempts, nobody to take it,
// queue full): another queue, or an end with a reason.
struct ExitDecision {
  enum class Kind { kMoveToQueue, kEnd } kind = Kind::kEnd;
  std::string target_queue;                  // kMoveToQueue
  CallState end_state = CallState::kFailed;  // kEnd
  std::string reason;
};

enum class ExitCause {
  kMaxWait,
  kMaxAttempts,
  kNoAgents,
  kNoRegisteredAgents,
  kQueueFull,
  kClosed,  // arrived outside the opening hours
};
std::string_view ToString(ExitCause c);
// Why nobody can answer, per the queue's join or leave rule that found it so.
ExitCause NobodyToAnswer(EmptyQueueRule rule);

// The queue's overflow target wins; without one the call ends (TIMED_OUT for max wait,
// FAILED otherwise) with the cause as reason. A configured hang-up reason ends it OVERFLOWED.
// A closed queue applies its own closed action instead: its closed queue, or an end (FAILED)
// with its closed reason ("closed" by default).
ExitDecision DecideExit(const QueueConfig& queue, ExitCause cause);

// After an offer fails: what happens to the agent and to the call.
struct FailureDecision {
  Duration agent_delay{0};         // agent not offered calls again before now + delay
  int consecutive_no_answers = 0;  // the agent's new count
  bool auto_pause = false;
  std::string pause_reason;
  int call_priority = 0;           // with the re-queue boost
  int call_attempts = 0;           // attempts after this one
  bool exceeded_attempts = false;  // then DecideExit(kMaxAttempts)
};

FailureDecision DecideFailure(const QueueConfig& queue, OfferFailure reason, int call_priority,
                              int call_attempts_before, int agent_no_answers_before);

// A callback's customer did not answer: tried again after the queue's retry delay (keeping
// its place), or, after the queue's max attempts, the call ends FAILED with the reason.
struct CallbackDecision {
  int attempts = 0;  // calls to the customer after this one
  bool give_up = false;
  Duration retry_delay{0};
  std::string reason;
};
CallbackDecision DecideCallbackFailure(const QueueConfig& queue, int callback_attempts_before);

// Wrap-up after a call: the queue's setting when it has one, the agent's otherwise.
int WrapUpSeconds(const QueueConfig& queue, int agent_wrap_up_seconds);

// Estimated wait for the caller at `position` (1 = next), from the recent average handle
// time and the number of agents serving the queue.
Duration EstimateWait(int position, Duration average_handle_time, int serving_agents);

}  // namespace cc::queue
