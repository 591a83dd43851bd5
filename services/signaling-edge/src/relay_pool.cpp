#include "signaling_edge/relay_pool.h"

#include "common/log.h"

namespace cc::edge {

RelayPool::RelayPool(
    std::vector<std::string> addresses, ClientFactory factory, Timers& timers,
    RelayPoolSettings settings,
    std::function<std::vector<std::string>(const std::string& relay)> held,
    std::function<void(const std::string& relay, const std::vector<std::string>& legs)> lost)
    : timers_(timers), settings_(settings), held_(std::move(held)), lost_(std::move(lost)) {
  for (const auto& a : addresses) {
    Relay r;
    r.client = factory(a);
    r.state.address = a;
    r.state.healthy = true;  // until a poll says otherwise
    relays_.emplace(a, std::move(r));
  }
}

RelayPool::~RelayPool() {
  *alive_ = false;
}

void RelayPool::start() {
  poll();
  std::weak_ptr<bool> alive = alive_;
  poll_timer_ = Timer(&timers_, timers_.after(settings_.poll, [this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    start();
  }));
}

std::vector<RelayState> RelayPool::status() const {
  std::vector<RelayState> out;
  for (const auto& [a, r] : relays_) out.push_back(r.state);
  return out;
}

RelayPool::Relay* RelayPool::find(const std::string& address) {
  auto it = relays_.find(address);
  return it == relays_.end() ? nullptr : &it->second;
}

RelayPool::Relay* RelayPool::choose(const std::string& wanted, const std::set<std::string>& tried) {
  if (!wanted.empty()) return find(wanted);  // a call's legs share one relay
  Relay* best = nullptr;
  for (auto& [a, r] : relays_) {
    const RelayState& s = r.state;
    if (!s.healthy || r.create_failed || s.last.draining || tried.contains(a)) continue;
    // Ports as the relay last said, less what this edge has taken since (two per leg).
    if (!s.last.instance_id.empty() && s.last.ports_free <= s.created_since) continue;
    if (!best ||
        s.last.legs + s.created_since < best->state.last.legs + best->state.created_since) {
      best = &r;
    }
  }
  return best;
}

void RelayPool::poll() {
  std::weak_ptr<bool> alive = alive_;
  for (auto& [address, relay] : relays_) {
    if (relay.polling) continue;  // the last one is still on its way (bounded by its deadline)
    relay.polling = true;
    const std::string a = address;
    relay.client->edge_legs(held_(a), settings_.lease, settings_.poll,
                            [this, alive, a](Result<RelayReport> r) {
                              if (alive.expired() || !*alive.lock()) return;
                              on_report(a, std::move(r));
                            });
  }
}

void RelayPool::on_report(const std::string& address, Result<RelayReport> r) {
  Relay* relay = find(address);
  if (!relay) return;
  relay->polling = false;
  if (!r.ok()) {
    if (++relay->misses >= settings_.failures && relay->state.healthy) {
      relay->state.healthy = false;
      log::Error("media relay lost: its calls end, new calls go to the others",
                 {{"relay", address}, {"error", r.error().message}});
      lost_(address, {});
    }
    return;
  }
  relay->misses = 0;
  relay->create_failed = false;
  if (!relay->state.healthy) log::Info("media relay back", {{"relay", address}});
  if (!relay->state.last.instance_id.empty() && relay->state.last.instance_id != r->instance_id) {
    log::Error("media relay restarted: the legs it held are gone", {{"relay", address}});
  }
  relay->state.healthy = true;
  relay->state.last = *r;
  relay->state.created_since = 0;
  if (!r->unknown_legs.empty()) lost_(address, r->unknown_legs);
}

void RelayPool::create_leg(const NewLeg& leg, Reply<LegWithSdp> done) {
  if (leg.relay.empty()) return create_on_any(leg, {}, std::move(done));
  Relay* relay = find(leg.relay);
  if (!relay) return done(Unavailable("media relay " + leg.relay + " unknown"));
  relay->state.created_since++;
  relay->client->create_leg(leg, std::move(done));
}

// A new call's first leg: on the best relay, and on the next best while a relay cannot make
// it (dead before a poll noticed, out of ports). A leg made by a relay that answered too late
// is released by that relay: this edge never lists it (EdgeLegs).
void RelayPool::create_on_any(NewLeg leg, std::set<std::string> tried, Reply<LegWithSdp> done) {
  Relay* relay = choose("", tried);
  if (!relay) return done(Unavailable("no media relay available"));
  relay->state.created_since++;
  const std::string address = relay->state.address;
  std::weak_ptr<bool> alive = alive_;
  NewLeg request = leg;
  relay->client->create_leg(
      request, [this, alive, address, leg = std::move(leg), tried = std::move(tried),
                done = std::move(done)](Result<LegWithSdp> r) mutable {
        if (alive.expired() || !*alive.lock()) return;
        const bool elsewhere = !r.ok() && (r.error().code == ErrorCode::kUnavailable ||
                                           r.error().code == ErrorCode::kDeadlineExceeded ||
                                           r.error().code == ErrorCode::kResourceExhausted);
        if (!elsewhere) return done(std::move(r));
        log::Warn("media relay could not make a leg; trying the next one",
                  {{"relay", address}, {"call_id", leg.call_id}, {"error", r.error().message}});
        if (Relay* failed = find(address)) failed->create_failed = true;
        tried.insert(address);
        create_on_any(std::move(leg), std::move(tried), std::move(done));
      });
}

void RelayPool::update_leg(const RelayLeg& leg, const std::string& remote_sdp,
                           Reply<std::string> done) {
  Relay* relay = find(leg.relay);
  if (!relay) return done(NotFound("media relay " + leg.relay + " unknown"));
  relay->client->update_leg(leg, remote_sdp, std::move(done));
}

void RelayPool::connect(const RelayLeg& agent, const std::string& answer_sdp,
                        const RelayLeg& customer, Reply<Ok> done) {
  Relay* relay = find(agent.relay);
  if (!relay) return done(NotFound("media relay " + agent.relay + " unknown"));
  relay->client->connect(agent, answer_sdp, customer, std::move(done));
}

void RelayPool::set_mix(const std::string& address, const std::string& mix_id,
                        const std::vector<MixPart>& members, Reply<Ok> done) {
  Relay* relay = find(address);
  if (!relay) return done(NotFound("media relay " + address + " unknown"));
  relay->client->set_mix(address, mix_id, members, std::move(done));
}

void RelayPool::start_recording(const RelayLeg& leg, const std::string& path, Reply<Ok> done) {
  Relay* relay = find(leg.relay);
  if (!relay) return done(NotFound("media relay " + leg.relay + " unknown"));
  relay->client->start_recording(leg, path, std::move(done));
}

void RelayPool::pause_recording(const RelayLeg& leg, bool paused, Reply<Ok> done) {
  Relay* relay = find(leg.relay);
  if (!relay) return done(NotFound("media relay " + leg.relay + " unknown"));
  relay->client->pause_recording(leg, paused, std::move(done));
}

void RelayPool::stop_recording(const RelayLeg& leg, Reply<std::uint64_t> done) {
  Relay* relay = find(leg.relay);
  if (!relay) return done(NotFound("media relay " + leg.relay + " unknown"));
  relay->client->stop_recording(leg, std::move(done));
}

void RelayPool::play(const RelayLeg& leg, const std::vector<std::string>& prompts, bool loop,
                     Duration idle_timeout, Reply<Ok> done) {
  Relay* relay = find(leg.relay);
  if (!relay) return done(NotFound("media relay " + leg.relay + " unknown"));
  relay->client->play(leg, prompts, loop, idle_timeout, std::move(done));
}

void RelayPool::stop_play(const RelayLeg& leg) {
  if (Relay* relay = find(leg.relay)) relay->client->stop_play(leg);
}

void RelayPool::release(const RelayLeg& leg) {
  if (Relay* relay = find(leg.relay)) relay->client->release(leg);
}

}  // namespace cc::edge
