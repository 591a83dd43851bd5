#include "agent_registry/nats_events.h"

#include "agent_registry/grpc_service.h"
#include "callcenter/v1/events.pb.h"
#include "common/log.h"

namespace cc::registry {

namespace v1 = callcenter::v1;
using cc::ToProto;

namespace {
void Meta(const std::string& emitter, std::int64_t seq, v1::EventMeta* m) {
  m->set_emitter(emitter);
  ToProto(SystemClock::instance().now(), m->mutable_at());
  m->set_seq(seq);
}
}  // namespace

void NatsEventSink::send(const std::string& kind, const std::string& agent_id,
                         const std::string& payload) {
  const std::string subject = nats_.subject("agent." + kind + "." + SubjectToken(agent_id));
  auto st = nats_.publish(subject, payload);
  if (!st.ok()) {
    failures_++;
    log::Warn("event not published", {{"subject", subject}, {"error", st.error().message}});
  }
}

void NatsEventSink::status_changed(const StatusChangeResult& change) {
  v1::AgentStatusChanged e;
  Meta(emitter_, change.audit_id, e.mutable_meta());
  e.set_agent_id(change.agent.id);
  e.set_from(ToProto(change.from));
  e.set_to(ToProto(change.agent.status));
  e.set_reason(change.reason);
  e.set_call_id(change.call_id);
  send("status", change.agent.id, e.SerializeAsString());
}

void NatsEventSink::routability_changed(const std::string& agent_id, bool routable, int bindings,
                                        const std::string& reason) {
  v1::AgentRoutabilityChanged e;
  Meta(emitter_, 0, e.mutable_meta());
  e.set_agent_id(agent_id);
  e.set_routable(routable);
  e.set_binding_count(bindings);
  e.set_reason(reason);
  send("routable", agent_id, e.SerializeAsString());
}

void NatsEventSink::binding_changed(BindingEvent kind, const Binding& binding) {
  v1::BindingChanged e;
  Meta(emitter_, binding.id, e.mutable_meta());
  switch (kind) {
    case BindingEvent::kAdded:
      e.set_kind(v1::BindingChanged::KIND_ADDED);
      break;
    case BindingEvent::kRefreshed:
      e.set_kind(v1::BindingChanged::KIND_REFRESHED);
      break;
    case BindingEvent::kRemoved:
      e.set_kind(v1::BindingChanged::KIND_REMOVED);
      break;
    case BindingEvent::kExpired:
      e.set_kind(v1::BindingChanged::KIND_EXPIRED);
      break;
  }
  ToProto(binding, e.mutable_binding());
  send("binding", binding.agent_id, e.SerializeAsString());
}

void NatsEventSink::lifecycle(LifecycleEvent kind, const std::string& agent_id) {
  v1::AgentLifecycle e;
  Meta(emitter_, 0, e.mutable_meta());
  switch (kind) {
    case LifecycleEvent::kCreated:
      e.set_kind(v1::AgentLifecycle::KIND_CREATED);
      break;
    case LifecycleEvent::kUpdated:
      e.set_kind(v1::AgentLifecycle::KIND_UPDATED);
      break;
    case LifecycleEvent::kDeleted:
      e.set_kind(v1::AgentLifecycle::KIND_DELETED);
      break;
  }
  e.set_agent_id(agent_id);
  send("lifecycle", agent_id, e.SerializeAsString());
}

}  // namespace cc::registry
