#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "signaling_edge/source_guard.h"

namespace cc::edge {

struct EdgeSettings {
  std::string edge_id = "edge-local";
  std::string sip_listen = "127.0.0.1:5060";  // UDP and TCP
  std::string sip_advertise;                  // host[:port] in Contact and Via (default: listen)
  std::string sip_tls_listen;                 // host:port of SIP over TLS (sips:), "" none
  std::string sip_tls_cert_dir;               // agent.pem (key + certificate chain) and cafile.pem
  std::string realm = "callcenter.local";
  std::string outbound_proxy;  // host:port customers are called through (callbacks)
  std::string auth_secret;     // nonce HMAC key, shared by all edges
  std::chrono::seconds nonce_lifetime{300};
  int min_expires = 60;  // shorter: 423 Interval Too Brief
  int max_expires = 3600;
  int default_expires = 3600;
  std::chrono::seconds credential_cache{30};
  int credential_cache_size = 10000;  // users whose HA1 is kept
  SourceGuardSettings front_door;     // per-source limits, digest lockouts, trusted networks
  int max_calls = 2000;               // more live calls: 503
  Duration rpc_timeout{3000};
  Duration heartbeat{5000};       // the edge's word to queue-service, with the calls it holds
  Duration enqueue_retry{10000};  // queue-service unreachable: the caller waits this long
  Duration waiting_media_timeout{60000};  // a waiting caller hearing music, silent: gone (0 off)
  Duration relay_poll{1000};              // EdgeLegs to every relay (health, load, its legs)
  int relay_failures = 2;                 // polls in a row without an answer: the relay is lost
  Duration ending_timeout{40000};         // a dialog that never closes is torn down after this
  Duration announcement_limit{60000};     // an announcement before a call ends plays at most this
  int max_forks = 5;                      // devices rung at once for one agent
  // After a transfer's final NOTIFY the agent's phone hangs up itself; else the edge's BYE.
  Duration transfer_hangup_grace{2000};
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
  // A request the front door refused before any work: method, and why ("rate_limited",
  // "too_many_calls", "locked_out").
  virtual void refused(const char* method, const char* reason) { (void)method, (void)reason; }
  virtual void call_failure(const char* reason) { (void)reason; }
  virtual void setup_time(double seconds) { (void)seconds; }
  virtual void gauges(int dialogs, int calls) { (void)dialogs, (void)calls; }
  // A report to queue-service: "sent", "retried", "acknowledged", "refused", "dropped".
  virtual void report(const char* kind, const char* result) { (void)kind, (void)result; }
  // Calls the edge hung up because another service lost them: "queue_ended", "unknown",
  // "relay_lost".
  virtual void reconciled(const char* why) { (void)why; }
};

}  // namespace cc::edge
