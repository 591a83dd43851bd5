#pragma once

#include <string>

#include "common/pg.h"
#include "queue_service/model.h"

// The SQL that says who may take a call, written once, and the statements of the hot paths
// (enqueue, match, outcomes), prepared once per connection: planning them on every call cost
// a third of the database time. Private to the repository (src/).
namespace cc::queue::pg {

// The agent `a` (an alias of agents) may be offered a call now (`now` a timestamptz
// parameter such as "$2"): AVAILABLE, or ON_CALL with a free line when it takes several
// calls, past any delay, with a live registration and no other offer ringing. The snapshot
// reads candidates with it and the assignment checks it again under the agent's row lock.
std::string AgentEligible(const std::string& now);

// Someone who could answer a call of the queue `queue` (a parameter or column) is there,
// per the queue's join or leave rule `rule_column` ('ROUTABLE', 'LOGGED_IN' or 'ALWAYS').
std::string QueueHasAnswerers(const std::string& queue, const std::string& rule,
                              const std::string& now);

// The statement reading a queue's first $3 eligible agents in the order the router ranks them
// for `strategy` (Router::OrderAgents), or "" where that order cannot be written in SQL.
std::string TopAgentsStatement(Strategy strategy);

void PrepareHotStatements(PgPool& pool);

}  // namespace cc::queue::pg
