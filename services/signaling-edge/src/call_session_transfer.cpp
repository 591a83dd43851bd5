// Blind transfers of a connected call: the agent's phone sends a REFER (or an operator asks
// queue-service through the API), queue-service moves the call (to a queue, where it keeps
// its first place, or straight to a named agent), and the session lets the agent go while
// the caller hears music until the next agent answers. The customer's dialog and relay leg
// never change: only the agent side is replaced.
#include "common/log.h"
#include "signaling_edge/call_session.h"

namespace cc::edge {
namespace {

// What the phone is told (sipfrag) when queue-service refused the transfer.
int NotifyStatusOf(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
    case ErrorCode::kInvalidArgument:
      return 404;  // no such number, agent or queue
    case ErrorCode::kFailedPrecondition:
      return 486;  // the named agent cannot take it now (or the call is not connected)
    default:
      return 503;  // queue-service unreachable: the agent may try again
  }
}

}  // namespace

bool CallSession::holds(const SipLeg* leg) const {
  if (leg == nullptr) return false;
  if (leg == agent_.get() || leg == customer_.get()) return true;
  for (const auto& c : closing_) {
    if (c.get() == leg) return true;
  }
  return false;
}

void CallSession::on_agent_refer(SipLeg* leg, const std::string& target) {
  if (leg != agent_.get() || phase_ != CallPhase::kConnected || agent_gone_) {
    leg->notify_refer(603);  // nothing to transfer on this dialog (any more)
    return;
  }
  if (referring_ != nullptr) {
    leg->notify_refer(491);  // one transfer at a time
    return;
  }
  if (target.empty()) {
    leg->notify_refer(400);  // a Refer-To without a number or name
    return;
  }
  log::Info("agent transfers the call",
            {{"call_id", call_.id}, {"agent_id", agent_id_}, {"target", target}});
  referring_ = leg;
  leg->notify_refer(100);
  const std::int64_t assignment = assignment_id_;
  ctx_.queue.transfer(
      {call_.id, assignment, target, "phone of " + agent_id_},
      guard([this, leg, assignment](Result<Ok> r) {
        referring_ = nullptr;
        const bool still_there = holds(leg);
        if (!r.ok()) {
          log::Info("transfer refused", {{"call_id", call_.id}, {"error", r.error().message}});
          if (still_there) leg->notify_refer(NotifyStatusOf(r.error()));
          return;
        }
        if (still_there) leg->notify_refer(200);
        // queue-service has the agent's leg over; its event may have come first.
        if (assignment_id_ == assignment) detach_agent("transferred");
      }));
}

void CallSession::on_transferred(std::int64_t assignment) {
  if (assignment == 0 || assignment != assignment_id_ || phase_ != CallPhase::kConnected) return;
  detach_agent("transferred");
}

void CallSession::detach_agent(const std::string& why) {
  if (!step(CallPhase::kQueued)) return;
  end_monitor("the call left its agent", false);  // queue-service ends it likewise
  recording_over();                               // the next agent's leg gets its own file
  log::Info("agent leaves the call",
            {{"call_id", call_.id}, {"agent_id", agent_id_}, {"why", why}});
  SipLeg* leg = agent_.get();
  if (agent_ && !agent_gone_) {
    // The phone that sent the REFER hangs up itself after the final NOTIFY; an agent moved
    // through the API, or a phone that does not, gets the edge's BYE after the grace.
    transfer_bye_timer_ = Timer(
        &ctx_.timers, ctx_.timers.after(ctx_.settings.transfer_hangup_grace, guard([this, leg] {
                                          for (auto& c : closing_) {
                                            if (c.get() == leg)
                                              c->bye({kNormalClearing, "transferred"});
                                          }
                                        })));
  }
  close_leg(std::move(agent_));
  release(agent_relay_);  // the relay unbridges the caller
  agent_local_sdp_.clear();
  agent_id_.clear();
  assignment_id_ = 0;
  agent_gone_ = false;
  // The caller waits again: music, and the queue's announcements from their next turn.
  play_music();
  if (announcer_ && announcer_->config().every.count() > 0) {
    schedule_wait_announcement(announcer_->config().every);
  }
}

}  // namespace cc::edge
