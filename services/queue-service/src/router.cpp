#include "queue_service/router.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace cc::queue {

std::int64_t EffectivePriority(const WaitingCall& call, const QueueConfig& queue, TimePoint now) {
  const double waited =
      std::max(0.0, std::chrono::duration<double>(now - call.queue_entered_at).count());
  return call.priority +
         static_cast<std::int64_t>(std::floor(queue.priority_aging_per_second * waited));
}

bool MeetsRequiredSkills(const AgentCandidate& agent, const QueueConfig& queue) {
  return MeetsRequiredSkills(agent, queue.required_skills);
}

bool MeetsRequiredSkills(const AgentCandidate& agent, const std::vector<RequiredSkill>& skills) {
  for (const auto& req : skills) {
    auto it = agent.skills.find(req.name);
    if (it == agent.skills.end() || it->second < req.min_level) return false;
  }
  return true;
}

int SkillScore(const AgentCandidate& agent, const QueueConfig& queue) {
  int score = 0;
  if (queue.required_skills.empty()) {
    for (const auto& [name, level] : agent.skills) score += level;
    return score;
  }
  for (const auto& req : queue.required_skills) {
    auto it = agent.skills.find(req.name);
    if (it != agent.skills.end()) score += it->second;
  }
  return score;
}

std::vector<const WaitingCall*> Router::OrderCalls(const RoutingSnapshot& s, TimePoint now) const {
  struct Keyed {
    const WaitingCall* call;
    std::int64_t priority;
    double weighted_wait;
  };
  std::vector<Keyed> keyed;
  for (const auto& c : s.calls) {
    auto q = s.queues.find(c.queue);
    if (q == s.queues.end()) continue;
    const double waited = std::chrono::duration<double>(now - c.queue_entered_at).count();
    keyed.push_back({&c, EffectivePriority(c, q->second, now), waited * q->second.weight});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.weighted_wait != b.weighted_wait) return a.weighted_wait > b.weighted_wait;
    if (a.call->queue_entered_at != b.call->queue_entered_at) {
      return a.call->queue_entered_at < b.call->queue_entered_at;
    }
    return a.call->id < b.call->id;
  });
  std::vector<const WaitingCall*> out;
  out.reserve(keyed.size());
  for (const auto& k : keyed) out.push_back(k.call);
  return out;
}

std::vector<const AgentCandidate*> Router::OrderAgents(
    const QueueConfig& queue, const std::vector<AgentCandidate>& agents) const {
  std::vector<const AgentCandidate*> out;
  for (const auto& a : agents) {
    if (a.queues.count(queue.name) && MeetsRequiredSkills(a, queue)) out.push_back(&a);
  }
  auto seat = [&](const AgentCandidate* a) -> const AgentCandidate::Seat& {
    return a->queues.at(queue.name);
  };
  auto idle_then_id = [](const AgentCandidate* a, const AgentCandidate* b) {
    if (a->idle_since != b->idle_since) return a->idle_since < b->idle_since;
    return a->id < b->id;
  };
  switch (queue.strategy) {
    case Strategy::kLongestIdleAgent:
      std::sort(out.begin(), out.end(), idle_then_id);
      break;
    case Strategy::kRoundRobin:
      // Whoever was offered a call of this queue longest ago (never = first), then position.
      std::sort(out.begin(), out.end(), [&](const AgentCandidate* a, const AgentCandidate* b) {
        const auto& sa = seat(a).last_offered_at;
        const auto& sb = seat(b).last_offered_at;
        if (sa.has_value() != sb.has_value()) return !sa.has_value();
        if (sa && *sa != *sb) return *sa < *sb;
        if (seat(a).position != seat(b).position) return seat(a).position < seat(b).position;
        return a->id < b->id;
      });
      break;
    case Strategy::kFewestCalls:
      std::sort(out.begin(), out.end(), [&](const AgentCandidate* a, const AgentCandidate* b) {
        if (a->calls_answered != b->calls_answered) return a->calls_answered < b->calls_answered;
        return idle_then_id(a, b);
      });
      break;
    case Strategy::kLeastTalkTime:
      std::sort(out.begin(), out.end(), [&](const AgentCandidate* a, const AgentCandidate* b) {
        if (a->talk_time_ms != b->talk_time_ms) return a->talk_time_ms < b->talk_time_ms;
        return idle_then_id(a, b);
      });
      break;
    case Strategy::kRandom:
      std::sort(out.begin(), out.end(),
                [](const AgentCandidate* a, const AgentCandidate* b) { return a->id < b->id; });
      for (size_t i = out.size(); i > 1; --i) {
        std::swap(out[i - 1], out[random_() % i]);
      }
      break;
    case Strategy::kTopDown:
      std::sort(out.begin(), out.end(), [&](const AgentCandidate* a, const AgentCandidate* b) {
        if (seat(a).position != seat(b).position) return seat(a).position < seat(b).position;
        return a->id < b->id;
      });
      break;
    case Strategy::kSkillsBased:
      std::sort(out.begin(), out.end(), [&](const AgentCandidate* a, const AgentCandidate* b) {
        const int sa = SkillScore(*a, queue), sb = SkillScore(*b, queue);
        if (sa != sb) return sa > sb;
        return idle_then_id(a, b);
      });
      break;
  }
  return out;
}

std::vector<Proposal> Router::Propose(const RoutingSnapshot& s, TimePoint now) const {
  std::vector<Proposal> out;
  std::set<std::string> taken;
  std::map<std::string, std::vector<const AgentCandidate*>> by_queue;
  for (const WaitingCall* call : OrderCalls(s, now)) {
    auto q = s.queues.find(call->queue);
    auto it = by_queue.find(call->queue);
    if (it == by_queue.end())
      it = by_queue.emplace(call->queue, OrderAgents(q->second, s.agents)).first;
    const bool avoiding = !call->last_failed_agent.empty() && now < call->avoid_until;
    for (const AgentCandidate* a : it->second) {
      if (taken.count(a->id) || (avoiding && a->id == call->last_failed_agent)) continue;
      if (!MeetsRequiredSkills(*a, call->skills)) continue;
      taken.insert(a->id);
      out.push_back({call->id, a->id});
      break;
    }
    if (taken.size() == s.agents.size()) break;
  }
  return out;
}

}  // namespace cc::queue
