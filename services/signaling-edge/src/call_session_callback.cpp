// The callback that keeps the caller's place, the call session's part: offered to a waiting
// caller on its key (the number confirmed or another entered), asked of queue-service, and,
// when an offer for it comes, placed: the agent's phone rings first; once the agent answers,
// the customer is called through the trunk, and both are bridged when the customer answers.
#include "common/log.h"
#include "common/menu.h"
#include "signaling_edge/call_session.h"

namespace cc::edge {
namespace {

// The offer as two menus: "we will call you back at <digits>: 1 to confirm, 2 for another
// number", and the number entered ('#'-terminated). No key: back to waiting.
std::vector<Menu> CallbackMenus(const std::string& caller, const std::string& language) {
  MenuAction callback;
  callback.kind = MenuAction::Kind::kCallback;
  MenuAction resume;
  resume.kind = MenuAction::Kind::kResume;
  Menu enter;
  enter.name = "callback-number";
  enter.language = language;
  enter.prompts = {"callback-enter"};
  enter.max_attempts = 2;
  enter.on_failure = resume;
  DigitCollection c;
  c.name = "callback_number";
  c.min_digits = 3;
  c.max_digits = 20;
  c.then = callback;
  enter.collect = c;
  if (!IsCallbackNumber(caller)) return {enter};
  Menu confirm;
  confirm.name = "callback";
  confirm.language = language;
  confirm.prompts = {"callback-number"};
  for (char d : caller) {
    if (d != '+') confirm.prompts.push_back(std::string("digit-") + d);
  }
  confirm.prompts.push_back("callback-confirm");
  confirm.options["1"] = callback;
  confirm.options["2"].kind = MenuAction::Kind::kMenu;
  confirm.options["2"].menu = enter.name;
  confirm.max_attempts = 2;
  confirm.on_failure = resume;
  return {confirm, enter};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Asked for by the waiting caller

void CallSession::offer_callback() {
  log::Info("caller asks for a callback", {{"call_id", call_.id}, {"queue", queue_}});
  // The offer replaces whatever announcement plays; the music comes back if it is declined.
  announcing_wait_ = false;
  announcement_timer_.cancel();
  callback_dialog_ = true;
  const std::string language = announcer_ ? announcer_->config().language : "en";
  menu_ = std::make_unique<MenuRunner>(CallbackMenus(call_.caller, language));
  run_menu(menu_->start());
}

void CallSession::start_callback_menu(std::vector<std::string> intro) {
  const std::string language = language_.empty() ? "en" : language_;
  if (phase_ != CallPhase::kInMenu) {
    if (!step(CallPhase::kInMenu)) return;
    enqueue_sent_ = false;  // nothing enqueued yet: leaving has nothing to cancel
  }
  if (!customer_ || customer_gone_) return end({kNormalClearing, "caller left"}, 480, false);
  answer_customer();  // the dialog speaks and listens
  menu_ = std::make_unique<MenuRunner>(CallbackMenus(call_.caller, language), std::move(intro));
  run_menu(menu_->start());
}

void CallSession::close_callback_offer() {
  if (!callback_dialog_) return;
  callback_dialog_ = false;
  menu_.reset();
  menu_playing_.clear();
  menu_timer_.cancel();
}

void CallSession::request_callback(const std::string& number) {
  // The number is the customer's: not logged.
  ctx_.queue.request_callback(
      call_.id, number, ctx_.settings.edge_id, guard([this](Result<Ok> r) {
        if (phase_ != CallPhase::kQueued) return;  // an agent came meanwhile, or the caller left
        close_callback_offer();
        if (!r.ok()) {
          log::Warn("callback refused; the caller waits on",
                    {{"call_id", call_.id}, {"error", r.error().message}});
          return play_music();
        }
        log::Info("callback requested; the caller keeps the place", {{"call_id", call_.id}});
        const std::string language = announcer_ ? announcer_->config().language : "en";
        // queue-service has the call now, held by no edge: the end is not reported.
        announce_then_end({LocalizedPrompt("callback-done", language)},
                          {kNormalClearing, "callback requested"});
      }));
}

// ---------------------------------------------------------------------------------------
// Placed when an offer comes

void CallSession::start_callback() {
  callback_ = true;
  step(CallPhase::kQueued);  // waits for its offer (Edge::start_callback gives it at once)
}

void CallSession::callback_agent_answered(SipLeg*, const std::string& sdp) {
  Attempt& a = *attempt_;
  const std::int64_t assignment = a.offer.assignment_id;
  // The agent's answer to the relay's offer; then the customer is called.
  ctx_.media.update_leg(a.relay, sdp, guard([this, assignment](Result<std::string> r) {
                          if (!attempt_ || attempt_->offer.assignment_id != assignment ||
                              phase_ != CallPhase::kConnecting) {
                            return;
                          }
                          if (!r.ok()) {
                            attempt_->failure = OfferFailure::kUnreachable;
                            attempt_->detail = "relay: " + r.error().message;
                            if (!attempt_->answered_gone) {
                              attempt_->answered->bye({kNormalClearing, "media unavailable"});
                            }
                            return attempt_over(true);
                          }
                          dial_customer(assignment);
                        }));
}

void CallSession::dial_customer(std::int64_t assignment) {
  const Offer& o = attempt_->offer;
  const std::string trunk =
      o.callback_trunk.empty() ? ctx_.settings.outbound_proxy : o.callback_trunk;
  if (trunk.empty()) return callback_failed("no callback trunk and no --outbound-proxy");
  const Duration ring = o.callback_ring_timeout;
  ++pending_legs_;
  ctx_.media.create_leg({call_.id, "customer", "", attempt_->relay.relay},
                        guard([this, assignment, trunk, ring](Result<LegWithSdp> r) {
                          --pending_legs_;
                          if (!attempt_ || attempt_->offer.assignment_id != assignment ||
                              phase_ != CallPhase::kConnecting) {
                            if (r.ok()) release(r->leg);
                            return maybe_finished();
                          }
                          if (!r.ok()) return callback_failed("relay: " + r.error().message);
                          customer_relay_ = r->leg;
                          customer_local_sdp_ = r->local_sdp;
                          AgentInvite inv;
                          inv.call_id = call_.id;
                          inv.contact = "sip:" + call_.caller + "@" + trunk;
                          inv.route = "sip:" + trunk;
                          inv.from = "<sip:" + call_.dialed + "@" + ctx_.settings.realm + ">";
                          inv.sdp = customer_local_sdp_;
                          inv.customer = true;
                          customer_ = ctx_.sip.invite(inv);
                          if (!customer_) return callback_failed("cannot address " + inv.contact);
                          ctx_.observer.request("INVITE");
                          customer_timer_ =
                              Timer(&ctx_.timers,
                                    ctx_.timers.after(ring, guard([this] {
                                                        if (!customer_ || customer_answered_)
                                                          return;
                                                        customer_no_answer_ = true;
                                                        customer_->cancel();
                                                      })));
                        }));
}

void CallSession::on_customer_response(SipLeg* leg, int status, const std::string& sdp) {
  // Otherwise the answer to a refresh of an incoming caller's dialog: nothing to do.
  if (!callback_ || leg != customer_.get() || status < 200) return;
  if (!attempt_ || phase_ != CallPhase::kConnecting || customer_answered_) {
    if (status < 300 && !customer_answered_) leg->bye({kNormalClearing, "callback over"});
    return;
  }
  if (status >= 300) {
    return callback_failed(customer_no_answer_ ? "no answer" : std::to_string(status));
  }
  customer_timer_.cancel();
  customer_answered_ = true;
  const std::int64_t assignment = attempt_->offer.assignment_id;
  // The customer's answer to the relay, then queue-service's word and the bridge, as for a
  // caller who waited on the line (on_connect_confirmed).
  ctx_.media.update_leg(customer_relay_, sdp, guard([this, assignment](Result<std::string> r) {
                          if (!attempt_ || attempt_->offer.assignment_id != assignment ||
                              phase_ != CallPhase::kConnecting) {
                            return;
                          }
                          if (!r.ok()) return callback_failed("relay: " + r.error().message);
                          Report rep;
                          rep.kind = Report::Kind::kConnected;
                          rep.call_id = call_.id;
                          rep.agent_id = attempt_->offer.agent_id;
                          rep.assignment_id = assignment;
                          ctx_.queue.report(rep, guard([this, assignment](Result<Ok> ack) {
                                              on_connect_confirmed(assignment, std::move(ack), "");
                                            }));
                        }));
}

void CallSession::callback_failed(const std::string& detail) {
  if (!attempt_) return;
  log::Info("callback not connected", {{"call_id", call_.id}, {"detail", detail}});
  attempt_->failure = OfferFailure::kCallbackUnanswered;
  attempt_->detail = "customer: " + detail;
  if (attempt_->answered && !attempt_->answered_gone) {
    attempt_->answered->bye({kNormalClearing, "the customer did not answer"});
  }
  attempt_over(true);
}

}  // namespace cc::edge
