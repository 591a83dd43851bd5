#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "common/nats.h"
#include "signaling_edge/call_session.h"
#include "signaling_edge/edge_settings.h"
#include "signaling_edge/relay_pool.h"

namespace cc::edge {

struct InviteRequest;
class SipLoop;

struct EdgeStats {
  int live_dialogs = 0;
  int live_calls = 0;
  std::uint64_t calls_total = 0;
  std::uint64_t registrations_total = 0;
  bool draining = false;
  int pending_reports = 0;
  std::vector<RelayState> relays;
};

// Where the edge reaches the other services.
struct EdgeTargets {
  std::shared_ptr<grpc::Channel> registry;
  std::shared_ptr<grpc::Channel> queue;
  std::vector<std::string> relays;  // one address per media-relay
};

// The signaling edge: the registrar in front of agent-registry and a queue-first B2BUA in
// front of queue-service and the media relays, on one Sofia-SIP nua. It owns the parts and
// wires them: the SIP stack, the registrar, the calls (CallRegistry of CallSessions), the
// outbox of reports, the relay pool, the heartbeat that reconciles the calls with
// queue-service, and the NATS subscription to its own subjects (offers, call and media
// events). Everything runs on the SIP loop; the public methods are thread-safe (they post to
// it and wait).
class Edge {
 public:
  Edge(EdgeSettings settings, SipLoop& loop, NatsClient& nats, EdgeTargets targets,
       EdgeObserver* observer);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  Status start();  // binds SIP, subscribes, starts the heartbeat and the relay polls
  // Refuses new calls (503) from now on; returns the live calls.
  int drain();
  // Ends what is left (BYE with a Reason, reports queued) and shuts nua down (waits for it).
  void shutdown();

  EdgeStats stats();
  std::vector<LiveCallView> live_calls();

 private:
  struct Parts;
  // A new INVITE: taken as a call, or refused (`handle` is Sofia's nua_handle_t).
  void on_invite(void* handle, const InviteRequest& r);
  void on_message(const NatsMessage& m);
  void on_offer(const std::string& data, const std::string& reply);
  void on_monitor(const std::string& data, const std::string& reply);
  void on_record(const std::string& data, const std::string& reply);
  // A session for a callback this edge was offered (no customer dialog yet).
  CallSession* start_callback(const Offer& offer);
  void on_call_event(const std::string& data);
  void on_media_event(const std::string& data);
  void heartbeat();
  void relay_lost(const std::string& relay, const std::vector<std::string>& legs);
  std::vector<std::string> legs_on(const std::string& relay);
  void gauges();
  std::string new_call_id();

  EdgeSettings settings_;
  SipLoop& loop_;
  NatsClient& nats_;
  EdgeTargets targets_;
  EdgeObserver default_observer_;
  EdgeObserver* observer_;
  std::unique_ptr<Parts> parts_;  // everything that lives on the loop
  std::vector<NatsSubscription> subscriptions_;
  bool draining_ = false;
  std::uint64_t calls_total_ = 0;
  std::uint64_t next_call_ = 1;
};

}  // namespace cc::edge
