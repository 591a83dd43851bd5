// The queue-service's repository and engine against a real PostgreSQL, driven synchronously on
// a simulated clock: the engine's matcher and sweeps are called by the test, offers go to a
// recording channel. Shared by repository_it.cpp and opening_hours_it.cpp.
#pragma once

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "agent_registry/pg_repository.h"
#include "agent_registry/service.h"
#include "null_agent_events.h"
#include "queue_service/engine.h"
#include "queue_service/pg_repository.h"
#include "testing.h"

namespace cc::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RecordingChannel final : public OfferChannel {
 public:
  Status deliver(const Offer& o) override {
    std::lock_guard lock(mu);
    offers.push_back(o);
    if (unknown_call) return NotFound("edge refused the offer: unknown call (test)");
    if (!accept) return Unavailable("edge gone (test)");
    return OkStatus();
  }
  std::mutex mu;
  std::vector<Offer> offers;
  bool accept = true;
  bool unknown_call = false;
};

class RecordingPublisher final : public EventPublisher {
 public:
  void call_event(const CallEvent& e) override {
    std::lock_guard lock(mu);
    calls.push_back(e);
  }
  void agent_changed(const AgentChange& c) override {
    std::lock_guard lock(mu);
    agents.push_back(c);
  }
  void queue_stats(const QueueStats&) override {}
  int count(CallEventKind k) {
    std::lock_guard lock(mu);
    return static_cast<int>(
        std::count_if(calls.begin(), calls.end(), [&](const CallEvent& e) { return e.kind == k; }));
  }
  std::mutex mu;
  std::vector<CallEvent> calls;
  std::vector<AgentChange> agents;
};

class QueueRepositoryIt : public ::testing::Test {
 protected:
  QueueRepositoryIt()
      : pool_({db_.url(), 8}),
        agent_repo_(pool_),
        agents_(agent_repo_, agent_events_, clock_, {}),
        store_(pool_, StoreSettings()),
        engine_(store_, channel_, events_, clock_, timers_,
                EngineSettings{Duration{1000}, Duration{250}, Duration{5000}, 0}, nullptr,
                [this] { return rng_++; }) {}

  static Settings StoreSettings() {
    Settings s;
    s.lease_grace = milliseconds(2000);
    s.edge_lease = seconds(600);
    s.offer_retry_backoff = milliseconds(500);
    return s;
  }

  void AddAgent(const std::string& id, std::vector<registry::Membership> queues = {{"sales", 0}},
                int wrap_up = 0, int max_calls = 1, std::vector<registry::Skill> skills = {}) {
    registry::NewAgent n;
    n.skills = std::move(skills);
    n.id = id;
    n.display_name = id;
    n.sip_username = id;
    n.password = "pw";
    n.queues = std::move(queues);
    n.wrap_up_seconds = wrap_up;
    n.max_calls = max_calls;
    ASSERT_TRUE(agents_.create(n).ok());
    ASSERT_TRUE(agents_.login(id, false, "").ok());
    registry::BindingRequest b;
    b.sip_username = id;
    b.contact_uri = "sip:" + id + "@127.0.0.1:5999";
    b.expires_seconds = 3600;
    ASSERT_TRUE(agents_.register_binding(b).ok());
  }

  QueueConfig AddQueue(const std::string& name,
                       const std::function<void(QueueConfig&)>& tweak = nullptr) {
    QueueConfig q;
    q.name = name;
    q.ring_timeout = milliseconds(10000);
    if (tweak) tweak(q);
    auto r = store_.create_queue(q, clock_.now());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return *r;
  }

  Call Enqueue(const std::string& id, const std::string& queue = "sales", int priority = 0,
               const std::string& edge = "edge-1") {
    NewCall c{id, queue, "", "+4930" + id, priority, edge};
    auto r = engine_.enqueue(c);
    EXPECT_TRUE(r.ok()) << r.error().message;
    clock_.advance(milliseconds(1));  // a clear arrival order
    return r.ok() ? r->call : Call{};
  }

  int Match() {
    auto r = engine_.match_once();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : -1;
  }

  void Sweep() { ASSERT_TRUE(engine_.sweep_once().ok()); }

  const Offer& OfferFor(const std::string& call_id) {
    std::lock_guard lock(channel_.mu);
    for (auto it = channel_.offers.rbegin(); it != channel_.offers.rend(); ++it) {
      if (it->call_id == call_id) return *it;
    }
    static Offer none;
    ADD_FAILURE() << "no offer for " << call_id;
    return none;
  }

  AgentStatus StatusOf(const std::string& agent) { return agents_.get(agent)->status; }
  CallState StateOf(const std::string& call) { return store_.get_call(call)->state; }

  testing::TestDatabase db_;
  PgPool pool_;
  SimulatedClock clock_;
  ManualTimers timers_{clock_};
  registry::PgAgentRepository agent_repo_;
  testing::NullAgentEvents agent_events_;
  registry::AgentService agents_;
  PgQueueRepository store_;
  RecordingChannel channel_;
  RecordingPublisher events_;
  std::uint64_t rng_ = 1;
  QueueEngine engine_;
};

}  // namespace
}  // namespace cc::queue
