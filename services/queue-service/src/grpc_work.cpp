// The gRPC handlers for agents at work: blind transfers, supervisors over queues, and their
// monitoring of connected calls (listen, whisper, barge).
#include "common/api_auth.h"
#include "common/log.h"
#include "common/names.h"
#include "common/proto_convert.h"
#include "queue_service/grpc_service.h"
#include "queue_service/validation.h"

namespace cc::queue {

namespace v1 = callcenter::v1;
using cc::ToProto;

void ToProto(const AgentLegRecord& l, v1::AgentLeg* out) {
  out->set_assignment_id(l.assignment_id);
  out->set_agent_id(l.agent_id);
  out->set_queue(l.queue);
  out->set_state(l.state);
  ToProto(l.offered_at, out->mutable_offered_at());
  if (l.connected_at) ToProto(*l.connected_at, out->mutable_connected_at());
  if (l.ended_at) ToProto(*l.ended_at, out->mutable_ended_at());
  out->set_outcome(l.outcome);
}

void ToProto(const Transfer& t, v1::Transfer* out) {
  out->set_id(t.id);
  out->set_call_id(t.call_id);
  out->set_from_assignment_id(t.from_assignment);
  out->set_from_agent_id(t.from_agent);
  out->set_from_queue(t.from_queue);
  out->set_to_queue(t.to_queue);
  out->set_to_agent(t.to_agent);
  out->set_on_failure(t.on_failure == TransferFallback::kQueue
                          ? v1::TRANSFER_FALLBACK_QUEUE
                          : v1::TRANSFER_FALLBACK_RETURN_TO_AGENT);
  out->set_requested_by(t.requested_by);
  ToProto(t.requested_at, out->mutable_requested_at());
  switch (t.result) {
    case TransferResult::kPending:
      out->set_result(v1::TRANSFER_RESULT_PENDING);
      break;
    case TransferResult::kCompleted:
      out->set_result(v1::TRANSFER_RESULT_COMPLETED);
      break;
    case TransferResult::kReturned:
      out->set_result(v1::TRANSFER_RESULT_RETURNED);
      break;
    case TransferResult::kFailed:
      out->set_result(v1::TRANSFER_RESULT_FAILED);
      break;
  }
  out->set_taken_by(t.taken_by);
  if (t.finished_at) ToProto(*t.finished_at, out->mutable_finished_at());
  out->set_detail(t.detail);
}

v1::MonitorMode ToProto(MonitorMode m) {
  switch (m) {
    case MonitorMode::kListen:
      return v1::MONITOR_MODE_LISTEN;
    case MonitorMode::kWhisper:
      return v1::MONITOR_MODE_WHISPER;
    case MonitorMode::kBarge:
      return v1::MONITOR_MODE_BARGE;
  }
  return v1::MONITOR_MODE_UNSPECIFIED;
}

void ToProto(const MonitorSession& s, v1::MonitorSession* out) {
  out->set_id(s.id);
  out->set_call_id(s.call_id);
  out->set_queue(s.queue);
  out->set_supervisor_id(s.supervisor_id);
  out->set_agent_id(s.agent_id);
  out->set_mode(ToProto(s.mode));
  out->set_requested_by(s.requested_by);
  ToProto(s.started_at, out->mutable_started_at());
  if (s.answered_at) ToProto(*s.answered_at, out->mutable_answered_at());
  if (s.ended_at) ToProto(*s.ended_at, out->mutable_ended_at());
  out->set_end_reason(s.end_reason);
  for (const auto& m : s.modes) {
    auto* c = out->add_modes();
    ToProto(m.at, c->mutable_at());
    c->set_mode(ToProto(m.mode));
  }
}

void ToProto(const RecordingRecord& r, v1::Recording* out) {
  out->set_id(r.id);
  out->set_call_id(r.call_id);
  out->set_assignment_id(r.assignment_id);
  out->set_agent_id(r.agent_id);
  out->set_queue(r.queue);
  out->set_path(r.path);
  ToProto(r.started_at, out->mutable_started_at());
  if (r.ended_at) ToProto(*r.ended_at, out->mutable_ended_at());
  out->set_bytes(r.bytes);
  out->set_keep_until(r.keep_until);
  out->set_deleted(r.deleted);
  out->set_started_by(r.started_by);
  for (const auto& p : r.pauses) {
    auto* pp = out->add_pauses();
    ToProto(p.paused_at, pp->mutable_paused_at());
    if (p.resumed_at) ToProto(*p.resumed_at, pp->mutable_resumed_at());
  }
}

namespace {

Result<RecordingAction> ActionFrom(v1::RecordingAction a) {
  switch (a) {
    case v1::RECORDING_ACTION_START:
      return RecordingAction::kStart;
    case v1::RECORDING_ACTION_PAUSE:
      return RecordingAction::kPause;
    case v1::RECORDING_ACTION_RESUME:
      return RecordingAction::kResume;
    case v1::RECORDING_ACTION_STOP:
      return RecordingAction::kStop;
    default:
      return InvalidArgument("action is START, PAUSE, RESUME or STOP");
  }
}

// Who asked: the API identity (when tokens are on), then what the request says.
std::string RequestedBy(const grpc::ServerContext* ctx, const std::string& said) {
  const std::string who = ApiCallerName(ctx);
  return who.empty() ? said : said.empty() ? who : who + ": " + said;
}

Status RequireAgentId(const std::string& id, const char* what) {
  if (id.empty()) return InvalidArgument(std::string(what) + " is required");
  if (!IsName(id)) {
    return InvalidArgument(std::string(what) + " '" + id.substr(0, 64) +
                           "' must be 1-64 letters, digits, '.', '_' or '-'");
  }
  return OkStatus();
}

Status RequireSession(std::int64_t id) {
  if (id <= 0) return InvalidArgument("session_id is required");
  return OkStatus();
}

}  // namespace

grpc::Status QueueServiceGrpc::TransferCall(Ctx* ctx, const v1::TransferCallRequest* req,
                                            v1::TransferCallResponse* resp) {
  return HandleRpc(ctx, metrics_, "TransferCall", [&]() -> Status {
    TransferRequest r;
    r.call_id = req->call_id();
    r.assignment_id = req->assignment_id();
    r.to_queue = req->to_queue();
    r.to_agent = req->to_agent();
    r.to_number = req->to_number();
    switch (req->on_failure()) {
      case v1::TRANSFER_FALLBACK_UNSPECIFIED:
      case v1::TRANSFER_FALLBACK_RETURN_TO_AGENT:
        r.on_failure = TransferFallback::kReturnToAgent;
        break;
      case v1::TRANSFER_FALLBACK_QUEUE:
        r.on_failure = TransferFallback::kQueue;
        break;
      default:
        return InvalidArgument("unknown on_failure " + std::to_string(req->on_failure()));
    }
    // Who asked: the API identity (when tokens are on), then what the request says.
    const std::string who = ApiCallerName(ctx);
    r.requested_by = who.empty()                   ? req->requested_by()
                     : req->requested_by().empty() ? who
                                                   : who + ": " + req->requested_by();
    CC_RETURN_IF_ERROR(ValidateTransfer(r));
    CC_ASSIGN_OR_RETURN(TransferOutcome out, engine_.transfer(r));
    log::Info("call transferred", {{"call_id", r.call_id},
                                   {"from_agent", out.transfer.from_agent},
                                   {"to_queue", out.transfer.to_queue},
                                   {"to_agent", out.transfer.to_agent},
                                   {"requested_by", r.requested_by}});
    ToProto(out.call, resp->mutable_call());
    ToProto(out.transfer, resp->mutable_transfer());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::MonitorCall(Ctx* ctx, const v1::MonitorCallRequest* req,
                                           v1::MonitorCallResponse* resp) {
  return HandleRpc(ctx, metrics_, "MonitorCall", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_RETURN_IF_ERROR(RequireAgentId(req->supervisor_id(), "supervisor_id"));
    MonitorRequest r;
    r.call_id = req->call_id();
    r.supervisor_id = req->supervisor_id();
    switch (req->mode()) {
      case v1::MONITOR_MODE_LISTEN:
        r.mode = MonitorMode::kListen;
        break;
      case v1::MONITOR_MODE_WHISPER:
        r.mode = MonitorMode::kWhisper;
        break;
      case v1::MONITOR_MODE_BARGE:
        r.mode = MonitorMode::kBarge;
        break;
      default:
        return InvalidArgument("mode is LISTEN, WHISPER or BARGE");
    }
    r.requested_by = RequestedBy(ctx, "");
    CC_ASSIGN_OR_RETURN(MonitorSession s, monitoring_.start(r));
    ToProto(s, resp->mutable_session());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::StopMonitor(Ctx* ctx, const v1::StopMonitorRequest* req,
                                           v1::StopMonitorResponse* resp) {
  return HandleRpc(ctx, metrics_, "StopMonitor", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireSession(req->session_id()));
    const std::string who = RequestedBy(ctx, "");
    CC_ASSIGN_OR_RETURN(
        MonitorSession s,
        monitoring_.stop(req->session_id(), who.empty() ? "stopped" : "stopped by " + who));
    ToProto(s, resp->mutable_session());
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ReportMonitor(Ctx* ctx, const v1::ReportMonitorRequest* req,
                                             v1::ReportMonitorResponse*) {
  return HandleRpc(ctx, metrics_, "ReportMonitor", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireSession(req->session_id()));
    if (req->answered() == req->ended()) return InvalidArgument("report answered or ended");
    if (req->reason().size() > 200) return InvalidArgument("reason is longer than 200 bytes");
    if (req->answered()) {
      CC_RETURN_IF_ERROR(monitoring_.answered(req->session_id()));
    } else {
      CC_RETURN_IF_ERROR(monitoring_.ended(req->session_id(), req->reason()));
    }
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::RecordCall(Ctx* ctx, const v1::RecordCallRequest* req,
                                          v1::RecordCallResponse*) {
  return HandleRpc(ctx, metrics_, "RecordCall", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_ASSIGN_OR_RETURN(RecordingAction action, ActionFrom(req->action()));
    return recordings_.control(req->call_id(), action, RequestedBy(ctx, ""));
  });
}

grpc::Status QueueServiceGrpc::ReportRecording(Ctx* ctx, const v1::ReportRecordingRequest* req,
                                               v1::ReportRecordingResponse*) {
  return HandleRpc(ctx, metrics_, "ReportRecording", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateCallId(req->call_id()));
    CC_ASSIGN_OR_RETURN(RecordingAction event, ActionFrom(req->event()));
    if (req->path().empty() || req->path().size() > 512) {
      return InvalidArgument("path must be 1-512 bytes");
    }
    if (!req->keep_until().empty() && req->keep_until().size() != 10) {
      return InvalidArgument("keep_until is YYYY-MM-DD");
    }
    if (req->started_by().size() > 200)
      return InvalidArgument("started_by is longer than 200 bytes");
    RecordingReport r;
    r.call_id = req->call_id();
    r.assignment_id = req->assignment_id();
    r.path = req->path();
    r.event = event;
    r.bytes = req->bytes();
    r.keep_until = req->keep_until();
    r.started_by = req->started_by();
    return recordings_.report(r);
  });
}

grpc::Status QueueServiceGrpc::AddSupervisor(Ctx* ctx, const v1::SupervisorRequest* req,
                                             v1::SupervisorsResponse* resp) {
  return HandleRpc(ctx, metrics_, "AddSupervisor", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    CC_RETURN_IF_ERROR(RequireAgentId(req->agent_id(), "agent_id"));
    CC_ASSIGN_OR_RETURN(auto ids,
                        engine_.store().set_supervisor(req->queue(), req->agent_id(), true));
    resp->set_queue(req->queue());
    for (const auto& id : ids) resp->add_agent_ids(id);
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::RemoveSupervisor(Ctx* ctx, const v1::SupervisorRequest* req,
                                                v1::SupervisorsResponse* resp) {
  return HandleRpc(ctx, metrics_, "RemoveSupervisor", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    CC_RETURN_IF_ERROR(RequireAgentId(req->agent_id(), "agent_id"));
    CC_ASSIGN_OR_RETURN(auto ids,
                        engine_.store().set_supervisor(req->queue(), req->agent_id(), false));
    resp->set_queue(req->queue());
    for (const auto& id : ids) resp->add_agent_ids(id);
    return OkStatus();
  });
}

grpc::Status QueueServiceGrpc::ListSupervisors(Ctx* ctx, const v1::ListSupervisorsRequest* req,
                                               v1::SupervisorsResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListSupervisors", [&]() -> Status {
    CC_RETURN_IF_ERROR(ValidateQueueName(req->queue()));
    CC_ASSIGN_OR_RETURN(auto ids, engine_.store().list_supervisors(req->queue()));
    resp->set_queue(req->queue());
    for (const auto& id : ids) resp->add_agent_ids(id);
    return OkStatus();
  });
}

}  // namespace cc::queue
