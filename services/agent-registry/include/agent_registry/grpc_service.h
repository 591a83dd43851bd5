#pragma once

#include "agent_registry/service.h"
#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/metrics.h"
#include "common/proto_convert.h"

// The gRPC adapter: converts protobuf to the domain and back, and nothing else.
namespace cc::registry {

class AgentRegistryGrpc final : public callcenter::v1::AgentRegistry::Service {
 public:
  AgentRegistryGrpc(AgentService& service, GrpcMetrics& metrics)
      : service_(service), metrics_(metrics) {}

  using Ctx = grpc::ServerContext;
  grpc::Status CreateAgent(Ctx*, const callcenter::v1::CreateAgentRequest*,
                           callcenter::v1::CreateAgentResponse*) override;
  grpc::Status GetAgent(Ctx*, const callcenter::v1::GetAgentRequest*,
                        callcenter::v1::GetAgentResponse*) override;
  grpc::Status ListAgents(Ctx*, const callcenter::v1::ListAgentsRequest*,
                          callcenter::v1::ListAgentsResponse*) override;
  grpc::Status UpdateAgent(Ctx*, const callcenter::v1::UpdateAgentRequest*,
                           callcenter::v1::UpdateAgentResponse*) override;
  grpc::Status DeleteAgent(Ctx*, const callcenter::v1::DeleteAgentRequest*,
                           callcenter::v1::DeleteAgentResponse*) override;
  grpc::Status Login(Ctx*, const callcenter::v1::LoginRequest*,
                     callcenter::v1::StatusChangeResponse*) override;
  grpc::Status Logout(Ctx*, const callcenter::v1::LogoutRequest*,
                      callcenter::v1::StatusChangeResponse*) override;
  grpc::Status Pause(Ctx*, const callcenter::v1::PauseRequest*,
                     callcenter::v1::StatusChangeResponse*) override;
  grpc::Status Unpause(Ctx*, const callcenter::v1::UnpauseRequest*,
                       callcenter::v1::StatusChangeResponse*) override;
  grpc::Status ChangeStatus(Ctx*, const callcenter::v1::ChangeStatusRequest*,
                            callcenter::v1::StatusChangeResponse*) override;
  grpc::Status RegisterBinding(Ctx*, const callcenter::v1::RegisterBindingRequest*,
                               callcenter::v1::RegisterBindingResponse*) override;
  grpc::Status UnregisterBinding(Ctx*, const callcenter::v1::UnregisterBindingRequest*,
                                 callcenter::v1::UnregisterBindingResponse*) override;
  grpc::Status ListBindings(Ctx*, const callcenter::v1::ListBindingsRequest*,
                            callcenter::v1::ListBindingsResponse*) override;
  grpc::Status GetCredentials(Ctx*, const callcenter::v1::GetCredentialsRequest*,
                              callcenter::v1::GetCredentialsResponse*) override;

 private:
  AgentService& service_;
  GrpcMetrics& metrics_;
};

// Conversions, shared with the NATS event adapter.
void ToProto(const Agent& a, callcenter::v1::Agent* out);
void ToProto(const Binding& b, callcenter::v1::Binding* out);

}  // namespace cc::registry
