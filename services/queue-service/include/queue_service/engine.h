#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "queue_service/repository.h"
#include "queue_service/router.h"

namespace cc::queue {

// Delivers an offer to the edge that owns the call and waits for its acknowledgement.
// Thread-safe.
class OfferChannel {
 public:
  virtual ~OfferChannel() = default;
  // OK = the edge took the offer; NOT_FOUND = the edge does not hold the call (it ends);
  // any other error (no answer in time, refused) = withdraw the offer and offer it again.
  virtual Status deliver(const Offer& offer) = 0;
};

// Announces what happened after it was committed. Must not block or throw. Thread-safe.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  virtual void call_event(const CallEvent& e) = 0;
  virtual void agent_changed(const AgentChange& c) = 0;
  virtual void queue_stats(const QueueStats& s) = 0;
};

// Metrics hooks. Thread-safe if the implementation is.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void call_event(const CallEvent& e, TimePoint now) { (void)e, (void)now; }
  virtual void offer(const Offer& o, bool delivered) { (void)o, (void)delivered; }
  virtual void match_pass(double seconds, int offers) { (void)seconds, (void)offers; }
  virtual void stats(const std::vector<QueueStats>& s) { (void)s; }
};

struct EngineSettings {
  Duration match_interval{1000};  // fallback match even without a trigger
  Duration sweep_interval{250};   // leases, edges, max wait, wrap-up ends
  Duration stats_interval{5000};
  int dispatch_threads = 4;         // 0: deliver offers inline (tests)
  int assign_parallelism = 4;       // assignments of one match pass committed side by side
  Duration match_batch_window{10};  // under load, at most one match pass per window
};

// Runs the queue: matching on triggers and on a timer, offer delivery, the sweeps, and the
// application of every committed change's effects (events, wake-ups, new matches).
// Thread-safe; start() spawns the matcher and dispatcher threads, stop() joins them.
class QueueEngine {
 public:
  QueueEngine(QueueRepository& store, OfferChannel& offers, EventPublisher& events,
              const Clock& clock, Timers& timers, EngineSettings settings, EngineObserver* observer,
              Router::Random random);
  ~QueueEngine();

  void start();
  void stop();
  // Something changed (an agent became available, a call arrived): match soon.
  void trigger();

  // Operations of the API; each applies its effects before returning.
  Result<EnqueueResult> enqueue(const NewCall& call);
  TimePoint now() const { return clock_.now(); }
  Result<Call> cancel(const std::string& call_id, const std::string& reason);
  Result<Call> request_callback(const std::string& call_id, const std::string& number,
                                const std::string& edge_id);
  Result<TransferOutcome> transfer(const TransferRequest& r);
  Result<Call> connected(std::int64_t assignment_id, const std::string& call_id);
  Result<Call> failed(std::int64_t assignment_id, const std::string& call_id, OfferFailure reason,
                      const std::string& detail);
  Result<Call> ended(std::int64_t assignment_id, const std::string& call_id,
                     const std::string& reason);
  // The edge's lease, and the reconciliation of the calls it holds.
  Result<EdgeReconciliation> heartbeat(const EdgeHeartbeat& hb);

  // One matching pass until nothing more can be assigned; returns the offers made.
  Result<int> match_once();
  // One run of every sweep.
  Status sweep_once();
  Status publish_stats();

  QueueRepository& store() { return store_; }

 private:
  void apply(Effects fx);
  Result<Call> finish(Result<std::pair<Call, Effects>> r);
  // Commits one proposal: the offer and its effects, or nothing if it was taken meanwhile.
  std::optional<std::pair<Offer, Effects>> assign_one(const Proposal& p);
  void dispatch(const Offer& offer);
  void deliver(const Offer& offer);
  void matcher_loop();
  void dispatcher_loop();

  QueueRepository& store_;
  OfferChannel& offers_;
  EventPublisher& events_;
  const Clock& clock_;
  Timers& timers_;
  EngineSettings settings_;
  EngineObserver default_observer_;
  EngineObserver* observer_;
  Router router_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;
  bool running_ = false;
  std::deque<Offer> outbox_;
  std::thread matcher_;
  std::vector<std::thread> dispatchers_;
  std::vector<std::unique_ptr<Periodic>> periodic_;
  std::mutex wake_mu_;
  Timer wake_timer_;  // the earliest pending wake-up
  std::optional<TimePoint> next_wake_;
  std::mutex stats_mu_;
  std::map<std::string, QueueStats> last_stats_;
  // Edges are declared lost only once this instance has been able to hear their heartbeats
  // for a whole lease: after it started, and after its database came back. Otherwise an
  // outage of queue-service (or of PostgreSQL) would end every call of every live edge.
  std::mutex edges_mu_;
  TimePoint edges_trusted_from_{};
  TimePoint recordings_swept_{};  // under edges_mu_
};

}  // namespace cc::queue
