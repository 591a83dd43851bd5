#include "signaling_edge/grpc_service.h"

#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/proto_convert.h"

namespace cc::edge {
namespace {

namespace v1 = callcenter::v1;

class SignalingEdgeGrpc final : public v1::SignalingEdge::Service {
 public:
  SignalingEdgeGrpc(Edge& edge, GrpcMetrics& metrics) : edge_(edge), metrics_(metrics) {}

  grpc::Status ListLiveCalls(grpc::ServerContext* ctx, const v1::ListLiveCallsRequest*,
                             v1::ListLiveCallsResponse* resp) override {
    return HandleRpc(ctx, metrics_, "ListLiveCalls", [&]() -> Status {
      for (const auto& c : edge_.live_calls()) {
        auto* lc = resp->add_calls();
        lc->set_call_id(c.id);
        lc->set_queue(c.queue);
        lc->set_caller(c.caller);
        lc->set_agent_id(c.agent_id);
        lc->set_state(c.phase);
        lc->set_relay(c.relay);
        lc->mutable_customer()->set_role("customer");
        lc->mutable_customer()->set_sip_call_id(c.customer_sip_call_id);
        lc->mutable_customer()->set_state(c.customer_state);
        lc->mutable_customer()->set_relay_leg_id(c.customer_relay_leg);
        if (!c.agent_state.empty()) {
          lc->mutable_agent()->set_role("agent");
          lc->mutable_agent()->set_state(c.agent_state);
          lc->mutable_agent()->set_relay_leg_id(c.agent_relay_leg);
        }
        cc::ToProto(c.started_at, lc->mutable_started_at());
      }
      return OkStatus();
    });
  }

  grpc::Status Drain(grpc::ServerContext* ctx, const v1::EdgeDrainRequest*,
                     v1::EdgeDrainResponse* resp) override {
    return HandleRpc(ctx, metrics_, "Drain", [&]() -> Status {
      resp->set_live_calls(edge_.drain());
      log::Info("draining: new calls get 503", {{"live_calls", resp->live_calls()}});
      return OkStatus();
    });
  }

  grpc::Status Stats(grpc::ServerContext* ctx, const v1::EdgeStatsRequest*,
                     v1::EdgeStatsResponse* resp) override {
    return HandleRpc(ctx, metrics_, "Stats", [&]() -> Status {
      const EdgeStats s = edge_.stats();
      resp->set_live_dialogs(s.live_dialogs);
      resp->set_live_calls(s.live_calls);
      resp->set_calls_total(s.calls_total);
      resp->set_registrations_total(s.registrations_total);
      resp->set_draining(s.draining);
      resp->set_pending_reports(s.pending_reports);
      for (const auto& r : s.relays) {
        auto* out = resp->add_relays();
        out->set_address(r.address);
        out->set_healthy(r.healthy);
        out->set_legs(r.last.legs);
        out->set_ports_free(r.last.ports_free);
        out->set_draining(r.last.draining);
        out->set_instance_id(r.last.instance_id);
      }
      return OkStatus();
    });
  }

 private:
  Edge& edge_;
  GrpcMetrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeAdminService(Edge& edge, GrpcMetrics& metrics) {
  return std::make_unique<SignalingEdgeGrpc>(edge, metrics);
}

}  // namespace cc::edge
