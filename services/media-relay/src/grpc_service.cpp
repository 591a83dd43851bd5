#include "media_relay/grpc_service.h"

#include <fstream>
#include <vector>

#include "callcenter/v1/events.pb.h"
#include "common/log.h"
#include "common/proto_convert.h"

namespace cc::relay {

namespace v1 = callcenter::v1;

namespace {

v1::MediaDirection ToProto(Direction d) {
  switch (d) {
    case Direction::kSendRecv:
      return v1::MEDIA_DIRECTION_SENDRECV;
    case Direction::kSendOnly:
      return v1::MEDIA_DIRECTION_SENDONLY;
    case Direction::kRecvOnly:
      return v1::MEDIA_DIRECTION_RECVONLY;
    case Direction::kInactive:
      return v1::MEDIA_DIRECTION_INACTIVE;
  }
  return v1::MEDIA_DIRECTION_UNSPECIFIED;
}

void ToProto(const LegStats& s, v1::LegStats* out) {
  out->set_packets_in(s.packets_in);
  out->set_packets_out(s.packets_out);
  out->set_bytes_in(s.bytes_in);
  out->set_bytes_out(s.bytes_out);
  out->set_packets_lost(s.packets_lost);
  out->set_jitter_ms(s.jitter_ms);
  out->set_dropped(s.dropped);
}

void ToProto(const LegInfo& l, v1::Leg* out) {
  out->set_id(l.id);
  out->set_call_id(l.call_id);
  out->set_label(l.label);
  out->set_local_address(l.local_address);
  out->set_local_rtp_port(l.local_rtp_port);
  out->set_remote_address(l.remote_address);
  out->set_remote_rtp_port(l.remote_rtp_port);
  out->set_codec(l.codec);
  out->set_direction(ToProto(l.direction));
  out->set_bridged_with(l.bridged_with);
  out->set_mix_id(l.mix_id);
  out->set_playing(l.playing);
  out->set_recording(l.recording);
  ToProto(l.stats, out->mutable_stats());
}

Status RequireLeg(const std::string& id) {
  if (id.empty()) return InvalidArgument("leg_id is required");
  if (id.size() > 64) return InvalidArgument("leg_id is longer than 64 bytes");
  return OkStatus();
}

Status RequireSdp(const std::string& sdp) {
  if (sdp.size() > 16 * 1024) return InvalidArgument("SDP is larger than 16 KiB");
  return OkStatus();
}

}  // namespace

grpc::Status MediaRelayGrpc::CreateLeg(Ctx* ctx, const v1::CreateLegRequest* req,
                                       v1::CreateLegResponse* resp) {
  return HandleRpc(ctx, metrics_, "CreateLeg", [&]() -> Status {
    if (req->call_id().empty() || req->call_id().size() > 128) {
      return InvalidArgument("call_id is required (at most 128 bytes)");
    }
    if (req->label().size() > 32) return InvalidArgument("label is longer than 32 bytes");
    CC_RETURN_IF_ERROR(RequireSdp(req->remote_sdp()));
    if (req->edge_id().size() > 128) return InvalidArgument("edge_id is longer than 128 bytes");
    CC_ASSIGN_OR_RETURN(
        auto d, relay_.create_leg(req->call_id(), req->label(), req->remote_sdp(), req->edge_id()));
    ToProto(d.leg, resp->mutable_leg());
    resp->set_local_sdp(d.local_sdp);
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::UpdateLeg(Ctx* ctx, const v1::UpdateLegRequest* req,
                                       v1::UpdateLegResponse* resp) {
  return HandleRpc(ctx, metrics_, "UpdateLeg", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    if (req->remote_sdp().empty()) return InvalidArgument("remote_sdp is required");
    CC_RETURN_IF_ERROR(RequireSdp(req->remote_sdp()));
    CC_ASSIGN_OR_RETURN(auto d, relay_.update_leg(req->leg_id(), req->remote_sdp()));
    ToProto(d.leg, resp->mutable_leg());
    resp->set_local_sdp(d.local_sdp);
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::Bridge(Ctx* ctx, const v1::BridgeRequest* req, v1::BridgeResponse*) {
  return HandleRpc(ctx, metrics_, "Bridge", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_a()));
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_b()));
    return relay_.bridge(req->leg_a(), req->leg_b());
  });
}

grpc::Status MediaRelayGrpc::Unbridge(Ctx* ctx, const v1::UnbridgeRequest* req,
                                      v1::UnbridgeResponse*) {
  return HandleRpc(ctx, metrics_, "Unbridge", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    return relay_.unbridge(req->leg_id());
  });
}

grpc::Status MediaRelayGrpc::FetchRecording(Ctx* ctx, const v1::FetchRecordingRequest* req,
                                            grpc::ServerWriter<v1::RecordingChunk>* out) {
  return HandleRpc(ctx, metrics_, "FetchRecording", [&]() -> Status {
    CC_ASSIGN_OR_RETURN(std::string file, relay_.recording_file(req->path()));
    std::ifstream in(file, std::ios::binary);
    if (!in) return Unavailable("cannot read " + req->path());
    std::vector<char> buf(64 * 1024);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto n = in.gcount();
      if (n <= 0) break;
      v1::RecordingChunk chunk;
      chunk.set_data(buf.data(), static_cast<std::size_t>(n));
      if (!out->Write(chunk)) return Unavailable("the reader went away");
    }
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::PauseRecording(Ctx* ctx, const v1::PauseRecordingRequest* req,
                                            v1::PauseRecordingResponse*) {
  return HandleRpc(ctx, metrics_, "PauseRecording", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    return relay_.pause_recording(req->leg_id(), req->paused());
  });
}

grpc::Status MediaRelayGrpc::SetMix(Ctx* ctx, const v1::SetMixRequest* req, v1::SetMixResponse*) {
  return HandleRpc(ctx, metrics_, "SetMix", [&]() -> Status {
    std::vector<MixMemberSpec> members;
    for (const auto& m : req->members()) {
      CC_RETURN_IF_ERROR(RequireLeg(m.leg_id()));
      members.push_back({m.leg_id(), m.muted(), {m.heard_by().begin(), m.heard_by().end()}});
    }
    return relay_.set_mix(req->mix_id(), members);
  });
}

grpc::Status MediaRelayGrpc::Play(Ctx* ctx, const v1::PlayRequest* req, v1::PlayResponse*) {
  return HandleRpc(ctx, metrics_, "Play", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    if (req->prompts_size() > 20) return InvalidArgument("at most 20 prompts");
    const Duration idle = cc::FromProto(req->idle_timeout());
    if (idle.count() < 0) return InvalidArgument("idle_timeout must not be negative");
    return relay_.play(req->leg_id(), {req->prompts().begin(), req->prompts().end()}, req->loop(),
                       idle);
  });
}

grpc::Status MediaRelayGrpc::StopPlay(Ctx* ctx, const v1::StopPlayRequest* req,
                                      v1::StopPlayResponse*) {
  return HandleRpc(ctx, metrics_, "StopPlay", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    return relay_.stop_play(req->leg_id());
  });
}

grpc::Status MediaRelayGrpc::StartRecording(Ctx* ctx, const v1::StartRecordingRequest* req,
                                            v1::StartRecordingResponse* resp) {
  return HandleRpc(ctx, metrics_, "StartRecording", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    CC_ASSIGN_OR_RETURN(std::string path, relay_.start_recording(req->leg_id(), req->path()));
    resp->set_path(path);
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::StopRecording(Ctx* ctx, const v1::StopRecordingRequest* req,
                                           v1::StopRecordingResponse* resp) {
  return HandleRpc(ctx, metrics_, "StopRecording", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    CC_ASSIGN_OR_RETURN(auto r, relay_.stop_recording(req->leg_id()));
    resp->set_path(r.first);
    resp->set_bytes(r.second);
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::ReleaseLeg(Ctx* ctx, const v1::ReleaseLegRequest* req,
                                        v1::ReleaseLegResponse* resp) {
  return HandleRpc(ctx, metrics_, "ReleaseLeg", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    CC_ASSIGN_OR_RETURN(LegStats s, relay_.release_leg(req->leg_id()));
    ToProto(s, resp->mutable_stats());
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::GetLeg(Ctx* ctx, const v1::GetLegRequest* req,
                                    v1::GetLegResponse* resp) {
  return HandleRpc(ctx, metrics_, "GetLeg", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    CC_ASSIGN_OR_RETURN(LegInfo l, relay_.get_leg(req->leg_id()));
    ToProto(l, resp->mutable_leg());
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::ListLegs(Ctx* ctx, const v1::ListLegsRequest* req,
                                      v1::ListLegsResponse* resp) {
  return HandleRpc(ctx, metrics_, "ListLegs", [&]() -> Status {
    for (const auto& l : relay_.list_legs(req->call_id())) ToProto(l, resp->add_legs());
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::ConnectLeg(Ctx* ctx, const v1::ConnectLegRequest* req,
                                        v1::ConnectLegResponse* resp) {
  return HandleRpc(ctx, metrics_, "ConnectLeg", [&]() -> Status {
    CC_RETURN_IF_ERROR(RequireLeg(req->leg_id()));
    CC_RETURN_IF_ERROR(RequireLeg(req->bridge_with()));
    CC_RETURN_IF_ERROR(RequireSdp(req->remote_sdp()));
    CC_ASSIGN_OR_RETURN(LegInfo l,
                        relay_.connect_leg(req->leg_id(), req->remote_sdp(), req->bridge_with()));
    ToProto(l, resp->mutable_leg());
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::EdgeLegs(Ctx* ctx, const v1::EdgeLegsRequest* req,
                                      v1::EdgeLegsResponse* resp) {
  return HandleRpc(ctx, metrics_, "EdgeLegs", [&]() -> Status {
    if (req->edge_id().empty() || req->edge_id().size() > 128) {
      return InvalidArgument("edge_id is required (at most 128 bytes)");
    }
    if (req->leg_ids_size() > 200000) return InvalidArgument("at most 200000 leg_ids");
    const Duration lease = cc::FromProto(req->lease());
    if (lease < Duration{1000} || lease > Duration{3'600'000}) {
      return InvalidArgument("lease must be between 1 s and 1 h");
    }
    auto r =
        relay_.edge_legs(req->edge_id(), {req->leg_ids().begin(), req->leg_ids().end()}, lease);
    resp->set_instance_id(relay_.instance_id());
    for (const auto& id : r.unknown) resp->add_unknown_leg_ids(id);
    resp->set_released(r.released);
    resp->set_legs(relay_.live_legs());
    resp->set_ports_free(static_cast<int>(relay_.ports().capacity() - relay_.ports().in_use()));
    resp->set_draining(relay_.draining());
    return OkStatus();
  });
}

grpc::Status MediaRelayGrpc::Drain(Ctx* ctx, const v1::DrainRequest*, v1::DrainResponse* resp) {
  return HandleRpc(ctx, metrics_, "Drain", [&]() -> Status {
    resp->set_live_legs(relay_.drain());
    log::Info("draining: no new legs", {{"live_legs", resp->live_legs()}});
    return OkStatus();
  });
}

void NatsMediaEvents::send(int kind, const LegRef& leg, char digit, std::uint32_t duration_ms,
                           const std::vector<std::string>& prompts) {
  static const char* const kNames[] = {"dtmf", "timeout", "prompt_finished"};
  static const v1::MediaEvent::Kind kKinds[] = {v1::MediaEvent::KIND_DTMF,
                                                v1::MediaEvent::KIND_MEDIA_TIMEOUT,
                                                v1::MediaEvent::KIND_PROMPT_FINISHED};
  v1::MediaEvent e;
  e.mutable_meta()->set_emitter(emitter_);
  cc::ToProto(SystemClock::instance().now(), e.mutable_meta()->mutable_at());
  e.set_kind(kKinds[kind]);
  e.set_call_id(leg.call_id);
  e.set_leg_id(leg.leg_id);
  if (digit) e.set_digit(std::string(1, digit));
  e.set_duration_ms(static_cast<int>(duration_ms));
  for (const auto& p : prompts) e.add_prompts(p);
  const std::string payload = e.SerializeAsString();
  counts_[kind]++;
  auto publish = [&](const std::string& subject) {
    if (auto st = nats_.publish(subject, payload); !st.ok()) {
      log::Warn("media event not published", {{"subject", subject}, {"error", st.error().message}});
    }
  };
  publish(nats_.subject("media." + std::string(kNames[kind]) + "." + SubjectToken(leg.call_id)));
  // The edge that owns the leg reads its own subject rather than every call's events.
  if (!leg.edge_id.empty()) {
    publish(nats_.subject("edge." + SubjectToken(leg.edge_id) + ".media." + kNames[kind]));
  }
}

void NatsMediaEvents::dtmf(const LegRef& leg, char digit, std::uint32_t duration_ms) {
  send(0, leg, digit, duration_ms);
}
void NatsMediaEvents::media_timeout(const LegRef& leg) {
  send(1, leg, 0, 0);
}
void NatsMediaEvents::prompt_finished(const LegRef& leg, const std::vector<std::string>& prompts) {
  send(2, leg, 0, 0, prompts);
}

std::uint64_t NatsMediaEvents::published(const char* kind) const {
  const std::string k = kind;
  return counts_[k == "dtmf" ? 0 : (k == "timeout" ? 1 : 2)].load();
}

}  // namespace cc::relay
