#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "signaling_edge/edge_settings.h"
#include "signaling_edge/sip_leg.h"
#include "signaling_edge/sip_loop.h"
#include "signaling_edge/sofia.h"
#include "signaling_edge/source_guard.h"

namespace cc::edge {

class CallSession;

// Where a request came from (the packet's address, not what its headers say).
struct RequestSource {
  std::string ip;
  int port = 0;
  bool tcp = false;
  bool tls = false;  // TCP carrying TLS (the Via says SIP/2.0/TLS)
};
RequestSource SourceOf(msg_t* msg, sip_t const* sip);

// A new INVITE with no dialog yet, as parsed before the edge takes it as a call or refuses it.
struct InviteRequest {
  bool has_to_tag = false;  // for a dialog we do not know
  unsigned long max_forwards = 70;
  std::string sip_call_id;
  std::string user;  // Request-URI user, %HEX escapes decoded
  std::string caller;
  std::string caller_display;
  std::string sdp;          // the offer, "" if none (or not SDP)
  bool other_body = false;  // a body that is not SDP (415)
  bool accepts_sdp = true;  // the caller's Accept allows an SDP answer (else 406)
  std::string source_ip;
};

class SofiaStack;

// A dialog of a call on a Sofia handle. The leg is the handle's magic, so the stack's events
// find the leg (and through its call id the session) without a table of handles; destroying
// the leg clears the magic and destroys the handle, after which Sofia delivers no more events
// for it. Loop thread only.
class SofiaLeg final : public SipLeg {
 public:
  enum class Role { kCustomer, kAgent };
  SofiaLeg(SofiaStack& stack, nua_handle_t* nh, Role role, std::string call_id,
           std::string sip_call_id);
  ~SofiaLeg() override;
  SofiaLeg(const SofiaLeg&) = delete;
  SofiaLeg& operator=(const SofiaLeg&) = delete;

  void ringing() override;
  void progress(const std::string& sdp) override;
  void answer(const std::string& sdp) override;
  void reject(int status, const EndReason& reason) override;
  void bye(const EndReason& reason) override;
  void cancel() override;
  void refer(const std::string& uri) override;
  void redirect(const std::string& uri) override;
  void notify_refer(int status) override;
  std::string sip_callid() const override { return sip_call_id_; }
  // The Event of the implicit subscription of the REFER being answered.
  void set_refer_event(std::string event) { refer_event_ = std::move(event); }

  Role role() const { return role_; }
  const std::string& call_id() const { return call_id_; }
  nua_handle_t* handle() const { return nh_; }

 private:
  SofiaStack& stack_;
  nua_handle_t* nh_;
  Role role_;
  std::string call_id_;
  std::string sip_call_id_;
  std::string refer_event_ = "refer";
};

// Sofia-SIP's nua on the SIP loop: it binds the SIP port, turns the stack's events into calls
// of the edge (new INVITEs, REGISTERs) and of call sessions (responses, BYE, CANCEL,
// re-INVITEs, dialogs closed), and places the INVITEs to agents. Loop thread only.
class SofiaStack final : public SipPort {
 public:
  struct Handlers {
    std::function<void(nua_handle_t*, sip_t const*, const RequestSource&)> on_register;
    std::function<void(nua_handle_t*, const InviteRequest&)> on_invite;
    std::function<CallSession*(const std::string& call_id)> find_call;
  };

  // Every request out of a dialog passes `guard` first.
  SofiaStack(const EdgeSettings& settings, SipLoop& loop, EdgeObserver& observer,
             SourceGuard& guard);
  ~SofiaStack() override;

  Status start(Handlers handlers);  // on the loop
  // Every dialog BYE'd by the stack; `done` when it is over (or after nua's own timeout).
  void shutdown(std::function<void()> done);
  void destroy();  // after shutdown: frees nua

  // SipPort.
  std::unique_ptr<SipLeg> invite(const AgentInvite& invite) override;
  // Refuses a new INVITE (the handle is destroyed).
  void reject(nua_handle_t* nh, int status, const char* phrase);
  // Takes a new INVITE as the customer leg of `call_id`.
  std::unique_ptr<SipLeg> adopt(nua_handle_t* nh, const std::string& call_id,
                                const std::string& sip_call_id);

  nua_t* nua() const { return nua_; }
  // The Contact the edge puts in what it sends (the advertised address).
  const std::string& contact() const { return contact_; }
  EdgeObserver& observer() { return observer_; }

 private:
  static void Callback(nua_event_t event, int status, char const* phrase, nua_t* nua,
                       nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* sip,
                       tagi_t tags[]);
  void on_event(nua_event_t event, int status, nua_handle_t* nh, SofiaLeg* leg, sip_t const* sip,
                tagi_t tags[]);
  // The front door: false when `guard_` refused the request (answered 503, handle gone).
  bool admit(nua_handle_t* nh, const RequestSource& src, RequestClass c);
  void on_leg_event(nua_event_t event, int status, SofiaLeg* leg, nua_handle_t* nh,
                    sip_t const* sip, tagi_t tags[]);

  const EdgeSettings& settings_;
  SipLoop& loop_;
  EdgeObserver& observer_;
  SourceGuard& guard_;
  Handlers handlers_;
  nua_t* nua_ = nullptr;
  std::string contact_;
  std::function<void()> shutdown_done_;
};

}  // namespace cc::edge
