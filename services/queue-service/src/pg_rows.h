#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/pg.h"
#include "queue_service/model.h"
#include "queue_service/repository.h"

// Rows of the queue-service's tables as domain values, and the small conversions every
// section of the repository uses. Private to the repository (src/).
namespace cc::queue::pg {

std::string Ts(TimePoint t);         // a timestamptz parameter
TimePoint Ms(const pqxx::field& f);  // from a column read as epoch milliseconds
std::optional<TimePoint> OptMs(const pqxx::field& f);
std::string EpochMs(const std::string& column);  // SQL reading `column` as epoch ms
std::vector<std::string> ParseTextArray(const pqxx::field& f);

// Queues.
extern const std::string kQueueColumns;
QueueConfig ReadQueue(const pqxx::row& r);
// Fills required_skills of every queue in `queues`.
void LoadSkills(pqxx::work& tx, std::map<std::string, QueueConfig>& queues);
std::optional<QueueConfig> LoadQueue(pqxx::work& tx, const std::string& name, bool lock = false);
Result<QueueConfig> RequireQueue(pqxx::work& tx, const std::string& name, bool lock = false);
void WriteQueue(pqxx::work& tx, const QueueConfig& q, bool insert, TimePoint now);

// The opening-rule columns queues and the dialplan share, from column `first` on.
OpeningRule ReadOpeningRule(const pqxx::row& r, int first);
// The closed actions the edge carries out (closed_menu, closed_uri, closed_callback).
void ReadClosedDiversion(const pqxx::row& r, int first, OpeningRule& o);

// A menu a closed action names ("" passes): NOT_FOUND if it is not stored.
Status RequireMenu(pqxx::work& tx, const std::string& name);

// Dialplan entries.
extern const std::string kDialplanColumns;
DialplanEntry ReadDialplanEntry(const pqxx::row& r);
std::optional<DialplanEntry> LoadDialplanEntry(pqxx::work& tx, const std::string& pattern);

// Calls.
extern const std::string kCallColumns;
// An IVR menu's data ("name=value") and skills ("name:min_level") as the calls table keeps them.
std::vector<std::string> DataArray(const std::map<std::string, std::string>& data);
std::map<std::string, std::string> ParseData(const pqxx::field& f);
std::vector<std::string> SkillArray(const std::vector<RequiredSkill>& skills);
std::vector<RequiredSkill> ParseSkills(const pqxx::field& f);
Call ReadCall(const pqxx::row& r);
std::optional<Call> LoadCall(pqxx::work& tx, const std::string& id, bool lock);
Call ReloadCall(pqxx::work& tx, const std::string& id);
CallEvent Event(CallEventKind kind, const Call& call, std::string reason = "");

// Assignments (offers).
struct AssignmentRow {
  std::int64_t id = 0;
  std::string call_id;
  std::string agent_id;
  std::string queue;
  std::string state;
  std::optional<TimePoint> connected_at;
};
std::optional<AssignmentRow> LockAssignment(pqxx::work& tx, std::int64_t id,
                                            bool skip_locked = false);
// The assignment of a report, checked to belong to `call_id`.
Result<AssignmentRow> RequireAssignment(pqxx::work& tx, std::int64_t id,
                                        const std::string& call_id);
// The call's live (OFFERED or CONNECTED) assignment, locked.
std::optional<AssignmentRow> LockLiveAssignment(pqxx::work& tx, const std::string& call_id,
                                                bool skip_locked = false);

// Agents, as the rules read them under lock.
struct AgentRow {
  std::string id;
  AgentStatus status = AgentStatus::kLoggedOut;
  int active_calls = 0;
  int max_calls = 1;
  int wrap_up_seconds = 0;
  int consecutive_no_answers = 0;
};
std::optional<AgentRow> LockAgent(pqxx::work& tx, const std::string& id);

// The monitoring sessions of a call, oldest first (pg_monitoring.cpp).
std::vector<MonitorSession> LoadMonitors(pqxx::work& tx, const std::string& call_id);
// The recordings of a call, oldest first (pg_recordings.cpp).
std::vector<RecordingRecord> LoadRecordings(pqxx::work& tx, const std::string& call_id);

}  // namespace cc::queue::pg
