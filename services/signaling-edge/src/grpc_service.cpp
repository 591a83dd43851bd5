#include "signaling_edge/grpc_service.h"

#include "common/log.h"

namespace cc::edge {

namespace v1 = callcenter::v1;

grpc::Status SignalingEdgeGrpc::ListLiveCalls(grpc::ServerContext*, const v1::ListLiveCallsRequest*,
                                              v1::ListLiveCallsResponse* resp) {
  return HandleRpc(metrics_, "ListLiveCalls", [&]() -> Status {
    for (auto& c : edge_.live_calls()) *resp->add_calls() = std::move(c);
    return OkStatus();
  });
}

grpc::Status SignalingEdgeGrpc::Drain(grpc::ServerContext*, const v1::EdgeDrainRequest*,
                                      v1::EdgeDrainResponse* resp) {
  return HandleRpc(metrics_, "Drain", [&]() -> Status {
    resp->set_live_calls(edge_.drain());
    log::Info("draining: new calls get 503", {{"live_calls", resp->live_calls()}});
    return OkStatus();
  });
}

grpc::Status SignalingEdgeGrpc::Stats(grpc::ServerContext*, const v1::EdgeStatsRequest*,
                                      v1::EdgeStatsResponse* resp) {
  return HandleRpc(metrics_, "Stats", [&]() -> Status {
    const EdgeStats s = edge_.stats();
    resp->set_live_dialogs(s.live_dialogs);
    resp->set_live_calls(s.live_calls);
    resp->set_calls_total(s.calls_total);
    resp->set_registrations_total(s.registrations_total);
    resp->set_draining(s.draining);
    return OkStatus();
  });
}

}  // namespace cc::edge
