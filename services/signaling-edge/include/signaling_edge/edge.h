#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/events.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "callcenter/v1/signaling_edge.pb.h"
#include "common/nats.h"
#include "signaling_edge/sip_loop.h"

namespace cc::edge {

struct EdgeSettings {
  std::string edge_id = "edge-local";
  std::string sip_listen = "127.0.0.1:5060";  // UDP and TCP
  std::string sip_advertise;                  // host:port in our Contact (default: listen)
  std::string realm = "callcenter.local";
  std::string auth_secret;  // nonce HMAC key, shared by all edges
  std::chrono::seconds nonce_lifetime{300};
  int min_expires = 60;  // shorter: 423 Interval Too Brief
  int max_expires = 3600;
  int default_expires = 3600;
  std::chrono::seconds credential_cache{30};
  int auth_failures_before_block = 10;           // per source address ...
  std::chrono::seconds auth_failure_window{60};  // ... within this window -> blocked for it
  int max_calls = 2000;                          // more live calls: 503
  std::chrono::milliseconds rpc_timeout{3000};
  std::chrono::seconds heartbeat{10};
  int max_forks = 5;  // devices rung at once for one agent
};

// Counters the edge bumps; wired to Prometheus by the main. Loop thread only.
class EdgeObserver {
 public:
  virtual ~EdgeObserver() = default;
  virtual void request(const char* method) { (void)method; }
  virtual void response(const char* method, int status, bool sent) {
    (void)method, (void)status, (void)sent;
  }
  virtual void registration(const char* result) { (void)result; }
  virtual void call_failure(const char* reason) { (void)reason; }
  virtual void setup_time(double seconds) { (void)seconds; }
  virtual void gauges(int dialogs, int calls) { (void)dialogs, (void)calls; }
};

struct EdgeStats {
  int live_dialogs = 0;  // nua handles alive
  int live_calls = 0;
  std::uint64_t calls_total = 0;
  std::uint64_t registrations_total = 0;
  bool draining = false;
};

struct Call;
struct AgentAttempt;
struct PendingRegister;

// The signaling edge: a registrar in front of agent-registry and a queue-first B2BUA in front
// of queue-service and media-relay, on one Sofia-SIP nua. Everything here runs on the SIP
// loop; gRPC replies and NATS messages are posted to it. Public methods are thread-safe
// (they post and wait) unless marked otherwise.
class Edge {
 public:
  Edge(EdgeSettings settings, SipLoop& loop, NatsClient& nats,
       std::shared_ptr<grpc::Channel> registry, std::shared_ptr<grpc::Channel> queue,
       std::shared_ptr<grpc::Channel> relay, EdgeObserver* observer);
  ~Edge();

  Status start();  // binds SIP, subscribes to offers and events
  // Refuses new calls (503) from now on; returns the live calls.
  int drain();
  // After drain: ends what is left and shuts nua down (waits for it).
  void shutdown();

  EdgeStats stats();
  std::vector<callcenter::v1::LiveCall> live_calls();

 private:
  // Sofia callback and dispatch (loop thread).
  static void Callback(nua_event_t event, int status, char const* phrase, nua_t* nua,
                       nua_magic_t* magic, nua_handle_t* nh, nua_hmagic_t* hmagic, sip_t const* sip,
                       tagi_t tags[]);
  void on_event(nua_event_t event, int status, char const* phrase, nua_handle_t* nh,
                sip_t const* sip, tagi_t tags[]);

  // Registrar.
  void on_register(nua_handle_t* nh, sip_t const* sip);
  void verify_register(std::shared_ptr<PendingRegister> reg, const std::string& ha1);
  void finish_register(std::shared_ptr<PendingRegister> reg);
  void respond_register(PendingRegister& reg, int status, const char* phrase,
                        const std::string& contacts = "", msg_header_t* extra = nullptr,
                        const char* min_expires = nullptr);
  bool blocked(const std::string& source);
  void auth_failed(const std::string& source);

  // Calls.
  void on_invite(nua_handle_t* nh, sip_t const* sip);
  void on_reinvite(Call& call, nua_handle_t* nh, sip_t const* sip);
  void on_offer(const callcenter::v1::Offer& offer, const std::string& reply);
  void place_agent_leg(Call& call, const std::vector<callcenter::v1::Binding>& bindings);
  void on_agent_response(Call& call, nua_handle_t* nh, int status, sip_t const* sip);
  void agent_answered(Call& call, nua_handle_t* nh, const std::string& sdp);
  void agent_attempt_over(Call& call);
  void on_state(nua_handle_t* nh, int status, tagi_t tags[]);
  void customer_gone(Call& call, const char* why);
  void end_call(Call& call, const std::string& reason, int q850);
  void release_relay_leg(const std::string& leg_id);
  void report_failed(Call& call, const AgentAttempt& attempt);
  void forget_handle(nua_handle_t* nh);
  void maybe_erase(const std::string& call_id);
  void on_queue_event(const std::string& subject, const std::string& data);
  void on_media_event(const std::string& subject, const std::string& data);
  Call* find(const std::string& call_id);
  void heartbeat();
  std::string new_call_id();

  EdgeSettings settings_;
  SipLoop& loop_;
  NatsClient& nats_;
  std::unique_ptr<callcenter::v1::AgentRegistry::Stub> registry_;
  std::unique_ptr<callcenter::v1::QueueService::Stub> queue_;
  std::unique_ptr<callcenter::v1::MediaRelay::Stub> relay_;
  EdgeObserver default_observer_;
  EdgeObserver* observer_;

  nua_t* nua_ = nullptr;
  auth_mod_t* auth_ = nullptr;
  bool draining_ = false;
  bool shutting_down_ = false;
  bool shutdown_done_ = false;

  // One registry of calls with all its indexes: calls by id, and every live handle to the
  // call it belongs to ("" for a registrar or options handle).
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::unordered_map<nua_handle_t*, std::string> handles_;
  std::map<std::string, std::string> sip_call_ids_;  // customer Call-ID -> call id

  struct CachedCredentials {
    std::string ha1;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, CachedCredentials> credentials_;
  struct Failures {
    std::vector<std::chrono::steady_clock::time_point> at;
    std::chrono::steady_clock::time_point blocked_until{};
  };
  std::map<std::string, Failures> failures_;

  std::uint64_t calls_total_ = 0;
  std::uint64_t registrations_total_ = 0;
  std::uint64_t next_call_ = 1;
  std::atomic<int> inflight_rpcs_{0};
  std::vector<NatsSubscription> subscriptions_;
  SipTimer heartbeat_timer_;

  template <typename Req, typename Resp, typename Invoke, typename Done>
  void rpc(Req req, Invoke invoke, Done done);
};

}  // namespace cc::edge
