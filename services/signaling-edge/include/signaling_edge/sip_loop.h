#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "common/clock.h"
#include "signaling_edge/sofia.h"

namespace cc::edge {

// The SIP thread: one su_root, created, run and destroyed on its own thread. Everything
// Sofia-SIP (nua, handles, timers) is touched only there; other threads hand work over with
// post(). Thread-safe: post() from anywhere; the rest from the thread that owns the loop.
class SipLoop {
 public:
  SipLoop() = default;
  ~SipLoop();
  SipLoop(const SipLoop&) = delete;
  SipLoop& operator=(const SipLoop&) = delete;

  void start();
  // Runs `fn` on the loop and waits for it (never call from the loop itself).
  void run_sync(const std::function<void()>& fn);
  // Queues `fn` to run on the loop; false once the loop is gone.
  bool post(std::function<void()> fn);
  // Breaks the loop after what was posted so far, drains the queue, destroys the root.
  void stop();
  bool on_loop() const { return std::this_thread::get_id() == thread_.get_id(); }
  su_root_t* root() const { return root_; }

 private:
  void main();
  std::thread thread_;
  su_root_t* root_ = nullptr;
  std::atomic<bool> alive_{false};
};

// A one-shot or periodic su_timer owned by its creator; cancelled when destroyed. Loop thread
// only.
class SipTimer {
 public:
  SipTimer();
  SipTimer(su_root_t* root, std::chrono::milliseconds delay, std::function<void()> fn,
           bool periodic = false);
  ~SipTimer();
  SipTimer(SipTimer&& o) noexcept;
  SipTimer& operator=(SipTimer&& o) noexcept;
  void cancel();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Timers whose callbacks run on the SIP loop (su_timer), for the call sessions and the
// outbox. Meant for the loop thread; from another thread after() and cancel() hop onto it.
class LoopTimers final : public Timers {
 public:
  explicit LoopTimers(SipLoop& loop) : loop_(loop) {}
  ~LoopTimers() override;
  Id after(Duration delay, std::function<void()> fn) override;
  bool cancel(Id id) override;

 private:
  void arm(Id id, Duration delay, std::function<void()> fn);
  SipLoop& loop_;
  std::atomic<Id> next_{1};
  std::map<Id, SipTimer> timers_;  // loop thread only
};

}  // namespace cc::edge
