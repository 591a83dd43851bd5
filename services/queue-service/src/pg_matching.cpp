// Matching: the routing snapshot, taking a proposed pair under row locks, and giving an
// undelivered offer back.
#include <algorithm>
#include <set>

#include "pg_rows.h"
#include "pg_rules.h"
#include "pg_statements.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

Result<RoutingSnapshot> PgQueueRepository::snapshot(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<RoutingSnapshot> {
    RoutingSnapshot s;
    std::set<std::string> queue_names;
    std::map<std::string, int> avoided_in;  // queue -> calls passing over an agent now
    std::set<std::string> with_skills;      // queues with a call requiring skills of its own
    for (const auto& r : tx.exec_prepared("snapshot_calls", Ts(now), settings_.snapshot_calls)) {
      WaitingCall c{r[0].as<std::string>(), r[1].as<std::string>(),
                    r[2].as<int>(),         Ms(r[3]),
                    r[4].as<std::string>(), OptMs(r[5]).value_or(TimePoint{}),
                    ParseSkills(r[6])};
      if (!c.skills.empty()) with_skills.insert(c.queue);
      if (!c.last_failed_agent.empty() && now < c.avoid_until) avoided_in[c.queue]++;
      queue_names.insert(c.queue);
      s.calls.push_back(std::move(c));
    }
    if (s.calls.empty()) return s;
    const std::string names =
        TextArray(std::vector<std::string>(queue_names.begin(), queue_names.end()));
    for (const auto& r : tx.exec_prepared("snapshot_queues", names)) {
      QueueConfig q = ReadQueue(r);
      s.queues[q.name] = q;
    }
    LoadSkills(tx, s.queues);
    std::map<std::string, AgentCandidate> agents;
    auto add_agents = [&](const pqxx::result& rows) {
      for (const auto& r : rows) {
        AgentCandidate& a = agents[r[0].as<std::string>()];
        a.id = r[0].as<std::string>();
        a.idle_since = Ms(r[1]);
        a.calls_answered = r[2].as<std::int64_t>();
        a.talk_time_ms = r[3].as<std::int64_t>();
        a.queues[r[4].as<std::string>()] = {r[5].as<int>(), OptMs(r[6])};
      }
    };
    // A pass makes at most one offer per call, so for a queue whose ranking SQL can repeat,
    // its first calls.size() agents are all the router can reach: before a call's turn at
    // most calls.size() - 1 agents are taken, and the best one left is among them; a call
    // passing over the agent that just failed it needs one more. Reading every free agent
    // instead made the snapshot the heaviest statement under load.
    std::vector<std::string> all_of;
    for (const auto& [name, q] : s.queues) {
      const std::string top = TopAgentsStatement(q.strategy);
      if (top.empty() || !q.required_skills.empty() || with_skills.count(name) ||
          !settings_.snapshot_top_agents) {
        all_of.push_back(name);
        continue;
      }
      const auto limit = static_cast<std::int64_t>(s.calls.size()) + avoided_in[name];
      add_agents(tx.exec_prepared(top, name, Ts(now), limit));
    }
    if (!all_of.empty())
      add_agents(tx.exec_prepared("snapshot_agents", TextArray(all_of), Ts(now)));
    // Skills only matter to queues that require some or rank agents by them.
    const bool skills_matter =
        !with_skills.empty() || std::any_of(s.queues.begin(), s.queues.end(), [](const auto& q) {
          return !q.second.required_skills.empty() || q.second.strategy == Strategy::kSkillsBased;
        });
    if (!agents.empty() && skills_matter) {
      std::vector<std::string> ids;
      for (auto& [id, a] : agents) ids.push_back(id);
      for (const auto& r : tx.exec_prepared("snapshot_skills", TextArray(ids))) {
        agents[r[0].as<std::string>()].skills[r[1].as<std::string>()] = r[2].as<int>();
      }
    }
    for (auto& [id, a] : agents) s.agents.push_back(std::move(a));
    return s;
  });
}

Result<std::optional<std::pair<Offer, Effects>>> PgQueueRepository::try_assign(const Proposal& p,
                                                                               const Clock& clock) {
  using Out = std::optional<std::pair<Offer, Effects>>;
  return pool_.transact([&](pqxx::work& tx) -> Result<Out> {
    const TimePoint checked = clock.now();
    auto call_rows = tx.exec_prepared("lock_waiting_call", p.call_id, Ts(checked));
    if (call_rows.empty()) return Out{};
    Call call = ReadCall(call_rows[0]);
    auto queue = this->queue(tx, call.queue);
    if (!queue) return Out{};
    // The same eligibility as the snapshot, now under the agent's row lock.
    auto agent_rows = tx.exec_prepared("lock_eligible_agent", p.agent_id, call.queue, Ts(checked));
    if (agent_rows.empty()) return Out{};
    // The offer is stamped once both rows are held, not when the pass began: a stamp taken
    // before waiting for a connection could fall before the end of the agent's previous
    // call, and the history would show the agent holding two calls at once.
    const TimePoint now = clock.now();
    const AgentStatus agent_status =
        AgentStatusFromString(agent_rows[0][0].as<std::string>()).value_or(AgentStatus::kAvailable);
    // A callback belongs to no edge: any live one places it (the agent first, then the
    // customer, whose ringing the lease covers too).
    const bool callback = !call.callback_number.empty();
    std::string edge = call.edge_id;
    if (callback) {
      auto live = tx.exec_params(
          "SELECT id FROM edges WHERE lease_until > $1::timestamptz AND id <> ''"
          " ORDER BY random() LIMIT 1",
          Ts(now));
      if (live.empty()) return Out{};  // no edge to place it: it waits
      edge = live[0][0].as<std::string>();
    }
    Effects fx;
    Offer offer = offer_call(tx, call, *queue, p.agent_id, agent_status, edge, now, fx);
    return Out{std::make_pair(offer, fx)};
  });
}

Offer PgQueueRepository::offer_call(pqxx::work& tx, const Call& call, const QueueConfig& queue,
                                    const std::string& agent_id, AgentStatus agent_status,
                                    const std::string& edge, TimePoint now, Effects& fx) {
  const bool callback = !call.callback_number.empty();
  const TimePoint lease = now + queue.ring_timeout + settings_.lease_grace +
                          (callback ? queue.callback.ring_timeout : Duration{0});
  auto ins = tx.exec_prepared("insert_offer", call.id, agent_id, call.queue, edge,
                              call.attempts + 1, Ts(lease), Ts(now));
  const std::int64_t assignment_id = ins[0][0].as<std::int64_t>();
  auto updated = tx.exec_prepared("call_offered", call.id, agent_id, Ts(now), assignment_id);
  // The round-robin mark and the agent's status (RESERVED unless already on another call).
  auto reserved = tx.exec_prepared("reserve_agent", agent_id, call.queue, Ts(now), call.id);
  if (!reserved.empty()) {
    fx.agents.push_back({agent_id, agent_status, AgentStatus::kReserved, "call offered", call.id,
                         reserved[0][0].as<std::int64_t>()});
  }
  Offer offer{assignment_id,
              call.id,
              agent_id,
              call.queue,
              edge,
              call.caller,
              call.attempts + 1,
              queue.ring_timeout,
              lease,
              call.enqueued_at,
              now,
              {}};
  if (callback) {
    offer.callback_number = call.callback_number;
    offer.callback_trunk = queue.callback.trunk;
    offer.callback_ring_timeout = queue.callback.ring_timeout;
  }
  offer.record = queue.recording.mode == RecordingMode::kAlways;
  offer.recording_retention_days = queue.recording.retention_days;
  // The phones to ring go with the offer: the edge needs no lookup of its own.
  for (const auto& b :
       tx.exec_prepared("offer_bindings", agent_id, Ts(now), settings_.max_offer_bindings)) {
    offer.bindings.push_back({b[0].as<std::string>(), b[1].as<std::string>(), b[2].as<int>(),
                              b[3].as<bool>(), b[4].as<bool>()});
  }
  fx.calls.push_back(Event(CallEventKind::kOffered, ReadCall(updated[0])));
  return offer;
}

Result<Effects> PgQueueRepository::withdraw(std::int64_t assignment_id, const std::string& reason,
                                            bool call_gone, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Effects> {
    Effects fx;
    auto a = LockAssignment(tx, assignment_id);
    if (!a || a->state != "OFFERED") return fx;  // answered, failed or expired meanwhile
    auto call = LoadCall(tx, a->call_id, true);
    if (call_gone && call) {
      // The edge does not hold the call: offering it again would only repeat this.
      EndAbandoned(tx, *call, a, "WITHDRAWN", "edge does not hold the call: " + reason, queues(),
                   now, fx);
      return fx;
    }
    OfferEnd end;
    end.state = "WITHDRAWN";
    end.outcome = reason;
    end.agent_reason = "offer withdrawn: " + reason;
    EndOffer(tx, *a, end, now, fx);
    if (call && call->state == CallState::kOffered) {
      Requeue(tx, *call, call->priority, call->attempts, settings_.offer_retry_backoff,
              "offer withdrawn: " + reason, now, fx);
    }
    return fx;
  });
}

}  // namespace cc::queue
