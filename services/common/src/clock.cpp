#include "common/clock.h"

#include <pthread.h>

#include <cstdio>
#include <ctime>
#include <vector>

namespace cc {

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

struct Periodic::State {
  Timers& timers;
  Duration period;
  std::function<void()> fn;
  std::mutex run_mu;  // held while fn runs, so the destructor waits for a run in progress
  std::mutex mu;
  bool stopped = false;
  Timers::Id id = 0;
  State(Timers& t, Duration p, std::function<void()> f) : timers(t), period(p), fn(std::move(f)) {}
};

Periodic::Periodic(Timers& timers, Duration period, std::function<void()> fn)
    : state_(std::make_shared<State>(timers, period, std::move(fn))) {
  Arm(state_);
}

void Periodic::Arm(const std::shared_ptr<State>& state) {
  std::weak_ptr<State> weak = state;
  std::lock_guard lock(state->mu);
  if (state->stopped) return;
  state->id = state->timers.after(state->period, [weak] {
    auto s = weak.lock();
    if (!s) return;
    {
      std::lock_guard run(s->run_mu);
      {
        std::lock_guard guard(s->mu);
        if (s->stopped) return;
      }
      s->fn();
    }
    Arm(s);
  });
}

Periodic::~Periodic() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    state_->timers.cancel(state_->id);
  }
  std::lock_guard run(state_->run_mu);  // wait for a run in progress
}

ThreadTimers::ThreadTimers(std::string name) : name_(std::move(name)), thread_([this] { run(); }) {}

ThreadTimers::~ThreadTimers() {
  stop();
}

void ThreadTimers::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (!thread_.joinable()) return;
    }
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

Timers::Id ThreadTimers::after(Duration delay, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  Id id = next_id_++;
  Key key{std::chrono::steady_clock::now() + delay, id};
  queue_.emplace(key, std::move(fn));
  index_.emplace(id, key);
  cv_.notify_all();
  return id;
}

bool ThreadTimers::cancel(Id id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  queue_.erase(it->second);
  index_.erase(it);
  return true;
}

void ThreadTimers::run() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = queue_.begin();
    const auto deadline = first->first.first;  // a copy: cancel() may erase the node meanwhile
    if (deadline > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, deadline);
      continue;
    }
    auto fn = std::move(first->second);
    index_.erase(first->first.second);
    queue_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

Timers::Id ManualTimers::after(Duration delay, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  Id id = next_id_++;
  Key key{clock_.now() + delay, id};
  queue_.emplace(key, std::move(fn));
  index_.emplace(id, key);
  return id;
}

bool ManualTimers::cancel(Id id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  queue_.erase(it->second);
  index_.erase(it);
  return true;
}

void ManualTimers::advance(Duration d) {
  const TimePoint target = clock_.now() + d;
  for (;;) {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() || queue_.begin()->first.first > target) break;
      auto first = queue_.begin();
      const TimePoint due = first->first.first;
      fn = std::move(first->second);
      index_.erase(first->first.second);
      queue_.erase(first);
      const TimePoint now = clock_.now();
      if (due > now) clock_.advance(std::chrono::duration_cast<Duration>(due - now));
    }
    fn();
  }
  const TimePoint now = clock_.now();
  if (target > now) clock_.advance(std::chrono::duration_cast<Duration>(target - now));
}

std::size_t ManualTimers::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::string FormatTime(TimePoint t) {
  const auto ms = ToUnixMillis(t);
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::int64_t ToUnixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint FromUnixMillis(std::int64_t ms) {
  return TimePoint{std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds{ms})};
}

}  // namespace cc
