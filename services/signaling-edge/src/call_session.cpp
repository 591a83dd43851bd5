#include "signaling_edge/call_session.h"

#include <algorithm>

#include "common/log.h"
#include "common/menu.h"

namespace cc::edge {
namespace {

// Which failure of an agent's device counts as what for queue-service.
OfferFailure FailureOf(int status) {
  switch (status) {
    case 486:
    case 600:
      return OfferFailure::kBusy;
    case 603:
      return OfferFailure::kRejected;
    case 408:
    case 480:
    case 487:
      return OfferFailure::kNoAnswer;
    default:
      return OfferFailure::kUnreachable;
  }
}

// When several devices rang, the failure that says most about the agent wins.
int Rank(OfferFailure f) {
  switch (f) {
    case OfferFailure::kBusy:
      return 4;
    case OfferFailure::kRejected:
      return 3;
    case OfferFailure::kNoAnswer:
      return 2;
    case OfferFailure::kUnreachable:
      return 1;
    case OfferFailure::kCallbackUnanswered:
      return 0;
  }
  return 0;
}

const char* FailureMetric(OfferFailure f) {
  switch (f) {
    case OfferFailure::kBusy:
      return "agent_busy";
    case OfferFailure::kRejected:
      return "agent_rejected";
    case OfferFailure::kNoAnswer:
      return "agent_no_answer";
    case OfferFailure::kUnreachable:
      return "agent_unreachable";
    case OfferFailure::kCallbackUnanswered:
      return "callback_unanswered";
  }
  return "agent_unreachable";
}

}  // namespace

CallSession::CallSession(SessionContext& ctx, CustomerCall call, std::unique_ptr<SipLeg> customer)
    : ctx_(ctx),
      call_(std::move(call)),
      self_(std::make_shared<CallSession*>(this)),
      customer_(std::move(customer)) {}

CallSession::~CallSession() = default;

bool CallSession::step(CallPhase to) {
  if (phase_ == to) return true;
  if (!IsLegalStep(phase_, to)) {
    log::Error("illegal call phase step refused", {{"call_id", call_.id},
                                                   {"from", std::string(ToString(phase_))},
                                                   {"to", std::string(ToString(to))}});
    return false;
  }
  phase_ = to;
  return true;
}

void CallSession::report(Report::Kind kind, const std::string& reason) {
  Report r;
  r.kind = kind;
  r.call_id = call_.id;
  r.reason = reason.substr(0, 200);
  // The offer being placed, else the connected agent's.
  r.agent_id = attempt_ ? attempt_->offer.agent_id : agent_id_;
  r.assignment_id = attempt_ ? attempt_->offer.assignment_id : assignment_id_;
  ctx_.queue.report(r);
}

void CallSession::respond_customer(int status) {
  ctx_.observer.response("INVITE", status, true);
}

void CallSession::answer_customer() {
  if (customer_answered_) return;
  customer_answered_ = true;
  respond_customer(200);
  customer_->answer(customer_local_sdp_);
}

void CallSession::release(RelayLeg& leg) {
  if (leg.empty()) return;
  ctx_.media.release(leg);
  leg = {};
}

void CallSession::close_leg(std::unique_ptr<SipLeg> leg) {
  if (leg) closing_.push_back(std::move(leg));
}

CallSession::Fork* CallSession::fork_of(SipLeg* leg) {
  if (!attempt_) return nullptr;
  for (auto& f : attempt_->forks) {
    if (f.leg.get() == leg) return &f;
  }
  return nullptr;
}

int CallSession::dialogs() const {
  int n = (customer_ ? 1 : 0) + (agent_ ? 1 : 0) + static_cast<int>(closing_.size()) +
          (monitor_ && monitor_->leg ? 1 : 0);
  if (attempt_) n += static_cast<int>(attempt_->forks.size());
  return n;
}

std::vector<std::string> CallSession::relay_legs() const {
  std::vector<std::string> out;
  for (const RelayLeg* l : {&customer_relay_, &agent_relay_}) {
    if (!l->empty()) out.push_back(l->id);
  }
  if (attempt_ && !attempt_->relay.empty()) out.push_back(attempt_->relay.id);
  if (monitor_ && !monitor_->relay.empty()) out.push_back(monitor_->relay.id);
  return out;
}

LiveCallView CallSession::view() const {
  LiveCallView v;
  v.id = call_.id;
  // A caller still choosing shows the menu it is in.
  v.queue = phase_ == CallPhase::kInMenu && menu_ ? "menu " + menu_->menu() : queue_;
  if (callback_) v.queue = "callback " + call_.dialed;
  v.caller = call_.caller;
  v.agent_id = attempt_ ? attempt_->offer.agent_id : agent_id_;
  v.phase = std::string(ToString(phase_));
  v.customer_sip_call_id = call_.sip_call_id;
  v.customer_state = !customer_ || customer_gone_ ? "gone"
                     : customer_answered_         ? "answered"
                                                  : "early";
  v.customer_relay_leg = customer_relay_.id;
  if (agent_) {
    v.agent_state = "answered";
    v.agent_relay_leg = agent_relay_.id;
  } else if (attempt_) {
    v.agent_state = attempt_->answered ? "answered" : "ringing";
    v.agent_relay_leg = attempt_->relay.id;
  }
  v.relay = customer_relay_.relay;
  v.started_at = call_.started_at;
  return v;
}

// ---------------------------------------------------------------------------------------
// Setting up and queuing

void CallSession::start() {
  create_customer_leg();
}

void CallSession::create_customer_leg() {
  ++pending_legs_;
  ctx_.media.create_leg({call_.id, "customer", call_.sdp, ""}, guard([this](Result<LegWithSdp> r) {
                          --pending_legs_;
                          if (r.ok()) {
                            customer_relay_ = r->leg;
                            customer_local_sdp_ = r->local_sdp;
                          }
                          if (phase_ != CallPhase::kSetup) {  // the caller left meanwhile
                            release(customer_relay_);
                            maybe_finished();
                            return;
                          }
                          if (!r.ok()) {
                            const bool bad_sdp = r.error().code == ErrorCode::kInvalidArgument;
                            ctx_.observer.call_failure(bad_sdp ? "bad_sdp" : "relay_unavailable");
                            end(bad_sdp ? EndReason{kIncompatibleDestination,
                                                    "media not acceptable: " + r.error().message}
                                        : EndReason{kTemporaryFailure, "media unavailable"},
                                bad_sdp ? 488 : 503, false);
                            return;
                          }
                          step(CallPhase::kEnqueuing);
                          send_enqueue();
                        }));
}

void CallSession::send_enqueue() {
  enqueue_sent_ = true;
  // The dialled number, or the queue a menu chose with what it gathered.
  EnqueueRequest req = chosen_;
  req.call_id = call_.id;
  if (req.queue.empty()) req.dialed = call_.dialed;
  req.caller = call_.caller;
  req.edge_id = ctx_.settings.edge_id;
  ctx_.queue.enqueue(req, guard([this](Result<Enqueued> r) { on_enqueued(std::move(r)); }),
                     guard([this](const Error&) {
                       // queue-service is away: the caller rings while the enqueue is retried.
                       if (customer_ && !customer_gone_ && !customer_answered_ && !ringing_sent_ &&
                           !early_media_ && phase_ == CallPhase::kEnqueuing) {
                         ringing_sent_ = true;
                         respond_customer(180);
                         customer_->ringing();
                       }
                     }));
}

void CallSession::on_enqueued(Result<Enqueued> r) {
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;  // cancel follows
  if (!r.ok()) {
    // No such number, or one that cannot be a number (queue-service checks what a dialled
    // number may hold): 404 either way, never a retry.
    if (r.error().code == ErrorCode::kNotFound || r.error().code == ErrorCode::kInvalidArgument) {
      ctx_.observer.call_failure("unknown_number");
      end({kNoRouteToDestination, "unknown number"}, 404, false);
      return;
    }
    // Unreachable for the whole retry window. The enqueue may have landed all the same: the
    // cancel (after it in the outbox) makes sure the call does not wait for nobody.
    log::Warn("enqueue failed; refusing the call",
              {{"call_id", call_.id}, {"error", r.error().message}});
    ctx_.observer.call_failure("queue_unavailable");
    end({kTemporaryFailure, "queue unavailable"}, 503, true);
    return;
  }
  if (!r->menus.empty()) return start_menu(std::move(r->menus), std::move(r->exit_prompts));
  if (!r->redirect_uri.empty()) {
    // Closed, and the caller goes elsewhere: the closed prompts, then 302.
    redirect_uri_ = r->redirect_uri;
    return announce_then_end(r->exit_prompts, {kNoCircuit, "closed: redirected"});
  }
  if (r->offer_callback) {
    // Closed: the closed prompts, then the callback at the next opening is offered.
    callback_queue_ = r->queue;
    return start_callback_menu(std::move(r->exit_prompts));
  }
  if (!chosen_.callback_number.empty()) {
    // A callback now waits in queue-service, held by no edge: the caller is told, then the
    // call here ends (nothing to report: the place is queue-service's).
    enqueued_ = false;
    const std::string language = language_.empty() ? r->announce.language : language_;
    return announce_then_end({LocalizedPrompt("callback-done", language)},
                             {kNormalClearing, "callback requested"});
  }
  enqueued_ = true;
  queue_ = r->queue;
  callback_offer_ = r->callback;
  if (!language_.empty()) {
    // The caller chose a language in a menu: the queue's prompts are said in it.
    r->announce.language = language_;
    for (auto* list : {&r->announce.greeting, &r->announce.periodic, &r->exit_prompts}) {
      for (auto& p : *list) p = LocalizedPrompt(p, language_);
    }
  }
  answer_mode_ = r->answer_mode;
  music_ = r->music;
  announcer_ = std::make_unique<WaitAnnouncer>(r->announce);
  if (!r->waiting) {  // closed, full, nobody to answer, or overflowed to an end
    ctx_.observer.call_failure("queue_refused");
    const EndReason why{kNoCircuit,
                        r->outcome_reason.empty() ? "refused by the queue" : r->outcome_reason};
    if (!r->exit_prompts.empty()) return announce_then_end(r->exit_prompts, why);
    end(why, 480, false);
    return;
  }
  if (ended_before_reply_) return end(*ended_before_reply_, 480, false);
  if (phase_ == CallPhase::kEnqueuing) step(CallPhase::kQueued);
  // An offer may have come first; the caller is treated as waiting until an agent answers.
  if (phase_ == CallPhase::kQueued || phase_ == CallPhase::kRinging) treat_waiting_customer();
}

void CallSession::treat_waiting_customer() {
  if (!customer_ || customer_gone_ || waiting_started_) return;
  // A caller who went through a menu is answered already: the queue's media starts at once.
  if (!customer_answered_) {
    switch (answer_mode_) {
      case AnswerMode::kRingUntilAgent:
        if (!ringing_sent_) {
          ringing_sent_ = true;
          respond_customer(180);
          customer_->ringing();
        }
        return;
      case AnswerMode::kEarlyMedia:
        // Not answered (nothing billed) until an agent is: music as early media under a 183.
        early_media_ = true;
        respond_customer(183);
        customer_->progress(customer_local_sdp_);
        break;
      case AnswerMode::kAnswerImmediately:
        answer_customer();
        break;
    }
  }
  waiting_started_ = true;
  if (!announcer_) return;
  const WaitAnnouncements& a = announcer_->config();
  if (a.every.count() > 0) schedule_wait_announcement(a.first_after);
  if (!greeted_ && !a.greeting.empty()) {
    greeted_ = true;
    return play_wait_announcement(a.greeting);
  }
  play_music();
}

bool CallSession::customer_hears_media() const {
  return customer_ && !customer_gone_ && (customer_answered_ || early_media_);
}

void CallSession::play_music() {
  if (music_.empty() || !customer_hears_media()) return;
  // An answered caller who goes silent is gone; early media is not answered, and many phones
  // send nothing before the 200: no idle timeout there.
  const Duration idle = customer_answered_ ? ctx_.settings.waiting_media_timeout : Duration{0};
  const std::string id = call_.id;
  ctx_.media.play(customer_relay_, music_, true, idle, [id](Result<Ok> r) {
    if (!r.ok()) log::Warn("music on hold failed", {{"call_id", id}, {"error", r.error().message}});
  });
}

void CallSession::play_wait_announcement(const std::vector<std::string>& prompts) {
  const Duration idle = customer_answered_ ? ctx_.settings.waiting_media_timeout : Duration{0};
  announcing_wait_ = true;
  ctx_.media.play(customer_relay_, prompts, false, idle, guard([this](Result<Ok> r) {
                    if (r.ok()) return;
                    log::Warn("announcement failed; music instead",
                              {{"call_id", call_.id}, {"error", r.error().message}});
                    on_prompt_finished();
                  }));
  // The relay says when it has played them; if that word is lost, the music comes back.
  announcement_timer_ =
      Timer(&ctx_.timers, ctx_.timers.after(ctx_.settings.announcement_limit, guard([this] {
                                              if (announcing_wait_) on_prompt_finished();
                                            })));
}

void CallSession::schedule_wait_announcement(Duration after) {
  wait_announcement_timer_ =
      Timer(&ctx_.timers, ctx_.timers.after(after, guard([this] { wait_announcement_due(); })));
}

// Every `every` while the caller waits (queued, or an agent being rung): the caller's place
// from queue-service, and what changed since the last announcement.
void CallSession::wait_announcement_due() {
  if (phase_ != CallPhase::kQueued && phase_ != CallPhase::kRinging) return;
  if (!announcer_ || !customer_hears_media()) return;
  schedule_wait_announcement(announcer_->config().every);
  if (announcing_wait_ || menu_) return;  // the last one (or the callback offer) still plays
  ctx_.queue.position(
      call_.id, guard([this](Result<QueuePosition> r) {
        if (!r.ok() || announcing_wait_ || !customer_hears_media()) return;
        if (phase_ != CallPhase::kQueued && phase_ != CallPhase::kRinging) return;
        if (menu_) return;  // the caller is answering the callback offer
        auto prompts = announcer_->next(*r);
        // The callback is offered once the caller has waited long enough.
        const auto waited =
            std::chrono::duration_cast<Duration>(ctx_.clock.now() - call_.started_at);
        if (callback_offer_.enabled && callback_offer_.offer_after.count() > 0 &&
            waited >= callback_offer_.offer_after && customer_answered_) {
          prompts.push_back(LocalizedPrompt("callback-offer", announcer_->config().language));
        }
        if (!prompts.empty()) play_wait_announcement(prompts);
      }));
}

void CallSession::announce_then_end(const std::vector<std::string>& prompts, const EndReason& why) {
  if (!customer_ || customer_gone_ || customer_relay_.empty() || prompts.empty()) {
    return end(why, 480, false);
  }
  after_announcement_ = why;
  if (!customer_answered_ && !early_media_) {  // answered (a menu's caller): then a BYE
    early_media_ = true;
    respond_customer(183);
    customer_->progress(customer_local_sdp_);
  }
  ctx_.media.play(customer_relay_, prompts, false, Duration{0}, guard([this](Result<Ok> r) {
                    if (r.ok()) return;
                    log::Warn("announcement failed; ending the call",
                              {{"call_id", call_.id}, {"error", r.error().message}});
                    on_prompt_finished();
                  }));
  // The relay says when it has played the prompts; if that word is lost, the call still ends.
  announcement_timer_ = Timer(
      &ctx_.timers,
      ctx_.timers.after(ctx_.settings.announcement_limit, guard([this] { on_prompt_finished(); })));
}

void CallSession::on_prompt_finished(const std::vector<std::string>& played) {
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;
  if (menu_active()) {
    // Only the end of what the menu plays now (a key may have replaced it meanwhile).
    if (menu_playing_.empty() || (!played.empty() && played != menu_playing_)) return;
    menu_playing_.clear();
    announcement_timer_.cancel();
    return run_menu(menu_->on_prompts_done());
  }
  if (announcing_wait_) {
    announcing_wait_ = false;
    announcement_timer_.cancel();
    // An agent who answered meanwhile stopped the prompt: the bridge has the line.
    if (phase_ == CallPhase::kQueued || phase_ == CallPhase::kRinging) play_music();
    return;
  }
  if (!after_announcement_) return;
  const EndReason why = *after_announcement_;
  after_announcement_.reset();
  announcement_timer_.cancel();
  end(why, 480, false);
}

// ---------------------------------------------------------------------------------------
// Offers: ringing the agent's devices

OfferRefusal CallSession::on_offer(const Offer& offer) {
  // An offer of a call this edge holds connected to another agent leg: queue-service has that
  // leg over (a transfer whose event was lost). The agent goes; the offer is taken.
  if (phase_ == CallPhase::kConnected && offer.assignment_id != assignment_id_) {
    detach_agent("agent leg over in queue-service");
  }
  // Not set up yet (no relay leg), ending, or an agent already on it: queue-service gives
  // the offer back and tries again.
  if (phase_ != CallPhase::kEnqueuing && phase_ != CallPhase::kQueued) return OfferRefusal::kBusy;
  // Hearing that the callback is asked for, then hung up: queue-service tries later.
  if (after_announcement_) return OfferRefusal::kBusy;
  close_callback_offer();  // an agent comes: the callback offer is moot
  if (!step(CallPhase::kRinging)) return OfferRefusal::kBusy;
  attempt_ = std::make_unique<Attempt>();
  attempt_->offer = offer;
  if (offer.devices.empty()) {
    attempt_->failure = OfferFailure::kUnreachable;
    attempt_->detail = "no registered device";
    attempt_over(true);
    return OfferRefusal::kNone;
  }
  create_agent_leg();
  return OfferRefusal::kNone;
}

void CallSession::create_agent_leg() {
  const std::int64_t assignment = attempt_->offer.assignment_id;
  ++pending_legs_;
  // The agent's leg goes on the relay that holds the customer's: they are bridged there.
  ctx_.media.create_leg({call_.id, "agent", "", customer_relay_.relay},
                        guard([this, assignment](Result<LegWithSdp> r) {
                          --pending_legs_;
                          if (!attempt_ || attempt_->offer.assignment_id != assignment) {
                            if (r.ok()) release(r->leg);
                            maybe_finished();
                            return;
                          }
                          if (!r.ok()) {
                            attempt_->failure = OfferFailure::kUnreachable;
                            attempt_->detail = "relay: " + r.error().message;
                            attempt_over(true);
                            return;
                          }
                          attempt_->relay = r->leg;
                          attempt_->local_sdp = r->local_sdp;
                          ring_devices();
                        }));
}

void CallSession::ring_devices() {
  Attempt& a = *attempt_;
  // Sofia keeps a display name with its quotes, if it had any.
  std::string display = call_.caller_display;
  if (!display.empty() && display.front() != '"') display = "\"" + display + "\"";
  const std::string from = (display.empty() ? "" : display + " ") +
                           "<sip:" + (call_.caller.empty() ? "anonymous" : call_.caller) + "@" +
                           ctx_.settings.realm + ">";
  // What a menu gathered, for the agent's phone or CRM: X-CC-Data: account=123;pin=4
  // (keys are skill-like names, values keypad digits: nothing to escape).
  std::vector<std::string> menu_headers;
  std::string data;
  for (const auto& [k, v] : chosen_.data) data += (data.empty() ? "" : ";") + k + "=" + v;
  if (!data.empty()) menu_headers.push_back("X-CC-Data: " + data);
  if (!language_.empty()) menu_headers.push_back("X-CC-Language: " + language_);
  // A callback says so: the agent's phone rings first, the customer is called on answer.
  if (callback_) menu_headers.push_back("X-CC-Callback: " + call_.caller);
  for (const auto& d : a.offer.devices) {
    if (static_cast<int>(a.forks.size()) >= ctx_.settings.max_forks) break;
    AgentInvite inv;
    inv.call_id = call_.id;
    inv.contact = d.contact;
    inv.route = DeviceRoute(d);
    inv.from = from;
    inv.sdp = a.local_sdp;
    inv.max_forwards = call_.max_forwards;
    inv.headers = menu_headers;
    auto leg = ctx_.sip.invite(inv);
    if (!leg) {
      log::Warn("cannot address agent device", {{"call_id", call_.id}, {"contact", d.contact}});
      continue;
    }
    ctx_.observer.request("INVITE");
    a.forks.push_back({std::move(leg), false});
  }
  if (a.forks.empty()) {
    a.failure = OfferFailure::kUnreachable;
    a.detail = "no device could be called";
    attempt_over(true);
    return;
  }
  // Sofia's own INVITE timer does nothing in 1.12.11: the ring timeout is ours.
  const std::int64_t assignment = a.offer.assignment_id;
  a.ring_timer =
      Timer(&ctx_.timers,
            ctx_.timers.after(a.offer.ring_timeout, guard([this, assignment]() {
                                if (attempt_ && attempt_->offer.assignment_id == assignment) {
                                  ring_timeout();
                                }
                              })));
}

void CallSession::ring_timeout() {
  Attempt& a = *attempt_;
  if (a.answered) return;
  a.ring_timed_out = true;
  for (auto& f : a.forks) {
    if (!f.final) f.leg->cancel();
  }
}

void CallSession::on_agent_response(SipLeg* leg, int status, const std::string& sdp) {
  if (is_monitor(leg)) return monitor_response(status, sdp);
  Fork* f = fork_of(leg);
  if (!f) {
    // A device of an attempt that is over answered after all: nobody wants it now.
    if (status >= 200 && status < 300) {
      for (auto& c : closing_) {
        if (c.get() == leg) c->bye({kNormalClearing, "call no longer waiting"});
      }
    }
    return;
  }
  if (status < 200) {
    if ((status == 180 || status == 183) && customer_ && !customer_gone_ && !customer_answered_ &&
        !ringing_sent_ && !early_media_ && answer_mode_ == AnswerMode::kRingUntilAgent) {
      ringing_sent_ = true;
      respond_customer(180);
      customer_->ringing();
    }
    return;
  }
  f->final = true;
  if (status < 300) {
    if (attempt_->answered || phase_ != CallPhase::kRinging) {
      leg->bye({kNormalClearing, "answered elsewhere"});  // another device was first
      return;
    }
    agent_answered(leg, sdp);
    return;
  }
  const OfferFailure failure =
      attempt_->ring_timed_out ? OfferFailure::kNoAnswer : FailureOf(status);
  if (!attempt_->failure || Rank(failure) > Rank(*attempt_->failure)) {
    attempt_->failure = failure;
    attempt_->detail = std::to_string(status);
  }
  // The device's dialog terminates next (on_terminated); the attempt is over with the last.
}

void CallSession::take_answer(SipLeg* leg) {
  Attempt& a = *attempt_;
  a.answered = leg;
  a.ring_timer.cancel();
  for (auto& f : a.forks) {
    if (f.leg.get() != leg && !f.final) f.leg->cancel();
  }
  step(CallPhase::kConnecting);
}

void CallSession::agent_answered(SipLeg* leg, const std::string& sdp) {
  take_answer(leg);
  if (callback_) return callback_agent_answered(leg, sdp);
  Attempt& a = *attempt_;
  const std::int64_t assignment = a.offer.assignment_id;
  // queue-service's word first (the offer may be over: lease, abandon), then the bridge.
  Report r;
  r.kind = Report::Kind::kConnected;
  r.call_id = call_.id;
  r.agent_id = a.offer.agent_id;
  r.assignment_id = assignment;
  ctx_.queue.report(r, guard([this, assignment, sdp](Result<Ok> ack) {
                      on_connect_confirmed(assignment, std::move(ack), sdp);
                    }));
  // Not confirmed within the offer's life: the agent goes, the caller waits on. An "ended"
  // after the "connected" in the outbox settles it if the connected lands after all.
  a.ring_timer =
      Timer(&ctx_.timers,
            ctx_.timers.after(
                a.offer.ring_timeout + ctx_.settings.enqueue_retry, guard([this, assignment]() {
                  if (!attempt_ || attempt_->offer.assignment_id != assignment ||
                      phase_ != CallPhase::kConnecting) {
                    return;
                  }
                  log::Warn("connect not confirmed by queue-service; agent released",
                            {{"call_id", call_.id}, {"assignment_id", assignment}});
                  report(Report::Kind::kEnded, "connect not confirmed");
                  if (attempt_->answered && !attempt_->answered_gone) {
                    attempt_->answered->bye({kTemporaryFailure, "connect not confirmed"});
                  }
                  attempt_over(false);
                })));
}

void CallSession::on_connect_confirmed(std::int64_t assignment, Result<Ok> r,
                                       const std::string& sdp) {
  if (!attempt_ || attempt_->offer.assignment_id != assignment ||
      phase_ != CallPhase::kConnecting) {
    return;  // the caller left meanwhile, or the wait was given up: settled there
  }
  if (!r.ok()) {
    // The offer is no longer valid (its lease ran out, the caller abandoned): this agent may
    // not take the call; it goes on waiting for another.
    log::Warn("connect refused by queue-service",
              {{"call_id", call_.id}, {"error", r.error().message}});
    if (attempt_->answered && !attempt_->answered_gone) {
      attempt_->answered->bye({kNormalClearing, "offer no longer valid"});
    }
    attempt_over(false);
    return;
  }
  // Connected in queue-service: the attempt becomes the call's agent side.
  auto a = std::move(attempt_);
  agent_id_ = a->offer.agent_id;
  assignment_id_ = a->offer.assignment_id;
  record_on_answer_ = a->offer.record;
  record_retention_days_ = a->offer.recording_retention_days;
  agent_relay_ = a->relay;
  agent_local_sdp_ = a->local_sdp;
  for (auto& f : a->forks) {
    if (f.leg.get() == a->answered) {
      agent_ = std::move(f.leg);
    } else {
      close_leg(std::move(f.leg));
    }
  }
  ctx_.observer.setup_time(
      std::chrono::duration<double>(ctx_.clock.now() - call_.started_at).count());
  if (a->answered_gone || !agent_) {
    agent_gone_ = true;
    end({kNormalClearing, "agent hung up"}, 480, true);  // connected and over at once
    return;
  }
  ctx_.media.connect(agent_relay_, sdp, customer_relay_, guard([this, assignment](Result<Ok> b) {
                       on_bridged(assignment, std::move(b));
                     }));
}

void CallSession::on_bridged(std::int64_t assignment, Result<Ok> r) {
  if (phase_ != CallPhase::kConnecting || assignment_id_ != assignment) return;
  if (!r.ok()) {
    log::Warn("bridge failed", {{"call_id", call_.id}, {"error", r.error().message}});
    ctx_.observer.call_failure("bridge_failed");
    end({kTemporaryFailure, "media bridge failed"}, 503, true);
    return;
  }
  step(CallPhase::kConnected);
  if (record_on_answer_) start_recording(record_retention_days_, "queue policy");
  if (customer_ && !customer_gone_ && !customer_answered_) {
    customer_answered_ = true;
    respond_customer(200);
    customer_->answer(customer_local_sdp_);
  }
}

void CallSession::attempt_over(bool report_failure) {
  auto a = std::move(attempt_);
  if (!a) return;
  log::Info("agent leg failed", {{"call_id", call_.id},
                                 {"agent_id", a->offer.agent_id},
                                 {"reason", a->failure ? ToString(*a->failure) : "none"},
                                 {"detail", a->detail},
                                 {"devices", static_cast<int>(a->offer.devices.size())}});
  for (auto& f : a->forks) {
    if (!f.final) f.leg->cancel();
    close_leg(std::move(f.leg));
  }
  release(a->relay);
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;
  if (report_failure) {
    const OfferFailure failure = a->failure.value_or(OfferFailure::kUnreachable);
    ctx_.observer.call_failure(FailureMetric(failure));
    Report r;
    r.kind = Report::Kind::kFailed;
    r.call_id = call_.id;
    r.agent_id = a->offer.agent_id;
    r.assignment_id = a->offer.assignment_id;
    r.failure = failure;
    r.reason = a->detail.substr(0, 200);
    ctx_.queue.report(r);
  }
  // A callback's attempt is over: queue-service keeps its place; nothing is left here.
  if (callback_) return end({kNormalClearing, "callback attempt over"}, 0, false);
  // The call goes back to queue-service, which offers it again; the caller just waits.
  step(enqueued_ ? CallPhase::kQueued : CallPhase::kEnqueuing);
}

// ---------------------------------------------------------------------------------------
// Dialog events

void CallSession::on_customer_left(const std::string& why) {
  customer_gone_ = true;
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;
  log::Info("caller left", {{"call_id", call_.id}, {"why", why}});
  end({kNormalClearing, why}, 0, true);
}

void CallSession::on_agent_bye(SipLeg* leg) {
  if (is_monitor(leg)) {
    monitor_->gone = true;
    return end_monitor("the supervisor hung up", true);
  }
  if (leg == agent_.get()) {
    agent_gone_ = true;
    end({kNormalClearing, "agent hung up"}, 480, true);
    return;
  }
  if (attempt_ && leg == attempt_->answered) {
    attempt_->answered_gone = true;
    // A callback's agent hung up while the customer's phone rang: the customer is not
    // called after all, and the call goes back to its place.
    if (callback_ && phase_ == CallPhase::kConnecting && !customer_answered_) {
      attempt_->failure = OfferFailure::kRejected;
      attempt_->detail = "agent hung up before the customer answered";
      attempt_over(true);
    }
  }
}

void CallSession::on_terminated(SipLeg* leg, int status) {
  if (leg == customer_.get()) {
    customer_.reset();
    customer_gone_ = true;
    if (callback_ && !customer_answered_ && attempt_) {
      return callback_failed("dialog ended (" + std::to_string(status) + ")");
    }
    // The dialog ended without a BYE or CANCEL we saw (no ACK to our 200, a session timer
    // that ran out, a transport error).
    if (phase_ != CallPhase::kEnding && phase_ != CallPhase::kEnded) {
      end({kNormalClearing, "caller dialog ended"}, 0, true);
    }
  } else if (is_monitor(leg)) {
    monitor_->gone = true;
    monitor_->leg.reset();
    end_monitor("the supervisor's dialog ended (" + std::to_string(status) + ")", true);
  } else if (leg == agent_.get()) {
    agent_.reset();
    agent_gone_ = true;
    if (phase_ != CallPhase::kEnding && phase_ != CallPhase::kEnded) {
      end({kNormalClearing, "agent dialog ended"}, 480, true);
    }
  } else if (Fork* f = fork_of(leg)) {
    Attempt& a = *attempt_;
    if (!f->final) {  // a transport error, reported as state only
      f->final = true;
      const OfferFailure failure = FailureOf(status);
      if (!a.failure || Rank(failure) > Rank(*a.failure)) {
        a.failure = failure;
        a.detail = std::to_string(status);
      }
    }
    const bool was_answered = leg == a.answered;
    a.forks.erase(std::remove_if(a.forks.begin(), a.forks.end(),
                                 [&](const Fork& x) { return x.leg.get() == leg; }),
                  a.forks.end());
    if (was_answered) {
      // Answered, then gone before queue-service confirmed: the confirmation decides.
      a.answered = nullptr;
      a.answered_gone = true;
    } else if (a.forks.empty() && !a.answered && !a.answered_gone) {
      attempt_over(true);
    }
  } else {
    closing_.erase(std::remove_if(closing_.begin(), closing_.end(),
                                  [&](const std::unique_ptr<SipLeg>& c) { return c.get() == leg; }),
                   closing_.end());
  }
  maybe_finished();
}

void CallSession::on_reinvite(SipLeg* leg, const std::string& sdp,
                              std::unique_ptr<PendingAnswer> answer) {
  // Hold, resume or refresh from either side: the relay learns the new direction or address.
  RelayLeg* relay = nullptr;
  std::string* local = nullptr;
  if (leg == customer_.get()) {
    relay = &customer_relay_;
    local = &customer_local_sdp_;
  } else if (leg == agent_.get()) {
    relay = &agent_relay_;
    local = &agent_local_sdp_;
  } else if (attempt_ && leg == attempt_->answered) {
    relay = &attempt_->relay;
    local = &attempt_->local_sdp;
  } else if (is_monitor(leg)) {
    relay = &monitor_->relay;
    local = &monitor_->local_sdp;
  }
  if (!relay || phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) {
    answer->refuse(481);
    return;
  }
  if (sdp.empty()) {  // no offer (a session refresh): what we last said
    answer->accept(*local);
    return;
  }
  if (relay->empty()) {  // the relay leg is still being made
    answer->refuse(491);
    return;
  }
  const std::string relay_id = relay->id;
  std::shared_ptr<PendingAnswer> pending = std::move(answer);
  ctx_.media.update_leg(*relay, sdp, guard([this, relay_id, pending](Result<std::string> r) {
    if (!r.ok()) {
      pending->refuse(488);
      return;
    }
    for (auto [l, s] : {std::pair{&customer_relay_, &customer_local_sdp_},
                        std::pair{&agent_relay_, &agent_local_sdp_}}) {
      if (l->id == relay_id) *s = *r;
    }
    if (monitor_ && monitor_->relay.id == relay_id) monitor_->local_sdp = *r;
    pending->accept(*r);
  }));
}

// ---------------------------------------------------------------------------------------
// Ending

void CallSession::on_queue_ended(const std::string& reason, bool timed_out) {
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;
  const EndReason why{timed_out ? kRecoveryOnTimerExpiry : kNoCircuit, reason};
  // Over in queue-service, and the caller is hearing why: the announcement ends the call.
  if (after_announcement_) return;
  // The event of a call ended at entry (closed, full) can overtake the enqueue's reply, which
  // carries the same outcome and what the caller hears first: the reply decides. Should it
  // say the call waits (the event was of a later change), this word still ends it.
  if (phase_ == CallPhase::kEnqueuing && !enqueued_) {
    ended_before_reply_ = why;
    return;
  }
  end(why, 480, false);
}

void CallSession::on_media_timeout() {
  switch (phase_) {
    case CallPhase::kConnecting:
    case CallPhase::kConnected:
      ctx_.observer.call_failure("media_timeout");
      end({kNoRouteToDestination, "media timeout"}, 480, true);
      return;
    case CallPhase::kEnqueuing:
    case CallPhase::kInMenu:
    case CallPhase::kQueued:
    case CallPhase::kRinging:
      // A waiting caller hearing music sent nothing for too long: gone (abandoned).
      ctx_.observer.call_failure("caller_silent");
      end({kNormalClearing, "caller media stopped"}, 480, true);
      return;
    default:
      return;
  }
}

void CallSession::hang_up(const EndReason& reason, bool tell_queue) {
  end(reason, reason.q850 == kTemporaryFailure ? 503 : 480, tell_queue);
}

void CallSession::end(const EndReason& reason, int unanswered_status, bool tell_queue) {
  if (phase_ == CallPhase::kEnding || phase_ == CallPhase::kEnded) return;
  const CallPhase was = phase_;
  if (!step(CallPhase::kEnding)) return;
  log::Info(
      "call ending",
      {{"call_id", call_.id}, {"reason", reason.text}, {"phase", std::string(ToString(was))}});
  // What queue-service is told, in order: the end of a connected call, or the abandon of a
  // waiting one (after a "connected" it may not have confirmed yet, both).
  // A callback ended by the edge (shutdown, relay lost) before the customer was connected:
  // queue-service gets the offer back and the call keeps its place.
  if (tell_queue && callback_ && attempt_ && assignment_id_ == 0) {
    Report r;
    r.kind = Report::Kind::kFailed;
    r.call_id = call_.id;
    r.agent_id = attempt_->offer.agent_id;
    r.assignment_id = attempt_->offer.assignment_id;
    r.failure = OfferFailure::kUnreachable;
    r.reason = reason.text.substr(0, 200);
    ctx_.queue.report(r);
  }
  // A connected callback ends like any call; one not connected is never "cancelled" (that
  // would abandon its place): its attempt was reported above.
  if (tell_queue && (enqueue_sent_ || (callback_ && assignment_id_ != 0))) {
    if (assignment_id_ != 0) {
      report(Report::Kind::kEnded, reason.text);
    } else {
      if (attempt_ && was == CallPhase::kConnecting) report(Report::Kind::kEnded, reason.text);
      report(Report::Kind::kCancelled, reason.text);
    }
  }
  customer_timer_.cancel();
  end_monitor(reason.text, false);  // queue-service ends the session with the call
  recording_over();
  if (customer_) {
    if (!customer_gone_) {
      if (customer_answered_) {
        customer_->bye(reason);
      } else if (callback_) {
        customer_->cancel();  // our own INVITE to the customer, still ringing
      } else if (!redirect_uri_.empty()) {
        respond_customer(302);
        customer_->redirect(redirect_uri_);
      } else {
        const int status = unanswered_status >= 300 ? unanswered_status : 480;
        respond_customer(status);
        customer_->reject(status, reason);
      }
    }
    close_leg(std::move(customer_));
  }
  if (attempt_) {
    for (auto& f : attempt_->forks) {
      if (!f.final) {
        f.leg->cancel();
      } else if (f.leg.get() == attempt_->answered && !attempt_->answered_gone) {
        f.leg->bye(reason);
      }
      close_leg(std::move(f.leg));
    }
    release(attempt_->relay);
    attempt_.reset();
  }
  if (agent_) {
    if (!agent_gone_) agent_->bye(reason);
    close_leg(std::move(agent_));
  }
  release(customer_relay_);
  release(agent_relay_);
  // A dialog whose peer never answers closes on Sofia's own timers; this is the last resort.
  ending_timer_ =
      Timer(&ctx_.timers, ctx_.timers.after(ctx_.settings.ending_timeout, guard([this]() {
                                              if (finished_) return;
                                              log::Warn(
                                                  "dialogs still open after "
                                                  "the ending timeout; "
                                                  "dropped",
                                                  {{"call_id", call_.id}, {"dialogs", dialogs()}});
                                              closing_.clear();
                                              pending_legs_ = 0;
                                              maybe_finished();
                                            })));
  maybe_finished();
}

void CallSession::maybe_finished() {
  if (finished_ || phase_ != CallPhase::kEnding) return;
  if (customer_ || agent_ || attempt_ || !closing_.empty() || pending_legs_ > 0) return;
  step(CallPhase::kEnded);
  finished_ = true;
  ending_timer_.cancel();
  if (ctx_.finished) ctx_.finished(call_.id);
}

}  // namespace cc::edge
