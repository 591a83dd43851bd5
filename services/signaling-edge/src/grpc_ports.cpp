#include "signaling_edge/grpc_ports.h"

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/menu_proto.h"
#include "common/proto_convert.h"
#include "signaling_edge/sip_loop.h"  // after the generated headers: Sofia's macros clash

namespace cc::edge {
namespace {

namespace v1 = callcenter::v1;

// One asynchronous call: `start(ctx, req, resp, callback)` issues it; `done(status, resp)`
// runs on the SIP loop when it completes (or is dropped with the loop gone).
template <typename Req, typename Resp, typename Start, typename Done>
void Call(SipLoop& loop, const RpcCounter& inflight, Duration timeout, Req req, Start start,
          Done done) {
  struct State {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };
  auto s = std::make_shared<State>();
  s->req = std::move(req);
  s->ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  AddApiToken(s->ctx);
  ++*inflight;
  start(&s->ctx, &s->req, &s->resp,
        [&loop, inflight, s, done = std::move(done)](grpc::Status st) mutable {
          const bool posted = loop.post([inflight, s, st, done = std::move(done)]() mutable {
            --*inflight;
            done(st, s->resp);
          });
          if (!posted) --*inflight;
        });
}

Error ErrorOf(const grpc::Status& st) {
  return FromGrpcStatus(st);
}

AnswerMode AnswerModeOf(v1::AnswerMode m) {
  switch (m) {
    case v1::ANSWER_MODE_RING_UNTIL_AGENT:
      return AnswerMode::kRingUntilAgent;
    case v1::ANSWER_MODE_EARLY_MEDIA:
      return AnswerMode::kEarlyMedia;
    default:
      return AnswerMode::kAnswerImmediately;
  }
}

v1::OfferFailure ToProto(OfferFailure f) {
  switch (f) {
    case OfferFailure::kNoAnswer:
      return v1::OFFER_FAILURE_NO_ANSWER;
    case OfferFailure::kBusy:
      return v1::OFFER_FAILURE_BUSY;
    case OfferFailure::kRejected:
      return v1::OFFER_FAILURE_REJECTED;
    case OfferFailure::kUnreachable:
      return v1::OFFER_FAILURE_UNREACHABLE;
    case OfferFailure::kCallbackUnanswered:
      return v1::OFFER_FAILURE_CALLBACK_UNANSWERED;
  }
  return v1::OFFER_FAILURE_UNREACHABLE;
}

BindingsReply BindingsOf(const google::protobuf::RepeatedPtrField<v1::Binding>& bindings) {
  BindingsReply out;
  const auto now = std::chrono::system_clock::now();
  for (const auto& b : bindings) {
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(cc::FromProto(b.expires_at()) - now);
    out.bindings.push_back({b.contact_uri(), static_cast<int>(left.count())});
  }
  return out;
}

// ---------------------------------------------------------------------------------------

class QueueGrpcPort final : public QueuePort {
 public:
  QueueGrpcPort(std::shared_ptr<grpc::Channel> channel, SipLoop& loop, Duration timeout,
                RpcCounter inflight)
      : stub_(v1::QueueService::NewStub(std::move(channel))),
        loop_(loop),
        timeout_(timeout),
        inflight_(std::move(inflight)) {}

  void enqueue(const EnqueueRequest& r, Reply<Enqueued> done) override {
    v1::EnqueueRequest req;
    req.set_call_id(r.call_id);
    if (r.queue.empty()) {
      req.set_dialed(r.dialed);
    } else {
      req.set_queue(r.queue);
    }
    req.set_priority(r.priority);
    for (const auto& s : r.skills) ToProto(s, req.add_skills());
    for (const auto& [k, v] : r.data) (*req.mutable_data())[k] = v;
    req.set_language(r.language);
    req.set_callback_number(r.callback_number);
    req.set_caller(r.caller);
    req.set_edge_id(r.edge_id);
    Call<v1::EnqueueRequest, v1::EnqueueResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->Enqueue(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::EnqueueResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          Enqueued e;
          e.queue = resp.queue();
          e.answer_mode = AnswerModeOf(resp.answer_mode());
          e.music.assign(resp.music_prompts().begin(), resp.music_prompts().end());
          e.exit_prompts.assign(resp.exit_prompts().begin(), resp.exit_prompts().end());
          const auto& a = resp.announcements();
          e.announce.greeting.assign(a.greeting().begin(), a.greeting().end());
          if (a.has_first_after()) e.announce.first_after = FromProto(a.first_after());
          e.announce.every = FromProto(a.every());
          e.announce.periodic.assign(a.periodic().begin(), a.periodic().end());
          e.announce.position = a.position();
          e.announce.estimated_wait = a.estimated_wait();
          if (!a.language().empty()) e.announce.language = a.language();
          e.announce.all_busy = a.all_busy();
          const auto state = resp.call().state();
          e.waiting = state == v1::CALL_STATE_WAITING || state == v1::CALL_STATE_OFFERED ||
                      state == v1::CALL_STATE_CONNECTED;
          e.outcome_reason = resp.call().outcome_reason();
          for (const auto& m : resp.menus()) e.menus.push_back(FromProto(m));
          e.redirect_uri = resp.redirect_uri();
          e.offer_callback = resp.offer_callback();
          const auto& cb = resp.callback();
          e.callback.enabled = cb.enabled();
          e.callback.offer_after = FromProto(cb.offer_after());
          if (cb.key().size() == 1) e.callback.key = cb.key()[0];
          done(std::move(e));
        });
  }

  void report(const Report& r, Reply<Ok> done) override {
    auto finish = [done = std::move(done)](const grpc::Status& st, auto&) {
      if (!done) return;
      if (!st.ok()) return done(ErrorOf(st));
      done(OkStatus());
    };
    switch (r.kind) {
      case Report::Kind::kConnected: {
        v1::ReportConnectedRequest req;
        req.set_call_id(r.call_id);
        req.set_agent_id(r.agent_id);
        req.set_assignment_id(r.assignment_id);
        Call<v1::ReportConnectedRequest, v1::ReportResponse>(
            loop_, inflight_, timeout_, std::move(req),
            [this](auto* ctx, auto* rq, auto* rs, auto cb) {
              stub_->async()->ReportConnected(ctx, rq, rs, std::move(cb));
            },
            std::move(finish));
        return;
      }
      case Report::Kind::kFailed: {
        v1::ReportFailedRequest req;
        req.set_call_id(r.call_id);
        req.set_agent_id(r.agent_id);
        req.set_assignment_id(r.assignment_id);
        req.set_reason(ToProto(r.failure));
        req.set_detail(r.reason);
        Call<v1::ReportFailedRequest, v1::ReportResponse>(
            loop_, inflight_, timeout_, std::move(req),
            [this](auto* ctx, auto* rq, auto* rs, auto cb) {
              stub_->async()->ReportFailed(ctx, rq, rs, std::move(cb));
            },
            std::move(finish));
        return;
      }
      case Report::Kind::kEnded: {
        v1::ReportEndedRequest req;
        req.set_call_id(r.call_id);
        req.set_agent_id(r.agent_id);
        req.set_assignment_id(r.assignment_id);
        req.set_reason(r.reason);
        Call<v1::ReportEndedRequest, v1::ReportResponse>(
            loop_, inflight_, timeout_, std::move(req),
            [this](auto* ctx, auto* rq, auto* rs, auto cb) {
              stub_->async()->ReportEnded(ctx, rq, rs, std::move(cb));
            },
            std::move(finish));
        return;
      }
      case Report::Kind::kCancelled: {
        v1::CancelCallRequest req;
        req.set_call_id(r.call_id);
        req.set_reason(r.reason);
        Call<v1::CancelCallRequest, v1::CancelCallResponse>(
            loop_, inflight_, timeout_, std::move(req),
            [this](auto* ctx, auto* rq, auto* rs, auto cb) {
              stub_->async()->CancelCall(ctx, rq, rs, std::move(cb));
            },
            std::move(finish));
        return;
      }
    }
  }

  void position(const std::string& call_id, Reply<QueuePosition> done) override {
    v1::GetCallRequest req;
    req.set_call_id(call_id);
    Call<v1::GetCallRequest, v1::GetCallResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->GetCall(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::GetCallResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          QueuePosition p;
          p.waiting = resp.call().state() == v1::CALL_STATE_WAITING;
          p.position = resp.position();
          p.estimated_wait = FromProto(resp.estimated_wait());
          p.agents_free = resp.agents_available();
          done(std::move(p));
        });
  }

  void request_callback(const std::string& call_id, const std::string& number,
                        const std::string& edge_id, Reply<Ok> done) override {
    v1::RequestCallbackRequest req;
    req.set_call_id(call_id);
    req.set_number(number);
    req.set_edge_id(edge_id);
    Call<v1::RequestCallbackRequest, v1::RequestCallbackResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->RequestCallback(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::RequestCallbackResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void report_recording(const RecordingNews& news, Reply<Ok> done) override {
    v1::ReportRecordingRequest req;
    req.set_call_id(news.call_id);
    req.set_assignment_id(news.assignment_id);
    req.set_path(news.path);
    req.set_event(news.event == RecordingAction::kStart    ? v1::RECORDING_ACTION_START
                  : news.event == RecordingAction::kPause  ? v1::RECORDING_ACTION_PAUSE
                  : news.event == RecordingAction::kResume ? v1::RECORDING_ACTION_RESUME
                                                           : v1::RECORDING_ACTION_STOP);
    req.set_bytes(news.bytes);
    req.set_keep_until(news.keep_until);
    req.set_started_by(news.started_by);
    Call<v1::ReportRecordingRequest, v1::ReportRecordingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->ReportRecording(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::ReportRecordingResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void report_monitor(std::int64_t session_id, const std::string& call_id, bool answered,
                      const std::string& reason, Reply<Ok> done) override {
    v1::ReportMonitorRequest req;
    req.set_session_id(session_id);
    req.set_call_id(call_id);
    req.set_answered(answered);
    req.set_ended(!answered);
    req.set_reason(reason.substr(0, 200));
    Call<v1::ReportMonitorRequest, v1::ReportMonitorResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->ReportMonitor(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::ReportMonitorResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void transfer(const TransferAsk& ask, Reply<Ok> done) override {
    v1::TransferCallRequest req;
    req.set_call_id(ask.call_id);
    req.set_assignment_id(ask.assignment_id);
    req.set_to_number(ask.to_number);
    req.set_requested_by(ask.requested_by);
    Call<v1::TransferCallRequest, v1::TransferCallResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->TransferCall(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::TransferCallResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void heartbeat(const Heartbeat& hb, Reply<HeartbeatReply> done) override {
    v1::EdgeHeartbeatRequest req;
    req.set_edge_id(hb.edge_id);
    req.set_lease_seconds(static_cast<int>(std::max<std::int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(hb.lease).count())));
    req.set_reconcile(true);
    for (const auto& id : hb.call_ids) req.add_call_ids(id);
    Call<v1::EdgeHeartbeatRequest, v1::EdgeHeartbeatResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->EdgeHeartbeat(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::EdgeHeartbeatResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          HeartbeatReply r;
          r.ended.assign(resp.ended_call_ids().begin(), resp.ended_call_ids().end());
          r.unknown.assign(resp.unknown_call_ids().begin(), resp.unknown_call_ids().end());
          r.live_calls = resp.calls();
          r.reconciled = resp.reconciled();
          done(std::move(r));
        });
  }

 private:
  std::unique_ptr<v1::QueueService::Stub> stub_;
  SipLoop& loop_;
  Duration timeout_;
  RpcCounter inflight_;
};

// ---------------------------------------------------------------------------------------

class RegistryGrpcPort final : public RegistryPort {
 public:
  RegistryGrpcPort(std::shared_ptr<grpc::Channel> channel, SipLoop& loop, Duration timeout,
                   RpcCounter inflight)
      : stub_(v1::AgentRegistry::NewStub(std::move(channel))),
        loop_(loop),
        timeout_(timeout),
        inflight_(std::move(inflight)) {}

  void credentials(const std::string& user, Reply<std::string> done) override {
    v1::GetCredentialsRequest req;
    req.set_sip_username(user);
    Call<v1::GetCredentialsRequest, v1::GetCredentialsResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->GetCredentials(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::GetCredentialsResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(resp.ha1());
        });
  }

  void register_binding(const BindingRequest& b, Reply<BindingsReply> done) override {
    v1::RegisterBindingRequest req;
    req.set_sip_username(b.user);
    req.set_contact_uri(b.contact);
    req.set_transport(b.tls   ? v1::SIP_TRANSPORT_TLS
                      : b.tcp ? v1::SIP_TRANSPORT_TCP
                              : v1::SIP_TRANSPORT_UDP);
    req.set_source_address(b.source_address);
    req.set_source_port(b.source_port);
    req.set_user_agent(b.user_agent);
    req.set_expires_seconds(b.expires);
    req.set_registrar_id(b.registrar_id);
    req.set_sip_call_id(b.sip_call_id);
    req.set_cseq(b.cseq);
    Call<v1::RegisterBindingRequest, v1::RegisterBindingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->RegisterBinding(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::RegisterBindingResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          BindingsReply r = BindingsOf(resp.bindings());
          r.created = resp.created();
          done(std::move(r));
        });
  }

  void unregister(const std::string& user, const std::string& contact,
                  Reply<BindingsReply> done) override {
    v1::UnregisterBindingRequest req;
    req.set_sip_username(user);
    req.set_contact_uri(contact);
    Call<v1::UnregisterBindingRequest, v1::UnregisterBindingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->UnregisterBinding(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::UnregisterBindingResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(BindingsOf(resp.bindings()));
        });
  }

  void list_bindings(const std::string& user, Reply<BindingsReply> done) override {
    v1::ListBindingsRequest req;
    req.set_sip_username(user);
    Call<v1::ListBindingsRequest, v1::ListBindingsResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->ListBindings(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::ListBindingsResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(BindingsOf(resp.bindings()));
        });
  }

 private:
  std::unique_ptr<v1::AgentRegistry::Stub> stub_;
  SipLoop& loop_;
  Duration timeout_;
  RpcCounter inflight_;
};

// ---------------------------------------------------------------------------------------

class RelayGrpcClient final : public RelayClient {
 public:
  RelayGrpcClient(const std::string& address, std::string edge_id, SipLoop& loop, Duration timeout,
                  RpcCounter inflight)
      : address_(address),
        edge_id_(std::move(edge_id)),
        // One relay: its legs live there, so never balanced over several addresses.
        stub_(v1::MediaRelay::NewStub(MakeChannel(address, false))),
        loop_(loop),
        timeout_(timeout),
        inflight_(std::move(inflight)) {}

  void create_leg(const NewLeg& leg, Reply<LegWithSdp> done) override {
    v1::CreateLegRequest req;
    req.set_call_id(leg.call_id);
    req.set_label(leg.label);
    req.set_remote_sdp(leg.remote_sdp);
    req.set_edge_id(edge_id_);
    Call<v1::CreateLegRequest, v1::CreateLegResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->CreateLeg(ctx, rq, rs, std::move(cb));
        },
        [address = address_, done = std::move(done)](const grpc::Status& st,
                                                     v1::CreateLegResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(LegWithSdp{{address, resp.leg().id()}, resp.local_sdp()});
        });
  }

  void update_leg(const RelayLeg& leg, const std::string& remote_sdp,
                  Reply<std::string> done) override {
    v1::UpdateLegRequest req;
    req.set_leg_id(leg.id);
    req.set_remote_sdp(remote_sdp);
    Call<v1::UpdateLegRequest, v1::UpdateLegResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->UpdateLeg(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::UpdateLegResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(resp.local_sdp());
        });
  }

  void connect(const RelayLeg& agent, const std::string& answer_sdp, const RelayLeg& customer,
               Reply<Ok> done) override {
    v1::ConnectLegRequest req;
    req.set_leg_id(agent.id);
    req.set_remote_sdp(answer_sdp);
    req.set_bridge_with(customer.id);
    Call<v1::ConnectLegRequest, v1::ConnectLegResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->ConnectLeg(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::ConnectLegResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void play(const RelayLeg& leg, const std::vector<std::string>& prompts, bool loop,
            Duration idle_timeout, Reply<Ok> done) override {
    v1::PlayRequest req;
    req.set_leg_id(leg.id);
    for (const auto& p : prompts) req.add_prompts(p);
    req.set_loop(loop);
    if (idle_timeout.count() > 0) cc::ToProto(idle_timeout, req.mutable_idle_timeout());
    Call<v1::PlayRequest, v1::PlayResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->Play(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::PlayResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void set_mix(const std::string&, const std::string& mix_id, const std::vector<MixPart>& members,
               Reply<Ok> done) override {
    v1::SetMixRequest req;
    req.set_mix_id(mix_id);
    for (const auto& m : members) {
      auto* pm = req.add_members();
      pm->set_leg_id(m.leg_id);
      pm->set_muted(m.muted);
      for (const auto& h : m.heard_by) pm->add_heard_by(h);
    }
    Call<v1::SetMixRequest, v1::SetMixResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->SetMix(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::SetMixResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void start_recording(const RelayLeg& leg, const std::string& path, Reply<Ok> done) override {
    v1::StartRecordingRequest req;
    req.set_leg_id(leg.id);
    req.set_path(path);
    Call<v1::StartRecordingRequest, v1::StartRecordingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->StartRecording(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::StartRecordingResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void pause_recording(const RelayLeg& leg, bool paused, Reply<Ok> done) override {
    v1::PauseRecordingRequest req;
    req.set_leg_id(leg.id);
    req.set_paused(paused);
    Call<v1::PauseRecordingRequest, v1::PauseRecordingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->PauseRecording(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::PauseRecordingResponse&) {
          if (!st.ok()) return done(ErrorOf(st));
          done(OkStatus());
        });
  }

  void stop_recording(const RelayLeg& leg, Reply<std::uint64_t> done) override {
    v1::StopRecordingRequest req;
    req.set_leg_id(leg.id);
    Call<v1::StopRecordingRequest, v1::StopRecordingResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->StopRecording(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::StopRecordingResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          done(static_cast<std::uint64_t>(resp.bytes()));
        });
  }

  void stop_play(const RelayLeg& leg) override {
    v1::StopPlayRequest req;
    req.set_leg_id(leg.id);
    Call<v1::StopPlayRequest, v1::StopPlayResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->StopPlay(ctx, rq, rs, std::move(cb));
        },
        [id = leg.id](const grpc::Status& st, v1::StopPlayResponse&) {
          if (!st.ok())
            log::Warn("prompt not stopped", {{"leg_id", id}, {"error", st.error_message()}});
        });
  }

  void release(const RelayLeg& leg) override {
    v1::ReleaseLegRequest req;
    req.set_leg_id(leg.id);
    Call<v1::ReleaseLegRequest, v1::ReleaseLegResponse>(
        loop_, inflight_, timeout_, std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->ReleaseLeg(ctx, rq, rs, std::move(cb));
        },
        [id = leg.id](const grpc::Status& st, v1::ReleaseLegResponse&) {
          // A leg not released here is reclaimed by the relay once the edge's list lacks it.
          if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
            log::Warn("relay leg not released", {{"leg_id", id}, {"error", st.error_message()}});
          }
        });
  }

  void edge_legs(const std::vector<std::string>& legs, Duration lease, Duration deadline,
                 Reply<RelayReport> done) override {
    v1::EdgeLegsRequest req;
    req.set_edge_id(edge_id_);
    for (const auto& l : legs) req.add_leg_ids(l);
    cc::ToProto(lease, req.mutable_lease());
    Call<v1::EdgeLegsRequest, v1::EdgeLegsResponse>(
        loop_, inflight_, std::min(deadline, timeout_), std::move(req),
        [this](auto* ctx, auto* rq, auto* rs, auto cb) {
          stub_->async()->EdgeLegs(ctx, rq, rs, std::move(cb));
        },
        [done = std::move(done)](const grpc::Status& st, v1::EdgeLegsResponse& resp) {
          if (!st.ok()) return done(ErrorOf(st));
          RelayReport r;
          r.instance_id = resp.instance_id();
          r.unknown_legs.assign(resp.unknown_leg_ids().begin(), resp.unknown_leg_ids().end());
          r.legs = resp.legs();
          r.ports_free = resp.ports_free();
          r.draining = resp.draining();
          done(std::move(r));
        });
  }

 private:
  std::string address_;
  std::string edge_id_;
  std::unique_ptr<v1::MediaRelay::Stub> stub_;
  SipLoop& loop_;
  Duration timeout_;
  RpcCounter inflight_;
};

}  // namespace

std::unique_ptr<QueuePort> MakeQueuePort(std::shared_ptr<grpc::Channel> channel, SipLoop& loop,
                                         Duration timeout, RpcCounter inflight) {
  return std::make_unique<QueueGrpcPort>(std::move(channel), loop, timeout, std::move(inflight));
}

std::unique_ptr<RegistryPort> MakeRegistryPort(std::shared_ptr<grpc::Channel> channel,
                                               SipLoop& loop, Duration timeout,
                                               RpcCounter inflight) {
  return std::make_unique<RegistryGrpcPort>(std::move(channel), loop, timeout, std::move(inflight));
}

std::unique_ptr<RelayClient> MakeRelayClient(const std::string& address, const std::string& edge_id,
                                             SipLoop& loop, Duration timeout, RpcCounter inflight) {
  return std::make_unique<RelayGrpcClient>(address, edge_id, loop, timeout, std::move(inflight));
}

}  // namespace cc::edge
