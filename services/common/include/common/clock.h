#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace cc {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

// Wall-clock time, injected so that expiry, wrap-up and leases can be tested on a simulated
// clock. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  static SystemClock& instance();
};

// A clock that only moves when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}})
      : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

// Timers: one-shot callbacks after a delay. Thread-safe; callbacks run on the scheduler's
// own thread (Real) or inside advance() (Manual), never while a lock of the scheduler is held.
class Timers {
 public:
  using Id = std::uint64_t;
  virtual ~Timers() = default;
  virtual Id after(Duration delay, std::function<void()> fn) = 0;
  // Returns false if the timer already fired or was cancelled.
  virtual bool cancel(Id id) = 0;
};

// A cancellable timer owned by its creator: cancelled when destroyed. Not thread-safe itself.
class Timer {
 public:
  Timer() = default;
  Timer(Timers* timers, Timers::Id id) : timers_(timers), id_(id) {}
  Timer(Timer&& o) noexcept : timers_(o.timers_), id_(o.id_) { o.timers_ = nullptr; }
  Timer& operator=(Timer&& o) noexcept {
    if (this != &o) {
      cancel();
      timers_ = o.timers_;
      id_ = o.id_;
      o.timers_ = nullptr;
    }
    return *this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { cancel(); }
  void cancel() {
    if (timers_) timers_->cancel(id_);
    timers_ = nullptr;
  }

 private:
  Timers* timers_ = nullptr;
  Timers::Id id_ = 0;
};

// Runs `fn` every `period` until the returned Timer is destroyed. `fn` runs on the timer
// thread; a slow run delays the next one rather than overlapping it.
class Periodic {
 public:
  Periodic(Timers& timers, Duration period, std::function<void()> fn);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  struct State;
  static void Arm(const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;
};

// Timers on a dedicated thread using the steady clock.
class ThreadTimers final : public Timers {
 public:
  explicit ThreadTimers(std::string name = "timers");
  ~ThreadTimers() override;
  Id after(Duration delay, std::function<void()> fn) override;
  bool cancel(Id id) override;
  void stop();

 private:
  void run();
  using Key = std::pair<std::chrono::steady_clock::time_point, Id>;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, std::function<void()>> queue_;
  std::map<Id, Key> index_;
  Id next_id_ = 1;
  bool stopping_ = false;
  std::string name_;
  std::thread thread_;
};

// Timers driven by a SimulatedClock: advance() moves the clock and fires what is due, in
// deadline order, on the calling thread.
class ManualTimers final : public Timers {
 public:
  explicit ManualTimers(SimulatedClock& clock) : clock_(clock) {}
  Id after(Duration delay, std::function<void()> fn) override;
  bool cancel(Id id) override;
  void advance(Duration d);
  std::size_t pending() const;

 private:
  using Key = std::pair<TimePoint, Id>;
  SimulatedClock& clock_;
  mutable std::mutex mu_;
  std::map<Key, std::function<void()>> queue_;
  std::map<Id, Key> index_;
  Id next_id_ = 1;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-25T12:00:00.123Z.
std::string FormatTime(TimePoint t);
std::int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(std::int64_t ms);

}  // namespace cc
