#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "signaling_edge/ports.h"

namespace cc::edge {

// What a relay says when the edge lists its legs there (EdgeLegs).
struct RelayReport {
  std::string instance_id;                // changes when the relay restarts
  std::vector<std::string> unknown_legs;  // listed legs it does not have
  int legs = 0;                           // every edge's legs it holds
  int ports_free = 0;
  bool draining = false;
};

// One media-relay. Loop thread only.
class RelayClient : public MediaPort {
 public:
  // The legs this edge holds there; `deadline` bounds the wait for the answer.
  virtual void edge_legs(const std::vector<std::string>& legs, Duration lease, Duration deadline,
                         Reply<RelayReport> done) = 0;
};

struct RelayState {
  std::string address;
  bool healthy = false;
  RelayReport last;       // as it last answered
  int created_since = 0;  // legs this edge made there since
};

struct RelayPoolSettings {
  Duration poll{1000};    // how often every relay is asked (EdgeLegs)
  int failures = 2;       // unanswered polls in a row: the relay is lost
  Duration lease{15000};  // how long a relay keeps this edge's legs without hearing from it
};

// Several media relays, chosen per call by health and load: a new call's legs go to the
// healthy, non-draining relay with free ports and the fewest legs (and to the next one when
// that relay cannot make the leg); both legs of a call on the same relay. Every relay is polled
// with the legs this edge holds there (so that it releases what the edge no longer holds); a relay
// that stops answering, restarts, or no longer knows some legs is reported lost, and the edge ends
// the calls it held. Loop thread only.
class RelayPool final : public MediaPort {
 public:
  using ClientFactory = std::function<std::unique_ptr<RelayClient>(const std::string& address)>;
  // `held(relay)`: the leg ids this edge holds on that relay. `lost(relay, legs)`: legs that
  // are gone (all of that relay's when `legs` is empty).
  RelayPool(
      std::vector<std::string> addresses, ClientFactory factory, Timers& timers,
      RelayPoolSettings settings,
      std::function<std::vector<std::string>(const std::string& relay)> held,
      std::function<void(const std::string& relay, const std::vector<std::string>& legs)> lost);
  ~RelayPool() override;

  void start();  // the first poll now, then every settings.poll
  std::vector<RelayState> status() const;

  void create_leg(const NewLeg& leg, Reply<LegWithSdp> done) override;
  void update_leg(const RelayLeg& leg, const std::string& remote_sdp,
                  Reply<std::string> done) override;
  void connect(const RelayLeg& agent, const std::string& answer_sdp, const RelayLeg& customer,
               Reply<Ok> done) override;
  void play(const RelayLeg& leg, const std::vector<std::string>& prompts, bool loop,
            Duration idle_timeout, Reply<Ok> done) override;
  void stop_play(const RelayLeg& leg) override;
  void release(const RelayLeg& leg) override;
  void set_mix(const std::string& relay, const std::string& mix_id,
               const std::vector<MixPart>& members, Reply<Ok> done) override;
  void start_recording(const RelayLeg& leg, const std::string& path, Reply<Ok> done) override;
  void pause_recording(const RelayLeg& leg, bool paused, Reply<Ok> done) override;
  void stop_recording(const RelayLeg& leg, Reply<std::uint64_t> done) override;

 private:
  struct Relay {
    std::unique_ptr<RelayClient> client;
    RelayState state;
    int misses = 0;
    bool polling = false;
    bool create_failed = false;  // a new leg failed there: not chosen until it answers a poll
  };
  Relay* choose(const std::string& wanted, const std::set<std::string>& tried = {});
  void create_on_any(NewLeg leg, std::set<std::string> tried, Reply<LegWithSdp> done);
  Relay* find(const std::string& address);
  void poll();
  void on_report(const std::string& address, Result<RelayReport> r);

  std::map<std::string, Relay> relays_;
  Timers& timers_;
  RelayPoolSettings settings_;
  std::function<std::vector<std::string>(const std::string&)> held_;
  std::function<void(const std::string&, const std::vector<std::string>&)> lost_;
  Timer poll_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cc::edge
