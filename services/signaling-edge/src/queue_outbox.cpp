#include "signaling_edge/queue_outbox.h"

#include <algorithm>
#include <random>

#include "common/log.h"

namespace cc::edge {

QueueOutbox::QueueOutbox(QueuePort& queue, Timers& timers, const Clock& clock,
                         OutboxSettings settings, EdgeObserver* observer)
    : queue_(queue),
      timers_(timers),
      clock_(clock),
      settings_(settings),
      observer_(observer ? observer : &default_observer_) {}

QueueOutbox::~QueueOutbox() {
  *alive_ = false;
}

bool QueueOutbox::Transient(const Error& e) {
  switch (e.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kAborted:
    case ErrorCode::kInternal:
      return true;
    default:  // the request was understood and answered: done, or refused for good
      return false;
  }
}

std::vector<std::string> QueueOutbox::pending_calls() const {
  std::vector<std::string> out;
  out.reserve(calls_.size());
  for (const auto& [id, ops] : calls_) out.push_back(id);
  return out;
}

void QueueOutbox::enqueue(const EnqueueRequest& req, Reply<Enqueued> done,
                          std::function<void(const Error&)> retrying) {
  Op op;
  op.is_enqueue = true;
  op.enqueue = req;
  op.enqueued = std::move(done);
  op.retrying = std::move(retrying);
  add(req.call_id, std::move(op));
}

void QueueOutbox::report(const Report& report, Reply<Ok> done) {
  if (size_ >= settings_.max_pending) {
    log::Error("report dropped: too many pending",
               {{"call_id", report.call_id}, {"kind", ToString(report.kind)}});
    observer_->report(ToString(report.kind), "dropped");
    if (done) done(Error{ErrorCode::kResourceExhausted, "too many reports pending"});
    return;
  }
  Op op;
  op.report = report;
  op.reported = std::move(done);
  observer_->report(ToString(report.kind), "sent");
  add(report.call_id, std::move(op));
}

void QueueOutbox::add(const std::string& call_id, Op op) {
  op.first_try = clock_.now();
  op.backoff = settings_.first_backoff;
  auto& ops = calls_[call_id];
  ops.push_back(std::move(op));
  ++size_;
  if (ops.size() == 1) send(call_id);
}

void QueueOutbox::send(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second.empty()) return;
  Op& op = it->second.front();
  op.attempts++;
  std::weak_ptr<bool> alive = alive_;
  if (op.is_enqueue) {
    queue_.enqueue(op.enqueue, [this, alive, call_id](Result<Enqueued> r) {
      if (alive.expired() || !*alive.lock()) return;
      auto it2 = calls_.find(call_id);
      if (it2 == calls_.end() || it2->second.empty()) return;
      Op& o = it2->second.front();
      if (!r.ok() && Transient(r.error()) && clock_.now() - o.first_try < settings_.enqueue_retry) {
        log::Warn("enqueue failed; retrying",
                  {{"call_id", call_id}, {"attempt", o.attempts}, {"error", r.error().message}});
        if (o.retrying) o.retrying(r.error());
        retry_later(call_id);
        return;
      }
      auto done = std::move(o.enqueued);
      finished(call_id);
      if (done) done(std::move(r));
    });
    return;
  }
  queue_.report(op.report, [this, alive, call_id](Result<Ok> r) {
    if (alive.expired() || !*alive.lock()) return;
    auto it2 = calls_.find(call_id);
    if (it2 == calls_.end() || it2->second.empty()) return;
    Op& o = it2->second.front();
    const char* kind = ToString(o.report.kind);
    if (!r.ok() && Transient(r.error())) {
      if (clock_.now() - o.first_try < settings_.report_max_age) {
        if (o.attempts == 1 || o.attempts % 10 == 0) {
          log::Warn("report not acknowledged; retrying", {{"call_id", call_id},
                                                          {"kind", kind},
                                                          {"attempt", o.attempts},
                                                          {"error", r.error().message}});
        }
        observer_->report(kind, "retried");
        retry_later(call_id);
        return;
      }
      log::Error("report dropped after retrying; reconciliation will end the call",
                 {{"call_id", call_id}, {"kind", kind}, {"error", r.error().message}});
      observer_->report(kind, "dropped");
    } else if (!r.ok()) {
      // Understood and refused (the offer is no longer valid, the call is unknown): the
      // state it would have changed is already settled otherwise.
      log::Info("report refused",
                {{"call_id", call_id}, {"kind", kind}, {"error", r.error().message}});
      observer_->report(kind, "refused");
    } else {
      observer_->report(kind, "acknowledged");
    }
    auto done = std::move(o.reported);
    finished(call_id);
    if (done) done(std::move(r));
  });
}

void QueueOutbox::retry_later(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second.empty()) return;
  Op& op = it->second.front();
  // Jittered, so that the reports held back by one outage do not all come back at once.
  static thread_local std::mt19937 rng{std::random_device{}()};
  const auto jitter = Duration{std::uniform_int_distribution<std::int64_t>(
      0, std::max<std::int64_t>(1, op.backoff.count() / 4))(rng)};
  const Duration delay = op.backoff + jitter;
  op.backoff = std::min(settings_.max_backoff, op.backoff * 2);
  std::weak_ptr<bool> alive = alive_;
  retry_timers_[call_id] = Timer(&timers_, timers_.after(delay, [this, alive, call_id] {
    if (alive.expired() || !*alive.lock()) return;
    send(call_id);
  }));
}

void QueueOutbox::finished(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  if (!it->second.empty()) {
    it->second.pop_front();
    --size_;
  }
  retry_timers_.erase(call_id);
  if (it->second.empty()) {
    calls_.erase(it);
    return;
  }
  send(call_id);
}

}  // namespace cc::edge
