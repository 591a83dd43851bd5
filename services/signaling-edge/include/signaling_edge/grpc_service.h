#pragma once

#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "common/grpc_server.h"
#include "signaling_edge/edge.h"

namespace cc::edge {

// The edge's admin API: live calls, drain, stats.
class SignalingEdgeGrpc final : public callcenter::v1::SignalingEdge::Service {
 public:
  SignalingEdgeGrpc(Edge& edge, GrpcMetrics& metrics) : edge_(edge), metrics_(metrics) {}
  grpc::Status ListLiveCalls(grpc::ServerContext*, const callcenter::v1::ListLiveCallsRequest*,
                             callcenter::v1::ListLiveCallsResponse*) override;
  grpc::Status Drain(grpc::ServerContext*, const callcenter::v1::EdgeDrainRequest*,
                     callcenter::v1::EdgeDrainResponse*) override;
  grpc::Status Stats(grpc::ServerContext*, const callcenter::v1::EdgeStatsRequest*,
                     callcenter::v1::EdgeStatsResponse*) override;

 private:
  Edge& edge_;
  GrpcMetrics& metrics_;
};

}  // namespace cc::edge
