#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "stack.h"

// The chaos harness: the whole stack under a steady SIPp call load (agents answering,
// customers talking and hanging up), one fault injected in the middle, and afterwards a check
// of what PostgreSQL says against what is live on the wire. Used by the ctest suite
// (tests/chaos, short runs) and by tools/chaos (longer runs, the table of docs/reliability.md).
namespace cc::chaos {

enum class Fault {
  kQueueService,   // kill -9 queue-service (the only replica), restart it
  kAgentRegistry,  // kill -9 agent-registry, restart it
  kMediaRelay,     // kill -9 the media relay (the only one), restart it
  kSignalingEdge,  // kill -9 the edge, restart it (same edge id, same SIP port)
  kNats,           // stop nats-server, start it again
  kPostgres,       // crash PostgreSQL (immediate stop), start it again
  kReplicas,       // two replicas of queue-service and agent-registry: kill -9 one of each
  kRelayOfTwo,     // two media relays: kill -9 one
};
const char* ToString(Fault f);
std::vector<Fault> AllFaults();

struct Options {
  Fault fault = Fault::kQueueService;
  std::chrono::seconds load{20};  // how long new customers keep arriving
  double rate = 3;                // customers per second
  std::chrono::milliseconds hold{2000};
  int agents = 8;
  std::chrono::seconds fault_at{6};  // after the load started
  std::chrono::seconds down{3};      // before the restart
  std::chrono::seconds settle{90};   // at most, for everything to end after the load
  testing::StackBinaries binaries;
  std::string scenarios;  // the tests/ folder: sip/agent.xml and chaos/customer.xml
  std::string work_dir;
  bool verbose = false;
};

struct Result {
  Fault fault = Fault::kQueueService;
  int offered = 0;  // customers SIPp started
  // What the customers saw: answered and completed, ended by the edge, refused (by status),
  // never answered; "unknown" for calls SIPp gave up on without reaching an outcome.
  std::map<std::string, int> customers;
  int recorded = 0;  // calls in PostgreSQL
  // How the recorded calls ended, by state and reason, the usual ones apart.
  std::map<std::string, int> endings;
  int completed = 0;            // ENDED normally (a side hung up)
  int ended_early = 0;          // ended or abandoned because a process died (recorded as such)
  int ended_otherwise = 0;      // terminal for any other reason (timed out, no agent, ...)
  int lost = 0;                 // still live when everything should be over (must be 0)
  int stranded_agents = 0;      // RESERVED or ON_CALL with no live call (must be 0)
  int double_assignments = 0;   // an agent on two calls at once, or a call with two agents (0)
  int illegal_transitions = 0;  // status changes outside the table (must be 0)
  int leftover_dialogs = 0;     // at the edge, once all is over (must be 0)
  int leftover_legs = 0;        // in the relays (must be 0)
  double recovery_seconds = 0;  // from the fault to the first call enqueued after it connected
  double settle_seconds = 0;    // from the end of the load to all over
  std::vector<std::string> problems;  // broken invariants, in words
};

Result Run(const Options& options);

// A Markdown table of results, one row per fault.
std::string Table(const std::vector<Result>& results);

}  // namespace cc::chaos
