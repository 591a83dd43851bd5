#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

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

}  // namespace cc::edge
