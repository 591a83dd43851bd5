#include "signaling_edge/sofia_stack.h"

#include <sofia-sip/su_string.h>
#include <sofia-sip/tport_tag.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "signaling_edge/call_session.h"
#include "signaling_edge/sip_bodies.h"

namespace cc::edge {
namespace {

constexpr unsigned kUdpReceiveBuffer = 8u << 20;  // bytes

char InfoDigit(sip_t const* sip) {
  if (!sip || !sip->sip_content_type || !sip->sip_content_type->c_type || !sip->sip_payload) {
    return '\0';
  }
  return DtmfInfoDigit(sip->sip_content_type->c_type,
                       std::string_view(sip->sip_payload->pl_data, sip->sip_payload->pl_len));
}

std::string Sdp(sip_t const* sip) {
  if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return "";
  if (sip->sip_content_type && sip->sip_content_type->c_type &&
      strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
    return "";
  }
  return std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

std::string ReasonHeader(const EndReason& r) {
  std::string t = r.text;
  std::replace(t.begin(), t.end(), '"', '\'');
  return "Q.850;cause=" + std::to_string(r.q850) + ";text=\"" + t + "\"";
}

// If the edge ends up refreshing a session timer (the peer asked it to, or does not do
// timers), the refresh is an UPDATE without a body where the peer allows UPDATE: a re-INVITE
// from the stack would carry no SDP (media is the relay's), and the peer's offer in its 200
// would get no answer in the ACK.
void RefreshByUpdate(nua_handle_t* nh, sip_t const* sip) {
  if (sip && sip->sip_allow && sip_is_allowed(sip->sip_allow, sip_method_update, "UPDATE")) {
    nua_set_hparams(nh, NUTAG_UPDATE_REFRESH(1), TAG_END());
  }
}

// A URI's user part with its %HEX escapes decoded, as RFC 3261 19.1.4 compares it: the
// dialled number "%31%30%30" is "100".
std::string Unescaped(const char* user) {
  if (!user) return "";
  std::string out(strlen(user), '\0');
  out.resize(url_unescape_to(out.data(), user, out.size()));
  return out;
}

// Whether the answer's SDP is acceptable to the caller: no Accept means application/sdp (RFC
// 3261 20.1); else one of its types must cover it (an empty Accept accepts no body at all).
bool AcceptsSdp(sip_t const* sip) {
  if (!sip->sip_accept) return true;
  for (const sip_accept_t* a = sip->sip_accept; a; a = a->ac_next) {
    if (!a->ac_type) continue;
    if (su_casematch(a->ac_type, "application/sdp") || su_casematch(a->ac_type, "application/*") ||
        su_casematch(a->ac_type, "*/*")) {
      return true;
    }
  }
  return false;
}

// "host:port" -> {host, port} ("" port when absent).
std::pair<std::string, std::string> SplitHostPort(const std::string& hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos || hp.find(']') != std::string::npos) return {hp, ""};
  return {hp.substr(0, colon), hp.substr(colon + 1)};
}

// A re-INVITE or UPDATE with an offer, saved and answered once the relay has answered it.
class SofiaPendingAnswer final : public PendingAnswer {
 public:
  SofiaPendingAnswer(SofiaStack& stack, nua_handle_t* nh) : stack_(stack), nh_(nua_handle_ref(nh)) {
    saved_ok_ = nua_save_event(stack.nua(), saved_) != 0;
  }
  ~SofiaPendingAnswer() override {
    respond(500, "Server Internal Error", "");
    if (saved_ok_) nua_destroy_event(saved_);
    nua_handle_unref(nh_);
  }
  void accept(const std::string& sdp) override { respond(200, "OK", sdp); }
  void refuse(int status) override { respond(status, sip_status_phrase(status), ""); }

 private:
  void respond(int status, const char* phrase, const std::string& sdp) {
    if (done_) return;
    done_ = true;
    // The leg is gone (its handle destroyed, its magic cleared): Sofia has answered.
    if (!saved_ok_ || nua_handle_magic(nh_) == nullptr) return;
    stack_.observer().response("INVITE", status, true);
    const std::string& contact = stack_.contact();
    nua_respond(nh_, status, phrase, NUTAG_WITH_SAVED(saved_),
                TAG_IF(!sdp.empty(), SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(!sdp.empty(), SIPTAG_PAYLOAD_STR(sdp.c_str())),
                TAG_IF(!contact.empty() && status < 300, SIPTAG_CONTACT_STR(contact.c_str())),
                TAG_END());
  }

  SofiaStack& stack_;
  nua_handle_t* nh_;
  nua_saved_event_t saved_[1];
  bool saved_ok_ = false;
  bool done_ = false;
};

}  // namespace

RequestSource SourceOf(msg_t* msg, sip_t const* sip) {
  RequestSource s;
  su_addrinfo_t* ai = msg ? msg_addrinfo(msg) : nullptr;
  if (!ai || !ai->ai_addr) return s;
  auto* su = reinterpret_cast<su_sockaddr_t*>(ai->ai_addr);
  char buf[64] = {};
  su_inet_ntop(su->su_family, SU_ADDR(su), buf, sizeof buf);
  s.ip = buf;
  s.port = ntohs(su->su_port);
  s.tcp = ai->ai_protocol == IPPROTO_TCP;
  s.tls = s.tcp && sip && sip->sip_via && sip->sip_via->v_protocol &&
          su_casematch(sip->sip_via->v_protocol, sip_transport_tls);
  return s;
}

// ---------------------------------------------------------------------------------------
// Legs

SofiaLeg::SofiaLeg(SofiaStack& stack, nua_handle_t* nh, Role role, std::string call_id,
                   std::string sip_call_id)
    : stack_(stack),
      nh_(nh),
      role_(role),
      call_id_(std::move(call_id)),
      sip_call_id_(std::move(sip_call_id)) {
  nua_handle_bind(nh_, this);
}

SofiaLeg::~SofiaLeg() {
  // No event may find this leg any more; a live dialog is torn down by the stack.
  nua_handle_bind(nh_, nullptr);
  nua_handle_destroy(nh_);
}

void SofiaLeg::ringing() {
  const std::string& contact = stack_.contact();
  nua_respond(nh_, SIP_180_RINGING, TAG_IF(!contact.empty(), SIPTAG_CONTACT_STR(contact.c_str())),
              TAG_END());
}

void SofiaLeg::progress(const std::string& sdp) {
  const std::string& contact = stack_.contact();
  nua_respond(nh_, SIP_183_SESSION_PROGRESS, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(sdp.c_str()),
              TAG_IF(!contact.empty(), SIPTAG_CONTACT_STR(contact.c_str())), TAG_END());
}

void SofiaLeg::answer(const std::string& sdp) {
  const std::string& contact = stack_.contact();
  nua_respond(nh_, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
              SIPTAG_PAYLOAD_STR(sdp.c_str()),
              TAG_IF(!contact.empty(), SIPTAG_CONTACT_STR(contact.c_str())), TAG_END());
}

void SofiaLeg::reject(int status, const EndReason& reason) {
  const std::string header = ReasonHeader(reason);
  // The phrase is read when the stack sends the response, later: a static string.
  const char* phrase = sip_status_phrase(status);
  nua_respond(nh_, status, phrase ? phrase : "Error", SIPTAG_REASON_STR(header.c_str()),
              TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
}

void SofiaLeg::bye(const EndReason& reason) {
  const std::string header = ReasonHeader(reason);
  nua_bye(nh_, SIPTAG_REASON_STR(header.c_str()), TAG_END());
}

void SofiaLeg::cancel() {
  nua_cancel(nh_, TAG_END());
}

void SofiaLeg::redirect(const std::string& uri) {
  const std::string contact = "<" + uri + ">";
  nua_respond(nh_, SIP_302_MOVED_TEMPORARILY, SIPTAG_CONTACT_STR(contact.c_str()), TAG_END());
}

void SofiaLeg::refer(const std::string& uri) {
  const std::string refer_to = "<" + uri + ">";
  nua_refer(nh_, SIPTAG_REFER_TO_STR(refer_to.c_str()),
            TAG_IF(!stack_.contact().empty(), SIPTAG_CONTACT_STR(stack_.contact().c_str())),
            TAG_END());
}

void SofiaLeg::notify_refer(int status) {
  const char* phrase = sip_status_phrase(status);
  const std::string frag =
      "SIP/2.0 " + std::to_string(status) + " " + (phrase ? phrase : "Unknown") + "\r\n";
  const bool final = status >= 200;
  nua_notify(nh_, NUTAG_SUBSTATE(final ? nua_substate_terminated : nua_substate_active),
             SIPTAG_EVENT_STR(refer_event_.c_str()),
             SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
             SIPTAG_PAYLOAD_STR(frag.c_str()), TAG_END());
}

// ---------------------------------------------------------------------------------------
// The stack

SofiaStack::SofiaStack(const EdgeSettings& settings, SipLoop& loop, EdgeObserver& observer,
                       SourceGuard& guard)
    : settings_(settings), loop_(loop), observer_(observer), guard_(guard) {}

SofiaStack::~SofiaStack() {
  destroy();
}

Status SofiaStack::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  const auto [listen_host, listen_port] = SplitHostPort(settings_.sip_listen);
  std::string url = "sip:" + settings_.sip_listen;
  if (!settings_.sip_advertise.empty()) {
    // The advertised host is the one Via and Contact carry; the socket binds the listen
    // address (maddr). A different advertised port (a load balancer's, a NAT's) goes into
    // the Contact of everything the edge sends; requests also carry ;rport, so answers come
    // back to where they really came from.
    const auto [adv_host, adv_port] = SplitHostPort(settings_.sip_advertise);
    url = "sip:" + adv_host + ":" + listen_port + ";maddr=" + listen_host;
    contact_ = "<sip:" + adv_host + ":" + (adv_port.empty() ? listen_port : adv_port) + ">";
  }
  // A deep UDP receive queue: the kernel default (~200 KiB) overflowed in bursts under load
  // (calls then waited for retransmissions). The kernel caps it at rmem_max.
  // SIP over TLS (sips:) beside UDP and TCP when asked for: Sofia-SIP's TLS transport with
  // the certificate in sip_tls_cert_dir; phones are not asked for certificates (they
  // authenticate with digest).
  const std::string sips =
      settings_.sip_tls_listen.empty() ? "" : "sips:" + settings_.sip_tls_listen;
  nua_ = nua_create(loop_.root(), &SofiaStack::Callback, this, NUTAG_URL(url.c_str()),
                    TAG_IF(!sips.empty(), NUTAG_SIPS_URL(sips.c_str())),
                    TAG_IF(!sips.empty(), TPTAG_CERTIFICATE(settings_.sip_tls_cert_dir.c_str())),
                    TAG_IF(!sips.empty(), TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_NONE)),
                    TPTAG_UDP_RMEM(kUdpReceiveBuffer),
                    // No STUN server on the SIP port (nua turns Sofia-SIP's on): phones learn
                    // their address from rport, and the server leaks memory on every malformed
                    // request and answers any address a packet claims (found by fuzz_sip_request).
                    TPTAG_STUN_SERVER(0), TAG_END());
  if (!nua_) {
    return Unavailable(
        "cannot listen for SIP on " + settings_.sip_listen +
        (sips.empty() ? ""
                      : " and " + sips + " (certificates in " + settings_.sip_tls_cert_dir + ")") +
        " (address in use or invalid)");
  }
  nua_set_params(
      nua_, NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOALERT(0),
      // OPTIONS too: the front door answers it (and may refuse it).
      NUTAG_AUTOACK(1), NUTAG_APPL_METHOD("REGISTER, OPTIONS"),
      SIPTAG_ALLOW_STR("INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, NOTIFY, REFER"),
      SIPTAG_SUPPORTED_STR("timer"), NUTAG_SESSION_TIMER(1800), NUTAG_MIN_SE(90),
      // The far end refreshes where it may choose (RFC 4028): the edge's own
      // refresh has no SDP to offer (media is the relay's), see RefreshByUpdate.
      NUTAG_SESSION_REFRESHER(nua_remote_refresher), SIPTAG_USER_AGENT_STR("cc-signaling-edge"),
      TAG_END());
  return OkStatus();
}

void SofiaStack::shutdown(std::function<void()> done) {
  if (!nua_) {
    if (done) done();
    return;
  }
  shutdown_done_ = std::move(done);
  nua_shutdown(nua_);
}

void SofiaStack::destroy() {
  if (!nua_) return;
  nua_destroy(nua_);
  nua_ = nullptr;
}

void SofiaStack::reject(nua_handle_t* nh, int status, const char* phrase) {
  observer_.response("INVITE", status, true);
  nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua_),
              TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")),
              TAG_IF(status == 415, SIPTAG_ACCEPT_STR("application/sdp")), TAG_END());
  nua_handle_destroy(nh);
}

std::unique_ptr<SipLeg> SofiaStack::adopt(nua_handle_t* nh, const std::string& call_id,
                                          const std::string& sip_call_id) {
  return std::make_unique<SofiaLeg>(*this, nh, SofiaLeg::Role::kCustomer, call_id, sip_call_id);
}

std::unique_ptr<SipLeg> SofiaStack::invite(const AgentInvite& inv) {
  nua_handle_t* nh = nua_handle(nua_, nullptr, NUTAG_URL(inv.contact.c_str()),
                                SIPTAG_TO_STR(("<" + inv.contact + ">").c_str()),
                                SIPTAG_FROM_STR(inv.from.c_str()), TAG_END());
  if (!nh) return nullptr;
  // Every request of the dialog (INVITE, ACK, re-INVITE, BYE, CANCEL) goes where the device
  // registered from: the handle's proxy is its next hop, whatever the Contact says. It is a
  // handle parameter: among nua_handle()'s tags (which only make headers) it is ignored.
  if (!inv.route.empty()) nua_set_hparams(nh, NUTAG_PROXY(inv.route.c_str()), TAG_END());
  auto leg = std::make_unique<SofiaLeg>(
      *this, nh, inv.customer ? SofiaLeg::Role::kCustomer : SofiaLeg::Role::kAgent, inv.call_id,
      "");
  const std::string hops = std::to_string(inv.max_forwards);
  std::string extra;
  for (const auto& h : inv.headers) extra += (extra.empty() ? "" : "\r\n") + h;
  nua_invite(nh, SIPTAG_MAX_FORWARDS_STR(hops.c_str()),
             TAG_IF(!extra.empty(), SIPTAG_HEADER_STR(extra.c_str())),
             SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(inv.sdp.c_str()),
             TAG_IF(!contact_.empty(), SIPTAG_CONTACT_STR(contact_.c_str())), TAG_END());
  return leg;
}

void SofiaStack::Callback(nua_event_t event, int status, char const*, nua_t*, nua_magic_t* magic,
                          nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* sip, tagi_t tags[]) {
  static_cast<SofiaStack*>(magic)->on_event(event, status, nh, static_cast<SofiaLeg*>(hmagic), sip,
                                            tags);
}

void SofiaStack::on_event(nua_event_t event, int status, nua_handle_t* nh, SofiaLeg* leg,
                          sip_t const* sip, tagi_t tags[]) {
  if (leg) {
    on_leg_event(event, status, leg, nh, sip, tags);
    return;
  }
  switch (event) {
    case nua_i_register: {
      observer_.request("REGISTER");
      const RequestSource src = SourceOf(nua_current_request(nua_), sip);
      if (!admit(nh, src, RequestClass::kRegister)) return;
      handlers_.on_register(nh, sip, src);
      return;
    }
    case nua_i_invite: {
      observer_.request("INVITE");
      const RequestSource src = SourceOf(nua_current_request(nua_), sip);
      if (!admit(nh, src, RequestClass::kInvite)) return;
      InviteRequest r;
      r.source_ip = src.ip;
      r.has_to_tag = sip->sip_to && sip->sip_to->a_tag;
      r.max_forwards = sip->sip_max_forwards ? sip->sip_max_forwards->mf_count : 70;
      r.sip_call_id = sip->sip_call_id && sip->sip_call_id->i_id ? sip->sip_call_id->i_id : "";
      r.user = Unescaped(sip->sip_request->rq_url->url_user);
      if (sip->sip_from && sip->sip_from->a_url->url_user)
        r.caller = sip->sip_from->a_url->url_user;
      if (sip->sip_from && sip->sip_from->a_display) r.caller_display = sip->sip_from->a_display;
      r.sdp = Sdp(sip);
      r.other_body = r.sdp.empty() && sip->sip_payload && sip->sip_payload->pl_len > 0;
      r.accepts_sdp = AcceptsSdp(sip);
      RefreshByUpdate(nh, sip);
      handlers_.on_invite(nh, r);
      return;
    }
    case nua_i_options: {
      observer_.request("OPTIONS");
      const RequestSource src = SourceOf(nua_current_request(nua_), sip);
      if (!admit(nh, src, RequestClass::kOptions)) return;
      observer_.response("OPTIONS", 200, true);
      // The stack adds Allow, Accept, Supported and User-Agent.
      nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), TAG_END());
      nua_handle_destroy(nh);
      return;
    }
    case nua_r_shutdown:
      if (status >= 200 && shutdown_done_) {
        auto done = std::move(shutdown_done_);
        done();
      }
      return;
    case nua_i_error:
      log::Warn("sip stack error", {{"status", status}});
      return;
    default:
      if (nh && event >= nua_i_chat && event <= nua_i_network_changed) {
        // A request of no call we hold, answered by the stack: drop its handle.
        nua_handle_destroy(nh);
      }
      return;
  }
}

bool SofiaStack::admit(nua_handle_t* nh, const RequestSource& src, RequestClass c) {
  const Refusal why = guard_.admit(src.ip, c);
  const char* method = ToString(c);
  if (why == Refusal::kNone) return true;
  observer_.refused(method, ToString(why));
  observer_.response(method, 503, true);
  const std::string retry = std::to_string(guard_.retry_after(c));
  nua_respond(nh, 503, "Too Many Requests From This Address", NUTAG_WITH_THIS(nua_),
              SIPTAG_RETRY_AFTER_STR(retry.c_str()), TAG_END());
  nua_handle_destroy(nh);
  return false;
}

void SofiaStack::on_leg_event(nua_event_t event, int status, SofiaLeg* leg, nua_handle_t* nh,
                              sip_t const* sip, tagi_t tags[]) {
  CallSession* call = handlers_.find_call(leg->call_id());
  if (!call) return;  // cannot be: sessions own their legs
  const bool customer = leg->role() == SofiaLeg::Role::kCustomer;
  switch (event) {
    case nua_i_invite:
      observer_.request("INVITE");
      call->on_reinvite(leg, Sdp(sip), std::make_unique<SofiaPendingAnswer>(*this, nh));
      return;
    case nua_i_update: {
      observer_.request("UPDATE");
      const std::string sdp = Sdp(sip);
      if (sdp.empty()) {  // a session refresh
        nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), TAG_END());
        return;
      }
      call->on_reinvite(leg, sdp, std::make_unique<SofiaPendingAnswer>(*this, nh));
      return;
    }
    case nua_i_info: {
      observer_.request("INFO");
      nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua_), TAG_END());
      // A key a phone sends as SIP INFO (application/dtmf-relay or application/dtmf) instead
      // of RFC 4733 in the media.
      const char digit = InfoDigit(sip);
      if (digit != '\0') {
        if (customer) {
          call->on_digit(digit);
        } else {
          call->on_agent_digit(digit);  // the agent's feature codes
        }
      }
      return;
    }
    case nua_i_refer: {
      // A phone transfers its call (RFC 3515). The stack has answered 202 and keeps the
      // implicit subscription the progress NOTIFYs go on (its Event, with the id a second
      // REFER in the dialog gets).
      observer_.request("REFER");
      sip_event_t const* subscription = nullptr;
      tl_gets(tags, NUTAG_REFER_EVENT_REF(subscription), TAG_END());
      if (subscription && subscription->o_type) {
        leg->set_refer_event(subscription->o_id
                                 ? std::string(subscription->o_type) + ";id=" + subscription->o_id
                                 : std::string(subscription->o_type));
      }
      const url_t* to = sip && sip->sip_refer_to ? sip->sip_refer_to->r_url : nullptr;
      if (customer) {  // the caller may not move the call elsewhere
        leg->notify_refer(603);
        return;
      }
      if (to && to->url_headers && su_strcasestr(to->url_headers, "replaces=")) {
        leg->notify_refer(501);  // an attended transfer (Replaces): not supported yet
        return;
      }
      call->on_agent_refer(leg, to && to->url_user ? Unescaped(to->url_user) : "");
      return;
    }
    case nua_r_refer:
      observer_.response("REFER", status, false);
      if (customer) call->on_transfer_progress(status, status >= 300);
      return;
    case nua_i_notify: {
      // The progress of a REFER (message/sipfrag: "SIP/2.0 180 Ringing"); nua answers it.
      observer_.request("NOTIFY");
      if (!customer || !sip || !sip->sip_payload || !sip->sip_event ||
          !su_casematch(sip->sip_event->o_type, "refer")) {
        return;
      }
      const int frag =
          SipfragStatus(std::string(sip->sip_payload->pl_data, sip->sip_payload->pl_len));
      if (frag >= 100) call->on_transfer_progress(frag, frag >= 200);
      return;
    }
    case nua_i_cancel:
      // The stack has answered (200, and 487 to the INVITE).
      observer_.request("CANCEL");
      if (customer) call->on_customer_left("caller cancelled");
      return;
    case nua_i_bye:
      observer_.request("BYE");
      if (customer) {
        call->on_customer_left("caller hung up");
      } else {
        call->on_agent_bye(leg);
      }
      return;
    case nua_r_invite:
      observer_.response("INVITE", status, false);
      if (status >= 200 && status < 300) RefreshByUpdate(nh, sip);
      // On an established leg this answers a re-INVITE the stack sent to refresh the
      // session: the session ignores what is not an answer of a device it rings.
      if (customer) {
        call->on_customer_response(leg, status, Sdp(sip));  // a callback's customer
      } else {
        call->on_agent_response(leg, status, Sdp(sip));
      }
      return;
    case nua_i_state: {
      int state = nua_callstate_init;
      tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
      if (state == nua_callstate_terminated) call->on_terminated(leg, status);  // may free leg
      return;
    }
    default:
      return;
  }
}

}  // namespace cc::edge
