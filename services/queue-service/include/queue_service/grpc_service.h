#pragma once

#include "callcenter/v1/events.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/metrics.h"
#include "queue_service/engine.h"
#include "queue_service/monitoring.h"
#include "queue_service/recordings.h"

// The gRPC adapter of the queue-service: protobuf <-> domain, nothing else.
namespace cc::queue {

class QueueServiceGrpc final : public callcenter::v1::QueueService::Service {
 public:
  QueueServiceGrpc(QueueEngine& engine, Monitoring& monitoring, Recordings& recordings,
                   GrpcMetrics& metrics, Duration default_edge_lease)
      : engine_(engine),
        monitoring_(monitoring),
        recordings_(recordings),
        metrics_(metrics),
        default_edge_lease_(default_edge_lease) {}

  using Ctx = grpc::ServerContext;
  grpc::Status CreateQueue(Ctx*, const callcenter::v1::CreateQueueRequest*,
                           callcenter::v1::QueueResponse*) override;
  grpc::Status UpdateQueue(Ctx*, const callcenter::v1::UpdateQueueRequest*,
                           callcenter::v1::QueueResponse*) override;
  grpc::Status GetQueue(Ctx*, const callcenter::v1::GetQueueRequest*,
                        callcenter::v1::QueueResponse*) override;
  grpc::Status ListQueues(Ctx*, const callcenter::v1::ListQueuesRequest*,
                          callcenter::v1::ListQueuesResponse*) override;
  grpc::Status DeleteQueue(Ctx*, const callcenter::v1::DeleteQueueRequest*,
                           callcenter::v1::DeleteQueueResponse*) override;
  grpc::Status SetDialplanEntry(Ctx*, const callcenter::v1::SetDialplanEntryRequest*,
                                callcenter::v1::DialplanResponse*) override;
  grpc::Status DeleteDialplanEntry(Ctx*, const callcenter::v1::DeleteDialplanEntryRequest*,
                                   callcenter::v1::DialplanResponse*) override;
  grpc::Status ListDialplan(Ctx*, const callcenter::v1::ListDialplanRequest*,
                            callcenter::v1::ListDialplanResponse*) override;
  grpc::Status ResolveDialed(Ctx*, const callcenter::v1::ResolveDialedRequest*,
                             callcenter::v1::ResolveDialedResponse*) override;
  grpc::Status SetMember(Ctx*, const callcenter::v1::SetMemberRequest*,
                         callcenter::v1::MemberResponse*) override;
  grpc::Status RemoveMember(Ctx*, const callcenter::v1::RemoveMemberRequest*,
                            callcenter::v1::MemberResponse*) override;
  grpc::Status ListMembers(Ctx*, const callcenter::v1::ListMembersRequest*,
                           callcenter::v1::ListMembersResponse*) override;
  grpc::Status Enqueue(Ctx*, const callcenter::v1::EnqueueRequest*,
                       callcenter::v1::EnqueueResponse*) override;
  grpc::Status CancelCall(Ctx*, const callcenter::v1::CancelCallRequest*,
                          callcenter::v1::CancelCallResponse*) override;
  grpc::Status RequestCallback(Ctx*, const callcenter::v1::RequestCallbackRequest*,
                               callcenter::v1::RequestCallbackResponse*) override;
  // Agents at work (grpc_work.cpp): transfers, supervisors and their monitoring.
  grpc::Status TransferCall(Ctx*, const callcenter::v1::TransferCallRequest*,
                            callcenter::v1::TransferCallResponse*) override;
  grpc::Status MonitorCall(Ctx*, const callcenter::v1::MonitorCallRequest*,
                           callcenter::v1::MonitorCallResponse*) override;
  grpc::Status StopMonitor(Ctx*, const callcenter::v1::StopMonitorRequest*,
                           callcenter::v1::StopMonitorResponse*) override;
  grpc::Status ReportMonitor(Ctx*, const callcenter::v1::ReportMonitorRequest*,
                             callcenter::v1::ReportMonitorResponse*) override;
  grpc::Status RecordCall(Ctx*, const callcenter::v1::RecordCallRequest*,
                          callcenter::v1::RecordCallResponse*) override;
  grpc::Status ReportRecording(Ctx*, const callcenter::v1::ReportRecordingRequest*,
                               callcenter::v1::ReportRecordingResponse*) override;
  grpc::Status AddSupervisor(Ctx*, const callcenter::v1::SupervisorRequest*,
                             callcenter::v1::SupervisorsResponse*) override;
  grpc::Status RemoveSupervisor(Ctx*, const callcenter::v1::SupervisorRequest*,
                                callcenter::v1::SupervisorsResponse*) override;
  grpc::Status ListSupervisors(Ctx*, const callcenter::v1::ListSupervisorsRequest*,
                               callcenter::v1::SupervisorsResponse*) override;
  grpc::Status GetCall(Ctx*, const callcenter::v1::GetCallRequest*,
                       callcenter::v1::GetCallResponse*) override;
  grpc::Status ListCalls(Ctx*, const callcenter::v1::ListCallsRequest*,
                         callcenter::v1::ListCallsResponse*) override;
  grpc::Status EdgeHeartbeat(Ctx*, const callcenter::v1::EdgeHeartbeatRequest*,
                             callcenter::v1::EdgeHeartbeatResponse*) override;
  grpc::Status ReportConnected(Ctx*, const callcenter::v1::ReportConnectedRequest*,
                               callcenter::v1::ReportResponse*) override;
  grpc::Status ReportFailed(Ctx*, const callcenter::v1::ReportFailedRequest*,
                            callcenter::v1::ReportResponse*) override;
  grpc::Status ReportEnded(Ctx*, const callcenter::v1::ReportEndedRequest*,
                           callcenter::v1::ReportResponse*) override;
  grpc::Status GetQueueStats(Ctx*, const callcenter::v1::GetQueueStatsRequest*,
                             callcenter::v1::GetQueueStatsResponse*) override;
  grpc::Status ImportMenus(Ctx*, const callcenter::v1::ImportMenusRequest*,
                           callcenter::v1::ImportMenusResponse*) override;
  grpc::Status GetMenu(Ctx*, const callcenter::v1::GetMenuRequest*,
                       callcenter::v1::MenuResponse*) override;
  grpc::Status ListMenus(Ctx*, const callcenter::v1::ListMenusRequest*,
                         callcenter::v1::ListMenusResponse*) override;
  grpc::Status DeleteMenu(Ctx*, const callcenter::v1::DeleteMenuRequest*,
                          callcenter::v1::DeleteMenuResponse*) override;

 private:
  QueueEngine& engine_;
  Monitoring& monitoring_;
  Recordings& recordings_;
  GrpcMetrics& metrics_;
  Duration default_edge_lease_;
};

// Conversions, shared with the NATS adapters.
Result<QueueConfig> FromProto(const callcenter::v1::Queue& q);
// `now`: whether it is open then goes into open_now.
void ToProto(const QueueConfig& q, callcenter::v1::Queue* out, TimePoint now);
void ToProto(const Call& c, callcenter::v1::Call* out);
void ToProto(const QueueStats& s, callcenter::v1::QueueStats* out);
void ToProto(const Offer& o, callcenter::v1::Offer* out);
// A phone an offer (or a monitoring order) rings.
void ToProto(const OfferBinding& b, const std::string& agent_id, callcenter::v1::Binding* out);
callcenter::v1::CallEvent::Kind ToProto(CallEventKind k);
callcenter::v1::MonitorMode ToProto(MonitorMode m);
void ToProto(const MonitorSession& s, callcenter::v1::MonitorSession* out);
void ToProto(const Transfer& t, callcenter::v1::Transfer* out);
void ToProto(const AgentLegRecord& l, callcenter::v1::AgentLeg* out);
void ToProto(const RecordingRecord& r, callcenter::v1::Recording* out);
// Applies the fields named in `mask` from `from` onto `to`.
Status ApplyMask(const callcenter::v1::Queue& from, const std::vector<std::string>& mask,
                 QueueConfig& to);

}  // namespace cc::queue
