#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "queue_service/model.h"
#include "queue_service/router.h"

namespace cc::queue {

// A status change the queue-service made to an agent (already audited in the database).
struct AgentChange {
  std::string agent_id;
  AgentStatus from = AgentStatus::kLoggedOut;
  AgentStatus to = AgentStatus::kLoggedOut;
  std::string reason;
  std::string call_id;
  std::int64_t audit_id = 0;
};

// What a committed operation did, to be announced and acted upon after commit.
struct Effects {
  std::vector<CallEvent> calls;
  std::vector<AgentChange> agents;
  std::optional<TimePoint> wake_at;  // when a delay or a wrap-up ends: run a match then
  bool capacity_freed = false;       // an agent or a call became available: match now
  // Offers made in the same transaction outside a match pass (a transfer to a named agent,
  // a transferred call given back to its agent): delivered once it has committed.
  std::vector<Offer> offers = {};
  void merge(Effects other);
};

// What a transfer did: the call now and the transfer's record.
struct TransferOutcome {
  Call call;
  Transfer transfer;
  Effects effects;
};

struct NewCall {
  std::string id;
  std::string queue;   // either this ...
  std::string dialed;  // ... or the request-URI user, resolved through the dialplan
  std::string caller;
  int priority = 0;
  std::string edge_id;
  std::map<std::string, std::string> data = {};  // from an IVR menu
  std::vector<RequiredSkill> skills = {};
  std::string language = {};
  std::string callback_number = {};  // not a caller on the line: a callback to this number
};

struct EnqueueResult {
  Call call;
  QueueConfig queue;  // the queue it ended up in (after overflow)
  int position = 0;   // 0 if it did not stay waiting
  Duration estimated_wait{0};
  bool existing = false;  // a retried enqueue of a call already known
  // Prompts the caller hears before the call ends (it did not stay waiting: a closed queue).
  std::vector<std::string> exit_prompts;
  // The dialled number leads to a menu: nothing was enqueued; these are the entry menu and
  // every menu it leads to.
  std::vector<Menu> menus;
  // Closed, and the closed action is the edge's (after exit_prompts): redirect, or offer a
  // callback (nothing enqueued yet).
  std::string redirect_uri;
  bool offer_callback = false;
  Effects effects;
};

struct CallFilter {
  std::string queue;
  std::vector<CallState> states;  // empty = live states
  int limit = 500;
};

// An edge's heartbeat with the calls it holds, and what queue-service made of it.
struct EdgeHeartbeat {
  std::string edge_id;
  Duration lease{0};
  bool reconcile = false;             // false: only the lease (an edge without the list)
  std::vector<std::string> call_ids;  // every call the edge holds
};
struct EdgeReconciliation {
  int live_calls = 0;                         // the edge's live calls afterwards
  std::vector<std::string> ended_call_ids;    // listed, and over here
  std::vector<std::string> unknown_call_ids;  // listed, and not known here
  int reconciled = 0;                         // live here, not held by the edge: ended now
  Effects effects;
};

struct Settings {
  Duration lease_grace{5000};         // added to the ring timeout for an offer's lease
  Duration edge_lease{30000};         // how long an edge's calls outlive its last sign of life
  Duration offer_retry_backoff{500};  // after an undeliverable offer
  Duration queue_cache_ttl{1000};     // queue configs read by hot paths (0: always read)
  // A live call the edge's heartbeat does not list is ended only once it entered the queue
  // this long before: a call whose Enqueue is still on its way may be committed here before
  // the edge lists it.
  Duration reconcile_grace{5000};
  int snapshot_calls = 1000;
  bool snapshot_top_agents = true;  // false: every routable agent (tests compare the two)
  int sweep_batch = 200;
  int max_offer_bindings = 5;  // devices of one agent an offer carries (the edge's fork limit)
};

// Everything the queue-service keeps: queues, the dialplan, calls, assignments and the
// routing state of agents. Every method is one transaction; each outcome is idempotent for a
// repeated report. Implementations are thread-safe, and several instances may share one store.
class QueueRepository {
 public:
  virtual ~QueueRepository() = default;

  // Queues, members, dialplan.
  virtual Result<QueueConfig> create_queue(const QueueConfig& q, TimePoint now) = 0;
  virtual Result<QueueConfig> get_queue(const std::string& name) = 0;
  virtual Result<std::vector<QueueConfig>> list_queues() = 0;
  using QueueMutation = std::function<Status(QueueConfig& q)>;
  virtual Result<QueueConfig> update_queue(const std::string& name, std::int64_t expected_version,
                                           const QueueMutation& mutate, TimePoint now) = 0;
  virtual Status delete_queue(const std::string& name) = 0;
  virtual Result<Member> set_member(const Member& m, TimePoint now) = 0;
  virtual Result<Member> remove_member(const std::string& queue, const std::string& agent_id,
                                       TimePoint now) = 0;
  virtual Result<std::vector<Member>> list_members(const std::string& queue, TimePoint now) = 0;
  virtual Result<DialplanEntry> set_dialplan(const DialplanEntry& e) = 0;
  virtual Result<DialplanEntry> delete_dialplan(const std::string& pattern) = 0;
  virtual Result<std::vector<DialplanEntry>> list_dialplan() = 0;
  virtual Result<QueueConfig> resolve(const std::string& dialed) = 0;

  // IVR menus. Importing checks the batch against the stored menus and queues, and stores it
  // whole or not at all; deleting refuses a menu the dialplan or another menu leads to.
  virtual Result<std::vector<Menu>> import_menus(const std::vector<Menu>& menus, TimePoint now) = 0;
  virtual Result<Menu> get_menu(const std::string& name) = 0;
  virtual Result<std::vector<Menu>> list_menus() = 0;
  virtual Status delete_menu(const std::string& name) = 0;

  // Calls.
  virtual Result<EnqueueResult> enqueue(const NewCall& call, TimePoint now) = 0;
  virtual Result<Call> get_call(const std::string& id) = 0;
  virtual Result<std::pair<int, Duration>> position(const Call& call, TimePoint now) = 0;
  // Members of the queue free to take a call now (logged in and available).
  virtual Result<int> agents_available(const std::string& queue) = 0;
  virtual Result<std::vector<Call>> list_calls(const CallFilter& filter) = 0;
  // The waiting caller asked to be called back at `number` and hangs up: the call keeps its
  // place and belongs to no edge (idempotent; refused unless waiting and the queue offers it).
  virtual Result<std::pair<Call, Effects>> request_callback(const std::string& call_id,
                                                            const std::string& number,
                                                            const std::string& edge_id,
                                                            TimePoint now) = 0;
  virtual Result<std::pair<Call, Effects>> cancel(const std::string& call_id,
                                                  const std::string& reason, TimePoint now) = 0;
  // A blind transfer of a connected call: its agent's leg ends (after-call rule) and the call
  // waits in the target queue at its old place, or is offered at once to the named agent
  // (FAILED_PRECONDITION when that agent cannot take a call now: nothing changes). A repeated
  // request for the same leg answers the transfer it made, with no new offer.
  virtual Result<TransferOutcome> transfer(const TransferRequest& r, TimePoint now) = 0;
  // Supervisors: the agents with the supervisor role over a queue (the list after the change).
  virtual Result<std::vector<std::string>> set_supervisor(const std::string& queue,
                                                          const std::string& agent_id,
                                                          bool add) = 0;
  virtual Result<std::vector<std::string>> list_supervisors(const std::string& queue) = 0;
  // A supervisor monitors a connected call: a new session (the order rings the supervisor's
  // phone), or the live one of that supervisor in a new mode (the order changes the mode),
  // or nothing to do (no order). Checked: the role over the call's queue, a phone, one
  // session per call.
  virtual Result<std::pair<MonitorSession, std::optional<MonitorOrder>>> monitor(
      const MonitorRequest& r, TimePoint now) = 0;
  virtual Result<MonitorSession> get_monitor(std::int64_t id) = 0;
  // Ends a session (idempotent: an ended one is returned as it is).
  virtual Result<MonitorSession> end_monitor(std::int64_t id, const std::string& reason,
                                             TimePoint now) = 0;
  // The supervisor's phone answered; FAILED_PRECONDITION when the session is over already.
  virtual Result<MonitorSession> monitor_answered(std::int64_t id, TimePoint now) = 0;
  // Recording control: the order for the edge holding the call (FAILED_PRECONDITION when the
  // call is not connected or its queue never records, or START by a queue that records always
  // and already does), and the edge's reports, recorded idempotently.
  virtual Result<RecordOrder> record_order(const std::string& call_id, RecordingAction action,
                                           const std::string& requested_by) = 0;
  virtual Status report_recording(const RecordingReport& r, TimePoint now) = 0;
  // Recordings past their retention day are marked deleted (the relay removes the files).
  virtual Result<int> expire_recordings(TimePoint now) = 0;
  // The call's record: every offer to an agent and every transfer, oldest first.
  virtual Result<CallHistory> history(const std::string& call_id) = 0;
  // Extends the edge's lease; with the list, ends the edge's live calls it no longer holds.
  virtual Result<EdgeReconciliation> heartbeat(const EdgeHeartbeat& hb, TimePoint now) = 0;

  // Matching.
  virtual Result<RoutingSnapshot> snapshot(TimePoint now) = 0;
  // Takes the pair if both are still free (nullopt otherwise) and writes the offer with its
  // lease, stamped from `clock` once both rows are held.
  virtual Result<std::optional<std::pair<Offer, Effects>>> try_assign(const Proposal& p,
                                                                      const Clock& clock) = 0;
  // The offer could not be delivered: the agent is freed and the call goes back to its
  // place, or, when the edge does not hold the call any more (`call_gone`), ends abandoned.
  virtual Result<Effects> withdraw(std::int64_t assignment_id, const std::string& reason,
                                   bool call_gone, TimePoint now) = 0;

  // Outcomes reported by the edge.
  virtual Result<std::pair<Call, Effects>> connected(std::int64_t assignment_id,
                                                     const std::string& call_id, TimePoint now) = 0;
  virtual Result<std::pair<Call, Effects>> failed(std::int64_t assignment_id,
                                                  const std::string& call_id, OfferFailure reason,
                                                  const std::string& detail, TimePoint now) = 0;
  virtual Result<std::pair<Call, Effects>> ended(std::int64_t assignment_id,
                                                 const std::string& call_id,
                                                 const std::string& reason, TimePoint now) = 0;

  // Sweeps, run by every instance; each row is handled by exactly one of them.
  virtual Result<Effects> expire_offers(TimePoint now) = 0;  // leases of unanswered offers
  virtual Result<Effects> expire_edges(TimePoint now) = 0;   // calls of silent edges
  virtual Result<Effects> expire_waits(TimePoint now) = 0;   // max wait, queues nobody serves
  virtual Result<Effects> finish_wrap_ups(TimePoint now) = 0;

  virtual Result<std::vector<QueueStats>> stats(const std::string& queue, Duration window,
                                                TimePoint now) = 0;

  virtual const Settings& settings() const = 0;
};

}  // namespace cc::queue
