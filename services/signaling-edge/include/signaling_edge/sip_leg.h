#pragma once

#include <memory>
#include <string>
#include <vector>

// The SIP side of a call as its session sees it: legs it can answer, ring, reject, cancel or
// hang up, and a port that places INVITEs to agents. sofia_stack.cpp implements them on
// Sofia-SIP; the unit tests on fakes. Loop thread only.
namespace cc::edge {

// Q.850 causes of the Reason header.
inline constexpr int kNormalClearing = 16;
inline constexpr int kNoRouteToDestination = 3;
inline constexpr int kNoCircuit = 34;
inline constexpr int kTemporaryFailure = 41;
inline constexpr int kIncompatibleDestination = 88;
inline constexpr int kRecoveryOnTimerExpiry = 102;

// Why a leg ends, sent as a Reason header (RFC 3326): Q.850 cause and text.
struct EndReason {
  int q850 = 16;  // normal clearing
  std::string text;
};

// One SIP dialog of a call, owned by its session. Destroying a leg whose dialog still lives
// tears it down hard (Sofia sends what is due, no event comes back): sessions end legs with
// bye()/cancel()/reject() and drop them once they report terminated.
class SipLeg {
 public:
  virtual ~SipLeg() = default;
  // The customer's INVITE (an incoming dialog).
  virtual void ringing() = 0;                         // 180
  virtual void progress(const std::string& sdp) = 0;  // 183 with early media
  virtual void answer(const std::string& sdp) = 0;    // 200
  // A final error to the INVITE; 503 carries Retry-After. The phrase is the status code's
  // standard one.
  virtual void reject(int status, const EndReason& reason) = 0;
  // An answered dialog (either side).
  virtual void bye(const EndReason& reason) = 0;
  // The customer's INVITE, not answered: 302 to `uri` (a closed queue's redirect).
  virtual void redirect(const std::string& uri) = 0;
  // An outgoing INVITE not answered yet.
  virtual void cancel() = 0;
  // Asks the (answered) far end to call `uri` itself (REFER, RFC 3515): its answer and the
  // progress it reports come back to the session (CallSession::on_transfer_progress).
  virtual void refer(const std::string& uri) = 0;
  // The progress of a transfer this (answered) far end asked for with a REFER: a NOTIFY
  // with message/sipfrag "SIP/2.0 <status> <phrase>" (RFC 3515); a final status (>= 200)
  // ends the implicit subscription.
  virtual void notify_refer(int status) = 0;
  // The dialog's SIP Call-ID, for logs and the admin API.
  virtual std::string sip_callid() const = 0;
};

// A re-INVITE (or UPDATE) with an offer, answered once the relay has answered it.
class PendingAnswer {
 public:
  virtual ~PendingAnswer() = default;
  virtual void accept(const std::string& sdp) = 0;
  virtual void refuse(int status) = 0;  // with the status code's standard phrase
};

// An INVITE to one of an agent's devices.
struct AgentInvite {
  std::string call_id;  // the call it belongs to (its session)
  std::string contact;  // Request-URI: the device's Contact
  // Where the device's REGISTER came from ("sip:ip:port[;transport=tcp]"): every request of
  // the dialog goes there, whatever the Contact says (a phone behind NAT).
  std::string route;
  std::string from;  // the caller, as the agent's phone shows it
  std::string sdp;   // the relay's offer
  unsigned max_forwards = 70;
  // Extra header lines ("X-CC-Data: account=123"), each without its CRLF.
  std::vector<std::string> headers;
  // The customer of a callback (its responses go to CallSession::on_customer_response).
  bool customer = false;
};

class SipPort {
 public:
  virtual ~SipPort() = default;
  // Sends the INVITE; nullptr when the contact cannot be addressed.
  virtual std::unique_ptr<SipLeg> invite(const AgentInvite& invite) = 0;
};

}  // namespace cc::edge
