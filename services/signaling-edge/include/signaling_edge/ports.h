#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/menu.h"
#include "common/status.h"

// What the edge needs from the other services, in its own words. The gRPC adapters
// (grpc_ports.cpp) translate; nothing here knows protobuf. Every reply runs on the SIP loop.
namespace cc::edge {

template <typename T>
using Reply = std::function<void(Result<T>)>;

// ---------------------------------------------------------------------------------------
// media-relay

// A leg in a relay: which relay (its address, as the pool knows it) and its id there.
struct RelayLeg {
  std::string relay;
  std::string id;
  bool empty() const { return id.empty(); }
  bool operator==(const RelayLeg&) const = default;
};

struct NewLeg {
  std::string call_id;
  std::string label;       // "customer" / "agent"
  std::string remote_sdp;  // empty: the relay makes the offer
  std::string relay;       // empty: the pool chooses; else this relay (the call's other leg)
};

struct LegWithSdp {
  RelayLeg leg;
  std::string local_sdp;
};

// A leg of a mix on the relay: heard by every other member, by nobody (muted), or only by the
// legs named in `heard_by`.
struct MixPart {
  std::string leg_id;
  bool muted = false;
  std::vector<std::string> heard_by = {};
};

// The media relays as calls use them. Loop thread only.
class MediaPort {
 public:
  virtual ~MediaPort() = default;
  virtual void create_leg(const NewLeg& leg, Reply<LegWithSdp> done) = 0;
  // A new offer from the phone (re-INVITE: hold, resume); the relay's answer.
  virtual void update_leg(const RelayLeg& leg, const std::string& remote_sdp,
                          Reply<std::string> done) = 0;
  // The agent's answer on `agent`, bridged with `customer`, music stopped: one call.
  virtual void connect(const RelayLeg& agent, const std::string& answer_sdp,
                       const RelayLeg& customer, Reply<Ok> done) = 0;
  // Prompts (music) on a leg; with an idle timeout, a caller gone silent is reported.
  virtual void play(const RelayLeg& leg, const std::vector<std::string>& prompts, bool loop,
                    Duration idle_timeout, Reply<Ok> done) = 0;
  // Mixes the legs (all on `relay`) instead of bridging them (a supervisor in the call);
  // declarative: the mix becomes exactly `members`.
  virtual void set_mix(const std::string& relay, const std::string& mix_id,
                       const std::vector<MixPart>& members, Reply<Ok> done) = 0;
  // Recording of the bridge (or mix) `leg` is in: a stereo file at `path` under the relay's
  // recording directory (the caller left, the agent right); paused spans are silence.
  virtual void start_recording(const RelayLeg& leg, const std::string& path, Reply<Ok> done) = 0;
  virtual void pause_recording(const RelayLeg& leg, bool paused, Reply<Ok> done) = 0;
  // The file closed; its size.
  virtual void stop_recording(const RelayLeg& leg, Reply<std::uint64_t> done) = 0;
  // Fire and forget: what plays on the leg stops (a key cut a menu's prompts).
  virtual void stop_play(const RelayLeg& leg) = 0;
  // Fire and forget: a leg the relay does not hear about is reclaimed by the EdgeLegs sweep.
  virtual void release(const RelayLeg& leg) = 0;
};

// ---------------------------------------------------------------------------------------
// queue-service

enum class AnswerMode { kAnswerImmediately, kRingUntilAgent, kEarlyMedia };
enum class OfferFailure { kNoAnswer, kBusy, kRejected, kUnreachable, kCallbackUnanswered };
const char* ToString(OfferFailure f);

struct EnqueueRequest {
  std::string call_id;
  std::string dialed;  // the request-URI user, resolved by the dialplan, or
  std::string queue;   // the queue an IVR menu chose, with what the menu gathered:
  int priority = 0;
  std::vector<RequiredSkill> skills;
  std::map<std::string, std::string> data;
  std::string language;
  std::string callback_number;  // not a caller on the line: a callback to this number
  std::string caller;
  std::string edge_id;
};

// What a waiting caller hears besides the music (the queue's announcements).
struct WaitAnnouncements {
  std::vector<std::string> greeting;  // once, before the music
  Duration first_after{30000};
  Duration every{0};  // 0: no periodic announcements
  std::vector<std::string> periodic;
  bool position = false;
  bool estimated_wait = false;
  std::string language = "en";
  bool all_busy = false;  // "all agents are busy" when nobody is free
};

// The callback a waiting caller may ask for (the queue's policy, as the edge needs it).
struct CallbackOffer {
  bool enabled = false;
  Duration offer_after{0};  // offered in the announcements after this wait (0: not offered)
  char key = '1';
};

// A waiting call's place, as queue-service sees it now.
struct QueuePosition {
  bool waiting = false;  // false: offered, connected or over
  int position = 0;      // 1 = next
  Duration estimated_wait{0};
  int agents_free = -1;  // members of its queue free now (-1: not known)
};

struct Enqueued {
  std::string queue;
  AnswerMode answer_mode = AnswerMode::kAnswerImmediately;
  std::vector<std::string> music;
  bool waiting = true;         // false: over at once (queue full, nobody to answer), see reason
  std::string outcome_reason;  // why, when not waiting
  std::vector<std::string> exit_prompts;  // not waiting: what the caller hears first (closed)
  WaitAnnouncements announce;
  // The number leads to an IVR menu (nothing enqueued yet): the entry, then every menu it
  // leads to.
  std::vector<Menu> menus;
  CallbackOffer callback;
  // Closed, with an action the edge carries out after exit_prompts: redirect the caller
  // (302), or offer a callback in `queue` at the next opening.
  std::string redirect_uri;
  bool offer_callback = false;
};

// What the edge tells queue-service about a call; each is idempotent there.
struct Report {
  enum class Kind { kConnected, kFailed, kEnded, kCancelled };
  Kind kind = Kind::kCancelled;
  std::string call_id;
  std::string agent_id;
  std::int64_t assignment_id = 0;
  OfferFailure failure = OfferFailure::kNoAnswer;  // kFailed
  std::string reason;                              // detail / why it ended
};
const char* ToString(Report::Kind k);

struct Heartbeat {
  std::string edge_id;
  Duration lease{0};
  std::vector<std::string> call_ids;  // every call the edge holds
};

struct HeartbeatReply {
  std::vector<std::string> ended;    // listed calls queue-service knows as over
  std::vector<std::string> unknown;  // listed calls it does not know
  int live_calls = 0;
  int reconciled = 0;  // calls it ended because the list no longer had them
};

// Recording control of a connected call.
enum class RecordingAction { kStart, kPause, kResume, kStop };

// What the edge tells queue-service of a recording.
struct RecordingNews {
  std::string call_id;
  std::int64_t assignment_id = 0;
  std::string path;
  RecordingAction event = RecordingAction::kStart;
  std::uint64_t bytes = 0;
  std::string keep_until = {};  // YYYY-MM-DD, "" for ever
  std::string started_by = {};
};

// An agent's phone transfers its call (REFER): to what its Refer-To names (a number of the
// dialplan, an agent's id or SIP user).
struct TransferAsk {
  std::string call_id;
  std::int64_t assignment_id = 0;  // the connected leg the REFER came on
  std::string to_number;
  std::string requested_by;
};

// queue-service as the edge uses it. Loop thread only.
class QueuePort {
 public:
  virtual ~QueuePort() = default;
  virtual void enqueue(const EnqueueRequest& req, Reply<Enqueued> done) = 0;
  virtual void report(const Report& report, Reply<Ok> done) = 0;
  virtual void heartbeat(const Heartbeat& hb, Reply<HeartbeatReply> done) = 0;
  // The call's place in its queue (for position and wait announcements).
  virtual void position(const std::string& call_id, Reply<QueuePosition> done) = 0;
  // The waiting caller wants to be called back at `number`; the call keeps its place and
  // this edge may hang up once this is acknowledged.
  virtual void request_callback(const std::string& call_id, const std::string& number,
                                const std::string& edge_id, Reply<Ok> done) = 0;
  // A supervisor's session at this edge: the phone answered, or the session is over here.
  virtual void report_monitor(std::int64_t session_id, const std::string& call_id, bool answered,
                              const std::string& reason, Reply<Ok> done) = 0;
  // A step of a recording (its metadata there).
  virtual void report_recording(const RecordingNews& news, Reply<Ok> done) = 0;
  // A blind transfer: done once queue-service has moved the call (the agent's leg is over
  // there); NOT_FOUND (no such target) or FAILED_PRECONDITION (a busy agent, a call not
  // connected) leave the call as it was.
  virtual void transfer(const TransferAsk& ask, Reply<Ok> done) = 0;
};

// An agent's phone, as the offer names it: the Contact to call, reached through the address
// its REGISTER came from.
struct AgentDevice {
  std::string contact;
  std::string source_address;
  int source_port = 0;
  bool tcp = false;
  bool tls = false;  // over TLS (on TCP): reached back the same way
};

// Where every request of a dialog with the device goes ("sip:ip:port[;transport=...]"), or
// "" when its REGISTER's source is not known.
inline std::string DeviceRoute(const AgentDevice& d) {
  if (d.source_address.empty() || d.source_port <= 0) return "";
  return "sip:" + d.source_address + ":" + std::to_string(d.source_port) +
         (d.tls   ? ";transport=tls"
          : d.tcp ? ";transport=tcp"
                  : "");
}

// An offer from queue-service (NATS), already committed in the database.
struct Offer {
  std::int64_t assignment_id = 0;
  std::string call_id;
  std::string agent_id;
  std::string queue;
  Duration ring_timeout{20000};
  std::vector<AgentDevice> devices;
  // A callback: the agent first, then this number through the trunk ("host:port"; empty:
  // the edge's --outbound-proxy), ringing this long.
  std::string callback_number = {};
  std::string callback_trunk = {};
  Duration callback_ring_timeout = Duration{30000};
  // Record the call from the answer; keep the file this many days (0: for ever).
  bool record = false;
  int recording_retention_days = 0;
};

enum class OfferRefusal { kNone, kUnknownCall, kBusy };

// A supervisor in a connected call, as queue-service orders it: listen (hears both, heard by
// nobody), whisper (heard by the agent alone), barge (everyone hears everyone).
enum class MonitorMode { kListen, kWhisper, kBarge };
struct MonitorOrder {
  std::int64_t session_id = 0;
  std::string call_id;
  std::string supervisor_id;
  MonitorMode mode = MonitorMode::kListen;
  bool stop = false;
  std::vector<AgentDevice> devices;  // a new session: the supervisor's phones
  Duration ring_timeout{30000};
};

// ---------------------------------------------------------------------------------------
// agent-registry (the registrar's)

struct BindingRequest {
  std::string user;
  std::string contact;
  std::string source_address;
  int source_port = 0;
  bool tcp = false;
  bool tls = false;
  std::string user_agent;
  int expires = 0;
  std::string registrar_id;
  std::string sip_call_id;
  std::uint32_t cseq = 0;
};

struct BindingView {
  std::string contact;
  int expires_in = 0;  // seconds left
};

struct BindingsReply {
  std::vector<BindingView> bindings;  // every binding of the agent now
  bool created = false;               // a register made a new binding
};

// agent-registry as the registrar uses it. Loop thread only.
class RegistryPort {
 public:
  virtual ~RegistryPort() = default;
  // The user's HA1; NOT_FOUND for an unknown user.
  virtual void credentials(const std::string& user, Reply<std::string> done) = 0;
  virtual void register_binding(const BindingRequest& req, Reply<BindingsReply> done) = 0;
  // `contact` "*" removes every binding.
  virtual void unregister(const std::string& user, const std::string& contact,
                          Reply<BindingsReply> done) = 0;
  virtual void list_bindings(const std::string& user, Reply<BindingsReply> done) = 0;
};

}  // namespace cc::edge
