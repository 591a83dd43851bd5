#include "queue_service/engine.h"

#include "common/log.h"

namespace cc::queue {

QueueEngine::QueueEngine(QueueRepository& store, OfferChannel& offers, EventPublisher& events,
                         const Clock& clock, Timers& timers, EngineSettings settings,
                         EngineObserver* observer, Router::Random random)
    : store_(store),
      offers_(offers),
      events_(events),
      clock_(clock),
      timers_(timers),
      settings_(settings),
      observer_(observer ? observer : &default_observer_),
      router_(std::move(random)) {}

QueueEngine::~QueueEngine() {
  stop();
}

void QueueEngine::start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    dirty_ = true;
  }
  {
    std::lock_guard lock(edges_mu_);
    edges_trusted_from_ = clock_.now() + store_.settings().edge_lease;
  }
  matcher_ = std::thread([this] { matcher_loop(); });
  for (int i = 0; i < settings_.dispatch_threads; ++i) {
    dispatchers_.emplace_back([this] { dispatcher_loop(); });
  }
  periodic_.push_back(std::make_unique<Periodic>(timers_, settings_.sweep_interval, [this] {
    if (auto st = sweep_once(); !st.ok()) {
      log::Warn("sweep failed", {{"error", st.error().message}});
    }
  }));
  periodic_.push_back(
      std::make_unique<Periodic>(timers_, settings_.match_interval, [this] { trigger(); }));
  periodic_.push_back(std::make_unique<Periodic>(timers_, settings_.stats_interval, [this] {
    if (auto st = publish_stats(); !st.ok()) {
      log::Warn("stats failed", {{"error", st.error().message}});
    }
  }));
}

void QueueEngine::stop() {
  periodic_.clear();
  {
    std::lock_guard lock(wake_mu_);
    wake_timer_.cancel();
    next_wake_.reset();
  }
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  if (matcher_.joinable()) matcher_.join();
  for (auto& t : dispatchers_) t.join();
  dispatchers_.clear();
  // Offers committed but not yet delivered: give them back rather than leave them to expire.
  std::deque<Offer> left;
  {
    std::lock_guard lock(mu_);
    left.swap(outbox_);
  }
  for (const auto& o : left) {
    auto fx = store_.withdraw(o.assignment_id, "queue-service stopping", false, clock_.now());
    if (fx.ok()) apply(std::move(fx).value());
  }
}

void QueueEngine::trigger() {
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

void QueueEngine::apply(Effects fx) {
  const TimePoint now = clock_.now();
  for (const auto& e : fx.calls) {
    observer_->call_event(e, now);
    events_.call_event(e);
  }
  for (const auto& a : fx.agents) events_.agent_changed(a);
  if (fx.wake_at) {
    // Be there when a delay or a wrap-up ends instead of waiting for the next sweep. One
    // timer is enough: the earliest; the sweep it runs reschedules what is still ahead.
    std::lock_guard lock(wake_mu_);
    if (!next_wake_ || *fx.wake_at < *next_wake_) {
      next_wake_ = *fx.wake_at;
      const auto delay =
          std::max(Duration{0}, std::chrono::duration_cast<Duration>(*fx.wake_at - now));
      wake_timer_ = Timer(&timers_, timers_.after(delay + Duration{5}, [this] {
        {
          std::lock_guard wake_lock(wake_mu_);
          next_wake_.reset();
        }
        if (auto st = sweep_once(); !st.ok()) {
          log::Warn("sweep failed", {{"error", st.error().message}});
        }
        trigger();
      }));
    }
  }
  for (const auto& o : fx.offers) dispatch(o);
  if (fx.capacity_freed) trigger();
}

Result<EnqueueResult> QueueEngine::enqueue(const NewCall& call) {
  CC_ASSIGN_OR_RETURN(EnqueueResult r, store_.enqueue(call, clock_.now()));
  apply(std::move(r.effects));
  r.effects = {};
  return r;
}

Result<Call> QueueEngine::finish(Result<std::pair<Call, Effects>> r) {
  if (!r.ok()) return r.error();
  apply(std::move(r->second));
  return std::move(r->first);
}

Result<Call> QueueEngine::request_callback(const std::string& call_id, const std::string& number,
                                           const std::string& edge_id) {
  return finish(store_.request_callback(call_id, number, edge_id, clock_.now()));
}

Result<TransferOutcome> QueueEngine::transfer(const TransferRequest& r) {
  CC_ASSIGN_OR_RETURN(TransferOutcome out, store_.transfer(r, clock_.now()));
  apply(std::move(out.effects));
  out.effects = {};
  return out;
}

Result<Call> QueueEngine::cancel(const std::string& call_id, const std::string& reason) {
  return finish(store_.cancel(call_id, reason, clock_.now()));
}

Result<Call> QueueEngine::connected(std::int64_t assignment_id, const std::string& call_id) {
  return finish(store_.connected(assignment_id, call_id, clock_.now()));
}

Result<Call> QueueEngine::failed(std::int64_t assignment_id, const std::string& call_id,
                                 OfferFailure reason, const std::string& detail) {
  return finish(store_.failed(assignment_id, call_id, reason, detail, clock_.now()));
}

Result<Call> QueueEngine::ended(std::int64_t assignment_id, const std::string& call_id,
                                const std::string& reason) {
  return finish(store_.ended(assignment_id, call_id, reason, clock_.now()));
}

Result<EdgeReconciliation> QueueEngine::heartbeat(const EdgeHeartbeat& hb) {
  CC_ASSIGN_OR_RETURN(EdgeReconciliation r, store_.heartbeat(hb, clock_.now()));
  if (r.reconciled > 0) {
    log::Warn("ended calls the edge no longer holds",
              {{"edge_id", hb.edge_id}, {"calls", r.reconciled}});
  }
  apply(std::move(r.effects));
  r.effects = {};
  return r;
}

Result<int> QueueEngine::match_once() {
  int offers = 0;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    const TimePoint now = clock_.now();
    CC_ASSIGN_OR_RETURN(RoutingSnapshot snap, store_.snapshot(now));
    if (snap.calls.empty() || snap.agents.empty()) break;
    const std::vector<Proposal> proposals = router_.Propose(snap, now);
    // The proposals of a pass pair distinct calls with distinct agents, and every
    // assignment re-checks both under row locks, so they commit side by side: with one
    // commit after another the matcher was bound by commit latency. The offers then go out
    // in proposal order (best call first), as they would have one by one.
    std::vector<std::optional<std::pair<Offer, Effects>>> taken(proposals.size());
    std::atomic<size_t> next{0};
    auto assign = [&] {
      for (size_t i = next++; i < proposals.size(); i = next++) taken[i] = assign_one(proposals[i]);
    };
    const size_t workers =
        std::min(proposals.size(), static_cast<size_t>(std::max(1, settings_.assign_parallelism)));
    std::vector<std::thread> threads;
    for (size_t t = 1; t < workers; ++t) threads.emplace_back(assign);
    assign();
    for (auto& t : threads) t.join();
    int made = 0;
    for (auto& t : taken) {
      if (!t) continue;
      auto& [offer, fx] = *t;
      ++made;
      log::Info("call offered", {{"call_id", offer.call_id},
                                 {"agent_id", offer.agent_id},
                                 {"queue", offer.queue},
                                 {"assignment_id", offer.assignment_id},
                                 {"attempt", offer.attempt}});
      apply(std::move(fx));
      dispatch(offer);
    }
    offers += made;
    if (made == 0) break;
  }
  observer_->match_pass(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), offers);
  return offers;
}

std::optional<std::pair<Offer, Effects>> QueueEngine::assign_one(const Proposal& p) {
  auto taken = store_.try_assign(p, clock_);
  if (!taken.ok()) {
    log::Warn("assignment failed",
              {{"call_id", p.call_id}, {"agent_id", p.agent_id}, {"error", taken.error().message}});
    return std::nullopt;
  }
  return std::move(*taken);  // empty: someone else took the call or the agent first
}

void QueueEngine::dispatch(const Offer& offer) {
  if (settings_.dispatch_threads == 0) {
    deliver(offer);
    return;
  }
  {
    std::lock_guard lock(mu_);
    outbox_.push_back(offer);
  }
  cv_.notify_all();
}

void QueueEngine::deliver(const Offer& offer) {
  Status st = offers_.deliver(offer);
  observer_->offer(offer, st.ok());
  if (st.ok()) return;
  // An edge that does not hold the call will never take it: the call ends instead of being
  // offered again (and again).
  const bool call_gone = st.error().code == ErrorCode::kNotFound;
  log::Warn(
      call_gone ? "edge does not hold the call; ending it"
                : "offer not taken by the edge; withdrawing it",
      {{"call_id", offer.call_id}, {"edge_id", offer.edge_id}, {"error", st.error().message}});
  auto fx = store_.withdraw(offer.assignment_id, st.error().message, call_gone, clock_.now());
  if (fx.ok()) {
    apply(std::move(fx).value());
  } else {
    // The lease will expire and the sweep will do the same.
    log::Warn("withdraw failed", {{"error", fx.error().message}});
  }
}

void QueueEngine::dispatcher_loop() {
  for (;;) {
    Offer offer;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !running_ || !outbox_.empty(); });
      if (outbox_.empty()) return;  // stopping, nothing left
      if (!running_) return;        // stop() withdraws what is left
      offer = std::move(outbox_.front());
      outbox_.pop_front();
    }
    deliver(offer);
  }
}

void QueueEngine::matcher_loop() {
  auto next_pass = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !running_ || dirty_; });
      // Under load (the last pass made several offers) passes come at most once per window:
      // every pass then serves the calls that arrived meanwhile, instead of reading every
      // free agent again for each single call. A lone call is matched at once.
      cv_.wait_until(lock, next_pass, [&] { return !running_; });
      if (!running_) return;
      dirty_ = false;
    }
    const auto started = std::chrono::steady_clock::now();
    auto r = match_once();
    next_pass = r.ok() && *r > 1 ? started + settings_.match_batch_window : started;
    if (!r.ok()) {
      log::Warn("match failed", {{"error", r.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

Status QueueEngine::sweep_once() {
  const TimePoint now = clock_.now();
  Effects all;
  bool edges_trusted;
  {
    std::lock_guard lock(edges_mu_);
    edges_trusted = now >= edges_trusted_from_;
  }
  using Sweep = Result<Effects> (QueueRepository::*)(TimePoint);
  for (Sweep sweep : {&QueueRepository::expire_offers, &QueueRepository::expire_edges,
                      &QueueRepository::expire_waits, &QueueRepository::finish_wrap_ups}) {
    if (sweep == &QueueRepository::expire_edges && !edges_trusted) continue;
    auto fx = (store_.*sweep)(now);
    if (!fx.ok()) {
      // The database was away: so were the edges' heartbeats. Give them a lease to return.
      if (fx.error().code == ErrorCode::kUnavailable) {
        std::lock_guard lock(edges_mu_);
        edges_trusted_from_ = std::max(edges_trusted_from_, now + store_.settings().edge_lease);
      }
      return fx.error();
    }
    all.merge(std::move(fx).value());
  }
  apply(std::move(all));
  // Recordings past their retention day: once a minute is plenty.
  bool recordings_due = false;
  {
    std::lock_guard lock(edges_mu_);
    if (now - recordings_swept_ >= std::chrono::minutes(1)) {
      recordings_due = true;
      recordings_swept_ = now;
    }
  }
  if (recordings_due) {
    if (auto n = store_.expire_recordings(now); n.ok() && *n > 0) {
      log::Info("recordings past their retention marked deleted", {{"recordings", *n}});
    }
  }
  return OkStatus();
}

Status QueueEngine::publish_stats() {
  CC_ASSIGN_OR_RETURN(auto stats, store_.stats("", Duration{15 * 60 * 1000}, clock_.now()));
  observer_->stats(stats);
  std::lock_guard lock(stats_mu_);
  for (const auto& s : stats) {
    auto& last = last_stats_[s.queue];
    if (last.waiting != s.waiting || last.agents_available != s.agents_available ||
        last.agents_busy != s.agents_busy || last.answered != s.answered ||
        last.abandoned != s.abandoned || last.offered != s.offered) {
      events_.queue_stats(s);
      last = s;
    }
  }
  return OkStatus();
}

}  // namespace cc::queue
