#include "queue_service/nats_adapters.h"

#include "callcenter/v1/events.pb.h"
#include "common/log.h"
#include "common/proto_convert.h"
#include "queue_service/grpc_service.h"

namespace cc::queue {

namespace v1 = callcenter::v1;

namespace {
void Meta(const std::string& emitter, std::int64_t seq, v1::EventMeta* m) {
  m->set_emitter(emitter);
  cc::ToProto(SystemClock::instance().now(), m->mutable_at());
  m->set_seq(seq);
}
// A queue or edge name as one subject token ('.' would split it).
std::string Token(const std::string& s) {
  return SubjectToken(s);
}
}  // namespace

std::string_view EventName(CallEventKind k) {
  switch (k) {
    case CallEventKind::kEnqueued:
      return "enqueued";
    case CallEventKind::kOffered:
      return "offered";
    case CallEventKind::kConnected:
      return "connected";
    case CallEventKind::kEnded:
      return "ended";
    case CallEventKind::kAbandoned:
      return "abandoned";
    case CallEventKind::kOverflowed:
      return "overflowed";
    case CallEventKind::kTimedOut:
      return "timed_out";
    case CallEventKind::kFailed:
      return "failed";
    case CallEventKind::kRequeued:
      return "requeued";
    case CallEventKind::kTransferred:
      return "transferred";
  }
  return "unknown";
}

std::string NatsOfferChannel::Subject(NatsClient& nats, const std::string& edge_id) {
  return nats.subject("edge." + Token(edge_id) + ".offer");
}

Status NatsOfferChannel::deliver(const Offer& offer) {
  v1::Offer msg;
  Meta(emitter_, offer.assignment_id, msg.mutable_meta());
  ToProto(offer, &msg);
  CC_ASSIGN_OR_RETURN(NatsMessage reply, nats_.request(Subject(nats_, offer.edge_id),
                                                       msg.SerializeAsString(), ack_timeout_));
  v1::OfferAck ack;
  if (!ack.ParseFromString(reply.data)) return Internal("edge sent an unreadable offer ack");
  if (ack.assignment_id() != offer.assignment_id) {
    return Internal("edge acknowledged assignment " + std::to_string(ack.assignment_id()) +
                    " instead of " + std::to_string(offer.assignment_id));
  }
  if (!ack.accepted()) {
    if (ack.refusal() == v1::OfferAck::REFUSAL_UNKNOWN_CALL) {
      return NotFound("edge refused the offer: " + ack.reason());
    }
    return FailedPrecondition("edge refused the offer: " + ack.reason());
  }
  return OkStatus();
}

Status NatsEdgeOrders::deliver(const MonitorOrder& order) {
  v1::MonitorOrder msg;
  Meta(emitter_, order.session_id, msg.mutable_meta());
  msg.set_session_id(order.session_id);
  msg.set_call_id(order.call_id);
  msg.set_supervisor_id(order.supervisor_id);
  msg.set_mode(ToProto(order.mode));
  msg.set_stop(order.stop);
  msg.set_ring_timeout_ms(static_cast<int>(order.ring_timeout.count()));
  for (const auto& b : order.bindings) ToProto(b, order.supervisor_id, msg.add_bindings());
  CC_ASSIGN_OR_RETURN(NatsMessage reply,
                      nats_.request(nats_.subject("edge." + Token(order.edge_id) + ".monitor"),
                                    msg.SerializeAsString(), ack_timeout_));
  v1::MonitorAck ack;
  if (!ack.ParseFromString(reply.data)) return Internal("edge sent an unreadable monitor ack");
  if (ack.session_id() != order.session_id) {
    return Internal("edge acknowledged monitoring session " + std::to_string(ack.session_id()) +
                    " instead of " + std::to_string(order.session_id));
  }
  if (!ack.accepted()) return NotFound("edge refused: " + ack.reason());
  return OkStatus();
}

Status NatsEdgeOrders::deliver(const RecordOrder& order) {
  v1::RecordOrder msg;
  Meta(emitter_, 0, msg.mutable_meta());
  msg.set_call_id(order.call_id);
  switch (order.action) {
    case RecordingAction::kStart:
      msg.set_action(v1::RECORDING_ACTION_START);
      break;
    case RecordingAction::kPause:
      msg.set_action(v1::RECORDING_ACTION_PAUSE);
      break;
    case RecordingAction::kResume:
      msg.set_action(v1::RECORDING_ACTION_RESUME);
      break;
    case RecordingAction::kStop:
      msg.set_action(v1::RECORDING_ACTION_STOP);
      break;
  }
  msg.set_retention_days(order.retention_days);
  msg.set_requested_by(order.requested_by);
  CC_ASSIGN_OR_RETURN(NatsMessage reply,
                      nats_.request(nats_.subject("edge." + Token(order.edge_id) + ".record"),
                                    msg.SerializeAsString(), ack_timeout_));
  v1::RecordAck ack;
  if (!ack.ParseFromString(reply.data)) return Internal("edge sent an unreadable record ack");
  if (!ack.accepted()) return NotFound(ack.reason());
  return OkStatus();
}

void NatsEventPublisher::send(const std::string& subject, const std::string& payload) {
  if (auto st = nats_.publish(subject, payload); !st.ok()) {
    failures_++;
    log::Warn("event not published", {{"subject", subject}, {"error", st.error().message}});
  }
}

void NatsEventPublisher::call_event(const CallEvent& e) {
  v1::CallEvent msg;
  Meta(emitter_, e.call.assignment_id, msg.mutable_meta());
  msg.set_kind(ToProto(e.kind));
  ToProto(e.call, msg.mutable_call());
  msg.set_reason(e.reason);
  msg.set_transferred_assignment_id(e.transferred_assignment);
  const std::string payload = msg.SerializeAsString();
  send(nats_.subject("call." + std::string(EventName(e.kind)) + "." + Token(e.call.queue)),
       payload);
  // The edge holding the call hears of what ends it (or moves it, or takes its agent away)
  // on its own subject, so that an edge does not read every other edge's calls.
  if (!e.call.edge_id.empty() &&
      (IsTerminal(e.call.state) || e.kind == CallEventKind::kOverflowed ||
       e.kind == CallEventKind::kTransferred)) {
    send(nats_.subject("edge." + Token(e.call.edge_id) + ".call." + std::string(EventName(e.kind))),
         payload);
  }
}

void NatsEventPublisher::agent_changed(const AgentChange& c) {
  v1::AgentStatusChanged msg;
  Meta(emitter_, c.audit_id, msg.mutable_meta());
  msg.set_agent_id(c.agent_id);
  msg.set_from(cc::ToProto(c.from));
  msg.set_to(cc::ToProto(c.to));
  msg.set_reason(c.reason);
  msg.set_call_id(c.call_id);
  send(nats_.subject("agent.status." + Token(c.agent_id)), msg.SerializeAsString());
}

void NatsEventPublisher::queue_stats(const QueueStats& s) {
  v1::QueueStatsChanged msg;
  Meta(emitter_, 0, msg.mutable_meta());
  ToProto(s, msg.mutable_stats());
  send(nats_.subject("queue.stats." + Token(s.queue)), msg.SerializeAsString());
}

}  // namespace cc::queue
