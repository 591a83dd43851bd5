#pragma once

#include <atomic>

#include "callcenter/v1/media_relay.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/nats.h"
#include "media_relay/relay.h"

// The media-relay's adapters: gRPC control and NATS media events.
namespace cc::relay {

class MediaRelayGrpc final : public callcenter::v1::MediaRelay::Service {
 public:
  MediaRelayGrpc(Relay& relay, GrpcMetrics& metrics) : relay_(relay), metrics_(metrics) {}
  using Ctx = grpc::ServerContext;
  grpc::Status CreateLeg(Ctx*, const callcenter::v1::CreateLegRequest*,
                         callcenter::v1::CreateLegResponse*) override;
  grpc::Status UpdateLeg(Ctx*, const callcenter::v1::UpdateLegRequest*,
                         callcenter::v1::UpdateLegResponse*) override;
  grpc::Status Bridge(Ctx*, const callcenter::v1::BridgeRequest*,
                      callcenter::v1::BridgeResponse*) override;
  grpc::Status Unbridge(Ctx*, const callcenter::v1::UnbridgeRequest*,
                        callcenter::v1::UnbridgeResponse*) override;
  grpc::Status FetchRecording(Ctx*, const callcenter::v1::FetchRecordingRequest*,
                              grpc::ServerWriter<callcenter::v1::RecordingChunk>*) override;
  grpc::Status PauseRecording(Ctx*, const callcenter::v1::PauseRecordingRequest*,
                              callcenter::v1::PauseRecordingResponse*) override;
  grpc::Status SetMix(Ctx*, const callcenter::v1::SetMixRequest*,
                      callcenter::v1::SetMixResponse*) override;
  grpc::Status Play(Ctx*, const callcenter::v1::PlayRequest*,
                    callcenter::v1::PlayResponse*) override;
  grpc::Status StopPlay(Ctx*, const callcenter::v1::StopPlayRequest*,
                        callcenter::v1::StopPlayResponse*) override;
  grpc::Status StartRecording(Ctx*, const callcenter::v1::StartRecordingRequest*,
                              callcenter::v1::StartRecordingResponse*) override;
  grpc::Status StopRecording(Ctx*, const callcenter::v1::StopRecordingRequest*,
                             callcenter::v1::StopRecordingResponse*) override;
  grpc::Status ReleaseLeg(Ctx*, const callcenter::v1::ReleaseLegRequest*,
                          callcenter::v1::ReleaseLegResponse*) override;
  grpc::Status GetLeg(Ctx*, const callcenter::v1::GetLegRequest*,
                      callcenter::v1::GetLegResponse*) override;
  grpc::Status ListLegs(Ctx*, const callcenter::v1::ListLegsRequest*,
                        callcenter::v1::ListLegsResponse*) override;
  grpc::Status ConnectLeg(Ctx*, const callcenter::v1::ConnectLegRequest*,
                          callcenter::v1::ConnectLegResponse*) override;
  grpc::Status EdgeLegs(Ctx*, const callcenter::v1::EdgeLegsRequest*,
                        callcenter::v1::EdgeLegsResponse*) override;
  grpc::Status Drain(Ctx*, const callcenter::v1::DrainRequest*,
                     callcenter::v1::DrainResponse*) override;

 private:
  Relay& relay_;
  GrpcMetrics& metrics_;
};

// <prefix>.media.<dtmf|timeout|prompt_finished>.<call id> as callcenter.v1.MediaEvent, and
// <prefix>.edge.<edge id>.media.<...> for the edge that owns the leg.
class NatsMediaEvents final : public MediaEventSink {
 public:
  NatsMediaEvents(NatsClient& nats, std::string emitter)
      : nats_(nats), emitter_(std::move(emitter)) {}
  void dtmf(const LegRef& leg, char digit, std::uint32_t duration_ms) override;
  void media_timeout(const LegRef& leg) override;
  void prompt_finished(const LegRef& leg, const std::vector<std::string>& prompts) override;
  std::uint64_t published(const char* kind) const;

 private:
  void send(int kind, const LegRef& leg, char digit, std::uint32_t duration_ms,
            const std::vector<std::string>& prompts = {});
  NatsClient& nats_;
  std::string emitter_;
  std::atomic<std::uint64_t> counts_[3] = {};
};

}  // namespace cc::relay
