// IVR menus, the call session's part: answered into the menus the dialled number leads to
// (or a closed queue's), the runner's steps carried out (prompts, keys, timers), and where
// the caller's choice leads: a queue with what the menus gathered, the end, a transfer
// (REFER followed to its NOTIFY), or a callback.
#include "common/log.h"
#include "common/menu.h"
#include "signaling_edge/call_session.h"

namespace cc::edge {
void CallSession::start_menu(std::vector<Menu> menus, std::vector<std::string> intro) {
  if (!step(CallPhase::kInMenu)) return;
  // Nothing is enqueued while the caller chooses: leaving now has nothing to cancel.
  enqueue_sent_ = false;
  if (!customer_ || customer_gone_) return end({kNormalClearing, "caller left"}, 480, false);
  log::Info("caller in menu", {{"call_id", call_.id}, {"menu", menus.front().name}});
  menu_ = std::make_unique<MenuRunner>(std::move(menus), std::move(intro));
  answer_customer();  // a menu speaks and listens
  run_menu(menu_->start());
}

void CallSession::run_menu(MenuStep s) {
  if (s.stop_prompts && !menu_playing_.empty()) {
    menu_playing_.clear();
    announcement_timer_.cancel();
    ctx_.media.stop_play(customer_relay_);
  }
  if (!s.play.empty()) play_menu_prompts(s.play);
  if (s.wait) {
    menu_timer_ = Timer(&ctx_.timers, ctx_.timers.after(*s.wait, guard([this] {
      if (menu_active()) run_menu(menu_->on_timeout());
    })));
  } else {
    menu_timer_.cancel();
  }
  if (s.outcome) menu_done(*s.outcome);
}

void CallSession::play_menu_prompts(const std::vector<std::string>& prompts) {
  menu_playing_ = prompts;
  ctx_.media.play(
      customer_relay_, prompts, false, ctx_.settings.waiting_media_timeout,
      guard([this, prompts](Result<Ok> r) {
        if (r.ok()) return;
        // A prompt the relay does not have: the menu goes on without it.
        log::Warn("menu prompt failed", {{"call_id", call_.id}, {"error", r.error().message}});
        if (menu_playing_ == prompts) on_prompt_finished(prompts);
      }));
  // The relay says when they are over; if that word is lost, the menu goes on all the same.
  announcement_timer_ = Timer(
      &ctx_.timers, ctx_.timers.after(ctx_.settings.announcement_limit, guard([this, prompts] {
                                        if (menu_active() && menu_playing_ == prompts)
                                          on_prompt_finished(prompts);
                                      })));
}

void CallSession::menu_done(const MenuOutcome& o) {
  menu_timer_.cancel();
  menu_playing_.clear();
  if (!callback_dialog_) language_ = menu_->language();
  switch (o.kind) {
    case MenuOutcome::Kind::kQueue:
      chosen_ = {};
      chosen_.queue = o.queue;
      chosen_.priority = o.priority;
      chosen_.skills = o.skills;
      chosen_.data = menu_->data();
      chosen_.language = language_;
      log::Info("caller chose a queue in the menu",
                {{"call_id", call_.id}, {"menu", menu_->menu()}, {"queue", o.queue}});
      step(CallPhase::kEnqueuing);
      send_enqueue();
      return;
    case MenuOutcome::Kind::kHangup:
      log::Info("menu ends the call", {{"call_id", call_.id}, {"reason", o.reason}});
      ctx_.observer.call_failure("menu_hangup");
      return announce_then_end(o.prompts, {kNormalClearing, o.reason});
    case MenuOutcome::Kind::kCallback:
      if (callback_dialog_) return request_callback(o.number.empty() ? call_.caller : o.number);
      if (!o.queue.empty()) {  // a menu's choice: the number is confirmed first
        callback_queue_ = o.queue;
        return start_callback_menu({});
      }
      // The number confirmed (a menu's choice, or a closed queue's offer): into the queue as
      // a callback, then the caller is told and hung up (on_enqueued).
      chosen_ = {};
      chosen_.queue = callback_queue_;
      chosen_.callback_number = o.number.empty() ? call_.caller : o.number;
      chosen_.language = language_;
      log::Info("caller chose a callback", {{"call_id", call_.id}, {"queue", callback_queue_}});
      step(CallPhase::kEnqueuing);
      return send_enqueue();
    case MenuOutcome::Kind::kResume:
      if (!callback_dialog_) {  // the callback declined in a menu or while closed: goodbye
        return announce_then_end({LocalizedPrompt("goodbye", language_)},
                                 {kNormalClearing, "callback declined"});
      }
      close_callback_offer();
      return play_music();
    case MenuOutcome::Kind::kTransfer:
      log::Info("menu transfers the caller", {{"call_id", call_.id}, {"uri", o.uri}});
      transferring_ = true;
      customer_->refer(o.uri);
      // RFC 3515: the caller reports how the new call went; without a word, the call ends.
      transfer_timer_ =
          Timer(&ctx_.timers,
                ctx_.timers.after(ctx_.settings.announcement_limit, guard([this] {
                                    if (transferring_)
                                      end({kNormalClearing, "transfer unconfirmed"}, 480, false);
                                  })));
      return;
  }
}

bool CallSession::menu_active() const {
  if (!menu_ || menu_->done()) return false;
  return callback_dialog_ ? phase_ == CallPhase::kQueued : phase_ == CallPhase::kInMenu;
}

void CallSession::on_digit(char digit) {
  // Keys count in menus only (never logged: they may be an account or card number), and the
  // callback key while the caller waits.
  if (menu_active()) return run_menu(menu_->on_digit(digit));
  if (phase_ == CallPhase::kQueued && callback_offer_.enabled && !menu_ &&
      digit == callback_offer_.key && customer_answered_) {
    offer_callback();
  }
}

void CallSession::on_transfer_progress(int status, bool final) {
  if (!transferring_ || phase_ != CallPhase::kInMenu) return;
  if (status >= 300) {
    transferring_ = false;
    transfer_timer_.cancel();
    log::Warn("transfer failed", {{"call_id", call_.id}, {"status", status}});
    ctx_.observer.call_failure("transfer_failed");
    return end({kNormalClearing, "transfer failed (" + std::to_string(status) + ")"}, 480, false);
  }
  if (final && status >= 200) {
    transferring_ = false;
    transfer_timer_.cancel();
    return end({kNormalClearing, "transferred"}, 480, false);
  }
}

}  // namespace cc::edge
