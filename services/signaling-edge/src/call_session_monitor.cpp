// A supervisor in a connected call: queue-service decides who may and in which mode; the
// session rings the supervisor's phone with a relay leg of its own, then asks the relay to
// mix the three (listen: nobody hears the supervisor; whisper: only the agent does; barge:
// everyone hears everyone). A new mode changes the mix; the end lets the supervisor go and
// bridges the caller and the agent again.
#include "common/log.h"
#include "signaling_edge/call_session.h"

namespace cc::edge {
namespace {

const char* ModeName(MonitorMode m) {
  switch (m) {
    case MonitorMode::kListen:
      return "listen";
    case MonitorMode::kWhisper:
      return "whisper";
    case MonitorMode::kBarge:
      return "barge";
  }
  return "listen";
}

}  // namespace

bool CallSession::is_monitor(const SipLeg* leg) const {
  return monitor_ && leg != nullptr && monitor_->leg.get() == leg;
}

std::string CallSession::on_monitor(const MonitorOrder& order) {
  if (order.stop) {
    if (monitor_ && monitor_->session == order.session_id) end_monitor("stopped", false);
    return "";  // a session this call does not have is over here either way
  }
  if (monitor_) {
    if (monitor_->session != order.session_id) return "another supervisor is in the call";
    monitor_->mode = order.mode;
    if (monitor_->answered) apply_mix();
    log::Info("monitoring mode changed", {{"call_id", call_.id}, {"mode", ModeName(order.mode)}});
    return "";
  }
  if (phase_ != CallPhase::kConnected || !agent_ || agent_gone_ || agent_relay_.empty()) {
    return "call is " + std::string(ToString(phase_));
  }
  if (order.devices.empty()) return "no phone of the supervisor to ring";
  monitor_ = std::make_unique<Monitor>();
  monitor_->session = order.session_id;
  monitor_->supervisor = order.supervisor_id;
  monitor_->mode = order.mode;
  const std::int64_t session = order.session_id;
  const AgentDevice device = order.devices.front();
  const Duration ring = order.ring_timeout;
  log::Info("calling a supervisor into the call", {{"call_id", call_.id},
                                                   {"supervisor_id", order.supervisor_id},
                                                   {"mode", ModeName(order.mode)}});
  ++pending_legs_;
  // On the relay of the call's legs: the three are mixed there.
  ctx_.media.create_leg(
      {call_.id, "supervisor", "", customer_relay_.relay},
      guard([this, session, device, ring](Result<LegWithSdp> r) {
        --pending_legs_;
        if (!monitor_ || monitor_->session != session) {
          if (r.ok()) release(r->leg);
          maybe_finished();
          return;
        }
        if (!r.ok()) return end_monitor("relay: " + r.error().message, true);
        monitor_->relay = r->leg;
        monitor_->local_sdp = r->local_sdp;
        AgentInvite inv;
        inv.call_id = call_.id;
        inv.contact = device.contact;
        inv.route = DeviceRoute(device);
        inv.from = "\"Monitor " + agent_id_ + "\" <sip:monitor@" + ctx_.settings.realm + ">";
        inv.sdp = r->local_sdp;
        inv.headers = {"X-CC-Monitor: " + std::string(ModeName(monitor_->mode)) +
                       ";call=" + call_.id + ";agent=" + agent_id_};
        monitor_->leg = ctx_.sip.invite(inv);
        if (!monitor_->leg) return end_monitor("the supervisor's phone cannot be addressed", true);
        monitor_->ring_timer = Timer(
            &ctx_.timers, ctx_.timers.after(ring, guard([this, session] {
                                              if (monitor_ && monitor_->session == session &&
                                                  !monitor_->answered) {
                                                end_monitor("the supervisor did not answer", true);
                                              }
                                            })));
      }));
  return "";
}

void CallSession::monitor_response(int status, const std::string& sdp) {
  if (!monitor_ || status < 200) return;
  monitor_->final = true;
  if (status >= 300) {
    return end_monitor("the supervisor's phone answered " + std::to_string(status), true);
  }
  if (monitor_->answered) return;  // a retransmitted 200
  monitor_->answered = true;
  monitor_->ring_timer.cancel();
  const std::int64_t session = monitor_->session;
  ctx_.media.update_leg(
      monitor_->relay, sdp, guard([this, session](Result<std::string> r) {
        if (!monitor_ || monitor_->session != session) return;
        if (!r.ok()) {
          return end_monitor("relay refused the supervisor's answer: " + r.error().message, true);
        }
        apply_mix();
        ctx_.queue.report_monitor(session, call_.id, true, "",
                                  guard([this, session](Result<Ok> ack) {
                                    // queue-service has the session over.
                                    if (!ack.ok() && monitor_ && monitor_->session == session) {
                                      end_monitor(ack.error().message, false);
                                    }
                                  }));
      }));
}

void CallSession::apply_mix() {
  if (!monitor_ || monitor_->relay.empty() || agent_relay_.empty()) return;
  MixPart supervisor{monitor_->relay.id};
  switch (monitor_->mode) {
    case MonitorMode::kListen:
      supervisor.muted = true;
      break;
    case MonitorMode::kWhisper:
      supervisor.heard_by = {agent_relay_.id};
      break;
    case MonitorMode::kBarge:
      break;
  }
  const std::vector<MixPart> members = {{customer_relay_.id}, {agent_relay_.id}, supervisor};
  ctx_.media.set_mix(customer_relay_.relay, call_.id, members, [id = call_.id](Result<Ok> r) {
    if (!r.ok()) log::Warn("mix not set", {{"call_id", id}, {"error", r.error().message}});
  });
}

void CallSession::end_monitor(const std::string& why, bool report) {
  auto m = std::move(monitor_);
  if (!m) return;
  log::Info("supervisor leaves the call",
            {{"call_id", call_.id}, {"supervisor_id", m->supervisor}, {"why", why}});
  if (m->leg && !m->gone) {
    if (!m->final) {
      m->leg->cancel();
    } else if (m->answered) {
      m->leg->bye({kNormalClearing, why});
    }
  }
  close_leg(std::move(m->leg));
  release(m->relay);  // out of the mix
  // The caller and the agent, back to a plain bridge.
  if (m->answered && phase_ == CallPhase::kConnected && !agent_relay_.empty()) {
    ctx_.media.connect(agent_relay_, "", customer_relay_, [id = call_.id](Result<Ok> r) {
      if (!r.ok())
        log::Warn("bridge not restored", {{"call_id", id}, {"error", r.error().message}});
    });
  }
  if (report) {
    ctx_.queue.report_monitor(m->session, call_.id, false, why, [id = call_.id](Result<Ok> r) {
      if (!r.ok())
        log::Warn("monitoring end not reported", {{"call_id", id}, {"error", r.error().message}});
    });
  }
}

}  // namespace cc::edge
