#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/agent_status.h"
#include "common/clock.h"
#include "common/menu.h"
#include "queue_service/opening_hours.h"

// The queue-service's domain vocabulary. No protobuf here: adapters convert at the edge.
namespace cc::queue {

enum class Strategy {
  kLongestIdleAgent,
  kRoundRobin,
  kFewestCalls,
  kLeastTalkTime,
  kRandom,
  kTopDown,
  kSkillsBased,
};
std::string_view ToString(Strategy s);
std::optional<Strategy> StrategyFromString(std::string_view s);

enum class AnswerMode { kAnswerImmediately, kRingUntilAgent, kEarlyMedia };
std::string_view ToString(AnswerMode m);
std::optional<AnswerMode> AnswerModeFromString(std::string_view s);

// Whether callers join (or stay in) a queue when nobody could answer them (Asterisk's
// joinempty / leaveempty). kRoutable: a member logged in with a live registration;
// kLoggedIn: a member logged in; kAlways: no condition.
enum class EmptyQueueRule { kRoutable, kLoggedIn, kAlways };
std::string_view ToString(EmptyQueueRule r);
std::optional<EmptyQueueRule> EmptyQueueRuleFromString(std::string_view s);

enum class CallState {
  kWaiting,
  kOffered,
  kConnected,
  kEnded,
  kAbandoned,
  kTimedOut,
  kOverflowed,
  kFailed
};
std::string_view ToString(CallState s);
std::optional<CallState> CallStateFromString(std::string_view s);
bool IsTerminal(CallState s);

// Why an agent did not take an offered call.
enum class OfferFailure { kNoAnswer, kBusy, kRejected, kUnreachable, kCallbackUnanswered };
std::string_view ToString(OfferFailure f);

using cc::RequiredSkill;

// What a waiting caller hears besides the music: a greeting on entry, and every `every`
// (after `first_after`) the periodic prompts with the caller's position and estimated wait.
struct Announcements {
  std::vector<std::string> greeting;
  Duration first_after{30000};
  Duration every{0};  // 0: no periodic announcements
  std::vector<std::string> periodic;
  bool position = false;
  bool estimated_wait = false;
  std::string language = "en";
  bool all_busy = false;  // "all agents are busy" when nobody of the queue is free
  bool operator==(const Announcements&) const = default;
};

// The callback that keeps the caller's place (see the Callback message).
struct CallbackPolicy {
  bool enabled = false;
  Duration offer_after{0};  // 0: not offered in announcements (the key still works)
  std::string key = "1";
  std::string trunk;  // "host:port"; empty: the edge's own outbound proxy
  Duration ring_timeout{30000};
  int max_attempts = 3;
  Duration retry_delay{60000};
  bool operator==(const CallbackPolicy&) const = default;
};

// Whether a queue's calls are recorded, and how long the files are kept (0 days: for ever).
enum class RecordingMode { kNever, kAlways, kOnDemand };
std::string_view ToString(RecordingMode m);
std::optional<RecordingMode> RecordingModeFrom(std::string_view s);
struct RecordingPolicy {
  RecordingMode mode = RecordingMode::kNever;
  int retention_days = 0;
  bool operator==(const RecordingPolicy&) const = default;
};

struct QueueConfig {
  std::string name;
  std::string display_name;
  Strategy strategy = Strategy::kLongestIdleAgent;
  AnswerMode answer_mode = AnswerMode::kAnswerImmediately;
  Duration ring_timeout{20000};
  Duration max_wait{0};        // 0 = no limit
  int max_waiting_calls = 0;   // 0 = no limit
  int max_attempts = 0;        // 0 = no limit
  std::string overflow_queue;  // at most one of these two
  std::string overflow_hangup_reason;
  int requeue_priority_boost = 0;
  double priority_aging_per_second = 0;
  int wrap_up_seconds = -1;  // -1 = each agent's own
  std::vector<RequiredSkill> required_skills;
  Duration service_level_threshold{20000};
  Duration no_answer_delay{0};
  Duration busy_delay{0};
  Duration reject_delay{0};
  int auto_pause_after_no_answers = 0;  // 0 = never
  int weight = 1;                       // queue priority for agents serving several queues
  std::vector<std::string> music_prompts;
  EmptyQueueRule join_empty = EmptyQueueRule::kRoutable;
  EmptyQueueRule leave_empty = EmptyQueueRule::kRoutable;
  // The agent whose phone just failed an offer gets the same call again only after this
  // long; any other agent may take it at once.
  Duration reoffer_delay{5000};
  OpeningRule opening;  // when callers are taken (no hours: always), and what if not
  Announcements announce;
  CallbackPolicy callback;
  RecordingPolicy recording;
  std::int64_t version = 0;
  bool has_overflow() const { return !overflow_queue.empty() || !overflow_hangup_reason.empty(); }
};

struct Call {
  std::string id;
  std::string queue;
  std::string caller;
  int priority = 0;
  CallState state = CallState::kWaiting;
  std::string edge_id;
  std::string agent_id;
  int attempts = 0;
  TimePoint enqueued_at{};
  TimePoint queue_entered_at{};
  std::optional<TimePoint> offered_at, connected_at, ended_at;
  std::string outcome_reason;
  std::string overflowed_from;
  std::int64_t assignment_id = 0;
  // What an IVR menu gathered on the way in.
  std::map<std::string, std::string> data = {};  // collected digits by name
  std::vector<RequiredSkill> skills = {};        // required besides the queue's
  std::string language = {};
  std::string callback_number = {};  // set: to be called back (no edge holds the call)
  int callback_attempts = 0;
};

// A registration of the agent's phone the offer rings (the edge calls the contact, routed
// to the address the REGISTER came from).
struct OfferBinding {
  std::string contact_uri;
  std::string source_address;
  int source_port = 0;
  bool tcp = false;  // TCP or TLS
  bool tls = false;
};

// A blind transfer of a connected call (see TransferCallRequest in the proto).
enum class TransferFallback { kReturnToAgent, kQueue };
struct TransferRequest {
  std::string call_id;
  std::int64_t assignment_id = 0;  // 0: whichever leg is connected
  std::string to_queue;            // exactly one of the three
  std::string to_agent;
  std::string to_number;  // the dialplan's number, or an agent's id or SIP user
  TransferFallback on_failure = TransferFallback::kReturnToAgent;
  std::string requested_by;  // who asked: an API identity, or "phone of AGENT"
};

enum class TransferResult { kPending, kCompleted, kReturned, kFailed };
struct Transfer {
  std::int64_t id = 0;
  std::string call_id;
  std::int64_t from_assignment = 0;
  std::string from_agent;
  std::string from_queue;
  std::string to_queue;  // one of the two
  std::string to_agent;
  TransferFallback on_failure = TransferFallback::kReturnToAgent;
  std::string requested_by;
  TimePoint requested_at{};
  TransferResult result = TransferResult::kPending;
  std::string taken_by;
  std::optional<TimePoint> finished_at;
  std::string detail;
};

// One offer of a call to an agent, as recorded.
struct AgentLegRecord {
  std::int64_t assignment_id = 0;
  std::string agent_id;
  std::string queue;
  std::string state;
  TimePoint offered_at{};
  std::optional<TimePoint> connected_at, ended_at;
  std::string outcome;
};

// Supervisors in calls: listen (hears both, heard by nobody), whisper (heard by the agent
// alone), barge (everyone hears everyone).
enum class MonitorMode { kListen, kWhisper, kBarge };
std::string_view ToString(MonitorMode m);
std::optional<MonitorMode> MonitorModeFrom(std::string_view s);

struct MonitorModeChange {
  TimePoint at{};
  MonitorMode mode = MonitorMode::kListen;
};

struct MonitorSession {
  std::int64_t id = 0;
  std::string call_id;
  std::string queue;
  std::string supervisor_id;
  std::string agent_id;
  std::string edge_id;
  MonitorMode mode = MonitorMode::kListen;
  std::string requested_by;
  TimePoint started_at{};
  std::optional<TimePoint> answered_at, ended_at;
  std::string end_reason;
  std::vector<MonitorModeChange> modes;
};

struct MonitorRequest {
  std::string call_id;
  std::string supervisor_id;
  MonitorMode mode = MonitorMode::kListen;
  std::string requested_by;
};

// What the edge holding the call is told: ring the supervisor and mix it in, change the
// mode, or stop.
struct MonitorOrder {
  std::int64_t session_id = 0;
  std::string call_id;
  std::string supervisor_id;
  std::string edge_id;
  MonitorMode mode = MonitorMode::kListen;
  bool stop = false;
  std::vector<OfferBinding> bindings;  // a new session: the supervisor's phones
  Duration ring_timeout{30000};
};

// Recording control of a connected call, carried out by the edge holding it.
enum class RecordingAction { kStart, kPause, kResume, kStop };
std::string_view ToString(RecordingAction a);
struct RecordOrder {
  std::string call_id;
  std::string edge_id;
  RecordingAction action = RecordingAction::kStart;
  int retention_days = 0;
  std::string requested_by;
};

// What the edge reports of a recording (START/PAUSE/RESUME/STOP, each idempotent).
struct RecordingReport {
  std::string call_id;
  std::int64_t assignment_id = 0;
  std::string path;
  RecordingAction event = RecordingAction::kStart;
  std::uint64_t bytes = 0;
  std::string keep_until = {};  // YYYY-MM-DD or ""
  std::string started_by = {};
};

struct RecordingPause {
  TimePoint paused_at{};
  std::optional<TimePoint> resumed_at;
};

// A recording of one agent leg, as its metadata keeps it.
struct RecordingRecord {
  std::int64_t id = 0;
  std::string call_id;
  std::int64_t assignment_id = 0;
  std::string agent_id;
  std::string queue;
  std::string path;
  TimePoint started_at{};
  std::optional<TimePoint> ended_at;
  std::uint64_t bytes = 0;
  std::string keep_until;
  bool deleted = false;
  std::string started_by;
  std::vector<RecordingPause> pauses;
};

// A call's record: its legs, its transfers, who monitored it and its recordings, oldest first.
struct CallHistory {
  std::vector<AgentLegRecord> legs;
  std::vector<Transfer> transfers;
  std::vector<MonitorSession> monitors;
  std::vector<RecordingRecord> recordings;
};

// An offer committed to the database, to be delivered to the edge that owns the call.
struct Offer {
  std::int64_t assignment_id = 0;
  std::string call_id;
  std::string agent_id;
  std::string queue;
  std::string edge_id;
  std::string caller;
  int attempt = 0;
  Duration ring_timeout{0};
  TimePoint lease_deadline{};
  TimePoint enqueued_at{};
  TimePoint offered_at{};
  std::vector<OfferBinding> bindings;
  // A callback: the customer's number, the trunk, how long the customer's phone rings.
  std::string callback_number = {};
  std::string callback_trunk = {};
  Duration callback_ring_timeout = Duration{0};
  // The queue records its calls from the answer (and keeps the files this many days; 0: ever).
  bool record = false;
  int recording_retention_days = 0;
};

struct Member {
  std::string queue;
  std::string agent_id;
  int position = 0;
  std::string display_name;
  AgentStatus status = AgentStatus::kLoggedOut;
  bool routable = false;
  int active_calls = 0;
};

struct DialplanEntry {
  std::string pattern;
  std::string queue;    // the number leads to this queue, or (menu) to an IVR menu
  OpeningRule opening;  // the number's own hours, checked before the queue's
  std::string menu = {};
};

struct QueueStats {
  std::string queue;
  int waiting = 0;
  Duration longest_wait{0};
  int agents_available = 0;  // AVAILABLE and routable members
  int agents_busy = 0;       // RESERVED / ON_CALL / WRAP_UP members
  std::int64_t offered = 0;
  std::int64_t answered = 0;
  std::int64_t abandoned = 0;
  double service_level = 1.0;  // answered within the threshold / calls that left the queue
  Duration average_speed_of_answer{0};
  Duration average_handle_time{0};
  Duration window{0};
};

// What happened to a call, for events and metrics.
enum class CallEventKind {
  kEnqueued,
  kOffered,
  kConnected,
  kEnded,
  kAbandoned,
  kOverflowed,
  kTimedOut,
  kFailed,
  kRequeued,
  kTransferred,  // the agent's leg ended by a blind transfer; the call waits or is offered
};

struct CallEvent {
  CallEventKind kind;
  Call call;
  std::string reason;
  std::int64_t transferred_assignment = 0;  // kTransferred: the agent leg it ended
};

}  // namespace cc::queue
