#include "agent_registry/pg_repository.h"

#include <algorithm>
#include <map>

namespace cc::registry {
namespace {

std::string Ts(TimePoint t) {
  return FormatTime(t);
}
TimePoint FromMs(const pqxx::field& f) {
  return FromUnixMillis(f.as<std::int64_t>());
}

// Columns of an agent row, in the order ReadAgent expects; $1 is "now".
constexpr const char* kAgentColumns =
    "a.id, a.display_name, a.sip_username, a.realm, a.ha1, a.max_calls, a.wrap_up_seconds,"
    " a.status, a.pause_reason, (extract(epoch from a.status_changed_at) * 1000)::bigint,"
    " a.version, (extract(epoch from a.created_at) * 1000)::bigint,"
    " (extract(epoch from a.updated_at) * 1000)::bigint,"
    " (SELECT count(*) FROM agent_bindings b WHERE b.agent_id = a.id"
    "   AND b.expires_at > $1::timestamptz)::int";

constexpr const char* kBindingColumns =
    "id, agent_id, contact_uri, contact_host, contact_port, transport, source_address,"
    " source_port, user_agent, registrar_id, sip_call_id, cseq,"
    " (extract(epoch from expires_at) * 1000)::bigint,"
    " (extract(epoch from registered_at) * 1000)::bigint,"
    " (extract(epoch from updated_at) * 1000)::bigint";

Agent ReadAgent(const pqxx::row& r) {
  Agent a;
  a.id = r[0].as<std::string>();
  a.display_name = r[1].as<std::string>();
  a.sip_username = r[2].as<std::string>();
  a.realm = r[3].as<std::string>();
  a.ha1 = r[4].as<std::string>();
  a.max_calls = r[5].as<int>();
  a.wrap_up_seconds = r[6].as<int>();
  a.status = AgentStatusFromString(r[7].as<std::string>()).value_or(AgentStatus::kLoggedOut);
  a.pause_reason = r[8].as<std::string>();
  a.status_changed_at = FromMs(r[9]);
  a.version = r[10].as<std::int64_t>();
  a.created_at = FromMs(r[11]);
  a.updated_at = FromMs(r[12]);
  a.binding_count = r[13].as<int>();
  return a;
}

Binding ReadBinding(const pqxx::row& r) {
  Binding b;
  b.id = r[0].as<std::int64_t>();
  b.agent_id = r[1].as<std::string>();
  b.contact_uri = r[2].as<std::string>();
  b.contact_host = r[3].as<std::string>();
  b.contact_port = r[4].as<int>();
  b.transport = TransportFromString(r[5].as<std::string>()).value_or(Transport::kUdp);
  b.source_address = r[6].as<std::string>();
  b.source_port = r[7].as<int>();
  b.user_agent = r[8].as<std::string>();
  b.registrar_id = r[9].as<std::string>();
  b.sip_call_id = r[10].as<std::string>();
  b.cseq = static_cast<std::uint32_t>(r[11].as<std::int64_t>());
  b.expires_at = FromMs(r[12]);
  b.registered_at = FromMs(r[13]);
  b.updated_at = FromMs(r[14]);
  return b;
}

// Fills skills and memberships of the given agents with two queries.
void LoadDetails(pqxx::work& tx, std::vector<Agent>& agents) {
  if (agents.empty()) return;
  std::map<std::string, Agent*> by_id;
  std::vector<std::string> ids;
  for (auto& a : agents) {
    by_id[a.id] = &a;
    ids.push_back(a.id);
  }
  const std::string arr = TextArray(ids);
  for (const auto& r : tx.exec_params(
           "SELECT agent_id, skill, level FROM agent_skills WHERE agent_id = ANY($1::text[])"
           " ORDER BY agent_id, skill",
           arr)) {
    by_id[r[0].as<std::string>()]->skills.push_back({r[1].as<std::string>(), r[2].as<int>()});
  }
  for (const auto& r :
       tx.exec_params("SELECT agent_id, queue, position FROM agent_queue_memberships"
                      " WHERE agent_id = ANY($1::text[]) ORDER BY agent_id, position, queue",
                      arr)) {
    by_id[r[0].as<std::string>()]->queues.push_back({r[1].as<std::string>(), r[2].as<int>()});
  }
}

void WriteSkills(pqxx::work& tx, const std::string& id, const std::vector<Skill>& skills) {
  tx.exec_params("DELETE FROM agent_skills WHERE agent_id = $1", id);
  for (const auto& s : skills) {
    tx.exec_params("INSERT INTO agent_skills (agent_id, skill, level) VALUES ($1, $2, $3)", id,
                   s.name, s.level);
  }
}

void WriteMemberships(pqxx::work& tx, const std::string& id, const std::vector<Membership>& qs) {
  tx.exec_params("DELETE FROM agent_queue_memberships WHERE agent_id = $1", id);
  for (const auto& q : qs) {
    tx.exec_params(
        "INSERT INTO agent_queue_memberships (agent_id, queue, position) VALUES ($1, $2, $3)", id,
        q.queue, q.position);
  }
}

std::optional<Agent> LoadAgent(pqxx::work& tx, const std::string& where, const std::string& key,
                               TimePoint now, bool lock) {
  std::string sql = std::string("SELECT ") + kAgentColumns + " FROM agents a WHERE " + where;
  if (lock) sql += " FOR UPDATE";
  auto rows = tx.exec_params(sql, Ts(now), key);
  if (rows.empty()) return std::nullopt;
  std::vector<Agent> one{ReadAgent(rows[0])};
  LoadDetails(tx, one);
  return std::move(one[0]);
}

Result<Agent> LoadById(pqxx::work& tx, const std::string& id, TimePoint now, bool lock) {
  auto a = LoadAgent(tx, "a.id = $2", id, now, lock);
  if (!a) return NotFound("agent '" + id + "' not found");
  return std::move(*a);
}

Result<Agent> LoadByUsername(pqxx::work& tx, const std::string& u, TimePoint now, bool lock) {
  auto a = LoadAgent(tx, "a.sip_username = $2", u, now, lock);
  if (!a) return NotFound("no agent with sip_username '" + u + "'");
  return std::move(*a);
}

// Live bindings of one agent (prepared: the edge reads them for every offer), or of all
// agents when agent_id is empty.
std::vector<Binding> LiveBindings(pqxx::work& tx, const std::string& agent_id, TimePoint now) {
  std::vector<Binding> out;
  const pqxx::result rows =
      agent_id.empty()
          ? tx.exec_params(std::string("SELECT ") + kBindingColumns +
                               " FROM agent_bindings WHERE expires_at > $1::timestamptz"
                               " ORDER BY agent_id, id",
                           Ts(now))
          : tx.exec_prepared("live_bindings_of", Ts(now), agent_id);
  for (const auto& r : rows) out.push_back(ReadBinding(r));
  return out;
}

// Turns a unique violation on insert into a message that names what is taken.
Error TakenError(const Error& e, const Agent& a) {
  if (e.message.find("agents_sip_username_unique") != std::string::npos) {
    return AlreadyExists("sip_username '" + a.sip_username + "' is already used by another agent");
  }
  return AlreadyExists("agent '" + a.id + "' already exists");
}

}  // namespace

PgAgentRepository::PgAgentRepository(PgPool& pool) : pool_(pool) {
  // Prepared once per connection instead of parsed and planned each time: the edge reads an
  // agent's bindings for every offer, and the REGISTER path runs the rest for every
  // registration and refresh.
  pool_.prepare("agent_exists", "SELECT 1 FROM agents WHERE id = $1");
  pool_.prepare("live_bindings_of", std::string("SELECT ") + kBindingColumns +
                                        " FROM agent_bindings WHERE expires_at > $1::timestamptz"
                                        " AND agent_id = $2 ORDER BY id");
  pool_.prepare("lock_agents_by_users",
                "SELECT id, sip_username FROM agents WHERE sip_username = ANY($1::text[])"
                " ORDER BY id FOR UPDATE");
  pool_.prepare("live_bindings_of_agents",
                std::string("SELECT ") + kBindingColumns +
                    " FROM agent_bindings WHERE expires_at > $1::timestamptz"
                    " AND agent_id = ANY($2::text[]) ORDER BY agent_id, id");
  pool_.prepare(
      "upsert_bindings",
      std::string("INSERT INTO agent_bindings (agent_id, contact_uri, contact_host,"
                  " contact_port, transport, source_address, source_port, user_agent,"
                  " registrar_id, sip_call_id, cseq, expires_at, registered_at, updated_at)"
                  " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[],"
                  " $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[],"
                  " $11::bigint[], $12::timestamptz[], $13::timestamptz[], $13::timestamptz[])"
                  " ON CONFLICT (agent_id, contact_uri) DO UPDATE SET"
                  " contact_host = EXCLUDED.contact_host, contact_port = EXCLUDED.contact_port,"
                  " transport = EXCLUDED.transport, source_address = EXCLUDED.source_address,"
                  " source_port = EXCLUDED.source_port, user_agent = EXCLUDED.user_agent,"
                  " registrar_id = EXCLUDED.registrar_id, sip_call_id = EXCLUDED.sip_call_id,"
                  " cseq = EXCLUDED.cseq, expires_at = EXCLUDED.expires_at,"
                  " registered_at = CASE WHEN agent_bindings.expires_at > EXCLUDED.updated_at"
                  "   THEN agent_bindings.registered_at ELSE EXCLUDED.registered_at END,"
                  " updated_at = EXCLUDED.updated_at RETURNING ") +
          kBindingColumns);
}

Result<Agent> PgAgentRepository::insert(const Agent& agent, TimePoint now) {
  auto r = pool_.transact([&](pqxx::work& tx) -> Result<Agent> {
    tx.exec_params(
        "INSERT INTO agents (id, display_name, sip_username, realm, ha1, max_calls,"
        " wrap_up_seconds, status_changed_at, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $8::timestamptz, $8::timestamptz)",
        agent.id, agent.display_name, agent.sip_username, agent.realm, agent.ha1, agent.max_calls,
        agent.wrap_up_seconds, Ts(now));
    WriteSkills(tx, agent.id, agent.skills);
    WriteMemberships(tx, agent.id, agent.queues);
    return LoadById(tx, agent.id, now, false);
  });
  if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) return TakenError(r.error(), agent);
  return r;
}

Result<Agent> PgAgentRepository::get(const std::string& id, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) { return LoadById(tx, id, now, false); });
}

Result<Agent> PgAgentRepository::get_by_username(const std::string& u, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) { return LoadByUsername(tx, u, now, false); });
}

Result<AgentPage> PgAgentRepository::list(const AgentFilter& f, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<AgentPage> {
    std::vector<std::string> statuses;
    for (auto s : f.statuses) statuses.emplace_back(ToString(s));
    const std::string sql = std::string("SELECT ") + kAgentColumns +
                            " FROM agents a WHERE a.id > $2"
                            " AND (cardinality($3::text[]) = 0 OR a.status = ANY($3::text[]))"
                            " AND ($4 = '' OR EXISTS (SELECT 1 FROM agent_queue_memberships m"
                            "      WHERE m.agent_id = a.id AND m.queue = $4))"
                            " AND (NOT $5::bool OR EXISTS (SELECT 1 FROM agent_bindings b"
                            "      WHERE b.agent_id = a.id AND b.expires_at > $1::timestamptz))"
                            " ORDER BY a.id LIMIT $6";
    AgentPage page;
    for (const auto& r : tx.exec_params(sql, Ts(now), f.after_id, TextArray(statuses), f.queue,
                                        f.routable_only, f.page_size + 1)) {
      page.agents.push_back(ReadAgent(r));
    }
    if (static_cast<int>(page.agents.size()) > f.page_size) {
      page.agents.pop_back();
      page.next_page_token = page.agents.back().id;
    }
    LoadDetails(tx, page.agents);
    return page;
  });
}

Result<Agent> PgAgentRepository::update(const std::string& id, const PatchDecision& decide,
                                        TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Agent> {
    CC_ASSIGN_OR_RETURN(Agent current, LoadById(tx, id, now, true));
    CC_ASSIGN_OR_RETURN(AgentPatch p, decide(current));
    tx.exec_params(
        "UPDATE agents SET"
        " display_name = COALESCE($2, display_name), ha1 = COALESCE($3, ha1),"
        " max_calls = COALESCE($4::int, max_calls),"
        " wrap_up_seconds = COALESCE($5::int, wrap_up_seconds), updated_at = $6::timestamptz"
        " WHERE id = $1",
        id, p.display_name ? p.display_name->c_str() : nullptr, p.ha1 ? p.ha1->c_str() : nullptr,
        p.max_calls ? std::to_string(*p.max_calls).c_str() : nullptr,
        p.wrap_up_seconds ? std::to_string(*p.wrap_up_seconds).c_str() : nullptr, Ts(now));
    if (p.skills) WriteSkills(tx, id, *p.skills);
    if (p.queues) WriteMemberships(tx, id, *p.queues);
    return LoadById(tx, id, now, false);
  });
}

Result<Agent> PgAgentRepository::remove(const std::string& id, const DeleteCheck& check,
                                        TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Agent> {
    CC_ASSIGN_OR_RETURN(Agent current, LoadById(tx, id, now, true));
    CC_RETURN_IF_ERROR(check(current));
    tx.exec_params("DELETE FROM agents WHERE id = $1", id);
    return current;
  });
}

Result<StatusChangeResult> PgAgentRepository::change_status(const std::string& id,
                                                            const StatusDecision& decide,
                                                            TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<StatusChangeResult> {
    CC_ASSIGN_OR_RETURN(Agent current, LoadById(tx, id, now, true));
    CC_ASSIGN_OR_RETURN(std::optional<StatusChange> change, decide(current));
    StatusChangeResult result;
    result.from = current.status;
    if (!change) {
      result.agent = std::move(current);
      return result;
    }
    auto updated = tx.exec_params(
        "UPDATE agents SET status = $2, pause_reason = $3, status_reason = $4,"
        " status_call_id = $5, status_changed_at = $6::timestamptz, updated_at = $6::timestamptz"
        " WHERE id = $1 RETURNING status_audit_id",
        id, std::string(ToString(change->to)), change->pause_reason, change->reason,
        change->call_id, Ts(now));
    if (change->to != current.status) result.audit_id = updated[0][0].as<std::int64_t>();
    result.reason = change->reason;
    result.call_id = change->call_id;
    CC_ASSIGN_OR_RETURN(result.agent, LoadById(tx, id, now, false));
    return result;
  });
}

struct PgAgentRepository::PendingBinding {
  const BindingRequest* request;
  TimePoint expires_at;
  int max_bindings;
  TimePoint now;
  std::optional<Result<BindingUpsert>> result;
};

Result<BindingUpsert> PgAgentRepository::upsert_binding(const BindingRequest& req,
                                                        TimePoint expires_at, int max_bindings,
                                                        TimePoint now) {
  PendingBinding mine{&req, expires_at, max_bindings, now, std::nullopt};
  std::unique_lock lock(batch_mu_);
  batch_queue_.push_back(&mine);
  while (!mine.result) {
    const bool queued =
        std::find(batch_queue_.begin(), batch_queue_.end(), &mine) != batch_queue_.end();
    if (!queued || batch_writers_ >= kMaxBindingWriters) {
      batch_cv_.wait(lock);
      continue;
    }
    // Lead a batch: everything waiting, oldest first, one request per agent (a second
    // request for an agent already in the batch waits for the next one).
    std::vector<PendingBinding*> batch;
    std::vector<const std::string*> users;
    for (auto it = batch_queue_.begin();
         it != batch_queue_.end() && batch.size() < kMaxBindingBatch;) {
      const std::string& user = (*it)->request->sip_username;
      if (std::any_of(users.begin(), users.end(), [&](auto* u) { return *u == user; })) {
        ++it;
        continue;
      }
      users.push_back(&user);
      batch.push_back(*it);
      it = batch_queue_.erase(it);
    }
    ++batch_writers_;
    lock.unlock();
    run_binding_batch(std::move(batch));
    lock.lock();
    --batch_writers_;
    batch_cv_.notify_all();
  }
  return std::move(*mine.result);
}

void PgAgentRepository::run_binding_batch(std::vector<PendingBinding*> batch) {
  auto results = upsert_bindings(batch);
  // A row the database refused fails the whole transaction: retry each request alone, so
  // that its failure is its own. Any other error (database down, pool exhausted, commit in
  // doubt) is every request's: retrying them one by one would only wait longer, and a
  // commit in doubt may have written them.
  const auto one_rows_fault = [](ErrorCode c) {
    return c == ErrorCode::kInvalidArgument || c == ErrorCode::kAlreadyExists ||
           c == ErrorCode::kFailedPrecondition;
  };
  if (!results.ok() && batch.size() > 1 && one_rows_fault(results.error().code)) {
    for (auto* p : batch) run_binding_batch({p});
    return;
  }
  std::lock_guard lock(batch_mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result =
        results.ok() ? std::move((*results)[i]) : Result<BindingUpsert>(results.error());
  }
}

Result<std::vector<Result<BindingUpsert>>> PgAgentRepository::upsert_bindings(
    const std::vector<PendingBinding*>& batch) {
  std::vector<std::string> users;
  TimePoint oldest_now = batch.front()->now;
  for (const auto* p : batch) {
    users.push_back(p->request->sip_username);
    oldest_now = std::min(oldest_now, p->now);
  }
  ++binding_batches_;
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Result<BindingUpsert>>> {
    std::map<std::string, std::string> agent_of_user;
    std::vector<std::string> agent_ids;
    for (const auto& r : tx.exec_prepared("lock_agents_by_users", TextArray(users))) {
      agent_of_user[r[1].as<std::string>()] = r[0].as<std::string>();
      agent_ids.push_back(r[0].as<std::string>());
    }
    std::map<std::string, std::vector<Binding>> live_of_agent;
    if (!agent_ids.empty()) {
      for (const auto& r :
           tx.exec_prepared("live_bindings_of_agents", Ts(oldest_now), TextArray(agent_ids))) {
        Binding b = ReadBinding(r);
        live_of_agent[b.agent_id].push_back(std::move(b));
      }
    }

    // Decide each request on its agent's live bindings as of its own `now`.
    std::vector<Result<BindingUpsert>> out(batch.size(), Result<BindingUpsert>(BindingUpsert{}));
    std::vector<size_t> writes;
    std::vector<std::string> col_agent, col_contact, col_host, col_transport, col_source, col_ua,
        col_registrar, col_call_id, col_expires, col_now, col_port, col_source_port, col_cseq;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& p = *batch[i];
      const BindingRequest& req = *p.request;
      auto agent = agent_of_user.find(req.sip_username);
      if (agent == agent_of_user.end()) {
        out[i] = NotFound("no agent with sip_username '" + req.sip_username + "'");
        continue;
      }
      const std::string& agent_id = agent->second;
      std::vector<Binding> live;
      for (const auto& b : live_of_agent[agent_id]) {
        if (b.expires_at > p.now) live.push_back(b);
      }
      auto existing = std::find_if(live.begin(), live.end(), [&](const Binding& b) {
        return b.contact_uri == req.contact_uri;
      });
      if (existing != live.end() && !req.sip_call_id.empty() &&
          existing->sip_call_id == req.sip_call_id && req.cseq != 0 && req.cseq <= existing->cseq) {
        out[i] = Aborted("out-of-order REGISTER: CSeq " + std::to_string(req.cseq) +
                         " is not higher than " + std::to_string(existing->cseq));
        continue;
      }
      if (existing == live.end() && static_cast<int>(live.size()) >= p.max_bindings) {
        out[i] = FailedPrecondition("agent " + agent_id + " already has " +
                                    std::to_string(live.size()) + " bindings (the maximum)");
        continue;
      }
      BindingUpsert& u = *out[i];
      u.created = existing == live.end();
      u.became_routable = live.empty();
      u.bindings = std::move(live);
      writes.push_back(i);
      col_agent.push_back(agent_id);
      col_contact.push_back(req.contact_uri);
      col_host.push_back(req.contact_host);
      col_port.push_back(std::to_string(req.contact_port));
      col_transport.push_back(std::string(ToString(req.transport)));
      col_source.push_back(req.source_address);
      col_source_port.push_back(std::to_string(req.source_port));
      col_ua.push_back(req.user_agent);
      col_registrar.push_back(req.registrar_id);
      col_call_id.push_back(req.sip_call_id);
      col_cseq.push_back(std::to_string(req.cseq));
      col_expires.push_back(Ts(p.expires_at));
      col_now.push_back(Ts(p.now));
    }
    if (writes.empty()) return out;

    // An expired row for the same contact that the sweep has not removed yet is replaced.
    std::map<std::pair<std::string, std::string>, Binding> written;
    for (const auto& r :
         tx.exec_prepared("upsert_bindings", TextArray(col_agent), TextArray(col_contact),
                          TextArray(col_host), TextArray(col_port), TextArray(col_transport),
                          TextArray(col_source), TextArray(col_source_port), TextArray(col_ua),
                          TextArray(col_registrar), TextArray(col_call_id), TextArray(col_cseq),
                          TextArray(col_expires), TextArray(col_now))) {
      Binding b = ReadBinding(r);
      written[{b.agent_id, b.contact_uri}] = std::move(b);
    }
    for (size_t k = 0; k < writes.size(); ++k) {
      BindingUpsert& u = *out[writes[k]];
      u.binding = written.at({col_agent[k], col_contact[k]});
      // The agent's row is locked, so the live set is the one read plus this binding.
      auto same = std::find_if(u.bindings.begin(), u.bindings.end(), [&](const Binding& b) {
        return b.contact_uri == u.binding.contact_uri;
      });
      if (same != u.bindings.end()) {
        *same = u.binding;
      } else {
        u.bindings.push_back(u.binding);
      }
    }
    return out;
  });
}

Result<BindingRemoval> PgAgentRepository::remove_bindings(const std::string& sip_username,
                                                          const std::string& contact_uri,
                                                          TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<BindingRemoval> {
    auto agent =
        tx.exec_params("SELECT id FROM agents WHERE sip_username = $1 FOR UPDATE", sip_username);
    if (agent.empty()) return NotFound("no agent with sip_username '" + sip_username + "'");
    BindingRemoval out;
    out.agent_id = agent[0][0].as<std::string>();
    const bool was_routable = !LiveBindings(tx, out.agent_id, now).empty();
    const std::string sql =
        std::string(
            "DELETE FROM agent_bindings WHERE agent_id = $1 AND ($2 = '*' OR contact_uri = $2)"
            " RETURNING ") +
        kBindingColumns;
    for (const auto& r : tx.exec_params(sql, out.agent_id, contact_uri)) {
      out.removed.push_back(ReadBinding(r));
    }
    out.remaining = LiveBindings(tx, out.agent_id, now);
    out.became_unroutable = was_routable && out.remaining.empty();
    return out;
  });
}

Result<std::vector<Binding>> PgAgentRepository::bindings(const std::string& agent_id,
                                                         TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Binding>> {
    auto out = LiveBindings(tx, agent_id, now);
    // An agent being offered a call has bindings: only an empty list needs the second look.
    if (out.empty() && !agent_id.empty() && tx.exec_prepared("agent_exists", agent_id).empty()) {
      return NotFound("agent '" + agent_id + "' not found");
    }
    return out;
  });
}

Result<std::vector<ExpiredBindings>> PgAgentRepository::sweep_expired(TimePoint now, int limit) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<ExpiredBindings>> {
    // Lock the agents first (the same order as every other writer); agents another replica
    // is working on are skipped and swept next time.
    auto agents = tx.exec_params(
        "SELECT id FROM agents WHERE id IN (SELECT DISTINCT agent_id FROM agent_bindings"
        "  WHERE expires_at <= $1::timestamptz LIMIT $2)"
        " ORDER BY id FOR UPDATE SKIP LOCKED",
        Ts(now), limit);
    std::vector<ExpiredBindings> out;
    for (const auto& a : agents) {
      ExpiredBindings e;
      e.agent_id = a[0].as<std::string>();
      const std::string sql = std::string(
                                  "DELETE FROM agent_bindings WHERE agent_id = $1"
                                  " AND expires_at <= $2::timestamptz RETURNING ") +
                              kBindingColumns;
      for (const auto& r : tx.exec_params(sql, e.agent_id, Ts(now))) {
        e.removed.push_back(ReadBinding(r));
      }
      if (e.removed.empty()) continue;
      e.remaining = static_cast<int>(LiveBindings(tx, e.agent_id, now).size());
      out.push_back(std::move(e));
    }
    return out;
  });
}

Result<Credentials> PgAgentRepository::credentials(const std::string& sip_username) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Credentials> {
    auto r = tx.exec_params(
        "SELECT id, sip_username, realm, ha1 FROM agents WHERE sip_username = $1", sip_username);
    if (r.empty()) return NotFound("no agent with sip_username '" + sip_username + "'");
    return Credentials{r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                       r[0][2].as<std::string>(), r[0][3].as<std::string>()};
  });
}

Result<AgentRepository::Counts> PgAgentRepository::counts(TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Counts> {
    Counts c;
    for (auto s : kAllAgentStatuses) c.by_status[s] = 0;
    for (const auto& r : tx.exec("SELECT status, count(*)::int FROM agents GROUP BY status")) {
      if (auto s = AgentStatusFromString(r[0].as<std::string>())) c.by_status[*s] = r[1].as<int>();
    }
    auto b = tx.exec_params(
        "SELECT count(*)::int, count(DISTINCT agent_id)::int FROM agent_bindings"
        " WHERE expires_at > $1::timestamptz",
        Ts(now));
    c.bindings = b[0][0].as<int>();
    c.routable_agents = b[0][1].as<int>();
    return c;
  });
}

}  // namespace cc::registry
