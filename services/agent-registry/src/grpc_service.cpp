#include "agent_registry/grpc_service.h"

namespace cc::registry {

namespace v1 = callcenter::v1;
using cc::FromProto;
using cc::ToProto;

namespace {

v1::SipTransport ToProto(Transport t) {
  switch (t) {
    case Transport::kUdp:
      return v1::SIP_TRANSPORT_UDP;
    case Transport::kTcp:
      return v1::SIP_TRANSPORT_TCP;
    case Transport::kTls:
      return v1::SIP_TRANSPORT_TLS;
  }
  return v1::SIP_TRANSPORT_UDP;
}

Result<Transport> FromProto(v1::SipTransport t) {
  switch (t) {
    case v1::SIP_TRANSPORT_UNSPECIFIED:
    case v1::SIP_TRANSPORT_UDP:
      return Transport::kUdp;
    case v1::SIP_TRANSPORT_TCP:
      return Transport::kTcp;
    case v1::SIP_TRANSPORT_TLS:
      return Transport::kTls;
    default:
      return InvalidArgument("unknown transport " + std::to_string(t));
  }
}

std::vector<Skill> FromProto(const google::protobuf::RepeatedPtrField<v1::Skill>& in) {
  std::vector<Skill> out;
  for (const auto& s : in) out.push_back({s.name(), s.level()});
  return out;
}

std::vector<Membership> FromProto(
    const google::protobuf::RepeatedPtrField<v1::QueueMembership>& in) {
  std::vector<Membership> out;
  for (const auto& q : in) out.push_back({q.queue(), q.position()});
  return out;
}

Result<AgentStatus> RequireStatus(v1::AgentStatus s, const char* field) {
  auto st = cc::FromProto(s);
  if (!st) return InvalidArgument(std::string(field) + " must name an agent status");
  return *st;
}

}  // namespace

void ToProto(const Agent& a, v1::Agent* out) {
  out->set_id(a.id);
  out->set_display_name(a.display_name);
  out->set_sip_username(a.sip_username);
  out->set_realm(a.realm);
  for (const auto& s : a.skills) {
    auto* p = out->add_skills();
    p->set_name(s.name);
    p->set_level(s.level);
  }
  out->set_max_calls(a.max_calls);
  out->set_wrap_up_seconds(a.wrap_up_seconds);
  for (const auto& q : a.queues) {
    auto* p = out->add_queues();
    p->set_queue(q.queue);
    p->set_position(q.position);
  }
  out->set_status(ToProto(a.status));
  out->set_pause_reason(a.pause_reason);
  ToProto(a.status_changed_at, out->mutable_status_changed_at());
  out->set_routable(a.routable());
  out->set_binding_count(a.binding_count);
  out->set_version(a.version);
  ToProto(a.created_at, out->mutable_created_at());
  ToProto(a.updated_at, out->mutable_updated_at());
}

void ToProto(const Binding& b, v1::Binding* out) {
  out->set_id(b.id);
  out->set_agent_id(b.agent_id);
  out->set_contact_uri(b.contact_uri);
  out->set_transport(ToProto(b.transport));
  out->set_source_address(b.source_address);
  out->set_source_port(b.source_port);
  out->set_user_agent(b.user_agent);
  ToProto(b.expires_at, out->mutable_expires_at());
  ToProto(b.registered_at, out->mutable_registered_at());
  ToProto(b.updated_at, out->mutable_updated_at());
  out->set_registrar_id(b.registrar_id);
  out->set_sip_call_id(b.sip_call_id);
  out->set_cseq(b.cseq);
}

grpc::Status AgentRegistryGrpc::CreateAgent(Ctx* ctx, const v1::CreateAgentRequest* req,
                                            v1::CreateAgentResponse* resp) {
  return HandleRpc(ctx, metrics_, "CreateAgent", [&]() -> Status {
    NewAgent n;
    n.id = req->id();
    n.display_name = req->display_name();
    n.sip_username = req->sip_username();
    n.password = req->password();
    n.ha1 = req->ha1();
    n.skills = FromProto(req->skills());
    n.max_calls = req->max_calls();
    if (req->has_wrap_up_seconds()) n.wrap_up_seconds = req->wrap_up_seconds();
    n.queues = FromProto(req->queues());
    CC_ASSIGN_OR_RETURN(Agent a, service_.create(n));
    ToProto(a, resp->mutable_agent());
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::GetAgent(Ctx* ctx, const v1::GetAgentRequest* req,
                                         v1::GetAgentResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetAgent", [&]() -> Status {
    Result<Agent> a = InvalidArgument("give id or sip_username");
    if (req->key_case() == v1::GetAgentRequest::kId) {
      a = service_.get(req->id());
    } else if (req->key_case() == v1::GetAgentRequest::kSipUsername) {
      a = service_.get_by_username(req->sip_username());
    }
    if (!a.ok()) return a.error();
    ToProto(*a, resp->mutable_agent());
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::ListAgents(Ctx* ctx, const v1::ListAgentsRequest* req,
                                           v1::ListAgentsResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListAgents", [&]() -> Status {
    AgentFilter f;
    for (int s : req->statuses()) {
      CC_ASSIGN_OR_RETURN(AgentStatus st,
                          RequireStatus(static_cast<v1::AgentStatus>(s), "statuses"));
      f.statuses.push_back(st);
    }
    f.queue = req->queue();
    f.routable_only = req->routable_only();
    f.page_size = req->page_size();
    f.after_id = req->page_token();
    CC_ASSIGN_OR_RETURN(AgentPage page, service_.list(f));
    for (const auto& a : page.agents) ToProto(a, resp->add_agents());
    resp->set_next_page_token(page.next_page_token);
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::UpdateAgent(Ctx* ctx, const v1::UpdateAgentRequest* req,
                                            v1::UpdateAgentResponse* resp) {
  return HandleRpc(ctx, metrics_, "UpdateAgent", [&]() -> Status {
    AgentUpdate u;
    u.id = req->id();
    if (req->has_display_name()) u.display_name = req->display_name();
    if (req->has_password()) u.password = req->password();
    if (req->has_ha1()) u.ha1 = req->ha1();
    if (req->has_skills()) u.skills = FromProto(req->skills().skills());
    if (req->has_max_calls()) u.max_calls = req->max_calls();
    if (req->has_wrap_up_seconds()) u.wrap_up_seconds = req->wrap_up_seconds();
    if (req->has_queues()) u.queues = FromProto(req->queues().queues());
    if (req->has_expected_version()) u.expected_version = req->expected_version();
    CC_ASSIGN_OR_RETURN(Agent a, service_.update(u));
    ToProto(a, resp->mutable_agent());
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::DeleteAgent(Ctx* ctx, const v1::DeleteAgentRequest* req,
                                            v1::DeleteAgentResponse*) {
  return HandleRpc(ctx, metrics_, "DeleteAgent",
                   [&]() -> Status { return service_.remove(req->id()); });
}

namespace {
Status Fill(const Result<StatusChangeResult>& r, v1::StatusChangeResponse* resp) {
  if (!r.ok()) return r.error();
  ToProto(r->agent, resp->mutable_agent());
  return OkStatus();
}
}  // namespace

grpc::Status AgentRegistryGrpc::Login(Ctx* ctx, const v1::LoginRequest* req,
                                      v1::StatusChangeResponse* resp) {
  return HandleRpc(ctx, metrics_, "Login", [&] {
    return Fill(service_.login(req->id(), req->paused(), req->pause_reason()), resp);
  });
}

grpc::Status AgentRegistryGrpc::Logout(Ctx* ctx, const v1::LogoutRequest* req,
                                       v1::StatusChangeResponse* resp) {
  return HandleRpc(ctx, metrics_, "Logout",
                   [&] { return Fill(service_.logout(req->id(), req->reason()), resp); });
}

grpc::Status AgentRegistryGrpc::Pause(Ctx* ctx, const v1::PauseRequest* req,
                                      v1::StatusChangeResponse* resp) {
  return HandleRpc(ctx, metrics_, "Pause",
                   [&] { return Fill(service_.pause(req->id(), req->reason()), resp); });
}

grpc::Status AgentRegistryGrpc::Unpause(Ctx* ctx, const v1::UnpauseRequest* req,
                                        v1::StatusChangeResponse* resp) {
  return HandleRpc(ctx, metrics_, "Unpause",
                   [&] { return Fill(service_.unpause(req->id()), resp); });
}

grpc::Status AgentRegistryGrpc::ChangeStatus(Ctx* ctx, const v1::ChangeStatusRequest* req,
                                             v1::StatusChangeResponse* resp) {
  return HandleRpc(ctx, metrics_, "ChangeStatus", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(AgentStatus to, RequireStatus(req->to(), "to"));
    std::optional<AgentStatus> from;
    if (req->expected_from() != v1::AGENT_STATUS_UNSPECIFIED) {
      CC_ASSIGN_OR_RETURN(from, RequireStatus(req->expected_from(), "expected_from"));
    }
    return Fill(service_.change_status(req->id(), to, req->reason(), from, req->call_id()), resp);
  });
}

grpc::Status AgentRegistryGrpc::RegisterBinding(Ctx* ctx, const v1::RegisterBindingRequest* req,
                                                v1::RegisterBindingResponse* resp) {
  return HandleRpc(ctx, metrics_, "RegisterBinding", [&]() -> Status {
    BindingRequest b;
    b.sip_username = req->sip_username();
    b.contact_uri = req->contact_uri();
    CC_ASSIGN_OR_RETURN(b.transport, FromProto(req->transport()));
    b.source_address = req->source_address();
    b.source_port = req->source_port();
    b.user_agent = req->user_agent();
    b.registrar_id = req->registrar_id();
    b.sip_call_id = req->sip_call_id();
    b.cseq = req->cseq();
    b.expires_seconds = req->expires_seconds();
    CC_ASSIGN_OR_RETURN(BindingUpsert r, service_.register_binding(std::move(b)));
    ToProto(r.binding, resp->mutable_binding());
    for (const auto& x : r.bindings) ToProto(x, resp->add_bindings());
    resp->set_created(r.created);
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::UnregisterBinding(Ctx* ctx, const v1::UnregisterBindingRequest* req,
                                                  v1::UnregisterBindingResponse* resp) {
  return HandleRpc(ctx, metrics_, "UnregisterBinding", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(BindingRemoval r,
                        service_.unregister_binding(req->sip_username(), req->contact_uri()));
    resp->set_removed(static_cast<int>(r.removed.size()));
    for (const auto& x : r.remaining) ToProto(x, resp->add_bindings());
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::ListBindings(Ctx* ctx, const v1::ListBindingsRequest* req,
                                             v1::ListBindingsResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListBindings", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(auto list, service_.list_bindings(req->agent_id(), req->sip_username()));
    for (const auto& x : list) ToProto(x, resp->add_bindings());
    return OkStatus();
  });
}

grpc::Status AgentRegistryGrpc::GetCredentials(Ctx* ctx, const v1::GetCredentialsRequest* req,
                                               v1::GetCredentialsResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetCredentials", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(Credentials c, service_.credentials(req->sip_username()));
    resp->set_agent_id(c.agent_id);
    resp->set_sip_username(c.sip_username);
    resp->set_realm(c.realm);
    resp->set_ha1(c.ha1);
    return OkStatus();
  });
}

}  // namespace cc::registry
