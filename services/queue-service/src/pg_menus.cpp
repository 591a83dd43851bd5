// IVR menus: import (a batch, checked against the stored menus and queues, all or nothing),
// reads, and deletion while nothing leads to the menu.
#include <set>

#include "pg_rows.h"
#include "queue_service/pg_repository.h"

namespace cc::queue {

using namespace pg;

namespace {

const std::string kMenuColumns =
    "name, prompts, timeout_ms, max_attempts, invalid_prompts, timeout_prompts, language,"
    " collect_name, collect_min, collect_max, collect_terminator, collect_timeout_ms, version";
const std::string kActionColumns =
    "menu, slot, kind, COALESCE(queue, ''), COALESCE(target_menu, ''), priority, skills,"
    " language_skill, prompts, reason, uri, language";

MenuAction ReadAction(const pqxx::row& r) {
  MenuAction a;
  a.kind = MenuActionKindFromString(r[2].as<std::string>()).value_or(MenuAction::Kind::kNone);
  a.queue = r[3].as<std::string>();
  a.menu = r[4].as<std::string>();
  a.priority = r[5].as<int>();
  a.skills = ParseSkills(r[6]);
  a.language_skill = r[7].as<bool>();
  a.prompts = ParseTextArray(r[8]);
  a.reason = r[9].as<std::string>();
  a.uri = r[10].as<std::string>();
  a.language = r[11].as<std::string>();
  return a;
}

// The menus named (all when `names` is empty), with their actions.
std::map<std::string, Menu> LoadMenus(pqxx::work& tx, const std::vector<std::string>& names) {
  std::map<std::string, Menu> out;
  const std::string all = names.empty() ? "true" : "false";
  for (const auto& r : tx.exec_params(
           "SELECT " + kMenuColumns + " FROM ivr_menus WHERE " + all + " OR name = ANY($1::text[])",
           TextArray(names))) {
    Menu m;
    m.name = r[0].as<std::string>();
    m.prompts = ParseTextArray(r[1]);
    m.timeout = Duration{r[2].as<int>()};
    m.max_attempts = r[3].as<int>();
    m.invalid_prompts = ParseTextArray(r[4]);
    m.timeout_prompts = ParseTextArray(r[5]);
    m.language = r[6].as<std::string>();
    if (!r[7].as<std::string>().empty()) {
      DigitCollection c;
      c.name = r[7].as<std::string>();
      c.min_digits = r[8].as<int>();
      c.max_digits = r[9].as<int>();
      c.terminator = r[10].as<std::string>();
      c.digit_timeout = Duration{r[11].as<int>()};
      m.collect = c;
    }
    m.version = r[12].as<std::int64_t>();
    out[m.name] = std::move(m);
  }
  for (const auto& r : tx.exec_params("SELECT " + kActionColumns + " FROM ivr_actions WHERE " +
                                          all + " OR menu = ANY($1::text[])",
                                      TextArray(names))) {
    auto it = out.find(r[0].as<std::string>());
    if (it == out.end()) continue;
    const std::string slot = r[1].as<std::string>();
    MenuAction a = ReadAction(r);
    if (slot == "failure") {
      it->second.on_failure = std::move(a);
    } else if (slot == "then") {
      if (it->second.collect) it->second.collect->then = std::move(a);
    } else {
      it->second.options[slot] = std::move(a);
    }
  }
  return out;
}

void WriteAction(pqxx::work& tx, const std::string& menu, const std::string& slot,
                 const MenuAction& a) {
  tx.exec_params(
      "INSERT INTO ivr_actions (menu, slot, kind, queue, target_menu, priority, skills,"
      " language_skill, prompts, reason, uri, language) VALUES ($1, $2, $3, NULLIF($4, ''),"
      " NULLIF($5, ''), $6, $7::text[], $8, $9::text[], $10, $11, $12)",
      menu, slot, std::string(ToString(a.kind)),
      a.kind == MenuAction::Kind::kQueue || a.kind == MenuAction::Kind::kCallback ? a.queue : "",
      a.kind == MenuAction::Kind::kMenu ? a.menu : "", a.priority, TextArray(SkillArray(a.skills)),
      a.language_skill, TextArray(a.prompts), a.reason, a.uri, a.language);
}

// The queues the batch's actions name, each checked to exist.
Status RequireQueues(pqxx::work& tx, const std::vector<Menu>& menus) {
  std::set<std::string> known;
  for (const auto& r : tx.exec("SELECT name FROM queues")) known.insert(r[0].as<std::string>());
  auto check = [&](const Menu& m, const std::string& slot, const MenuAction& a) -> Status {
    const bool names_queue =
        a.kind == MenuAction::Kind::kQueue || a.kind == MenuAction::Kind::kCallback;
    if (!names_queue || known.count(a.queue)) return OkStatus();
    return NotFound("menu '" + m.name + "' " + slot + ": queue '" + a.queue + "' not found");
  };
  for (const auto& m : menus) {
    for (const auto& [key, a] : m.options) CC_RETURN_IF_ERROR(check(m, "key '" + key + "'", a));
    if (m.collect) CC_RETURN_IF_ERROR(check(m, "collect then", m.collect->then));
    CC_RETURN_IF_ERROR(check(m, "on_failure", m.on_failure));
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<Menu>> PgQueueRepository::import_menus(const std::vector<Menu>& menus,
                                                          TimePoint now) {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Menu>> {
    // One import at a time: the references are checked against what is stored.
    tx.exec("LOCK TABLE ivr_menus IN SHARE ROW EXCLUSIVE MODE");
    std::vector<std::string> existing;
    for (const auto& r : tx.exec("SELECT name FROM ivr_menus")) {
      existing.push_back(r[0].as<std::string>());
    }
    CC_RETURN_IF_ERROR(ValidateMenus(menus, existing));
    CC_RETURN_IF_ERROR(RequireQueues(tx, menus));
    std::vector<std::string> names;
    for (const Menu& m : menus) {
      names.push_back(m.name);
      const DigitCollection c = m.collect.value_or(DigitCollection{});
      tx.exec_params(
          "INSERT INTO ivr_menus (" + kMenuColumns +
              ", updated_at) VALUES ($1, $2::text[], $3, $4, $5::text[], $6::text[], $7, $8, $9,"
              " $10, $11, $12, 1, $13::timestamptz) ON CONFLICT (name) DO UPDATE SET (prompts,"
              " timeout_ms, max_attempts, invalid_prompts, timeout_prompts, language,"
              " collect_name, collect_min, collect_max, collect_terminator, collect_timeout_ms,"
              " version, updated_at) = (EXCLUDED.prompts, EXCLUDED.timeout_ms,"
              " EXCLUDED.max_attempts, EXCLUDED.invalid_prompts, EXCLUDED.timeout_prompts,"
              " EXCLUDED.language, EXCLUDED.collect_name, EXCLUDED.collect_min,"
              " EXCLUDED.collect_max, EXCLUDED.collect_terminator, EXCLUDED.collect_timeout_ms,"
              " ivr_menus.version + 1, EXCLUDED.updated_at)",
          m.name, TextArray(m.prompts), static_cast<int>(m.timeout.count()), m.max_attempts,
          TextArray(m.invalid_prompts), TextArray(m.timeout_prompts), m.language,
          m.collect ? c.name : "", c.min_digits, c.max_digits, c.terminator,
          static_cast<int>(c.digit_timeout.count()), Ts(now));
      tx.exec_params("DELETE FROM ivr_actions WHERE menu = $1", m.name);
      for (const auto& [key, a] : m.options) WriteAction(tx, m.name, key, a);
      if (m.collect) WriteAction(tx, m.name, "then", m.collect->then);
      WriteAction(tx, m.name, "failure", m.on_failure);
    }
    auto stored = LoadMenus(tx, names);
    std::vector<Menu> out;
    for (const auto& n : names) out.push_back(stored.at(n));
    return out;
  });
}

Result<Menu> PgQueueRepository::get_menu(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) -> Result<Menu> {
    auto menus = LoadMenus(tx, {name});
    if (menus.empty()) return NotFound("menu '" + name + "' not found");
    return menus.begin()->second;
  });
}

Result<std::vector<Menu>> PgQueueRepository::list_menus() {
  return pool_.transact([&](pqxx::work& tx) -> Result<std::vector<Menu>> {
    std::vector<Menu> out;
    for (auto& [name, m] : LoadMenus(tx, {})) out.push_back(std::move(m));
    return out;
  });
}

Status PgQueueRepository::delete_menu(const std::string& name) {
  return pool_.transact([&](pqxx::work& tx) -> Status {
    tx.exec("LOCK TABLE ivr_menus IN SHARE ROW EXCLUSIVE MODE");
    if (tx.exec_params("SELECT 1 FROM ivr_menus WHERE name = $1", name).empty()) {
      return NotFound("menu '" + name + "' not found");
    }
    auto numbers = tx.exec_params(
        "SELECT string_agg(pattern, ', ' ORDER BY pattern) FROM dialplan WHERE menu = $1", name);
    if (!numbers[0][0].is_null()) {
      return FailedPrecondition("menu " + name + " is where number(s) " +
                                numbers[0][0].as<std::string>() +
                                " lead; change the dialplan first");
    }
    auto closed = tx.exec_params(
        "SELECT string_agg(x, ', ') FROM (SELECT 'queue ' || name AS x FROM queues WHERE"
        " closed_menu = $1 UNION ALL SELECT 'number ' || pattern FROM dialplan WHERE"
        " closed_menu = $1) used",
        name);
    if (!closed[0][0].is_null()) {
      return FailedPrecondition("menu " + name + " is the closed action of " +
                                closed[0][0].as<std::string>() + "; change that first");
    }
    auto menus = tx.exec_params(
        "SELECT string_agg(DISTINCT menu, ', ') FROM ivr_actions WHERE target_menu = $1"
        " AND menu <> $1",
        name);
    if (!menus[0][0].is_null()) {
      return FailedPrecondition("menu " + name + " is a choice of menu " +
                                menus[0][0].as<std::string>() + "; change that menu first");
    }
    tx.exec_params("DELETE FROM ivr_menus WHERE name = $1", name);
    return OkStatus();
  });
}

// The menus a dialled number's menu leads to, for the edge to run (pg_calls.cpp).
std::vector<Menu> PgQueueRepository::menus_from(pqxx::work& tx, const std::string& entry) {
  std::vector<std::string> names;
  for (const auto& r : tx.exec_params(
           "WITH RECURSIVE reach (name) AS (SELECT $1::text UNION SELECT a.target_menu FROM"
           " ivr_actions a JOIN reach ON a.menu = reach.name WHERE a.target_menu IS NOT NULL)"
           " SELECT name FROM reach",
           entry)) {
    names.push_back(r[0].as<std::string>());
  }
  return ReachableMenus(entry, LoadMenus(tx, names));
}

}  // namespace cc::queue
