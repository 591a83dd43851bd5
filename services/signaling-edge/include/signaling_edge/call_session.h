#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "signaling_edge/announcement.h"
#include "signaling_edge/call_phase.h"
#include "signaling_edge/edge_settings.h"
#include "signaling_edge/menu_runner.h"
#include "signaling_edge/ports.h"
#include "signaling_edge/queue_outbox.h"
#include "signaling_edge/sip_leg.h"

namespace cc::edge {

// What a session uses, shared by every call of the edge.
struct SessionContext {
  const EdgeSettings& settings;
  MediaPort& media;
  QueueOutbox& queue;
  SipPort& sip;
  Timers& timers;
  const Clock& clock;
  EdgeObserver& observer;
  // The session has closed its last dialog: the registry may forget it (called on the loop,
  // never from inside a session method's own frame... see CallSession::finish()).
  std::function<void(const std::string& call_id)> finished;
};

// The customer's INVITE, as the session needs it.
struct CustomerCall {
  std::string id;           // ours
  std::string sip_call_id;  // the customer's
  std::string caller;       // From user
  std::string caller_display;
  std::string dialed;          // Request-URI user
  std::string sdp;             // the customer's offer
  unsigned max_forwards = 70;  // for the agent leg: one hop less than the customer's
  TimePoint started_at{};
  std::string source;  // the address the INVITE came from
};

// What the admin API shows of a live call.
struct LiveCallView {
  std::string id;
  std::string queue;
  std::string caller;
  std::string agent_id;
  std::string phase;
  std::string customer_sip_call_id;
  std::string customer_state;  // "early", "answered", "gone"
  std::string customer_relay_leg;
  std::string agent_state;  // "", "ringing", "answered"
  std::string agent_relay_leg;
  std::string relay;
  TimePoint started_at{};
};

// One call at the edge: the customer's dialog, the offer being rung at an agent's devices or
// the connected agent, the relay legs, the timers, and the phase (CallPhase's table). Every
// event of the call comes here, on the loop thread; replies of the ports are matched to the
// state they were asked in and ignored when it has moved on. Reports to queue-service go
// through the outbox, which retries them until they are acknowledged. Loop thread only.
class CallSession {
 public:
  CallSession(SessionContext& ctx, CustomerCall call, std::unique_ptr<SipLeg> customer);
  ~CallSession();
  CallSession(const CallSession&) = delete;
  CallSession& operator=(const CallSession&) = delete;

  // Begins the call: the customer's relay leg, then the enqueue.
  void start();
  // Begins a callback (no customer dialog): waits for its offer, rings the agent, then calls
  // the customer (call_session_callback.cpp).
  void start_callback();
  // A response to the INVITE a callback sent the customer (or to a refresh of a dialog).
  void on_customer_response(SipLeg* leg, int status, const std::string& sdp);

  // SIP events.
  void on_customer_left(const std::string& why);  // CANCEL or BYE
  // A response to one of the INVITEs sent to the agent's devices (or to a stale one).
  void on_agent_response(SipLeg* leg, int status, const std::string& sdp);
  void on_agent_bye(SipLeg* leg);
  // A dialog of this call is over (after its final response, BYE, CANCEL, or an error).
  void on_terminated(SipLeg* leg, int status);
  void on_reinvite(SipLeg* leg, const std::string& sdp, std::unique_ptr<PendingAnswer> answer);

  // queue-service.
  OfferRefusal on_offer(const Offer& offer);
  // queue-service ended the call (max wait, overflow, no agents, lost edge): no report back.
  void on_queue_ended(const std::string& reason, bool timed_out);
  // The relay heard nothing: a connected call ends; a waiting caller is gone.
  void on_media_timeout();
  // The relay played the last prompt it was given to the customer (`played`: their names, as
  // the relay reports them; empty when not known).
  void on_prompt_finished(const std::vector<std::string>& played = {});
  // A key the caller pressed (RFC 4733 from the relay, or SIP INFO).
  void on_digit(char digit);
  // A key from the relay, by the leg it came on: the caller's go to on_digit, the agent's
  // are feature codes (on_agent_digit).
  void on_leg_digit(const std::string& leg_id, char digit);
  // The connected agent's keypad: *1 pauses the recording, *2 resumes it (a card number read
  // out is not kept).
  void on_agent_digit(char digit);
  // The caller's answer to a REFER (a menu's transfer), then the progress it reports
  // (NOTIFY); `final`: the transfer succeeded (2xx) or failed (>= 300).
  void on_transfer_progress(int status, bool final);
  // The connected agent's phone asks to transfer the call (REFER) to what its Refer-To
  // names: queue-service moves the call, the phone hears how it went (NOTIFY), and the
  // caller waits again with music while the agent's leg closes
  // (call_session_transfer.cpp).
  void on_agent_refer(SipLeg* leg, const std::string& target);
  // queue-service ended the agent leg `assignment` by a transfer (asked by the phone, or
  // through the API): the agent goes, the caller waits for the next.
  void on_transferred(std::int64_t assignment);
  // queue-service orders a supervisor into the connected call (ring the phone, then mix it in
  // with the mode), a new mode, or the end (call_session_monitor.cpp). "" when taken, else
  // why not.
  std::string on_monitor(const MonitorOrder& order);
  // Recording control of the connected call, ordered by queue-service (a queue that records
  // always starts at the answer by itself): "" when taken, else why not
  // (call_session_recording.cpp).
  std::string on_record(RecordingAction action, int retention_days, const std::string& by);
  // Playing the announcement of a call queue-service has over (it ends when that is done).
  bool announcing() const { return after_announcement_.has_value(); }
  // The edge ends the call: its relay died, shutdown, or queue-service no longer knows it.
  // `tell_queue`: false when queue-service already has it over.
  void hang_up(const EndReason& reason, bool tell_queue);

  const std::string& id() const { return call_.id; }
  const CustomerCall& call() const { return call_; }
  CallPhase phase() const { return phase_; }
  bool enqueued() const { return enqueued_; }  // queue-service has acknowledged the enqueue
  // The relay holding the call's legs, and their ids there.
  const std::string& relay() const { return customer_relay_.relay; }
  std::vector<std::string> relay_legs() const;
  int dialogs() const;  // SIP dialogs still open
  LiveCallView view() const;

 private:
  // One device of the agent being rung.
  struct Fork {
    std::unique_ptr<SipLeg> leg;
    bool final = false;  // a final response came
  };
  // The offer being placed at the agent's devices.
  struct Attempt {
    Offer offer;
    RelayLeg relay;
    std::string local_sdp;
    std::vector<Fork> forks;
    SipLeg* answered = nullptr;  // the device that answered (still in forks)
    bool answered_gone = false;  // it hung up before the call was connected
    bool ring_timed_out = false;
    std::optional<OfferFailure> failure;
    std::string detail;
    Timer ring_timer;
  };

  bool step(CallPhase to);  // the phase table; false (logged) for an illegal step
  void create_customer_leg();
  void send_enqueue();
  void on_enqueued(Result<Enqueued> r);
  void treat_waiting_customer();      // ring, 183 or 200 + music, per the answer mode
  bool customer_hears_media() const;  // answered, or early media
  void play_music();
  // A greeting or periodic announcement, then the music again (on prompt_finished).
  void play_wait_announcement(const std::vector<std::string>& prompts);
  void schedule_wait_announcement(Duration after);
  void wait_announcement_due();
  // The caller hears `prompts` as early media (183, nothing answered), then the call ends.
  void announce_then_end(const std::vector<std::string>& prompts, const EndReason& why);
  // IVR menus (the number leads to one): answered, the runner's steps carried out, then
  // the caller's choice: a queue (enqueued with what the menu gathered), the end, a transfer.
  void start_menu(std::vector<Menu> menus, std::vector<std::string> intro = {});
  void run_menu(MenuStep step);
  void menu_done(const MenuOutcome& outcome);
  void play_menu_prompts(const std::vector<std::string>& prompts);
  // A menu runs now: the IVR (in_menu), or the callback offer to a waiting caller.
  bool menu_active() const;
  // The callback: offered to the waiting caller on its key (confirm the number or enter
  // another), asked of queue-service, then the caller hears it is done and is hung up.
  void offer_callback();
  // The callback menus inside the IVR phase (a menu's choice, a closed queue's offer).
  void start_callback_menu(std::vector<std::string> intro);
  void close_callback_offer();
  void request_callback(const std::string& number);
  // Placing a callback: the agent answered (take_answer done); the customer is called, then
  // both are bridged.
  void callback_agent_answered(SipLeg* leg, const std::string& sdp);
  void dial_customer(std::int64_t assignment);
  void callback_failed(const std::string& detail);
  // A supervisor's phone answered (or not), hung up, or its dialog closed.
  bool is_monitor(const SipLeg* leg) const;
  void monitor_response(int status, const std::string& sdp);
  // The mix of the caller, the agent and the supervisor for the mode.
  void apply_mix();
  // The supervisor leaves (`report`: queue-service is told); the two are bridged again.
  void end_monitor(const std::string& why, bool report);
  // Recording: a stereo file of this agent leg (`until-YYYYMMDD/` by the queue's retention,
  // else `kept/`), and its end with the leg (the relay closes the file with the legs).
  void start_recording(int retention_days, const std::string& by);
  void recording_over();
  // The connected agent leaves the call (transferred): its leg closes (BYE after a grace
  // the phone may use to hang up itself), its relay leg goes, and the caller hears music.
  void detach_agent(const std::string& why);
  bool holds(const SipLeg* leg) const;  // still one of this call's dialogs
  void create_agent_leg();
  void ring_devices();
  void ring_timeout();
  void agent_answered(SipLeg* leg, const std::string& sdp);
  // The first device to answer wins: the others are cancelled, the ring timer stops.
  void take_answer(SipLeg* leg);
  void on_connect_confirmed(std::int64_t assignment, Result<Ok> r, const std::string& sdp);
  void on_bridged(std::int64_t assignment, Result<Ok> r);
  // The attempt ended without a connection: the call waits on (reported failed if `report`).
  void attempt_over(bool report);
  // Ends the call: every dialog told, relay legs released, queue-service told (if asked).
  void end(const EndReason& reason, int unanswered_status, bool tell_queue);
  void close_leg(std::unique_ptr<SipLeg> leg);  // to `closing_` until it terminates
  void release(RelayLeg& leg);
  Fork* fork_of(SipLeg* leg);
  void maybe_finished();
  // A report about the offer being placed, else about the connected agent's assignment.
  void report(Report::Kind kind, const std::string& reason);
  // `f` wrapped for a port's reply: dropped if this session is gone by then.
  template <typename F>
  auto guard(F f);
  void respond_customer(int status);  // provisional to the customer, counted
  void answer_customer();             // 200 with the relay's SDP, once

  SessionContext& ctx_;
  CustomerCall call_;
  CallPhase phase_ = CallPhase::kSetup;
  // Replies from the ports hold this weakly: a reply for a session that is gone is dropped.
  std::shared_ptr<CallSession*> self_;

  std::unique_ptr<SipLeg> customer_;
  bool customer_gone_ = false;  // the customer's dialog is over from its side
  bool customer_answered_ = false;
  bool ringing_sent_ = false;
  bool early_media_ = false;
  RelayLeg customer_relay_;
  std::string customer_local_sdp_;

  bool enqueued_ = false;
  bool enqueue_sent_ = false;
  std::string queue_;
  AnswerMode answer_mode_ = AnswerMode::kRingUntilAgent;
  std::vector<std::string> music_;
  // Announcements while waiting: the greeting first, then every so often the news.
  std::unique_ptr<WaitAnnouncer> announcer_;
  bool announcing_wait_ = false;  // a greeting or periodic announcement is playing
  bool greeted_ = false;
  Timer wait_announcement_timer_;
  std::optional<EndReason> after_announcement_;  // the end an announcement leads to
  std::optional<EndReason> ended_before_reply_;  // queue-service's word before the enqueue's
  Timer announcement_timer_;  // either announcement's end, should the relay's word be lost

  // IVR: the caller's way through the menus, and the enqueue it leads to.
  std::unique_ptr<MenuRunner> menu_;
  std::vector<std::string> menu_playing_;  // the menu's prompts playing now
  Timer menu_timer_;
  EnqueueRequest chosen_;  // queue, priority, skills, data, language the menus chose
  std::string language_;   // the caller's (a menu choice): composed prompts speak it
  bool transferring_ = false;
  Timer transfer_timer_;
  bool waiting_started_ = false;  // music / announcements for the waiting caller began
  CallbackOffer callback_offer_;  // the queue's
  bool callback_dialog_ = false;  // menu_ is the callback offer (the caller stays queued)
  // A callback being placed (this session has no customer until it calls one).
  bool callback_ = false;
  Timer customer_timer_;  // the customer's phone rings at most this long
  bool customer_no_answer_ = false;
  // A closed queue's redirect: after the closed prompts, 302 instead of 480.
  std::string redirect_uri_;
  // A callback chosen in a menu, or offered by a closed queue: the queue it goes into once
  // the number is confirmed (the enqueue then carries the number).
  std::string callback_queue_;

  // A supervisor in the call: the phone rung, then its relay leg mixed in with the mode.
  struct Monitor {
    std::int64_t session = 0;
    std::string supervisor;
    MonitorMode mode = MonitorMode::kListen;
    std::unique_ptr<SipLeg> leg;
    RelayLeg relay;
    std::string local_sdp;
    bool answered = false;
    bool final = false;  // a final response came
    bool gone = false;   // the phone hung up (or the dialog closed) by itself
    Timer ring_timer;
  };
  std::unique_ptr<Monitor> monitor_;

  // The recording of the connected agent leg.
  struct Recording {
    std::string path;
    std::string keep_until;
    std::int64_t assignment = 0;
    bool paused = false;
  };
  std::optional<Recording> recording_;
  bool recording_starting_ = false;
  std::map<std::int64_t, int> recordings_of_leg_;  // files started per agent leg
  // The connected offer's queue records from the answer, keeping files this many days.
  bool record_on_answer_ = false;
  int record_retention_days_ = 0;
  // The agent pressed '*' at this time: a feature code follows within three seconds.
  std::optional<TimePoint> agent_star_;

  // A blind transfer asked by the agent's phone, waiting for queue-service's answer.
  SipLeg* referring_ = nullptr;
  Timer transfer_bye_timer_;

  std::unique_ptr<Attempt> attempt_;
  // The connected agent.
  std::unique_ptr<SipLeg> agent_;
  RelayLeg agent_relay_;
  std::string agent_local_sdp_;
  std::string agent_id_;
  std::int64_t assignment_id_ = 0;
  bool agent_gone_ = false;  // the agent's dialog is over from its side

  std::vector<std::unique_ptr<SipLeg>> closing_;  // ended, waiting for their dialogs to close
  int pending_legs_ = 0;                          // relay legs asked for, not answered yet
  Timer ending_timer_;
  bool finished_ = false;
};

template <typename F>
auto CallSession::guard(F f) {
  return [weak = std::weak_ptr<CallSession*>(self_), f = std::move(f)](auto&&... args) mutable {
    if (weak.expired()) return;  // the session is gone: its reply has nobody to go to
    f(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace cc::edge
