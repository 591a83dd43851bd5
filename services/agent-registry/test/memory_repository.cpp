#include "memory_repository.h"

#include <algorithm>

namespace cc::registry {

Agent MemoryAgentRepository::view(const Agent& a, TimePoint now) const {
  Agent v = a;
  v.binding_count = static_cast<int>(live(a.id, now).size());
  return v;
}

std::vector<Binding> MemoryAgentRepository::live(const std::string& agent_id, TimePoint now) const {
  std::vector<Binding> out;
  for (const auto& b : bindings_) {
    if ((agent_id.empty() || b.agent_id == agent_id) && b.expires_at > now) out.push_back(b);
  }
  return out;
}

Agent* MemoryAgentRepository::find_by_username(const std::string& u) {
  for (auto& [id, a] : agents_) {
    if (a.sip_username == u) return &a;
  }
  return nullptr;
}

Result<Agent> MemoryAgentRepository::insert(const Agent& agent, TimePoint now) {
  std::lock_guard lock(mu_);
  if (agents_.count(agent.id)) return AlreadyExists("agent '" + agent.id + "' already exists");
  if (find_by_username(agent.sip_username)) return AlreadyExists("sip_username taken");
  Agent a = agent;
  a.version = 1;
  a.created_at = a.updated_at = a.status_changed_at = now;
  agents_[a.id] = a;
  return view(a, now);
}

Result<Agent> MemoryAgentRepository::get(const std::string& id, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return NotFound("agent '" + id + "' not found");
  return view(it->second, now);
}

Result<Agent> MemoryAgentRepository::get_by_username(const std::string& u, TimePoint now) {
  std::lock_guard lock(mu_);
  Agent* a = find_by_username(u);
  if (!a) return NotFound("no agent with sip_username '" + u + "'");
  return view(*a, now);
}

Result<AgentPage> MemoryAgentRepository::list(const AgentFilter& f, TimePoint now) {
  std::lock_guard lock(mu_);
  AgentPage page;
  for (const auto& [id, a] : agents_) {
    if (id <= f.after_id) continue;
    if (!f.statuses.empty() &&
        std::find(f.statuses.begin(), f.statuses.end(), a.status) == f.statuses.end()) {
      continue;
    }
    if (!f.queue.empty() && std::none_of(a.queues.begin(), a.queues.end(),
                                         [&](const Membership& m) { return m.queue == f.queue; })) {
      continue;
    }
    Agent v = view(a, now);
    if (f.routable_only && !v.routable()) continue;
    if (static_cast<int>(page.agents.size()) == f.page_size) {
      page.next_page_token = page.agents.back().id;
      break;
    }
    page.agents.push_back(v);
  }
  return page;
}

Result<Agent> MemoryAgentRepository::update(const std::string& id, const PatchDecision& decide,
                                            TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return NotFound("agent '" + id + "' not found");
  CC_ASSIGN_OR_RETURN(AgentPatch p, decide(view(it->second, now)));
  Agent& a = it->second;
  if (p.display_name) a.display_name = *p.display_name;
  if (p.ha1) a.ha1 = *p.ha1;
  if (p.skills) a.skills = *p.skills;
  if (p.max_calls) a.max_calls = *p.max_calls;
  if (p.wrap_up_seconds) a.wrap_up_seconds = *p.wrap_up_seconds;
  if (p.queues) a.queues = *p.queues;
  a.version++;
  a.updated_at = now;
  return view(a, now);
}

Result<Agent> MemoryAgentRepository::remove(const std::string& id, const DeleteCheck& check,
                                            TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return NotFound("agent '" + id + "' not found");
  Agent before = view(it->second, now);
  CC_RETURN_IF_ERROR(check(before));
  agents_.erase(it);
  std::erase_if(bindings_, [&](const Binding& b) { return b.agent_id == id; });
  return before;
}

Result<StatusChangeResult> MemoryAgentRepository::change_status(const std::string& id,
                                                                const StatusDecision& decide,
                                                                TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return NotFound("agent '" + id + "' not found");
  Agent& a = it->second;
  CC_ASSIGN_OR_RETURN(std::optional<StatusChange> c, decide(view(a, now)));
  StatusChangeResult r;
  r.from = a.status;
  if (c) {
    // The same guard the database trigger applies.
    if (c->to != a.status && !IsLegalTransition(a.status, c->to)) {
      return FailedPrecondition("illegal agent status transition");
    }
    if (c->to != a.status) {
      audit_.push_back({a.id, a.status, c->to, c->reason});
      r.audit_id = static_cast<std::int64_t>(audit_.size());
      a.status_changed_at = now;
    }
    a.status = c->to;
    a.pause_reason = c->pause_reason;
    a.version++;
    r.reason = c->reason;
    r.call_id = c->call_id;
  }
  r.agent = view(a, now);
  return r;
}

Result<BindingUpsert> MemoryAgentRepository::upsert_binding(const BindingRequest& req,
                                                            TimePoint expires_at, int max_bindings,
                                                            TimePoint now) {
  std::lock_guard lock(mu_);
  Agent* a = find_by_username(req.sip_username);
  if (!a) return NotFound("no agent with sip_username '" + req.sip_username + "'");
  auto current = live(a->id, now);
  auto existing = std::find_if(bindings_.begin(), bindings_.end(), [&](const Binding& b) {
    return b.agent_id == a->id && b.contact_uri == req.contact_uri;
  });
  const bool existing_live = existing != bindings_.end() && existing->expires_at > now;
  if (existing_live && !req.sip_call_id.empty() && existing->sip_call_id == req.sip_call_id &&
      req.cseq != 0 && req.cseq <= existing->cseq) {
    return Aborted("out-of-order REGISTER");
  }
  if (!existing_live && static_cast<int>(current.size()) >= max_bindings) {
    return FailedPrecondition("too many bindings");
  }
  Binding b;
  if (existing != bindings_.end()) {
    b = *existing;
    bindings_.erase(existing);
  } else {
    b.id = next_binding_id_++;
  }
  if (!existing_live) b.registered_at = now;
  b.agent_id = a->id;
  b.contact_uri = req.contact_uri;
  b.contact_host = req.contact_host;
  b.contact_port = req.contact_port;
  b.transport = req.transport;
  b.source_address = req.source_address;
  b.source_port = req.source_port;
  b.user_agent = req.user_agent;
  b.registrar_id = req.registrar_id;
  b.sip_call_id = req.sip_call_id;
  b.cseq = req.cseq;
  b.expires_at = expires_at;
  b.updated_at = now;
  bindings_.push_back(b);
  BindingUpsert out;
  out.binding = b;
  out.created = !existing_live;
  out.became_routable = current.empty();
  out.bindings = live(a->id, now);
  return out;
}

Result<BindingRemoval> MemoryAgentRepository::remove_bindings(const std::string& u,
                                                              const std::string& contact,
                                                              TimePoint now) {
  std::lock_guard lock(mu_);
  Agent* a = find_by_username(u);
  if (!a) return NotFound("no agent with sip_username '" + u + "'");
  BindingRemoval out;
  out.agent_id = a->id;
  const bool was_routable = !live(a->id, now).empty();
  std::erase_if(bindings_, [&](const Binding& b) {
    if (b.agent_id == a->id && (contact == "*" || b.contact_uri == contact)) {
      out.removed.push_back(b);
      return true;
    }
    return false;
  });
  out.remaining = live(a->id, now);
  out.became_unroutable = was_routable && out.remaining.empty();
  return out;
}

Result<std::vector<Binding>> MemoryAgentRepository::bindings(const std::string& agent_id,
                                                             TimePoint now) {
  std::lock_guard lock(mu_);
  if (!agent_id.empty() && !agents_.count(agent_id)) {
    return NotFound("agent '" + agent_id + "' not found");
  }
  return live(agent_id, now);
}

Result<std::vector<ExpiredBindings>> MemoryAgentRepository::sweep_expired(TimePoint now,
                                                                          int limit) {
  std::lock_guard lock(mu_);
  std::map<std::string, ExpiredBindings> by_agent;
  int n = 0;
  std::erase_if(bindings_, [&](const Binding& b) {
    if (b.expires_at > now || n >= limit) return false;
    ++n;
    auto& e = by_agent[b.agent_id];
    e.agent_id = b.agent_id;
    e.removed.push_back(b);
    return true;
  });
  std::vector<ExpiredBindings> out;
  for (auto& [id, e] : by_agent) {
    e.remaining = static_cast<int>(live(id, now).size());
    out.push_back(std::move(e));
  }
  return out;
}

Result<Credentials> MemoryAgentRepository::credentials(const std::string& u) {
  std::lock_guard lock(mu_);
  Agent* a = find_by_username(u);
  if (!a) return NotFound("no agent with sip_username '" + u + "'");
  return Credentials{a->id, a->sip_username, a->realm, a->ha1};
}

Result<AgentRepository::Counts> MemoryAgentRepository::counts(TimePoint now) {
  std::lock_guard lock(mu_);
  Counts c;
  for (const auto& [id, a] : agents_) {
    c.by_status[a.status]++;
    if (!live(id, now).empty()) c.routable_agents++;
  }
  c.bindings = static_cast<int>(live("", now).size());
  return c;
}

std::vector<MemoryAgentRepository::AuditRow> MemoryAgentRepository::audit() const {
  std::lock_guard lock(mu_);
  return audit_;
}

}  // namespace cc::registry
