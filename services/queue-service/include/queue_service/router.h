#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "queue_service/model.h"

// Who should get which call: pure functions over a snapshot, so that every strategy, the
// aging of priorities and the fairness across queues are tested on a simulated clock. The
// repository then tries to take each proposed pair under row locks; the database has the
// last word.
namespace cc::queue {

struct WaitingCall {
  std::string id;
  std::string queue;
  int priority = 0;
  TimePoint queue_entered_at{};
  // The agent whose phone last failed this call is passed over until then (the queue's
  // reoffer_delay), so that another agent gets it first.
  std::string last_failed_agent;
  TimePoint avoid_until{};
  std::vector<RequiredSkill> skills = {};  // the call's own, besides its queue's (an IVR choice)
};

// An agent that could take a call right now: logged in and available (or on a call with
// spare capacity), routable, past any delay, not ringing.
struct AgentCandidate {
  std::string id;
  TimePoint idle_since{};
  std::int64_t calls_answered = 0;
  std::int64_t talk_time_ms = 0;
  std::map<std::string, int> skills;  // name -> level
  struct Seat {
    int position = 0;
    std::optional<TimePoint> last_offered_at;
  };
  std::map<std::string, Seat> queues;  // queues the agent serves
};

struct RoutingSnapshot {
  std::map<std::string, QueueConfig> queues;
  std::vector<WaitingCall> calls;
  std::vector<AgentCandidate> agents;
};

struct Proposal {
  std::string call_id;
  std::string agent_id;
  bool operator==(const Proposal&) const = default;
};

// Priority after aging: priority + floor(aging_per_second * seconds waited).
std::int64_t EffectivePriority(const WaitingCall& call, const QueueConfig& queue, TimePoint now);
bool MeetsRequiredSkills(const AgentCandidate& agent, const QueueConfig& queue);
bool MeetsRequiredSkills(const AgentCandidate& agent, const std::vector<RequiredSkill>& skills);
// Sum of the agent's levels in the queue's required skills (all its skills if none required).
int SkillScore(const AgentCandidate& agent, const QueueConfig& queue);

// Stateless apart from the random source (used by the RANDOM strategy only). Thread-safe if
// the random source is.
class Router {
 public:
  using Random = std::function<std::uint64_t()>;
  explicit Router(Random random) : random_(std::move(random)) {}

  // Calls in serving order: effective priority, then wait weighted by the queue's weight,
  // then arrival.
  std::vector<const WaitingCall*> OrderCalls(const RoutingSnapshot& s, TimePoint now) const;
  // The agents that may take a call of `queue`, best first per the queue's strategy.
  std::vector<const AgentCandidate*> OrderAgents(const QueueConfig& queue,
                                                 const std::vector<AgentCandidate>& agents) const;
  // Pairs every call, in serving order, with the best agent not yet paired (passing over
  // the agent that just failed it, until its avoid_until): the assignments to attempt, best
  // first. Calls for which no agent is left are skipped.
  std::vector<Proposal> Propose(const RoutingSnapshot& s, TimePoint now) const;

 private:
  Random random_;
};

}  // namespace cc::queue
