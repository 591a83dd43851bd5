#pragma once

#include <memory>

#include <grpcpp/impl/codegen/service_type.h>

#include "common/metrics.h"
#include "signaling_edge/edge.h"

namespace cc::edge {

// The edge's admin API (callcenter.v1.SignalingEdge): live calls, drain, stats.
std::unique_ptr<grpc::Service> MakeAdminService(Edge& edge, GrpcMetrics& metrics);

}  // namespace cc::edge
