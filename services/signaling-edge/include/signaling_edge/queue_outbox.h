#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "signaling_edge/edge_settings.h"
#include "signaling_edge/ports.h"

namespace cc::edge {

struct OutboxSettings {
  Duration first_backoff{100};
  Duration max_backoff{5000};
  Duration enqueue_retry{10000};     // an enqueue gives up after this long
  Duration report_max_age{600000};   // a report still refused by errors after this is dropped
  std::size_t max_pending = 100000;  // operations kept; past it new reports are dropped
};

// Everything the edge tells queue-service about its calls goes through here: per call, one
// request at a time and in order (an abandon never overtakes its enqueue, an "ended" never
// overtakes its "connected"), each retried with growing backoff while queue-service is
// unreachable, until it gives a definite answer (done or refused for good). Reports are
// idempotent in queue-service, so a retry of one that did land is harmless. A report that
// was never acknowledged is dropped after report_max_age: the heartbeat's reconciliation
// reaches the same end. Loop thread only.
class QueueOutbox {
 public:
  QueueOutbox(QueuePort& queue, Timers& timers, const Clock& clock, OutboxSettings settings,
              EdgeObserver* observer);
  ~QueueOutbox();
  QueueOutbox(const QueueOutbox&) = delete;
  QueueOutbox& operator=(const QueueOutbox&) = delete;

  // The call's enqueue. `retrying` runs after each transient failure (the caller should
  // hear ringing meanwhile); `done` gets the definite answer, or the last transient error
  // once enqueue_retry has passed.
  void enqueue(const EnqueueRequest& req, Reply<Enqueued> done,
               std::function<void(const Error&)> retrying);
  // A report, retried until queue-service answers it; `done` (optional) gets that answer.
  void report(const Report& report, Reply<Ok> done = nullptr);

  // A read, straight through (not queued, not retried: a missed announcement is no loss).
  void request_callback(const std::string& call_id, const std::string& number,
                        const std::string& edge_id, Reply<Ok> done) {
    queue_.request_callback(call_id, number, edge_id, std::move(done));
  }
  // Straight through: the phone waits for the answer (NOTIFY), and the transfer is
  // idempotent per leg in queue-service, so the agent may simply try again.
  void transfer(const TransferAsk& ask, Reply<Ok> done) { queue_.transfer(ask, std::move(done)); }
  // Straight through: a lost report is reached by queue-service's own end of the session
  // (with the call, or when it leaves its agent).
  // Straight through: a lost step is closed by queue-service with the agent leg's end.
  void report_recording(const RecordingNews& news, Reply<Ok> done) {
    queue_.report_recording(news, std::move(done));
  }
  void report_monitor(std::int64_t session_id, const std::string& call_id, bool answered,
                      const std::string& reason, Reply<Ok> done) {
    queue_.report_monitor(session_id, call_id, answered, reason, std::move(done));
  }
  void position(const std::string& call_id, Reply<QueuePosition> done) {
    queue_.position(call_id, std::move(done));
  }

  bool pending(const std::string& call_id) const { return calls_.count(call_id) > 0; }
  std::vector<std::string> pending_calls() const;
  std::size_t size() const { return size_; }

 private:
  struct Op {
    bool is_enqueue = false;
    EnqueueRequest enqueue;
    Reply<Enqueued> enqueued;
    std::function<void(const Error&)> retrying;
    Report report;
    Reply<Ok> reported;
    TimePoint first_try{};
    Duration backoff{0};
    int attempts = 0;
  };
  void add(const std::string& call_id, Op op);
  void send(const std::string& call_id);      // the call's first operation
  void finished(const std::string& call_id);  // it has its answer: next one
  void retry_later(const std::string& call_id);
  static bool Transient(const Error& e);

  QueuePort& queue_;
  Timers& timers_;
  const Clock& clock_;
  OutboxSettings settings_;
  EdgeObserver default_observer_;
  EdgeObserver* observer_;
  std::map<std::string, std::deque<Op>> calls_;
  std::map<std::string, Timer> retry_timers_;
  std::size_t size_ = 0;
  // Replies that come back after the outbox is gone find this false and do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cc::edge
