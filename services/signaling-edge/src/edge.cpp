#include "signaling_edge/edge.h"

#include <future>
#include <set>
#include <thread>

// Generated headers before Sofia's: Sofia's macros (sip_call_id(), ...) clash with their names.
#include "callcenter/v1/events.pb.h"
#include "common/ids.h"
#include "common/log.h"
#include "signaling_edge/call_registry.h"
#include "signaling_edge/grpc_ports.h"
#include "signaling_edge/queue_outbox.h"
#include "signaling_edge/registrar.h"
#include "signaling_edge/sip_loop.h"
#include "signaling_edge/sofia_stack.h"

namespace cc::edge {

namespace v1 = callcenter::v1;

// Everything that lives on the SIP loop, made and destroyed there.
struct Edge::Parts {
  Parts(Edge& edge, const EdgeSettings& s, SipLoop& loop, EdgeTargets& targets,
        EdgeObserver& observer)
      : inflight(std::make_shared<std::atomic<int>>(0)),
        timers(loop),
        guard(s.front_door, SystemClock::instance()),
        stack(s, loop, observer, guard),
        queue_port(MakeQueuePort(targets.queue, loop, s.rpc_timeout, inflight)),
        registry_port(MakeRegistryPort(targets.registry, loop, s.rpc_timeout, inflight)),
        relays(
            targets.relays,
            [&s, &loop, inflight = inflight](const std::string& address) {
              return MakeRelayClient(address, s.edge_id, loop, s.rpc_timeout, inflight);
            },
            timers, RelayPoolSettings{s.relay_poll, s.relay_failures, s.relay_poll * 15},
            [&edge](const std::string& relay) { return edge.legs_on(relay); },
            [&edge](const std::string& relay, const std::vector<std::string>& legs) {
              edge.relay_lost(relay, legs);
            }),
        outbox(*queue_port, timers, SystemClock::instance(),
               OutboxSettings{Duration{100}, Duration{5000}, s.enqueue_retry, Duration{600000},
                              100000},
               &observer),
        registrar(s, stack, *registry_port, SystemClock::instance(), observer, guard),
        ctx{s,
            relays,
            outbox,
            stack,
            timers,
            SystemClock::instance(),
            observer,
            [&edge, &loop](const std::string& id) {
              // Later, not inside the session's own frame.
              loop.post([&edge, id] {
                if (!edge.parts_) return;
                edge.parts_->calls.erase(id);
                edge.gauges();
              });
            }} {}

  RpcCounter inflight;
  LoopTimers timers;
  SourceGuard guard;
  SofiaStack stack;
  std::unique_ptr<QueuePort> queue_port;
  std::unique_ptr<RegistryPort> registry_port;
  RelayPool relays;
  QueueOutbox outbox;
  Registrar registrar;
  SessionContext ctx;
  CallRegistry calls;
  Timer heartbeat_timer;
};

Edge::Edge(EdgeSettings settings, SipLoop& loop, NatsClient& nats, EdgeTargets targets,
           EdgeObserver* observer)
    : settings_(std::move(settings)),
      loop_(loop),
      nats_(nats),
      targets_(std::move(targets)),
      observer_(observer ? observer : &default_observer_) {}

Edge::~Edge() {
  shutdown();
}

Status Edge::start() {
  Status result = OkStatus();
  loop_.run_sync([&] {
    parts_ = std::make_unique<Parts>(*this, settings_, loop_, targets_, *observer_);
    SofiaStack::Handlers h;
    h.on_register = [this](nua_handle_t* nh, sip_t const* sip, const RequestSource& src) {
      parts_->registrar.on_register(nh, sip, src);
    };
    h.on_invite = [this](nua_handle_t* nh, const InviteRequest& r) { on_invite(nh, r); };
    h.find_call = [this](const std::string& id) { return parts_->calls.find(id); };
    result = parts_->stack.start(std::move(h));
    if (!result.ok()) return;
    result = parts_->registrar.start(loop_.root());
    if (!result.ok()) return;
    parts_->relays.start();
    heartbeat();
  });
  if (!result.ok()) return result;
  // Everything for this edge comes on its own subjects: offers (request/reply), the events
  // that end its calls, and media events of its legs.
  auto sub = nats_.subscribe(
      nats_.subject("edge." + SubjectToken(settings_.edge_id) + ".>"),
      [this](NatsMessage m) { loop_.post([this, m = std::move(m)] { on_message(m); }); });
  if (!sub.ok()) return sub.error();
  subscriptions_.push_back(std::move(sub).value());
  log::Info("sip listening", {{"address", settings_.sip_listen},
                              {"advertise", settings_.sip_advertise},
                              {"edge_id", settings_.edge_id},
                              {"relays", static_cast<int>(targets_.relays.size())}});
  return OkStatus();
}

int Edge::drain() {
  int live = 0;
  loop_.run_sync([&] {
    draining_ = true;
    if (parts_) live = static_cast<int>(parts_->calls.size());
  });
  return live;
}

void Edge::shutdown() {
  if (!parts_) return;
  subscriptions_.clear();
  std::promise<void> stopped;
  auto stack_done = stopped.get_future();
  const bool posted = loop_.post([&] {
    draining_ = true;
    parts_->heartbeat_timer.cancel();
    for (CallSession* s : parts_->calls.all()) s->hang_up({41, "edge shutting down"}, true);
    // nua BYEs what is still up and answers when every dialog is closed.
    parts_->stack.shutdown([&] { stopped.set_value(); });
  });
  if (posted) stack_done.wait_for(std::chrono::seconds(5));
  // Replies to the last calls (reports among them) land on the loop first.
  for (int i = 0; i < 100 && parts_->inflight->load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (parts_->outbox.size() > 0) {
    log::Warn("reports not acknowledged at shutdown; queue-service reconciles them",
              {{"reports", static_cast<int>(parts_->outbox.size())}});
  }
  loop_.run_sync([&] {
    parts_->calls = CallRegistry();  // legs destroy their handles before nua goes
    parts_.reset();
  });
  parts_.reset();  // if the loop was gone already
}

EdgeStats Edge::stats() {
  EdgeStats s;
  loop_.run_sync([&] {
    if (!parts_) return;
    s.live_dialogs = parts_->calls.dialogs();
    s.live_calls = static_cast<int>(parts_->calls.size());
    s.calls_total = calls_total_;
    s.registrations_total = parts_->registrar.requests();
    s.draining = draining_;
    s.pending_reports = static_cast<int>(parts_->outbox.size());
    s.relays = parts_->relays.status();
  });
  return s;
}

std::vector<LiveCallView> Edge::live_calls() {
  std::vector<LiveCallView> out;
  loop_.run_sync([&] {
    if (!parts_) return;
    for (CallSession* s : parts_->calls.all()) out.push_back(s->view());
  });
  return out;
}

void Edge::gauges() {
  if (parts_) {
    observer_->gauges(parts_->calls.dialogs(), static_cast<int>(parts_->calls.size()));
  }
}

std::string Edge::new_call_id() {
  return settings_.edge_id + "-" + std::to_string(next_call_++) + "-" + RandomHex(3);
}

// ---------------------------------------------------------------------------------------
// Customer INVITEs

void Edge::on_invite(void* handle, const InviteRequest& r) {
  auto* nh = static_cast<nua_handle_t*>(handle);
  SofiaStack& stack = parts_->stack;
  auto refuse = [&](int status, const char* phrase, const char* failure) {
    if (failure) observer_->call_failure(failure);
    stack.reject(nh, status, phrase);
  };
  if (r.has_to_tag) return refuse(481, "Call/Transaction Does Not Exist", nullptr);
  // The agent leg is one hop further: an INVITE with no hops left is a loop (RFC 3261 16.3).
  if (r.max_forwards == 0) return refuse(483, "Too Many Hops", "too_many_hops");
  if (draining_ || static_cast<int>(parts_->calls.size()) >= settings_.max_calls) {
    return refuse(503, draining_ ? "Draining" : "Overloaded", "overload");
  }
  // RFC 3261 21.4.13: a body of a type the edge does not read is 415, with what it reads.
  if (r.other_body) return refuse(415, "Unsupported Media Type", "unsupported_body");
  // The answer carries SDP: a caller that accepts none cannot take it (RFC 3261 21.4.7).
  if (!r.accepts_sdp) return refuse(406, "Not Acceptable", "sdp_not_acceptable");
  if (r.sdp.empty()) return refuse(488, "SDP offer required", "no_sdp");
  if (r.user.empty()) return refuse(404, "Not Found", "unknown_number");
  // The same request by another path (RFC 3261 8.2.2.2): one call is enough.
  if (!r.sip_call_id.empty() && parts_->calls.find_by_sip_call_id(r.sip_call_id)) {
    return refuse(482, "Loop Detected", "merged_request");
  }
  if (parts_->guard.may_start_call(r.source_ip, parts_->calls.from_source(r.source_ip)) !=
      Refusal::kNone) {
    observer_->refused("INVITE", ToString(Refusal::kTooManyCalls));
    return refuse(503, "Too Many Calls From This Address", "too_many_calls_from_source");
  }
  CustomerCall c;
  c.source = r.source_ip;
  c.id = new_call_id();
  c.sip_call_id = r.sip_call_id;
  c.caller = r.caller;
  c.caller_display = r.caller_display;
  c.dialed = r.user;
  c.sdp = r.sdp;
  c.max_forwards = static_cast<unsigned>(std::min<unsigned long>(r.max_forwards - 1, 70));
  c.started_at = SystemClock::instance().now();
  auto leg = stack.adopt(nh, c.id, c.sip_call_id);
  CallSession& s = parts_->calls.add(std::make_unique<CallSession>(parts_->ctx, c, std::move(leg)));
  calls_total_++;
  gauges();
  s.start();
}

CallSession* Edge::start_callback(const Offer& offer) {
  CustomerCall c;
  c.id = offer.call_id;
  c.caller = offer.callback_number;
  c.dialed = offer.queue;
  c.started_at = SystemClock::instance().now();
  log::Info("placing a callback", {{"call_id", c.id}, {"queue", offer.queue}});
  CallSession& s = parts_->calls.add(std::make_unique<CallSession>(parts_->ctx, c, nullptr));
  calls_total_++;
  gauges();
  s.start_callback();
  return &s;
}

// ---------------------------------------------------------------------------------------
// NATS: offers and events on the edge's own subjects

void Edge::on_message(const NatsMessage& m) {
  if (!parts_) return;
  const std::string prefix = nats_.subject("edge." + SubjectToken(settings_.edge_id) + ".");
  if (m.subject.rfind(prefix, 0) != 0) return;
  const std::string rest = m.subject.substr(prefix.size());
  if (rest == "offer") {
    on_offer(m.data, m.reply);
  } else if (rest == "monitor") {
    on_monitor(m.data, m.reply);
  } else if (rest == "record") {
    on_record(m.data, m.reply);
  } else if (rest.rfind("call.", 0) == 0) {
    on_call_event(m.data);
  } else if (rest == "media.timeout" || rest == "media.prompt_finished" || rest == "media.dtmf") {
    on_media_event(m.data);
  }
}

namespace {

// A phone of an agent (or supervisor) as queue-service sends it.
AgentDevice DeviceOf(const v1::Binding& b) {
  return {b.contact_uri(), b.source_address(), b.source_port(),
          b.transport() == v1::SIP_TRANSPORT_TCP || b.transport() == v1::SIP_TRANSPORT_TLS,
          b.transport() == v1::SIP_TRANSPORT_TLS};
}

}  // namespace

void Edge::on_offer(const std::string& data, const std::string& reply) {
  v1::Offer msg;
  if (!msg.ParseFromString(data)) return;
  Offer offer;
  offer.assignment_id = msg.assignment_id();
  offer.call_id = msg.call_id();
  offer.agent_id = msg.agent_id();
  offer.queue = msg.queue();
  offer.ring_timeout = Duration{std::max(1000, msg.ring_timeout_ms())};
  offer.callback_number = msg.callback_number();
  offer.callback_trunk = msg.callback_trunk();
  if (msg.callback_ring_timeout_ms() > 0) {
    offer.callback_ring_timeout = Duration{msg.callback_ring_timeout_ms()};
  }
  offer.record = msg.record();
  offer.recording_retention_days = msg.recording_retention_days();
  for (const auto& b : msg.bindings()) {
    offer.devices.push_back(DeviceOf(b));
  }
  CallSession* s = parts_->calls.find(offer.call_id);
  // A callback is held by no edge until an offer gives it to one: this edge places it (the
  // agent first, then the customer), unless it is draining (then queue-service tries later).
  if (!s && !offer.callback_number.empty()) {
    if (draining_) {
      v1::OfferAck ack;
      ack.set_assignment_id(offer.assignment_id);
      ack.set_refusal(v1::OfferAck::REFUSAL_BUSY);
      ack.set_reason("edge draining");
      if (!reply.empty()) (void)nats_.publish(reply, ack.SerializeAsString());
      return;
    }
    s = start_callback(offer);
  }
  const OfferRefusal refusal = s ? s->on_offer(offer) : OfferRefusal::kUnknownCall;
  v1::OfferAck ack;
  ack.set_assignment_id(offer.assignment_id);
  ack.set_accepted(refusal == OfferRefusal::kNone);
  switch (refusal) {
    case OfferRefusal::kNone:
      break;
    case OfferRefusal::kUnknownCall:
      ack.set_refusal(v1::OfferAck::REFUSAL_UNKNOWN_CALL);
      ack.set_reason("unknown call");
      break;
    case OfferRefusal::kBusy:
      ack.set_refusal(v1::OfferAck::REFUSAL_BUSY);
      ack.set_reason("call is " + std::string(ToString(s->phase())));
      break;
  }
  if (!reply.empty()) (void)nats_.publish(reply, ack.SerializeAsString());
}

void Edge::on_monitor(const std::string& data, const std::string& reply) {
  v1::MonitorOrder msg;
  if (!msg.ParseFromString(data)) return;
  MonitorOrder order;
  order.session_id = msg.session_id();
  order.call_id = msg.call_id();
  order.supervisor_id = msg.supervisor_id();
  order.mode = msg.mode() == v1::MONITOR_MODE_BARGE     ? MonitorMode::kBarge
               : msg.mode() == v1::MONITOR_MODE_WHISPER ? MonitorMode::kWhisper
                                                        : MonitorMode::kListen;
  order.stop = msg.stop();
  if (msg.ring_timeout_ms() > 0) order.ring_timeout = Duration{msg.ring_timeout_ms()};
  for (const auto& b : msg.bindings()) {
    order.devices.push_back(DeviceOf(b));
  }
  CallSession* s = parts_->calls.find(order.call_id);
  const std::string refusal = s ? s->on_monitor(order) : "unknown call";
  v1::MonitorAck ack;
  ack.set_session_id(order.session_id);
  ack.set_accepted(refusal.empty());
  ack.set_reason(refusal);
  if (!reply.empty()) (void)nats_.publish(reply, ack.SerializeAsString());
}

void Edge::on_record(const std::string& data, const std::string& reply) {
  v1::RecordOrder msg;
  if (!msg.ParseFromString(data)) return;
  RecordingAction action = RecordingAction::kStart;
  switch (msg.action()) {
    case v1::RECORDING_ACTION_PAUSE:
      action = RecordingAction::kPause;
      break;
    case v1::RECORDING_ACTION_RESUME:
      action = RecordingAction::kResume;
      break;
    case v1::RECORDING_ACTION_STOP:
      action = RecordingAction::kStop;
      break;
    default:
      break;
  }
  CallSession* s = parts_->calls.find(msg.call_id());
  const std::string refusal =
      s ? s->on_record(action, msg.retention_days(), msg.requested_by()) : "unknown call";
  v1::RecordAck ack;
  ack.set_call_id(msg.call_id());
  ack.set_accepted(refusal.empty());
  ack.set_reason(refusal);
  if (!reply.empty()) (void)nats_.publish(reply, ack.SerializeAsString());
}

void Edge::on_call_event(const std::string& data) {
  v1::CallEvent e;
  if (!e.ParseFromString(data) || e.call().edge_id() != settings_.edge_id) return;
  CallSession* s = parts_->calls.find(e.call().id());
  if (!s) return;
  if (e.kind() == v1::CallEvent::KIND_TRANSFERRED) {
    s->on_transferred(e.transferred_assignment_id());
    return;
  }
  switch (e.call().state()) {
    case v1::CALL_STATE_TIMED_OUT:
    case v1::CALL_STATE_OVERFLOWED:
    case v1::CALL_STATE_FAILED:
    case v1::CALL_STATE_ABANDONED:
    case v1::CALL_STATE_ENDED: {
      // queue-service ended the call (max wait, overflow to a hang-up, nobody to answer, the
      // edge's lease or its heartbeat): the caller and the agent are told, nothing reported.
      if (s->phase() == CallPhase::kEnding || s->phase() == CallPhase::kEnded) return;
      const std::string reason =
          e.call().outcome_reason().empty() ? e.reason() : e.call().outcome_reason();
      observer_->reconciled("queue_ended");
      s->on_queue_ended(reason, e.call().state() == v1::CALL_STATE_TIMED_OUT);
      return;
    }
    default:
      return;
  }
}

void Edge::on_media_event(const std::string& data) {
  v1::MediaEvent e;
  if (!e.ParseFromString(data)) return;
  CallSession* s = parts_->calls.find(e.call_id());
  if (!s) return;
  if (e.kind() == v1::MediaEvent::KIND_MEDIA_TIMEOUT) s->on_media_timeout();
  if (e.kind() == v1::MediaEvent::KIND_PROMPT_FINISHED) {
    s->on_prompt_finished({e.prompts().begin(), e.prompts().end()});
  }
  if (e.kind() == v1::MediaEvent::KIND_DTMF && e.digit().size() == 1) {
    s->on_leg_digit(e.leg_id(), e.digit()[0]);
  }
}

// ---------------------------------------------------------------------------------------
// Reconciliation with queue-service and the relays

void Edge::heartbeat() {
  if (!parts_) return;
  Heartbeat hb;
  hb.edge_id = settings_.edge_id;
  hb.lease = settings_.heartbeat * 3;
  // Every call this edge holds: live ones, and those whose reports are still on their way
  // (queue-service learns their end from the report, with its true reason).
  std::set<std::string> held;
  // Calls whose enqueue queue-service had acknowledged before this heartbeat left: only these
  // can be missing there for good (a later enqueue may still be committing while the
  // heartbeat is read).
  auto enqueued = std::make_shared<std::set<std::string>>();
  for (CallSession* s : parts_->calls.all()) {
    held.insert(s->id());
    if (s->enqueued()) enqueued->insert(s->id());
  }
  for (const auto& id : parts_->outbox.pending_calls()) held.insert(id);
  hb.call_ids.assign(held.begin(), held.end());
  parts_->queue_port->heartbeat(hb, [this, enqueued](Result<HeartbeatReply> r) {
    if (!parts_) return;
    if (!r.ok()) {
      log::Warn("edge heartbeat failed", {{"error", r.error().message}});
      return;
    }
    for (const auto& id : r->ended) {
      CallSession* s = parts_->calls.find(id);
      if (!s || s->phase() == CallPhase::kEnding || s->phase() == CallPhase::kEnded) continue;
      if (s->announcing()) continue;  // over, and the caller is hearing why: it ends by itself
      log::Warn("queue-service has this call over; hanging it up", {{"call_id", id}});
      observer_->reconciled("queue_ended");
      s->hang_up({41, "call over in queue-service"}, false);
    }
    for (const auto& id : r->unknown) {
      CallSession* s = parts_->calls.find(id);
      if (!s || !enqueued->count(id)) continue;
      log::Warn("queue-service does not know this call; hanging it up", {{"call_id", id}});
      observer_->reconciled("unknown");
      s->hang_up({41, "call unknown to queue-service"}, false);
    }
    if (r->reconciled > 0) {
      log::Warn("queue-service ended calls this edge no longer held", {{"calls", r->reconciled}});
    }
  });
  parts_->heartbeat_timer =
      Timer(&parts_->timers, parts_->timers.after(settings_.heartbeat, [this] { heartbeat(); }));
}

std::vector<std::string> Edge::legs_on(const std::string& relay) {
  std::vector<std::string> out;
  if (!parts_) return out;
  for (CallSession* s : parts_->calls.all()) {
    if (s->relay() != relay) continue;
    for (auto& id : s->relay_legs()) out.push_back(std::move(id));
  }
  return out;
}

void Edge::relay_lost(const std::string& relay, const std::vector<std::string>& legs) {
  if (!parts_) return;
  const std::set<std::string> gone(legs.begin(), legs.end());
  for (CallSession* s : parts_->calls.all()) {
    if (s->relay() != relay || s->phase() == CallPhase::kEnding ||
        s->phase() == CallPhase::kEnded) {
      continue;
    }
    bool hit = gone.empty();
    for (const auto& id : s->relay_legs()) hit = hit || gone.count(id) > 0;
    if (!hit) continue;
    observer_->reconciled("relay_lost");
    s->hang_up({41, "media relay lost"}, true);
  }
}

}  // namespace cc::edge
