// Queues, their members and the dialplan.
#include "pg_rows.h"
#include "queue_service/pg_repository.h"
#include "queue_service/validation.h"

namespace cc::queue {

using namespace pg;

Result<QueueConfig> PgQueueRepository::create_queue(const QueueConfig& q, TimePoint now) {
  auto r = pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    CC_RETURN_IF_ERROR(RequireMenu(tx, q.opening.closed_menu));
    WriteQueue(tx, q, true, now);
    return RequireQueue(tx, q.name);
  });
  if (!r.ok() && r.error().code == ErrorCode::kAlreadyExists) {
    return AlreadyExists("queue '" + q.name + "' already exists");
  }
  return r;
}

Result<QueueConfig> PgQueueRepository::get_queue(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) { return RequireQueue(tx, name); });
}

Result<std::vector<QueueConfig>> PgQueueRepository::list_queues() {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<QueueConfig>> {
    std::map<std::string, QueueConfig> all;
    for (const auto& r : tx.exec("SELECT " + kQueueColumns + " FROM queues ORDER BY name")) {
      QueueConfig q = ReadQueue(r);
      all[q.name] = q;
    }
    LoadSkills(tx, all);
    std::vector<QueueConfig> out;
    for (auto& [n, q] : all) out.push_back(std::move(q));
    return out;
  });
}

Result<QueueConfig> PgQueueRepository::update_queue(const std::string& name,
                                                    std::int64_t expected_version,
                                                    const QueueMutation& mutate, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    CC_ASSIGN_OR_RETURN(QueueConfig q, RequireQueue(tx, name, true));
    if (expected_version != 0 && expected_version != q.version) {
      return Aborted("queue " + name + " changed meanwhile (version " + std::to_string(q.version) +
                     ", expected " + std::to_string(expected_version) + ")");
    }
    CC_RETURN_IF_ERROR(mutate(q));
    q.name = name;
    CC_RETURN_IF_ERROR(ValidateQueue(q));
    CC_RETURN_IF_ERROR(RequireMenu(tx, q.opening.closed_menu));
    WriteQueue(tx, q, false, now);
    forget_queue(name);
    return RequireQueue(tx, name);
  });
}

Status PgQueueRepository::delete_queue(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) -> Status {
    CC_RETURN_IF_ERROR(RequireQueue(tx, name, true));
    const int live = tx.exec_params(
                           "SELECT count(*)::int FROM calls WHERE queue = $1"
                           " AND state IN ('WAITING','OFFERED','CONNECTED')",
                           name)[0][0]
                         .as<int>();
    if (live > 0) {
      return FailedPrecondition("queue " + name + " has " + std::to_string(live) +
                                " live calls; delete it when they are done");
    }
    auto menus = tx.exec_params(
        "SELECT string_agg(DISTINCT menu, ', ') FROM ivr_actions WHERE queue = $1", name);
    if (!menus[0][0].is_null()) {
      return FailedPrecondition("queue " + name + " is a choice of menu " +
                                menus[0][0].as<std::string>() + "; change the menu first");
    }
    tx.exec_params("UPDATE queues SET overflow_queue = '' WHERE overflow_queue = $1", name);
    tx.exec_params("DELETE FROM agent_queue_memberships WHERE queue = $1", name);
    tx.exec_params("DELETE FROM queues WHERE name = $1", name);
    forget_queue(name);
    return OkStatus();
  });
}

namespace {
const std::string kMemberSelect =
    "SELECT m.queue, m.agent_id, m.position, a.display_name, a.status,"
    " EXISTS (SELECT 1 FROM agent_bindings b WHERE b.agent_id = a.id"
    "   AND b.expires_at > $1::timestamptz), a.active_calls"
    " FROM agent_queue_memberships m JOIN agents a ON a.id = m.agent_id ";

Member ReadMember(const pqxx::row& r) {
  Member m;
  m.queue = r[0].as<std::string>();
  m.agent_id = r[1].as<std::string>();
  m.position = r[2].as<int>();
  m.display_name = r[3].as<std::string>();
  m.status = AgentStatusFromString(r[4].as<std::string>()).value_or(AgentStatus::kLoggedOut);
  m.routable = r[5].as<bool>();
  m.active_calls = r[6].as<int>();
  return m;
}
}  // namespace

Result<Member> PgQueueRepository::set_member(const Member& m, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Member> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, m.queue));
    if (tx.exec_params("SELECT 1 FROM agents WHERE id = $1", m.agent_id).empty()) {
      return NotFound("agent '" + m.agent_id + "' not found");
    }
    tx.exec_params(
        "INSERT INTO agent_queue_memberships (agent_id, queue, position) VALUES ($1, $2, $3)"
        " ON CONFLICT (agent_id, queue) DO UPDATE SET position = EXCLUDED.position",
        m.agent_id, m.queue, m.position);
    auto r = tx.exec_params(kMemberSelect + "WHERE m.queue = $2 AND m.agent_id = $3", Ts(now),
                            m.queue, m.agent_id);
    return ReadMember(r[0]);
  });
}

Result<Member> PgQueueRepository::remove_member(const std::string& queue,
                                                const std::string& agent_id, TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Member> {
    auto r = tx.exec_params(kMemberSelect + "WHERE m.queue = $2 AND m.agent_id = $3", Ts(now),
                            queue, agent_id);
    if (r.empty()) {
      return NotFound("agent '" + agent_id + "' is not a member of queue '" + queue + "'");
    }
    tx.exec_params("DELETE FROM agent_queue_memberships WHERE queue = $1 AND agent_id = $2", queue,
                   agent_id);
    return ReadMember(r[0]);
  });
}

Result<std::vector<Member>> PgQueueRepository::list_members(const std::string& queue,
                                                            TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Member>> {
    CC_RETURN_IF_ERROR(RequireQueue(tx, queue));
    std::vector<Member> out;
    for (const auto& r : tx.exec_params(kMemberSelect + "WHERE m.queue = $2 ORDER BY m.position,"
                                                        " m.agent_id",
                                        Ts(now), queue)) {
      out.push_back(ReadMember(r));
    }
    return out;
  });
}

Result<DialplanEntry> PgQueueRepository::set_dialplan(const DialplanEntry& e) {
  return pool_.transact([&](pqxx::work& tx) -> Result<DialplanEntry> {
    if (e.menu.empty()) {
      CC_RETURN_IF_ERROR(RequireQueue(tx, e.queue));
    } else if (tx.exec_params("SELECT 1 FROM ivr_menus WHERE name = $1", e.menu).empty()) {
      return NotFound("menu '" + e.menu + "' not found");
    }
    const OpeningRule& o = e.opening;
    CC_RETURN_IF_ERROR(RequireMenu(tx, o.closed_menu));
    tx.exec_params(
        "INSERT INTO dialplan (pattern, queue, hours_time_zone, hours_weekly, hours_dates,"
        " closed_queue, closed_hangup_reason, closed_prompts, menu, closed_menu, closed_uri,"
        " closed_callback) VALUES ($1, NULLIF($2, ''), $3, $4::text[], $5::text[], $6, $7,"
        " $8::text[], NULLIF($9, ''), NULLIF($10, ''), $11, $12) ON CONFLICT (pattern) DO"
        " UPDATE SET (queue, hours_time_zone, hours_weekly, hours_dates, closed_queue,"
        " closed_hangup_reason, closed_prompts, menu, closed_menu, closed_uri, closed_callback)"
        " = (EXCLUDED.queue, EXCLUDED.hours_time_zone, EXCLUDED.hours_weekly,"
        " EXCLUDED.hours_dates, EXCLUDED.closed_queue, EXCLUDED.closed_hangup_reason,"
        " EXCLUDED.closed_prompts, EXCLUDED.menu, EXCLUDED.closed_menu, EXCLUDED.closed_uri,"
        " EXCLUDED.closed_callback)",
        e.pattern, e.queue, o.hours.time_zone, TextArray(o.hours.weekly), TextArray(o.hours.dates),
        o.closed_queue, o.closed_hangup_reason, TextArray(o.closed_prompts), e.menu, o.closed_menu,
        o.closed_uri, o.closed_callback);
    return e;
  });
}

Result<DialplanEntry> PgQueueRepository::delete_dialplan(const std::string& pattern) {
  return pool_.transact([&](pqxx::work& tx) -> Result<DialplanEntry> {
    auto r = tx.exec_params("DELETE FROM dialplan WHERE pattern = $1 RETURNING " + kDialplanColumns,
                            pattern);
    if (r.empty()) return NotFound("no dialplan entry '" + pattern + "'");
    return ReadDialplanEntry(r[0]);
  });
}

Result<std::vector<DialplanEntry>> PgQueueRepository::list_dialplan() {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<DialplanEntry>> {
    std::vector<DialplanEntry> out;
    for (const auto& r :
         tx.exec("SELECT " + kDialplanColumns + " FROM dialplan ORDER BY pattern")) {
      out.push_back(ReadDialplanEntry(r));
    }
    return out;
  });
}

Result<QueueConfig> PgQueueRepository::resolve(const std::string& dialed) {
  return pool_.transact([&](pqxx::work& tx) -> Result<QueueConfig> {
    auto r = tx.exec_params("SELECT queue, menu FROM dialplan WHERE pattern = $1", dialed);
    if (r.empty()) return NotFound("no dialplan entry for '" + dialed + "'");
    if (r[0][0].is_null()) {
      return FailedPrecondition("'" + dialed + "' leads to menu '" + r[0][1].as<std::string>() +
                                "', not to a queue");
    }
    return RequireQueue(tx, r[0][0].as<std::string>());
  });
}

}  // namespace cc::queue
