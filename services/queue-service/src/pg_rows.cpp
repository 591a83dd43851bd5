#include "pg_rows.h"

namespace cc::queue::pg {

std::string Ts(TimePoint t) {
  return FormatTime(t);
}
TimePoint Ms(const pqxx::field& f) {
  return FromUnixMillis(f.as<std::int64_t>());
}
std::optional<TimePoint> OptMs(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Ms(f);
}
std::string EpochMs(const std::string& column) {
  return "(extract(epoch from " + column + ") * 1000)::bigint";
}

std::vector<std::string> ParseTextArray(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
       std::tie(kind, value) = parser.get_next()) {
    if (kind == pqxx::array_parser::string_value) out.push_back(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Queues

// The six opening-rule columns (hours_time_zone, hours_weekly, hours_dates, closed_queue,
// closed_hangup_reason, closed_prompts) from `first` on, as queues and dialplan have them.
OpeningRule ReadOpeningRule(const pqxx::row& r, int first) {
  OpeningRule o;
  o.hours.time_zone = r[first].as<std::string>();
  o.hours.weekly = ParseTextArray(r[first + 1]);
  o.hours.dates = ParseTextArray(r[first + 2]);
  o.closed_queue = r[first + 3].as<std::string>();
  o.closed_hangup_reason = r[first + 4].as<std::string>();
  o.closed_prompts = ParseTextArray(r[first + 5]);
  return o;
}

Status RequireMenu(pqxx::work& tx, const std::string& name) {
  if (name.empty() || !tx.exec_params("SELECT 1 FROM ivr_menus WHERE name = $1", name).empty()) {
    return OkStatus();
  }
  return NotFound("menu '" + name + "' not found");
}

void ReadClosedDiversion(const pqxx::row& r, int first, OpeningRule& o) {
  o.closed_menu = r[first].as<std::string>();
  o.closed_uri = r[first + 1].as<std::string>();
  o.closed_callback = r[first + 2].as<bool>();
}

const std::string kQueueColumns =
    "name, display_name, strategy, answer_mode, ring_timeout_ms, max_wait_ms,"
    " max_waiting_calls, max_attempts, overflow_queue, overflow_hangup_reason,"
    " requeue_priority_boost, priority_aging_per_second, wrap_up_seconds,"
    " service_level_threshold_ms, no_answer_delay_ms, busy_delay_ms, reject_delay_ms,"
    " auto_pause_after_no_answers, weight, music_prompts, version, join_empty, leave_empty,"
    " reoffer_delay_ms, hours_time_zone, hours_weekly, hours_dates, closed_queue,"
    " closed_hangup_reason, closed_prompts, ann_greeting, ann_first_after_ms, ann_every_ms,"
    " ann_periodic, ann_position, ann_estimated_wait, ann_language, ann_all_busy, cb_enabled,"
    " cb_offer_after_ms, cb_key, cb_trunk, cb_ring_timeout_ms, cb_max_attempts,"
    " cb_retry_delay_ms, COALESCE(closed_menu, ''), closed_uri, closed_callback, recording,"
    " recording_retention_days";

QueueConfig ReadQueue(const pqxx::row& r) {
  QueueConfig q;
  q.name = r[0].as<std::string>();
  q.display_name = r[1].as<std::string>();
  q.strategy = StrategyFromString(r[2].as<std::string>()).value_or(Strategy::kLongestIdleAgent);
  q.answer_mode =
      AnswerModeFromString(r[3].as<std::string>()).value_or(AnswerMode::kAnswerImmediately);
  q.ring_timeout = Duration{r[4].as<int>()};
  q.max_wait = Duration{r[5].as<int>()};
  q.max_waiting_calls = r[6].as<int>();
  q.max_attempts = r[7].as<int>();
  q.overflow_queue = r[8].as<std::string>();
  q.overflow_hangup_reason = r[9].as<std::string>();
  q.requeue_priority_boost = r[10].as<int>();
  q.priority_aging_per_second = r[11].as<double>();
  q.wrap_up_seconds = r[12].as<int>();
  q.service_level_threshold = Duration{r[13].as<int>()};
  q.no_answer_delay = Duration{r[14].as<int>()};
  q.busy_delay = Duration{r[15].as<int>()};
  q.reject_delay = Duration{r[16].as<int>()};
  q.auto_pause_after_no_answers = r[17].as<int>();
  q.weight = r[18].as<int>();
  q.music_prompts = ParseTextArray(r[19]);
  q.version = r[20].as<std::int64_t>();
  q.join_empty =
      EmptyQueueRuleFromString(r[21].as<std::string>()).value_or(EmptyQueueRule::kRoutable);
  q.leave_empty =
      EmptyQueueRuleFromString(r[22].as<std::string>()).value_or(EmptyQueueRule::kRoutable);
  q.reoffer_delay = Duration{r[23].as<int>()};
  q.opening = ReadOpeningRule(r, 24);
  q.announce.greeting = ParseTextArray(r[30]);
  q.announce.first_after = Duration{r[31].as<int>()};
  q.announce.every = Duration{r[32].as<int>()};
  q.announce.periodic = ParseTextArray(r[33]);
  q.announce.position = r[34].as<bool>();
  q.announce.estimated_wait = r[35].as<bool>();
  q.announce.language = r[36].as<std::string>();
  q.announce.all_busy = r[37].as<bool>();
  q.callback.enabled = r[38].as<bool>();
  q.callback.offer_after = Duration{r[39].as<int>()};
  q.callback.key = r[40].as<std::string>();
  q.callback.trunk = r[41].as<std::string>();
  q.callback.ring_timeout = Duration{r[42].as<int>()};
  q.callback.max_attempts = r[43].as<int>();
  q.callback.retry_delay = Duration{r[44].as<int>()};
  ReadClosedDiversion(r, 45, q.opening);
  q.recording.mode = RecordingModeFrom(r[48].as<std::string>()).value_or(RecordingMode::kNever);
  q.recording.retention_days = r[49].as<int>();
  return q;
}

void LoadSkills(pqxx::work& tx, std::map<std::string, QueueConfig>& queues) {
  if (queues.empty()) return;
  std::vector<std::string> names;
  for (auto& [n, q] : queues) {
    q.required_skills.clear();
    names.push_back(n);
  }
  for (const auto& r : tx.exec_params("SELECT queue, skill, min_level FROM queue_required_skills"
                                      " WHERE queue = ANY($1::text[]) ORDER BY queue, skill",
                                      TextArray(names))) {
    queues[r[0].as<std::string>()].required_skills.push_back(
        {r[1].as<std::string>(), r[2].as<int>()});
  }
}

std::optional<QueueConfig> LoadQueue(pqxx::work& tx, const std::string& name, bool lock) {
  auto rows = tx.exec_params(
      "SELECT " + kQueueColumns + " FROM queues WHERE name = $1" + (lock ? " FOR UPDATE" : ""),
      name);
  if (rows.empty()) return std::nullopt;
  std::map<std::string, QueueConfig> one{{name, ReadQueue(rows[0])}};
  LoadSkills(tx, one);
  return std::move(one.begin()->second);
}

Result<QueueConfig> RequireQueue(pqxx::work& tx, const std::string& name, bool lock) {
  auto q = LoadQueue(tx, name, lock);
  if (!q) return NotFound("queue '" + name + "' not found");
  return std::move(*q);
}

void WriteQueue(pqxx::work& tx, const QueueConfig& q, bool insert, TimePoint now) {
  // $1 is the name; the others in the order of these columns.
  static const std::string kSettable =
      "display_name, strategy, answer_mode, ring_timeout_ms, max_wait_ms, max_waiting_calls,"
      " max_attempts, overflow_queue, overflow_hangup_reason, requeue_priority_boost,"
      " priority_aging_per_second, wrap_up_seconds, service_level_threshold_ms,"
      " no_answer_delay_ms, busy_delay_ms, reject_delay_ms, auto_pause_after_no_answers, weight,"
      " music_prompts, join_empty, leave_empty, reoffer_delay_ms, hours_time_zone, hours_weekly,"
      " hours_dates, closed_queue, closed_hangup_reason, closed_prompts, ann_greeting,"
      " ann_first_after_ms, ann_every_ms, ann_periodic, ann_position, ann_estimated_wait,"
      " ann_language, ann_all_busy";
  static const std::string kValues =
      "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
      " $20::text[], $21, $22, $23, $24, $25::text[], $26::text[], $27, $28, $29::text[],"
      " $30::text[], $31, $32, $33::text[], $34, $35, $36, $37";
  const std::string sql =
      insert ? "INSERT INTO queues (name, " + kSettable + ", created_at, updated_at) VALUES ($1, " +
                   kValues + ", $38::timestamptz, $38::timestamptz)"
             : "UPDATE queues SET (" + kSettable + ", version, updated_at) = (" + kValues +
                   ", version + 1, $38::timestamptz) WHERE name = $1";
  tx.exec_params(
      sql, q.name, q.display_name, std::string(ToString(q.strategy)),
      std::string(ToString(q.answer_mode)), static_cast<int>(q.ring_timeout.count()),
      static_cast<int>(q.max_wait.count()), q.max_waiting_calls, q.max_attempts, q.overflow_queue,
      q.overflow_hangup_reason, q.requeue_priority_boost, q.priority_aging_per_second,
      q.wrap_up_seconds, static_cast<int>(q.service_level_threshold.count()),
      static_cast<int>(q.no_answer_delay.count()), static_cast<int>(q.busy_delay.count()),
      static_cast<int>(q.reject_delay.count()), q.auto_pause_after_no_answers, q.weight,
      TextArray(q.music_prompts), std::string(ToString(q.join_empty)),
      std::string(ToString(q.leave_empty)), static_cast<int>(q.reoffer_delay.count()),
      q.opening.hours.time_zone, TextArray(q.opening.hours.weekly),
      TextArray(q.opening.hours.dates), q.opening.closed_queue, q.opening.closed_hangup_reason,
      TextArray(q.opening.closed_prompts), TextArray(q.announce.greeting),
      static_cast<int>(q.announce.first_after.count()), static_cast<int>(q.announce.every.count()),
      TextArray(q.announce.periodic), q.announce.position, q.announce.estimated_wait,
      q.announce.language, q.announce.all_busy, Ts(now));
  const CallbackPolicy& cb = q.callback;
  tx.exec_params(
      "UPDATE queues SET (cb_enabled, cb_offer_after_ms, cb_key, cb_trunk, cb_ring_timeout_ms,"
      " cb_max_attempts, cb_retry_delay_ms, closed_menu, closed_uri, closed_callback) = ($2, $3,"
      " $4, $5, $6, $7, $8, NULLIF($9, ''), $10, $11) WHERE name = $1",
      q.name, cb.enabled, static_cast<int>(cb.offer_after.count()), cb.key, cb.trunk,
      static_cast<int>(cb.ring_timeout.count()), cb.max_attempts,
      static_cast<int>(cb.retry_delay.count()), q.opening.closed_menu, q.opening.closed_uri,
      q.opening.closed_callback);
  tx.exec_params(
      "UPDATE queues SET (recording, recording_retention_days) = ($2, $3) WHERE name = $1", q.name,
      std::string(ToString(q.recording.mode)), q.recording.retention_days);
  tx.exec_params("DELETE FROM queue_required_skills WHERE queue = $1", q.name);
  for (const auto& s : q.required_skills) {
    tx.exec_params("INSERT INTO queue_required_skills (queue, skill, min_level) VALUES ($1,$2,$3)",
                   q.name, s.name, s.min_level);
  }
}

// ---------------------------------------------------------------------------------------
// Dialplan

const std::string kDialplanColumns =
    "pattern, COALESCE(queue, ''), hours_time_zone, hours_weekly, hours_dates, closed_queue,"
    " closed_hangup_reason, closed_prompts, COALESCE(menu, ''), COALESCE(closed_menu, ''),"
    " closed_uri, closed_callback";

DialplanEntry ReadDialplanEntry(const pqxx::row& r) {
  DialplanEntry e;
  e.pattern = r[0].as<std::string>();
  e.queue = r[1].as<std::string>();
  e.opening = ReadOpeningRule(r, 2);
  e.menu = r[8].as<std::string>();
  ReadClosedDiversion(r, 9, e.opening);
  return e;
}

std::optional<DialplanEntry> LoadDialplanEntry(pqxx::work& tx, const std::string& pattern) {
  auto r =
      tx.exec_params("SELECT " + kDialplanColumns + " FROM dialplan WHERE pattern = $1", pattern);
  if (r.empty()) return std::nullopt;
  return ReadDialplanEntry(r[0]);
}

// ---------------------------------------------------------------------------------------
// Calls

std::vector<std::string> DataArray(const std::map<std::string, std::string>& data) {
  std::vector<std::string> out;
  for (const auto& [k, v] : data) out.push_back(k + "=" + v);
  return out;
}

std::map<std::string, std::string> ParseData(const pqxx::field& f) {
  std::map<std::string, std::string> out;
  for (const auto& kv : ParseTextArray(f)) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> SkillArray(const std::vector<RequiredSkill>& skills) {
  std::vector<std::string> out;
  for (const auto& s : skills) out.push_back(s.name + ":" + std::to_string(s.min_level));
  return out;
}

std::vector<RequiredSkill> ParseSkills(const pqxx::field& f) {
  std::vector<RequiredSkill> out;
  for (const auto& s : ParseTextArray(f)) {
    const auto colon = s.find(':');
    if (colon == std::string::npos) continue;
    out.push_back({s.substr(0, colon), std::atoi(s.c_str() + colon + 1)});
  }
  return out;
}

const std::string kCallColumns =
    "id, queue, caller, priority, state, edge_id, COALESCE(agent_id, ''), attempts, " +
    EpochMs("enqueued_at") + ", " + EpochMs("queue_entered_at") + ", " + EpochMs("offered_at") +
    ", " + EpochMs("connected_at") + ", " + EpochMs("ended_at") +
    ", outcome_reason, overflowed_from, COALESCE(assignment_id, 0), data, extra_skills,"
    " language, callback_number, callback_attempts";

Call ReadCall(const pqxx::row& r) {
  Call c;
  c.id = r[0].as<std::string>();
  c.queue = r[1].as<std::string>();
  c.caller = r[2].as<std::string>();
  c.priority = r[3].as<int>();
  c.state = CallStateFromString(r[4].as<std::string>()).value_or(CallState::kFailed);
  c.edge_id = r[5].as<std::string>();
  c.agent_id = r[6].as<std::string>();
  c.attempts = r[7].as<int>();
  c.enqueued_at = Ms(r[8]);
  c.queue_entered_at = Ms(r[9]);
  c.offered_at = OptMs(r[10]);
  c.connected_at = OptMs(r[11]);
  c.ended_at = OptMs(r[12]);
  c.outcome_reason = r[13].as<std::string>();
  c.overflowed_from = r[14].as<std::string>();
  c.assignment_id = r[15].as<std::int64_t>();
  c.data = ParseData(r[16]);
  c.skills = ParseSkills(r[17]);
  c.language = r[18].as<std::string>();
  c.callback_number = r[19].as<std::string>();
  c.callback_attempts = r[20].as<int>();
  return c;
}

std::optional<Call> LoadCall(pqxx::work& tx, const std::string& id, bool lock) {
  auto rows = tx.exec_params(
      "SELECT " + kCallColumns + " FROM calls WHERE id = $1" + (lock ? " FOR UPDATE" : ""), id);
  if (rows.empty()) return std::nullopt;
  return ReadCall(rows[0]);
}

Call ReloadCall(pqxx::work& tx, const std::string& id) {
  return *LoadCall(tx, id, false);
}

CallEvent Event(CallEventKind kind, const Call& call, std::string reason) {
  return CallEvent{kind, call, std::move(reason)};
}

// ---------------------------------------------------------------------------------------
// Assignments

std::optional<AssignmentRow> LockAssignment(pqxx::work& tx, std::int64_t id, bool skip_locked) {
  auto r = tx.exec_params("SELECT id, call_id, agent_id, queue, state, " + EpochMs("connected_at") +
                              " FROM assignments WHERE id = $1 FOR UPDATE" +
                              (skip_locked ? " SKIP LOCKED" : ""),
                          id);
  if (r.empty()) return std::nullopt;
  return AssignmentRow{r[0][0].as<std::int64_t>(), r[0][1].as<std::string>(),
                       r[0][2].as<std::string>(),  r[0][3].as<std::string>(),
                       r[0][4].as<std::string>(),  OptMs(r[0][5])};
}

Result<AssignmentRow> RequireAssignment(pqxx::work& tx, std::int64_t id,
                                        const std::string& call_id) {
  auto a = LockAssignment(tx, id);
  if (!a) return NotFound("assignment " + std::to_string(id) + " not found");
  if (a->call_id != call_id) {
    return InvalidArgument("assignment " + std::to_string(id) + " belongs to call " + a->call_id +
                           ", not " + call_id);
  }
  return std::move(*a);
}

std::optional<AssignmentRow> LockLiveAssignment(pqxx::work& tx, const std::string& call_id,
                                                bool skip_locked) {
  auto row = tx.exec_params(
      "SELECT id FROM assignments WHERE call_id = $1 AND state IN ('OFFERED','CONNECTED')",
      call_id);
  if (row.empty()) return std::nullopt;
  return LockAssignment(tx, row[0][0].as<std::int64_t>(), skip_locked);
}

// ---------------------------------------------------------------------------------------
// Agents

std::optional<AgentRow> LockAgent(pqxx::work& tx, const std::string& id) {
  auto r = tx.exec_params(
      "SELECT id, status, active_calls, max_calls, wrap_up_seconds, consecutive_no_answers"
      " FROM agents WHERE id = $1 FOR UPDATE",
      id);
  if (r.empty()) return std::nullopt;
  return AgentRow{
      r[0][0].as<std::string>(),
      AgentStatusFromString(r[0][1].as<std::string>()).value_or(AgentStatus::kLoggedOut),
      r[0][2].as<int>(),
      r[0][3].as<int>(),
      r[0][4].as<int>(),
      r[0][5].as<int>()};
}

}  // namespace cc::queue::pg
