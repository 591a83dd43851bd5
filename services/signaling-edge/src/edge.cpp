#include "signaling_edge/edge.h"

#include <sofia-sip/auth_plugin.h>
#include <sofia-sip/tport_tag.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <future>

#include "common/config.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_convert.h"

namespace cc::edge {

namespace v1 = callcenter::v1;
using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// State kept per call (loop thread only)

enum class Phase { kSetup, kQueued, kConnecting, kConnected, kEnding };

// One offer from queue-service being placed to the agent's phone(s).
struct AgentAttempt {
  std::int64_t assignment_id = 0;
  std::string agent_id;
  std::chrono::milliseconds ring_timeout{20000};
  bool bindings_ready = false, leg_ready = false, failed_setup = false;
  std::vector<v1::Binding> bindings;
  std::string relay_leg;                // the agent side of the bridge
  std::string local_sdp;                // the relay's offer sent to the agent
  std::map<nua_handle_t*, bool> forks;  // handle -> final response received
  nua_handle_t* answered = nullptr;
  bool answered_terminated = false;  // the device that answered hung up before we connected
  bool ring_timed_out = false;
  v1::OfferFailure reason = v1::OFFER_FAILURE_UNSPECIFIED;
  std::string detail;
  SipTimer ring_timer;
};

struct Call {
  std::string id;
  std::string sip_call_id;
  std::string caller;  // From user
  std::string caller_display;
  std::string dialed;
  nua_handle_t* customer = nullptr;
  std::string customer_offer;       // the customer's SDP
  unsigned long max_forwards = 70;  // for the agent leg: the customer's, one hop less
  std::string customer_local_sdp;   // the relay's answer to it
  std::string relay_customer_leg;
  bool customer_answered = false;
  bool ringing_sent = false;
  bool early_media = false;  // 183 with the relay's SDP sent: music before the answer
  std::string queue;
  v1::AnswerMode answer_mode = v1::ANSWER_MODE_ANSWER_IMMEDIATELY;
  std::vector<std::string> music;
  bool enqueued = false;
  Phase phase = Phase::kSetup;
  std::unique_ptr<AgentAttempt> attempt;
  // The connected agent.
  nua_handle_t* agent = nullptr;
  std::string agent_id;
  std::int64_t assignment_id = 0;
  std::string relay_agent_leg;
  std::string agent_local_sdp;
  SteadyClock::time_point invite_at;
  TimePoint started_at;
};

// A REGISTER answered after the credentials lookup and the binding write.
struct PendingRegister {
  nua_handle_t* nh = nullptr;
  nua_saved_event_t saved[1];
  bool saved_ok = false;
  std::string user;
  std::string source_ip;
  int source_port = 0;
  v1::SipTransport transport = v1::SIP_TRANSPORT_UDP;
  sip_t const* sip() const { return sip_object(nua_saved_event_request(saved)); }
};

namespace {

constexpr unsigned kUdpReceiveBuffer = 8u << 20;  // bytes

std::string ToString(url_t const* url) {
  if (!url) return "";
  su_home_t home[1] = {SU_HOME_INIT(home)};
  char* s = url_as_string(home, url);
  std::string out = s ? s : "";
  su_home_deinit(home);
  return out;
}

std::string Sdp(sip_t const* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return "";
  if (sip->sip_content_type && sip->sip_content_type->c_type &&
      strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
    return "";
  }
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

struct Source {
  std::string ip;
  int port = 0;
  v1::SipTransport transport = v1::SIP_TRANSPORT_UDP;
};

Source SourceOf(msg_t* msg) {
  Source s;
  su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  if (!ai || !ai->ai_addr) return s;
  auto* su = reinterpret_cast<su_sockaddr_t*>(ai->ai_addr);
  char buf[64] = {};
  su_inet_ntop(su->su_family, SU_ADDR(su), buf, sizeof buf);
  s.ip = buf;
  s.port = ntohs(su->su_port);
  s.transport = ai->ai_protocol == IPPROTO_TCP ? v1::SIP_TRANSPORT_TCP : v1::SIP_TRANSPORT_UDP;
  return s;
}

// Which failure of an agent's phone counts as what for queue-service (and which wins when
// several devices rang).
v1::OfferFailure FailureOf(int status) {
  switch (status) {
    case 486:
    case 600:
      return v1::OFFER_FAILURE_BUSY;
    case 603:
      return v1::OFFER_FAILURE_REJECTED;
    case 408:
    case 480:
    case 487:
      return v1::OFFER_FAILURE_NO_ANSWER;
    default:
      return v1::OFFER_FAILURE_UNREACHABLE;
  }
}

int Rank(v1::OfferFailure f) {
  switch (f) {
    case v1::OFFER_FAILURE_BUSY:
      return 4;
    case v1::OFFER_FAILURE_REJECTED:
      return 3;
    case v1::OFFER_FAILURE_NO_ANSWER:
      return 2;
    case v1::OFFER_FAILURE_UNREACHABLE:
      return 1;
    default:
      return 0;
  }
}

std::string Reason(int q850, const std::string& text) {
  std::string t = text;
  std::replace(t.begin(), t.end(), '"', '\'');
  return "Q.850;cause=" + std::to_string(q850) + ";text=\"" + t + "\"";
}

const auth_challenger_t kChallenger = {401, "Unauthorized", sip_www_authenticate_class,
                                       sip_authentication_info_class};

}  // namespace

// ---------------------------------------------------------------------------------------

template <typename Req, typename Resp, typename Invoke, typename Done>
void Edge::rpc(Req req, Invoke invoke, Done done) {
  struct State {
    grpc::ClientContext ctx;
    Req req;
    Resp resp;
  };
  auto s = std::make_shared<State>();
  s->req = std::move(req);
  s->ctx.set_deadline(std::chrono::system_clock::now() + settings_.rpc_timeout);
  inflight_rpcs_++;
  invoke(&s->ctx, &s->req, &s->resp, [this, s, done = std::move(done)](grpc::Status st) mutable {
    const bool posted = loop_.post([this, s, st, done = std::move(done)]() mutable {
      inflight_rpcs_--;
      done(st, s->resp);
    });
    if (!posted) inflight_rpcs_--;
  });
}

// An asynchronous call whose completion runs on the SIP loop: RPC(stub, Method, Response,
// request, [..](const grpc::Status&, Response&) {...}).
#define RPC(stub, Method, Resp, req, ...)                                                \
  rpc<decltype(req), Resp>(                                                              \
      std::move(req),                                                                    \
      [this](grpc::ClientContext* rpc_ctx, const decltype(req)* rpc_req, Resp* rpc_resp, \
             std::function<void(grpc::Status)> rpc_cb) {                                 \
        stub->async()->Method(rpc_ctx, rpc_req, rpc_resp, std::move(rpc_cb));            \
      },                                                                                 \
      __VA_ARGS__)

Edge::Edge(EdgeSettings settings, SipLoop& loop, NatsClient& nats,
           std::shared_ptr<grpc::Channel> registry, std::shared_ptr<grpc::Channel> queue,
           std::shared_ptr<grpc::Channel> relay, EdgeObserver* observer)
    : settings_(std::move(settings)),
      loop_(loop),
      nats_(nats),
      registry_(v1::AgentRegistry::NewStub(registry)),
      queue_(v1::QueueService::NewStub(queue)),
      relay_(v1::MediaRelay::NewStub(relay)),
      observer_(observer ? observer : &default_observer_) {
  if (settings_.sip_advertise.empty()) settings_.sip_advertise = settings_.sip_listen;
}

Edge::~Edge() {
  shutdown();
}

Status Edge::start() {
  Status result = OkStatus();
  loop_.run_sync([&] {
    const std::string url = "sip:" + settings_.sip_listen;
    // A deep UDP receive queue: the kernel default (~200 KiB) overflowed in bursts under
    // load (calls then waited for retransmissions). The kernel caps it at rmem_max.
    nua_ = nua_create(loop_.root(), &Edge::Callback, this, NUTAG_URL(url.c_str()),
                      TPTAG_UDP_RMEM(kUdpReceiveBuffer), TAG_END());
    if (!nua_) {
      result = Unavailable("cannot listen for SIP on " + settings_.sip_listen +
                           " (address in use or invalid)");
      return;
    }
    nua_set_params(nua_, NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
                   NUTAG_AUTOACK(1), NUTAG_APPL_METHOD("REGISTER"),
                   SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE"),
                   SIPTAG_SUPPORTED_STR("timer"), NUTAG_SESSION_TIMER(1800), NUTAG_MIN_SE(90),
                   // The far end refreshes where it may choose (RFC 4028): the edge's own
                   // refresh has no SDP to offer (media is the relay's), see RefreshByUpdate.
                   NUTAG_SESSION_REFRESHER(nua_remote_refresher),
                   SIPTAG_USER_AGENT_STR("cc-signaling-edge"), TAG_END());
    auth_ = auth_mod_create(
        loop_.root(), AUTHTAG_METHOD("Digest"), AUTHTAG_REALM(settings_.realm.c_str()),
        AUTHTAG_QOP("auth"), AUTHTAG_MASTER_KEY(settings_.auth_secret.c_str()), AUTHTAG_OPAQUE("*"),
        AUTHTAG_EXPIRES(static_cast<unsigned>(settings_.nonce_lifetime.count())),
        AUTHTAG_NEXT_EXPIRES(0), TAG_END());
    if (!auth_) {
      result = Internal("cannot create the digest module");
      return;
    }
    heartbeat_timer_ = SipTimer(
        loop_.root(), settings_.heartbeat, [this] { heartbeat(); }, true);
  });
  if (!result.ok()) return result;
  heartbeat();  // our lease starts now
  auto offers = nats_.subscribe(
      nats_.subject("edge." + SubjectToken(settings_.edge_id) + ".offer"), [this](NatsMessage m) {
        v1::Offer offer;
        if (!offer.ParseFromString(m.data)) return;
        loop_.post([this, offer, reply = m.reply] { on_offer(offer, reply); });
      });
  if (!offers.ok()) return offers.error();
  subscriptions_.push_back(std::move(offers).value());
  // Only the events that end a waiting call concern the edge, and media timeouts.
  for (const char* kind : {"overflowed", "timed_out", "failed", "abandoned"}) {
    auto sub = nats_.subscribe(
        nats_.subject(std::string("call.") + kind + ".>"),
        [this](NatsMessage m) { loop_.post([this, m] { on_queue_event(m.subject, m.data); }); });
    if (!sub.ok()) return sub.error();
    subscriptions_.push_back(std::move(sub).value());
  }
  auto media = nats_.subscribe(nats_.subject("media.timeout.>"), [this](NatsMessage m) {
    loop_.post([this, m] { on_media_event(m.subject, m.data); });
  });
  if (!media.ok()) return media.error();
  subscriptions_.push_back(std::move(media).value());
  log::Info("sip listening", {{"address", settings_.sip_listen}, {"edge_id", settings_.edge_id}});
  return OkStatus();
}

int Edge::drain() {
  int live = 0;
  loop_.run_sync([&] {
    draining_ = true;
    live = static_cast<int>(calls_.size());
  });
  return live;
}

void Edge::shutdown() {
  if (!nua_) return;
  subscriptions_.clear();
  std::promise<void> done;
  auto finished = done.get_future();
  loop_.post([&] {
    draining_ = true;
    shutting_down_ = true;
    std::vector<std::string> ids;
    for (auto& [id, call] : calls_) ids.push_back(id);
    for (auto& id : ids) {
      if (Call* c = find(id)) end_call(*c, "edge shutting down", 41);
    }
    heartbeat_timer_.cancel();
    nua_shutdown(nua_);
  });
  // nua_r_shutdown(200) comes when every dialog is closed (or after nua's own timeout).
  for (int i = 0; i < 100 && !shutdown_done_; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Replies to our last RPCs may still be on their way: let them land on the loop first.
  for (int i = 0; i < 100 && inflight_rpcs_.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  loop_.post([&] {
    for (auto& [nh, call] : handles_) nua_handle_destroy(nh);
    handles_.clear();
    calls_.clear();
    nua_destroy(nua_);
    nua_ = nullptr;
    auth_mod_unref(auth_);
    auth_ = nullptr;
    done.set_value();
  });
  finished.wait();
}

EdgeStats Edge::stats() {
  EdgeStats s;
  loop_.run_sync([&] {
    s.live_dialogs = static_cast<int>(handles_.size());
    s.live_calls = static_cast<int>(calls_.size());
    s.calls_total = calls_total_;
    s.registrations_total = registrations_total_;
    s.draining = draining_;
  });
  return s;
}

std::vector<v1::LiveCall> Edge::live_calls() {
  std::vector<v1::LiveCall> out;
  loop_.run_sync([&] {
    for (const auto& [id, c] : calls_) {
      v1::LiveCall lc;
      lc.set_call_id(id);
      lc.set_queue(c->queue);
      lc.set_caller(c->caller);
      lc.set_agent_id(c->agent_id.empty() && c->attempt ? c->attempt->agent_id : c->agent_id);
      static const char* const kPhases[] = {"setup", "queued", "connecting", "connected", "ending"};
      lc.set_state(kPhases[static_cast<int>(c->phase)]);
      lc.mutable_customer()->set_role("customer");
      lc.mutable_customer()->set_sip_call_id(c->sip_call_id);
      lc.mutable_customer()->set_state(c->customer ? (c->customer_answered ? "answered" : "early")
                                                   : "gone");
      lc.mutable_customer()->set_relay_leg_id(c->relay_customer_leg);
      if (c->agent || c->attempt) {
        lc.mutable_agent()->set_role("agent");
        lc.mutable_agent()->set_state(c->agent ? "answered" : "ringing");
        lc.mutable_agent()->set_relay_leg_id(c->agent ? c->relay_agent_leg : c->attempt->relay_leg);
      }
      cc::ToProto(c->started_at, lc.mutable_started_at());
      out.push_back(std::move(lc));
    }
  });
  return out;
}

void Edge::heartbeat() {
  v1::EdgeHeartbeatRequest req;
  req.set_edge_id(settings_.edge_id);
  req.set_lease_seconds(static_cast<int>(settings_.heartbeat.count() * 3));
  RPC(queue_, EdgeHeartbeat, v1::EdgeHeartbeatResponse, req,
      [](const grpc::Status& st, v1::EdgeHeartbeatResponse&) {
        if (!st.ok()) log::Warn("edge heartbeat failed", {{"error", st.error_message()}});
      });
}

std::string Edge::new_call_id() {
  return settings_.edge_id + "-" + std::to_string(next_call_++) + "-" + RandomHex(3);
}

Call* Edge::find(const std::string& call_id) {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------
// Sofia events

void Edge::Callback(nua_event_t event, int status, char const* phrase, nua_t*, nua_magic_t* magic,
                    nua_handle_t* nh, nua_hmagic_t*, sip_t const* sip, tagi_t tags[]) {
  static_cast<Edge*>(magic)->on_event(event, status, phrase, nh, sip, tags);
}

// If the edge ends up refreshing a session timer (the peer asked it to, or does not do
// timers), the refresh is an UPDATE without a body where the peer allows UPDATE: a re-INVITE
// from the stack would carry no SDP (media is the relay's), and the peer's offer in its 200
// would get no answer in the ACK.
namespace {
void RefreshByUpdate(nua_handle_t* nh, sip_t const* sip) {
  if (sip && sip->sip_allow && sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE")) {
    nua_set_hparams(nh, NUTAG_UPDATE_REFRESH(1), TAG_END());
  }
}
}  // namespace

void Edge::on_event(nua_event_t event, int status, char const*, nua_handle_t* nh, sip_t const* sip,
                    tagi_t tags[]) {
  switch (event) {
    case nua_i_register:
      observer_->request("REGISTER");
      on_register(nh, sip);
      return;
    case nua_i_invite: {
      observer_->request("INVITE");
      auto it = handles_.find(nh);
      if (it != handles_.end()) {
        if (Call* c = find(it->second)) {
          on_reinvite(*c, nh, sip);
          return;
        }
      }
      on_invite(nh, sip);
      return;
    }
    case nua_i_options:
      observer_->request("OPTIONS");
      observer_->response("OPTIONS", 200, true);
      if (!handles_.count(nh)) nua_handle_destroy(nh);  // answered by the stack
      return;
    case nua_i_cancel:
    case nua_i_bye: {
      observer_->request(event == nua_i_bye ? "BYE" : "CANCEL");
      auto it = handles_.find(nh);
      Call* c = it == handles_.end() ? nullptr : find(it->second);
      if (!c) return;
      if (nh == c->customer) {
        customer_gone(*c, event == nua_i_bye ? "caller hung up" : "caller cancelled");
      } else if (nh == c->agent) {
        c->agent = nullptr;  // its dialog is over: no BYE back
        end_call(*c, "agent hung up", 16);
      }
      return;
    }
    case nua_i_info:
    case nua_i_update:
      observer_->request(event == nua_i_info ? "INFO" : "UPDATE");
      nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), TAG_END());
      return;
    case nua_r_invite: {
      observer_->response("INVITE", status, false);
      auto it = handles_.find(nh);
      if (it == handles_.end()) return;
      Call* c = find(it->second);
      if (!c) return;
      // On an established leg this answers a re-INVITE the stack sent to refresh the session
      // timer: the stack ACKs it, and a failed refresh ends the dialog (nua_i_state). Taking
      // it for an agent's answer hung up every call at its first refresh.
      if (nh == c->customer || nh == c->agent) return;
      on_agent_response(*c, nh, status, sip);
      return;
    }
    case nua_i_state:
      on_state(nh, status, tags);
      return;
    case nua_r_shutdown:
      if (status >= 200) shutdown_done_ = true;
      return;
    case nua_i_error:
      log::Warn("sip stack error", {{"status", status}});
      return;
    default:
      if (event >= nua_i_chat && event <= nua_i_network_changed && !handles_.count(nh) && nh) {
        // An incoming request we do not serve: the stack answered it; drop the handle.
        nua_handle_destroy(nh);
      }
      return;
  }
}

void Edge::on_state(nua_handle_t* nh, int status, tagi_t tags[]) {
  int state = nua_callstate_init;
  tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
  if (state != nua_callstate_terminated) return;
  auto it = handles_.find(nh);
  if (it == handles_.end()) return;
  const std::string call_id = it->second;
  if (Call* c = find(call_id)) {
    if (nh == c->customer) {
      c->customer = nullptr;
      // The dialog ended without a BYE or CANCEL we saw (e.g. no ACK to our 200).
      if (c->phase != Phase::kEnding) customer_gone(*c, "caller dialog ended");
    } else if (nh == c->agent) {
      c->agent = nullptr;
      if (c->phase == Phase::kConnected) end_call(*c, "agent dialog ended", 16);
    } else if (c->attempt && c->attempt->forks.count(nh)) {
      if (nh == c->attempt->answered) {
        // Answered, then gone before queue-service confirmed: the confirmation decides.
        c->attempt->answered = nullptr;
        c->attempt->answered_terminated = true;
        c->attempt->forks.erase(nh);
        forget_handle(nh);
        return;
      }
      // A fork that terminated without the final response we count (e.g. a transport
      // error reported as state only).
      auto& done = c->attempt->forks[nh];
      if (!done) {
        done = true;
        if (Rank(FailureOf(status)) > Rank(c->attempt->reason)) {
          c->attempt->reason = FailureOf(status);
        }
      }
      c->attempt->forks.erase(nh);
      forget_handle(nh);
      if (c->attempt && !c->attempt->answered && !c->attempt->answered_terminated &&
          c->attempt->forks.empty()) {
        agent_attempt_over(*c);
      }
      maybe_erase(call_id);
      return;
    }
  }
  forget_handle(nh);
  maybe_erase(call_id);
}

void Edge::forget_handle(nua_handle_t* nh) {
  if (handles_.erase(nh)) nua_handle_destroy(nh);
}

void Edge::maybe_erase(const std::string& call_id) {
  Call* c = find(call_id);
  if (!c || c->phase != Phase::kEnding) return;
  for (const auto& [nh, id] : handles_) {
    if (id == call_id) return;  // a dialog of it is still closing
  }
  sip_call_ids_.erase(c->sip_call_id);
  calls_.erase(call_id);
  observer_->gauges(static_cast<int>(handles_.size()), static_cast<int>(calls_.size()));
}

// ---------------------------------------------------------------------------------------
// Registrar

bool Edge::blocked(const std::string& source) {
  auto it = failures_.find(source);
  return it != failures_.end() && SteadyClock::now() < it->second.blocked_until;
}

void Edge::auth_failed(const std::string& source) {
  observer_->registration("auth_failed");
  const auto now = SteadyClock::now();
  auto& f = failures_[source];
  std::erase_if(f.at, [&](auto t) { return now - t > settings_.auth_failure_window; });
  f.at.push_back(now);
  if (static_cast<int>(f.at.size()) >= settings_.auth_failures_before_block) {
    f.blocked_until = now + settings_.auth_failure_window;
    f.at.clear();
    log::Warn("registrations from this source blocked after repeated auth failures",
              {{"source", source}, {"seconds", settings_.auth_failure_window.count()}});
  }
  if (failures_.size() > 100000) failures_.clear();  // bounded under a spray of sources
}

void Edge::respond_register(PendingRegister& reg, int status, const char* phrase,
                            const std::string& contacts, msg_header_t* extra,
                            const char* min_expires) {
  observer_->response("REGISTER", status, true);
  nua_respond(reg.nh, status, phrase, NUTAG_WITH_SAVED(reg.saved),
              TAG_IF(!contacts.empty(), SIPTAG_CONTACT_STR(contacts.c_str())),
              TAG_IF(extra, SIPTAG_HEADER(reinterpret_cast<sip_header_t*>(extra))),
              TAG_IF(min_expires, SIPTAG_MIN_EXPIRES_STR(min_expires)),
              TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
  nua_destroy_event(reg.saved);
  nua_handle_destroy(reg.nh);
}

void Edge::on_register(nua_handle_t* nh, sip_t const* sip) {
  registrations_total_++;
  msg_t* msg = nua_current_request(nua_);
  const Source src = SourceOf(msg);
  auto reject = [&](int status, const char* phrase, const char* result) {
    observer_->registration(result);
    observer_->response("REGISTER", status, true);
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua_), TAG_END());
    nua_handle_destroy(nh);
  };
  if (blocked(src.ip)) {
    reject(403, "Too many failed attempts", "rate_limited");
    return;
  }
  if (!sip->sip_to || !sip->sip_to->a_url->url_user) {
    reject(400, "To has no user", "rejected");
    return;
  }
  if (!sip->sip_authorization) {
    // The challenge does not depend on the user, so it tells nothing about accounts.
    auth_status_t* as = auth_status_new(nullptr);
    as->as_method = "REGISTER";
    as->as_realm = settings_.realm.c_str();
    auth_mod_challenge(auth_, as, &kChallenger);
    observer_->registration("challenged");
    observer_->response("REGISTER", 401, true);
    nua_respond(nh, as->as_status, as->as_phrase, NUTAG_WITH_THIS(nua_),
                SIPTAG_HEADER(reinterpret_cast<sip_header_t*>(as->as_response)), TAG_END());
    auth_status_unref(as);
    nua_handle_destroy(nh);
    return;
  }
  auto reg = std::make_shared<PendingRegister>();
  reg->nh = nh;
  reg->user = sip->sip_to->a_url->url_user;
  reg->source_ip = src.ip;
  reg->source_port = src.port;
  reg->transport = src.transport;
  reg->saved_ok = nua_save_event(nua_, reg->saved) != 0;
  if (!reg->saved_ok) {
    reject(500, "Cannot defer the request", "rejected");
    return;
  }
  auto cached = credentials_.find(reg->user);
  if (cached != credentials_.end() &&
      SteadyClock::now() - cached->second.at < settings_.credential_cache) {
    verify_register(reg, cached->second.ha1);
    return;
  }
  v1::GetCredentialsRequest req;
  req.set_sip_username(reg->user);
  RPC(registry_, GetCredentials, v1::GetCredentialsResponse, req,
      [this, reg](const grpc::Status& st, v1::GetCredentialsResponse& resp) {
        if (!nua_) return;
        if (st.ok()) {
          credentials_[reg->user] = {resp.ha1(), SteadyClock::now()};
          verify_register(reg, resp.ha1());
        } else if (st.error_code() == grpc::StatusCode::NOT_FOUND ||
                   st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
          // Unknown user: answered exactly like a wrong password.
          credentials_[reg->user] = {"", SteadyClock::now()};
          verify_register(reg, "");
        } else {
          respond_register(*reg, 503, "Registrar unavailable");
        }
      });
}

void Edge::verify_register(std::shared_ptr<PendingRegister> reg, const std::string& ha1) {
  // The digest module looks users up in its own table: keep it in step with our cache. An
  // unknown user gets a hash that can never match.
  auth_passwd_t* apw = auth_mod_getpass(auth_, reg->user.c_str(), settings_.realm.c_str());
  if (!apw) apw = auth_mod_addpass(auth_, reg->user.c_str(), settings_.realm.c_str());
  const auto& stored = credentials_[reg->user];
  apw->apw_hash = stored.ha1.empty() ? "-" : stored.ha1.c_str();
  (void)ha1;
  auth_status_t* as = auth_status_new(nullptr);
  as->as_method = "REGISTER";
  as->as_realm = settings_.realm.c_str();
  auth_mod_verify(auth_, as, reg->sip()->sip_authorization, &kChallenger);
  if (as->as_status == 0 && (!as->as_user || reg->user != as->as_user)) {
    as->as_status = 403;  // a valid digest for another account (the module does not check)
    as->as_phrase = "Credentials do not match the To user";
  }
  if (as->as_status == 0) {
    auth_status_unref(as);
    finish_register(std::move(reg));
    return;
  }
  if (!as->as_stale) auth_failed(reg->source_ip);
  respond_register(*reg, as->as_status, as->as_phrase, "", as->as_response);
  auth_status_unref(as);
}

void Edge::finish_register(std::shared_ptr<PendingRegister> reg) {
  sip_t const* sip = reg->sip();
  const int header_expires =
      sip->sip_expires ? static_cast<int>(sip->sip_expires->ex_delta) : settings_.default_expires;
  auto list_contacts = [this](const google::protobuf::RepeatedPtrField<v1::Binding>& bindings) {
    std::string out;
    const auto now = std::chrono::system_clock::now();
    for (const auto& b : bindings) {
      const auto left =
          std::chrono::duration_cast<std::chrono::seconds>(cc::FromProto(b.expires_at()) - now)
              .count();
      if (!out.empty()) out += ", ";
      out += "<" + b.contact_uri() + ">;expires=" + std::to_string(std::max<long>(0, left));
    }
    return out;
  };
  auto finish = [this, reg](const grpc::Status& st, const std::string& contacts,
                            const char* result) {
    if (!nua_) return;
    if (st.ok()) {
      observer_->registration(result);
      respond_register(*reg, 200, "OK", contacts);
      return;
    }
    observer_->registration("rejected");
    switch (st.error_code()) {
      case grpc::StatusCode::INVALID_ARGUMENT:
        respond_register(*reg, 400, "Bad Contact");
        break;
      case grpc::StatusCode::FAILED_PRECONDITION:
        respond_register(*reg, 403, "Too many registered devices");
        break;
      case grpc::StatusCode::ABORTED:
        respond_register(*reg, 400, "Out-of-order REGISTER");
        break;
      case grpc::StatusCode::NOT_FOUND:
        respond_register(*reg, 404, "Not Found");
        break;
      default:
        respond_register(*reg, 503, "Registrar unavailable");
    }
  };
  sip_contact_t const* m = sip->sip_contact;
  if (!m) {  // a query: list the current bindings
    v1::ListBindingsRequest req;
    req.set_sip_username(reg->user);
    RPC(registry_, ListBindings, v1::ListBindingsResponse, req,
        [finish, list_contacts](const grpc::Status& st, v1::ListBindingsResponse& resp) {
          finish(st, list_contacts(resp.bindings()), "queried");
        });
    return;
  }
  if (m->m_url->url_type == url_any) {  // Contact: *
    if (header_expires != 0 || m->m_next) {
      respond_register(*reg, 400, "Contact: * needs Expires: 0 and no other contact");
      return;
    }
    v1::UnregisterBindingRequest req;
    req.set_sip_username(reg->user);
    req.set_contact_uri("*");
    RPC(registry_, UnregisterBinding, v1::UnregisterBindingResponse, req,
        [finish](const grpc::Status& st, v1::UnregisterBindingResponse&) {
          finish(st, "", "removed");
        });
    return;
  }
  // One contact per REGISTER is what phones send; the first one counts.
  const int expires = m->m_expires ? std::atoi(m->m_expires) : header_expires;
  url_t url = *m->m_url;
  std::string port = std::to_string(reg->source_port);
  if (!url.url_port || !*url.url_port) url.url_port = port.c_str();  // port-less Contact
  const std::string contact = ToString(&url);
  if (expires == 0) {
    v1::UnregisterBindingRequest req;
    req.set_sip_username(reg->user);
    req.set_contact_uri(contact);
    RPC(registry_, UnregisterBinding, v1::UnregisterBindingResponse, req,
        [finish, list_contacts](const grpc::Status& st, v1::UnregisterBindingResponse& resp) {
          finish(st, list_contacts(resp.bindings()), "removed");
        });
    return;
  }
  if (expires < settings_.min_expires) {
    const std::string min = std::to_string(settings_.min_expires);
    respond_register(*reg, 423, "Interval Too Brief", "", nullptr, min.c_str());
    return;
  }
  v1::RegisterBindingRequest req;
  req.set_sip_username(reg->user);
  req.set_contact_uri(contact);
  req.set_transport(reg->transport);
  req.set_source_address(reg->source_ip);
  req.set_source_port(reg->source_port);
  if (sip->sip_user_agent && sip->sip_user_agent->g_string) {
    req.set_user_agent(std::string(sip->sip_user_agent->g_string).substr(0, 200));
  }
  req.set_expires_seconds(std::min(expires, settings_.max_expires));
  req.set_registrar_id(settings_.edge_id);
  if (sip->sip_call_id) req.set_sip_call_id(sip->sip_call_id->i_id);
  if (sip->sip_cseq) req.set_cseq(sip->sip_cseq->cs_seq);
  RPC(registry_, RegisterBinding, v1::RegisterBindingResponse, req,
      [finish, list_contacts](const grpc::Status& st, v1::RegisterBindingResponse& resp) {
        finish(st, list_contacts(resp.bindings()), resp.created() ? "created" : "refreshed");
      });
}

// ---------------------------------------------------------------------------------------
// Customer calls

void Edge::on_invite(nua_handle_t* nh, sip_t const* sip) {
  auto reject = [&](int status, const char* phrase, const char* failure) {
    observer_->response("INVITE", status, true);
    if (failure) observer_->call_failure(failure);
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua_),
                TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
    nua_handle_destroy(nh);
  };
  if (sip->sip_to && sip->sip_to->a_tag) {
    reject(481, "Call/Transaction Does Not Exist", nullptr);  // a dialog we do not know
    return;
  }
  // The agent leg is one hop further: an INVITE with no hops left is a loop (RFC 3261 16.3).
  const unsigned long hops = sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : 70;
  if (hops == 0) {
    reject(483, "Too Many Hops", "too_many_hops");
    return;
  }
  if (draining_ || static_cast<int>(calls_.size()) >= settings_.max_calls) {
    reject(503, draining_ ? "Draining" : "Overloaded", "overload");
    return;
  }
  const std::string sdp = Sdp(sip);
  if (sdp.empty()) {
    reject(488, "SDP offer required", "no_sdp");
    return;
  }
  const char* user = sip->sip_request->rq_url->url_user;
  if (!user || !*user) {
    reject(404, "Not Found", "unknown_number");
    return;
  }
  RefreshByUpdate(nh, sip);
  auto call = std::make_unique<Call>();
  call->id = new_call_id();
  call->customer = nh;
  call->sip_call_id = sip->sip_call_id ? sip->sip_call_id->i_id : "";
  call->dialed = user;
  if (sip->sip_from && sip->sip_from->a_url->url_user)
    call->caller = sip->sip_from->a_url->url_user;
  if (sip->sip_from && sip->sip_from->a_display) call->caller_display = sip->sip_from->a_display;
  call->customer_offer = sdp;
  call->max_forwards = std::min(hops - 1, 70UL);
  call->invite_at = SteadyClock::now();
  call->started_at = std::chrono::system_clock::now();
  const std::string id = call->id;
  handles_[nh] = id;
  sip_call_ids_[call->sip_call_id] = id;
  calls_[id] = std::move(call);
  calls_total_++;
  observer_->gauges(static_cast<int>(handles_.size()), static_cast<int>(calls_.size()));

  // The relay leg first: an offer may come the moment the call is queued.
  v1::CreateLegRequest leg;
  leg.set_call_id(id);
  leg.set_label("customer");
  leg.set_remote_sdp(sdp);
  RPC(relay_, CreateLeg, v1::CreateLegResponse, leg,
      [this, id](const grpc::Status& st, v1::CreateLegResponse& resp) {
        Call* c = find(id);
        if (!c) {
          if (st.ok()) release_relay_leg(resp.leg().id());
          return;
        }
        if (st.ok()) {
          c->relay_customer_leg = resp.leg().id();
          c->customer_local_sdp = resp.local_sdp();
        }
        if (c->phase == Phase::kEnding) {
          release_relay_leg(c->relay_customer_leg);
          return;
        }
        if (!st.ok()) {
          const bool bad_sdp = st.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
          observer_->call_failure(bad_sdp ? "bad_sdp" : "relay_unavailable");
          end_call(*c,
                   bad_sdp ? "media not acceptable: " + st.error_message() : "media unavailable",
                   bad_sdp ? 65 : 41);
          return;
        }
        v1::EnqueueRequest enq;
        enq.set_call_id(id);
        enq.set_dialed(c->dialed);
        enq.set_caller(c->caller);
        enq.set_edge_id(settings_.edge_id);
        RPC(queue_, Enqueue, v1::EnqueueResponse, enq,
            [this, id](const grpc::Status& st2, v1::EnqueueResponse& r) {
              Call* c2 = find(id);
              if (!c2 || c2->phase == Phase::kEnding) {
                if (st2.ok()) {  // the caller left while we were queuing it
                  v1::CancelCallRequest cancel;
                  cancel.set_call_id(id);
                  cancel.set_reason("caller hung up");
                  RPC(queue_, CancelCall, v1::CancelCallResponse, cancel,
                      [](const grpc::Status&, v1::CancelCallResponse&) {});
                }
                return;
              }
              if (!st2.ok()) {
                if (st2.error_code() == grpc::StatusCode::NOT_FOUND) {
                  observer_->call_failure("unknown_number");
                  if (c2->customer && !c2->customer_answered) {
                    observer_->response("INVITE", 404, true);
                    nua_respond(c2->customer, SIP_404_NOT_FOUND, TAG_END());
                  }
                  c2->phase = Phase::kEnding;
                  release_relay_leg(c2->relay_customer_leg);
                  maybe_erase(id);
                  return;
                }
                observer_->call_failure("queue_unavailable");
                end_call(*c2, "queue unavailable", 41);
                return;
              }
              c2->enqueued = true;
              c2->queue = r.queue();
              c2->answer_mode = r.answer_mode();
              c2->music.assign(r.music_prompts().begin(), r.music_prompts().end());
              const auto state = r.call().state();
              if (state != v1::CALL_STATE_WAITING && state != v1::CALL_STATE_OFFERED &&
                  state != v1::CALL_STATE_CONNECTED) {
                observer_->call_failure("queue_refused");
                end_call(*c2, r.call().outcome_reason(), 34);
                return;
              }
              if (c2->phase == Phase::kSetup) c2->phase = Phase::kQueued;
              if (c2->customer_answered || !c2->customer) return;  // an agent was faster
              if (c2->answer_mode == v1::ANSWER_MODE_RING_UNTIL_AGENT) {
                if (!c2->ringing_sent) {
                  c2->ringing_sent = true;
                  observer_->response("INVITE", 180, true);
                  nua_respond(c2->customer, SIP_180_RINGING, TAG_END());
                }
                return;
              }
              if (c2->answer_mode == v1::ANSWER_MODE_EARLY_MEDIA) {
                // Not answered (nothing billed) until an agent is: the music goes out as
                // early media under a 183 with the relay's SDP; the 200 repeats that SDP.
                c2->early_media = true;
                observer_->response("INVITE", 183, true);
                nua_respond(c2->customer, SIP_183_SESSION_PROGRESS,
                            SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                            SIPTAG_PAYLOAD_STR(c2->customer_local_sdp.c_str()), TAG_END());
              } else {
                c2->customer_answered = true;
                observer_->response("INVITE", 200, true);
                nua_respond(c2->customer, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                            SIPTAG_PAYLOAD_STR(c2->customer_local_sdp.c_str()), TAG_END());
              }
              if (!c2->music.empty() && c2->phase == Phase::kQueued) {
                v1::PlayRequest play;
                play.set_leg_id(c2->relay_customer_leg);
                for (const auto& m : c2->music) play.add_prompts(m);
                play.set_loop(true);
                RPC(relay_, Play, v1::PlayResponse, play,
                    [](const grpc::Status& ps, v1::PlayResponse&) {
                      if (!ps.ok())
                        log::Warn("music on hold failed", {{"error", ps.error_message()}});
                    });
              }
            });
      });
}

void Edge::on_reinvite(Call& call, nua_handle_t* nh, sip_t const* sip) {
  // Hold / resume / refresh from either side: the relay learns the new direction or address.
  const bool customer = nh == call.customer;
  const std::string leg = customer ? call.relay_customer_leg : call.relay_agent_leg;
  const std::string sdp = Sdp(sip);
  auto answer = [this, nh](const std::string& local) {
    observer_->response("INVITE", 200, true);
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_),
                TAG_IF(!local.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(!local.empty(), SIPTAG_PAYLOAD_STR(local.c_str())), TAG_END());
  };
  if (sdp.empty() || leg.empty()) {
    answer(customer ? call.customer_local_sdp : call.agent_local_sdp);
    return;
  }
  nua_saved_event_t* saved = new nua_saved_event_t[1];
  nua_save_event(nua_, saved);
  v1::UpdateLegRequest req;
  req.set_leg_id(leg);
  req.set_remote_sdp(sdp);
  const std::string id = call.id;
  RPC(relay_, UpdateLeg, v1::UpdateLegResponse, req,
      [this, id, nh, saved, customer](const grpc::Status& st, v1::UpdateLegResponse& resp) {
        if (nua_) {
          Call* c = find(id);
          if (st.ok() && c) {
            (customer ? c->customer_local_sdp : c->agent_local_sdp) = resp.local_sdp();
            observer_->response("INVITE", 200, true);
            nua_respond(nh, SIP_200_OK, NUTAG_WITH_SAVED(saved),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(resp.local_sdp().c_str()), TAG_END());
          } else {
            observer_->response("INVITE", 488, true);
            nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_SAVED(saved), TAG_END());
          }
        }
        nua_destroy_event(saved);
        delete[] saved;
      });
}

// ---------------------------------------------------------------------------------------
// Agent legs

void Edge::on_offer(const v1::Offer& offer, const std::string& reply) {
  Call* c = find(offer.call_id());
  std::string refusal;
  if (!c) {
    refusal = "unknown call";
  } else if (c->phase == Phase::kEnding) {
    refusal = "call is ending";
  } else if (c->attempt || c->phase == Phase::kConnected || c->phase == Phase::kConnecting) {
    refusal = "call already being connected";
  } else if (c->relay_customer_leg.empty()) {
    refusal = "call not set up yet";
  }
  v1::OfferAck ack;
  ack.set_assignment_id(offer.assignment_id());
  ack.set_accepted(refusal.empty());
  ack.set_reason(refusal);
  if (!reply.empty()) (void)nats_.publish(reply, ack.SerializeAsString());
  if (!refusal.empty()) return;

  c->attempt = std::make_unique<AgentAttempt>();
  AgentAttempt& a = *c->attempt;
  a.assignment_id = offer.assignment_id();
  a.agent_id = offer.agent_id();
  a.ring_timeout = std::chrono::milliseconds(std::max(1000, offer.ring_timeout_ms()));
  const std::string id = c->id;
  const std::int64_t assignment = a.assignment_id;
  // The phones to ring and the relay's agent leg, in parallel.
  auto proceed = [this, id, assignment]() {
    Call* call = find(id);
    if (!call || !call->attempt || call->attempt->assignment_id != assignment) return;
    AgentAttempt& at = *call->attempt;
    if (!at.bindings_ready || !at.leg_ready) return;
    if (at.failed_setup || at.bindings.empty()) {
      if (at.reason == v1::OFFER_FAILURE_UNSPECIFIED) at.reason = v1::OFFER_FAILURE_UNREACHABLE;
      agent_attempt_over(*call);
      return;
    }
    place_agent_leg(*call, at.bindings);
  };
  v1::ListBindingsRequest lb;
  lb.set_agent_id(offer.agent_id());
  RPC(registry_, ListBindings, v1::ListBindingsResponse, lb,
      [this, id, assignment, proceed](const grpc::Status& st, v1::ListBindingsResponse& resp) {
        Call* call = find(id);
        if (!call || !call->attempt || call->attempt->assignment_id != assignment) return;
        call->attempt->bindings_ready = true;
        if (st.ok()) {
          call->attempt->bindings.assign(resp.bindings().begin(), resp.bindings().end());
        } else {
          call->attempt->detail = "bindings: " + st.error_message();
        }
        proceed();
      });
  v1::CreateLegRequest leg;
  leg.set_call_id(id);
  leg.set_label("agent");
  RPC(relay_, CreateLeg, v1::CreateLegResponse, leg,
      [this, id, assignment, proceed](const grpc::Status& st, v1::CreateLegResponse& resp) {
        Call* call = find(id);
        if (!call || !call->attempt || call->attempt->assignment_id != assignment) {
          if (st.ok()) release_relay_leg(resp.leg().id());
          return;
        }
        call->attempt->leg_ready = true;
        if (st.ok()) {
          call->attempt->relay_leg = resp.leg().id();
          call->attempt->local_sdp = resp.local_sdp();
        } else {
          call->attempt->failed_setup = true;
          call->attempt->detail = "relay: " + st.error_message();
        }
        proceed();
      });
}

void Edge::place_agent_leg(Call& call, const std::vector<v1::Binding>& bindings) {
  AgentAttempt& a = *call.attempt;
  // Sofia keeps a display name with its quotes, if it had any.
  std::string display = call.caller_display;
  if (!display.empty() && display.front() != '"') display = "\"" + display + "\"";
  const std::string from = (display.empty() ? "" : display + " ") +
                           "<sip:" + (call.caller.empty() ? "anonymous" : call.caller) + "@" +
                           settings_.realm + ">";
  int placed = 0;
  for (const auto& b : bindings) {
    if (placed >= settings_.max_forks) break;
    // Behind NAT the phone is reached where its REGISTER came from, not where its Contact
    // says: route the INVITE there (the Request-URI stays the Contact).
    std::string route;
    if (!b.source_address().empty() && b.source_port() > 0 &&
        b.contact_uri().find(b.source_address() + ":" + std::to_string(b.source_port())) ==
            std::string::npos) {
      route = "<sip:" + b.source_address() + ":" + std::to_string(b.source_port()) + ";lr" +
              (b.transport() == v1::SIP_TRANSPORT_TCP ? ";transport=tcp" : "") + ">";
    }
    nua_handle_t* nh = nua_handle(nua_, nullptr, NUTAG_URL(b.contact_uri().c_str()),
                                  SIPTAG_TO_STR(("<" + b.contact_uri() + ">").c_str()),
                                  SIPTAG_FROM_STR(from.c_str()), TAG_END());
    if (!nh) {
      log::Warn("cannot address agent device", {{"contact", b.contact_uri()}, {"from", from}});
      continue;
    }
    handles_[nh] = call.id;
    a.forks[nh] = false;
    observer_->request("INVITE");
    const std::string hops = std::to_string(call.max_forwards);
    nua_invite(nh, TAG_IF(!route.empty(), NUTAG_INITIAL_ROUTE_STR(route.c_str())),
               SIPTAG_MAX_FORWARDS_STR(hops.c_str()), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(a.local_sdp.c_str()), TAG_END());
    ++placed;
  }
  if (placed == 0) {
    a.reason = v1::OFFER_FAILURE_UNREACHABLE;
    a.detail = "no device could be called";
    agent_attempt_over(call);
    return;
  }
  const std::string id = call.id;
  const std::int64_t assignment = a.assignment_id;
  // nua's own INVITE timer does nothing in 1.12.11 (notes §4): the ring timeout is ours.
  a.ring_timer = SipTimer(loop_.root(), a.ring_timeout, [this, id, assignment] {
    Call* c = find(id);
    if (!c || !c->attempt || c->attempt->assignment_id != assignment || c->attempt->answered) {
      return;
    }
    c->attempt->ring_timed_out = true;
    for (auto& [nh, done] : c->attempt->forks) {
      if (!done) nua_cancel(nh, TAG_END());
    }
  });
  observer_->gauges(static_cast<int>(handles_.size()), static_cast<int>(calls_.size()));
}

void Edge::on_agent_response(Call& call, nua_handle_t* nh, int status, sip_t const* sip) {
  AgentAttempt* a = call.attempt.get();
  if (!a || !a->forks.count(nh)) {
    // A 2xx for an INVITE we no longer want (the call ended meanwhile): hang it up.
    if (status >= 200 && status < 300) nua_bye(nh, TAG_END());
    return;
  }
  if (status < 200) {
    if ((status == 180 || status == 183) && call.customer && !call.customer_answered &&
        !call.ringing_sent && call.answer_mode == v1::ANSWER_MODE_RING_UNTIL_AGENT) {
      call.ringing_sent = true;
      observer_->response("INVITE", 180, true);
      nua_respond(call.customer, SIP_180_RINGING, TAG_END());
    }
    return;
  }
  a->forks[nh] = true;
  if (status < 300) {
    if (a->answered || call.phase == Phase::kEnding) {
      nua_bye(nh, TAG_END());  // another device was first, or the caller left
      return;
    }
    a->answered = nh;
    RefreshByUpdate(nh, sip);
    a->ring_timer.cancel();
    for (auto& [other, done] : a->forks) {
      if (other != nh && !done) nua_cancel(other, TAG_END());
    }
    agent_answered(call, nh, Sdp(sip));
    return;
  }
  const auto failure = a->ring_timed_out ? v1::OFFER_FAILURE_NO_ANSWER : FailureOf(status);
  if (Rank(failure) > Rank(a->reason)) {
    a->reason = failure;
    a->detail = std::to_string(status);
  }
  // The handle terminates next (nua_i_state); the attempt is over when every fork is done.
}

void Edge::agent_answered(Call& call, nua_handle_t* nh, const std::string& sdp) {
  AgentAttempt& a = *call.attempt;
  call.phase = Phase::kConnecting;
  const std::string id = call.id;
  const std::int64_t assignment = a.assignment_id;
  // The agent's answer to the relay, then queue-service's word, then the bridge.
  v1::UpdateLegRequest up;
  up.set_leg_id(a.relay_leg);
  up.set_remote_sdp(sdp);
  RPC(relay_, UpdateLeg, v1::UpdateLegResponse, up,
      [this, id, assignment, nh](const grpc::Status& st, v1::UpdateLegResponse&) {
        Call* c = find(id);
        if (!c || !c->attempt || c->attempt->assignment_id != assignment) return;
        if (!st.ok()) {
          log::Warn("agent answer not usable", {{"call_id", id}, {"error", st.error_message()}});
          c->attempt->reason = v1::OFFER_FAILURE_REJECTED;
          c->attempt->detail = "agent SDP: " + st.error_message();
          c->attempt->answered = nullptr;
          nua_bye(nh, TAG_END());
          return;  // the fork terminates; the attempt ends there
        }
        v1::ReportConnectedRequest rc;
        rc.set_call_id(id);
        rc.set_agent_id(c->attempt->agent_id);
        rc.set_assignment_id(assignment);
        RPC(queue_, ReportConnected, v1::ReportResponse, rc,
            [this, id, assignment, nh](const grpc::Status& st2, v1::ReportResponse&) {
              Call* c2 = find(id);
              if (!c2 || !c2->attempt || c2->attempt->assignment_id != assignment) return;
              if (!st2.ok()) {
                // The offer is gone (lease expired, caller abandoned): this agent may not take it.
                log::Warn("connect refused by queue-service",
                          {{"call_id", id}, {"error", st2.error_message()}});
                c2->attempt->reason = v1::OFFER_FAILURE_UNSPECIFIED;  // nothing to report
                if (c2->attempt->answered) {
                  c2->attempt->answered = nullptr;
                  nua_bye(nh, TAG_END());  // its fork terminates and ends the attempt
                } else {
                  agent_attempt_over(*c2);  // it had hung up already
                }
                return;
              }
              // Connected: the attempt becomes the call's agent side.
              auto at = std::move(c2->attempt);
              c2->agent = at->answered_terminated ? nullptr : nh;
              c2->agent_id = at->agent_id;
              c2->assignment_id = at->assignment_id;
              c2->relay_agent_leg = at->relay_leg;
              c2->agent_local_sdp = at->local_sdp;
              c2->phase = Phase::kConnected;
              for (auto& [fork, done] : at->forks) {
                if (fork != nh) {
                  if (!done) nua_cancel(fork, TAG_END());
                }
              }
              observer_->setup_time(
                  std::chrono::duration<double>(SteadyClock::now() - c2->invite_at).count());
              if (at->answered_terminated) {
                end_call(*c2, "agent hung up", 16);  // connected and over at once
                return;
              }
              v1::BridgeRequest br;
              br.set_leg_a(c2->relay_customer_leg);
              br.set_leg_b(c2->relay_agent_leg);
              RPC(relay_, Bridge, v1::BridgeResponse, br,
                  [this, id](const grpc::Status& st3, v1::BridgeResponse&) {
                    Call* c3 = find(id);
                    if (!c3 || c3->phase != Phase::kConnected) return;
                    if (!st3.ok()) {
                      observer_->call_failure("bridge_failed");
                      end_call(*c3, "media bridge failed", 41);
                      return;
                    }
                    if (c3->customer_answered || c3->early_media) {
                      v1::StopPlayRequest stop;
                      stop.set_leg_id(c3->relay_customer_leg);
                      RPC(relay_, StopPlay, v1::StopPlayResponse, stop,
                          [](const grpc::Status&, v1::StopPlayResponse&) {});
                    }
                    if (!c3->customer_answered && c3->customer) {
                      c3->customer_answered = true;
                      observer_->response("INVITE", 200, true);
                      nua_respond(c3->customer, SIP_200_OK,
                                  SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                                  SIPTAG_PAYLOAD_STR(c3->customer_local_sdp.c_str()), TAG_END());
                    }
                  });
            });
      });
}

void Edge::report_failed(Call& call, const AgentAttempt& a) {
  if (a.reason == v1::OFFER_FAILURE_UNSPECIFIED) return;
  observer_->call_failure(a.reason == v1::OFFER_FAILURE_BUSY        ? "agent_busy"
                          : a.reason == v1::OFFER_FAILURE_REJECTED  ? "agent_rejected"
                          : a.reason == v1::OFFER_FAILURE_NO_ANSWER ? "agent_no_answer"
                                                                    : "agent_unreachable");
  v1::ReportFailedRequest rf;
  rf.set_call_id(call.id);
  rf.set_agent_id(a.agent_id);
  rf.set_assignment_id(a.assignment_id);
  rf.set_reason(a.reason);
  rf.set_detail(a.detail.substr(0, 200));
  RPC(queue_, ReportFailed, v1::ReportResponse, rf,
      [](const grpc::Status& st, v1::ReportResponse&) {
        if (!st.ok() && st.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
          log::Warn("failure report not accepted", {{"error", st.error_message()}});
        }
      });
}

void Edge::agent_attempt_over(Call& call) {
  auto a = std::move(call.attempt);
  if (!a) return;
  log::Info("agent leg failed", {{"call_id", call.id},
                                 {"agent_id", a->agent_id},
                                 {"reason", v1::OfferFailure_Name(a->reason)},
                                 {"detail", a->detail},
                                 {"devices", static_cast<int>(a->bindings.size())}});
  if (!a->relay_leg.empty()) release_relay_leg(a->relay_leg);
  if (call.phase == Phase::kConnecting) call.phase = Phase::kQueued;
  // The call goes back to queue-service, which offers it again; the caller just waits.
  if (call.phase != Phase::kEnding) report_failed(call, *a);
}

// ---------------------------------------------------------------------------------------
// Ending

void Edge::release_relay_leg(const std::string& leg_id) {
  if (leg_id.empty()) return;
  v1::ReleaseLegRequest req;
  req.set_leg_id(leg_id);
  RPC(relay_, ReleaseLeg, v1::ReleaseLegResponse, req,
      [leg_id](const grpc::Status& st, v1::ReleaseLegResponse&) {
        if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) {
          log::Warn("relay leg not released", {{"leg_id", leg_id}, {"error", st.error_message()}});
        }
      });
}

void Edge::customer_gone(Call& call, const char* why) {
  if (call.phase == Phase::kEnding) return;
  const Phase was = call.phase;
  call.phase = Phase::kEnding;
  log::Info("caller left", {{"call_id", call.id}, {"why", why}});
  if (was == Phase::kConnected) {
    if (call.agent) nua_bye(call.agent, SIPTAG_REASON_STR(Reason(16, why).c_str()), TAG_END());
    v1::ReportEndedRequest re;
    re.set_call_id(call.id);
    re.set_agent_id(call.agent_id);
    re.set_assignment_id(call.assignment_id);
    re.set_reason(why);
    RPC(queue_, ReportEnded, v1::ReportResponse, re,
        [](const grpc::Status& st, v1::ReportResponse&) {
          if (!st.ok()) log::Warn("end report failed", {{"error", st.error_message()}});
        });
  } else {
    if (call.attempt) {
      for (auto& [nh, done] : call.attempt->forks) {
        if (!done) {
          nua_cancel(nh, TAG_END());
        } else if (nh == call.attempt->answered) {
          nua_bye(nh, TAG_END());
        }
      }
      if (!call.attempt->relay_leg.empty()) release_relay_leg(call.attempt->relay_leg);
      call.attempt->relay_leg.clear();
    }
    if (call.enqueued) {
      // Abandoned: queue-service withdraws a pending offer and frees the agent at once.
      v1::CancelCallRequest cancel;
      cancel.set_call_id(call.id);
      cancel.set_reason(why);
      RPC(queue_, CancelCall, v1::CancelCallResponse, cancel,
          [](const grpc::Status& st, v1::CancelCallResponse&) {
            if (!st.ok()) log::Warn("abandon report failed", {{"error", st.error_message()}});
          });
    }
  }
  release_relay_leg(call.relay_customer_leg);
  release_relay_leg(call.relay_agent_leg);
  maybe_erase(call.id);
}

void Edge::end_call(Call& call, const std::string& reason, int q850) {
  if (call.phase == Phase::kEnding) return;
  const std::string reason_header = Reason(q850, reason);
  if (call.customer) {
    if (call.customer_answered) {
      nua_bye(call.customer, SIPTAG_REASON_STR(reason_header.c_str()), TAG_END());
    } else {
      const int status = q850 == 65 ? 488 : (q850 == 41 ? 503 : 480);
      observer_->response("INVITE", status, true);
      nua_respond(call.customer, status,
                  status == 488
                      ? "Not Acceptable Here"
                      : (status == 503 ? "Service Unavailable" : "Temporarily Unavailable"),
                  SIPTAG_REASON_STR(reason_header.c_str()),
                  TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
    }
  }
  log::Info("ending call", {{"call_id", call.id}, {"reason", reason}});
  // The rest is what the caller hanging up does: the agent side, the queue, the relay.
  customer_gone(call, reason.c_str());
}

// ---------------------------------------------------------------------------------------
// Events from the other services

void Edge::on_queue_event(const std::string& subject, const std::string& data) {
  (void)subject;
  v1::CallEvent e;
  if (!e.ParseFromString(data)) return;
  if (e.call().edge_id() != settings_.edge_id) return;
  Call* c = find(e.call().id());
  if (!c || c->phase == Phase::kEnding) return;
  switch (e.call().state()) {
    case v1::CALL_STATE_TIMED_OUT:
    case v1::CALL_STATE_OVERFLOWED:
    case v1::CALL_STATE_FAILED:
    case v1::CALL_STATE_ABANDONED:
      // queue-service ended the call (max wait, overflow to a hang-up, no agents, edge lost).
      c->enqueued = false;  // nothing to cancel there any more
      end_call(*c, e.call().outcome_reason().empty() ? e.reason() : e.call().outcome_reason(),
               e.call().state() == v1::CALL_STATE_TIMED_OUT ? 102 : 34);
      return;
    case v1::CALL_STATE_WAITING:
      if (e.kind() == v1::CallEvent::KIND_OVERFLOWED) c->queue = e.call().queue();
      return;
    default:
      return;
  }
}

void Edge::on_media_event(const std::string& subject, const std::string& data) {
  (void)subject;
  v1::MediaEvent e;
  if (!e.ParseFromString(data) || e.kind() != v1::MediaEvent::KIND_MEDIA_TIMEOUT) return;
  Call* c = find(e.call_id());
  // Both legs of a silent bridge time out: the call ends (and is counted) once.
  if (!c || c->phase == Phase::kEnding) return;
  observer_->call_failure("media_timeout");
  end_call(*c, "media timeout", 3);
}

}  // namespace cc::edge
