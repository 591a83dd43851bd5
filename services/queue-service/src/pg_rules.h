#pragma once

#include <functional>
#include <optional>
#include <string>

#include "pg_rows.h"
#include "queue_service/policy.h"

// The transitions every section of the repository shares, each written once: ending an offer
// that did not connect, ending a connected call (the after-call rule), putting a call back in
// its queue, taking it out of its queue (overflow or an end), and ending a call its edge no
// longer holds. Each works inside the caller's transaction on rows the caller has locked in
// the order assignment -> call -> agent. Private to the repository (src/).
namespace cc::queue::pg {

// Moves an agent along the status table (checked here and again by the database trigger)
// and records the change for the events that follow the commit.
void SetAgentStatus(pqxx::work& tx, const AgentRow& agent, AgentStatus to,
                    const std::string& reason, const std::string& call_id, TimePoint now,
                    Effects& fx, const std::string& pause_reason = "");

// Queue configs as the repository's cache has them (hot paths must not read them each time).
using QueueLookup = std::function<std::optional<QueueConfig>(pqxx::work&, const std::string&)>;

// How an offer that did not connect ends, and what its agent gets.
struct OfferEnd {
  std::string state;    // the assignment's end: FAILED, EXPIRED or WITHDRAWN
  std::string outcome;  // recorded on the assignment
  std::string agent_reason;
  Duration agent_delay{0};        // before the agent is offered calls again
  std::optional<int> no_answers;  // the agent's new count (nullopt: unchanged)
  std::string auto_pause_reason;  // non-empty: the agent is paused with it
};
// Ends the OFFERED assignment `a` (locked) and frees its agent: back to AVAILABLE (or
// paused), after the delay. The call is the caller's to move.
void EndOffer(pqxx::work& tx, const AssignmentRow& a, const OfferEnd& end, TimePoint now,
              Effects& fx);

// Ends the CONNECTED assignment `assignment_id` of `call_id` and the call (ENDED with
// `reason`); the agent's counters, then wrap-up or available (the after-call rule). nullopt
// when the assignment is not connected.
std::optional<Call> EndConnected(pqxx::work& tx, std::int64_t assignment_id,
                                 const std::string& call_id, const std::string& reason,
                                 const QueueLookup& queues, TimePoint now, Effects& fx);

// The after-call rule for the agent of an assignment just ended: `ended` is the row the
// "assignment_ended" statement returned (agent, queue, connected_at). The agent's counters,
// then wrap-up or available.
void AfterCall(pqxx::work& tx, const pqxx::row& ended, const std::string& call_id,
               const QueueLookup& queues, TimePoint now, Effects& fx);

// Back into the queue at its old place after an offer that did not connect.
void Requeue(pqxx::work& tx, Call& call, int priority, int attempts, Duration backoff,
             const std::string& reason, TimePoint now, Effects& fx);

// Out of its queue for `cause` (DecideExit): into the overflow queue, whose own entry checks
// apply in turn, or to an end with a reason.
void Exit(pqxx::work& tx, Call& call, const QueueConfig& queue, ExitCause cause, TimePoint now,
          Effects& fx);

// The caller is gone (hung up, or its edge no longer holds the call): a live offer is
// withdrawn (its agent freed) or a connected call ended, and the call ends ABANDONED or
// ENDED with `reason`. `live` is the call's live assignment, locked before the call.
void EndAbandoned(pqxx::work& tx, Call& call, const std::optional<AssignmentRow>& live,
                  const std::string& offer_state, const std::string& reason,
                  const QueueLookup& queues, TimePoint now, Effects& fx);

// Every request from an edge is a sign of life. The edge row is shared by all of that edge's
// calls, so it is written (and locked) only when less than half of its lease is left.
void TouchEdge(pqxx::work& tx, const std::string& edge_id, Duration lease, TimePoint now);

}  // namespace cc::queue::pg
