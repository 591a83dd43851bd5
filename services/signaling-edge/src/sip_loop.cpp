#include "signaling_edge/sip_loop.h"

#include <future>

namespace cc::edge {

using Task = std::function<void()>;

SipLoop::~SipLoop() {
  stop();
}

void SipLoop::start() {
  std::promise<void> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    su_init();
    root_ = su_root_create(nullptr);
    // nua must run in this thread, not in a clone of its own (notes: ~30 % less CPU).
    su_root_threading(root_, 0);
    alive_ = true;
    ready.set_value();
    main();
  });
  started.wait();
}

void SipLoop::main() {
  pthread_setname_np(pthread_self(), "sip");
  su_root_run(root_);
  alive_ = false;
  // Messages still queued would leak at destroy: run them out first.
  while (su_root_step(root_, 0) > 0) {
  }
  su_root_step(root_, 0);
  su_root_destroy(root_);
  root_ = nullptr;
  su_deinit();
}

bool SipLoop::post(Task fn) {
  if (!alive_) return false;
  su_msg_r m = SU_MSG_R_INIT;
  if (su_msg_new(m, sizeof(Task*)) != 0) return false;
  *static_cast<Task**>(su_msg_data(m)) = new Task(std::move(fn));
  // The deinitializer owns the closure: it runs after delivery and when sending fails.
  su_msg_deinitializer(m, [](su_msg_arg_t* a) { delete *static_cast<Task**>(a); });
  return su_msg_send_to(m, su_root_task(root_), [](su_root_magic_t*, su_msg_r, su_msg_arg_t* a) {
           (**static_cast<Task**>(a))();
         }) == 0;
}

void SipLoop::run_sync(const std::function<void()>& fn) {
  std::promise<void> done;
  auto f = done.get_future();
  if (!post([&] {
        fn();
        done.set_value();
      })) {
    return;
  }
  f.wait();
}

void SipLoop::stop() {
  if (!thread_.joinable()) return;
  post([this] { su_root_break(root_); });
  thread_.join();
}

struct SipTimer::State {
  su_timer_t* timer = nullptr;
  std::function<void()> fn;
  bool periodic = false;
  long ms = 0;
};

SipTimer::SipTimer(su_root_t* root, std::chrono::milliseconds delay, std::function<void()> fn,
                   bool periodic)
    : state_(std::make_unique<State>()) {
  state_->fn = std::move(fn);
  state_->periodic = periodic;
  // A zero duration aborts in su_timer_set (notes §8): at least 1 ms.
  state_->ms = std::max<long>(1, static_cast<long>(delay.count()));
  state_->timer = su_timer_create(su_root_task(root), static_cast<su_duration_t>(state_->ms));
  auto cb = [](su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
    auto* s = static_cast<State*>(arg);
    // Copy: fn may destroy the SipTimer (and so this state) while it runs.
    auto run = s->fn;
    run();
  };
  if (periodic) {
    su_timer_set_for_ever(state_->timer, cb, state_.get());
  } else {
    su_timer_set_interval(state_->timer, cb, state_.get(), static_cast<su_duration_t>(state_->ms));
  }
}

SipTimer::SipTimer() = default;

SipTimer::~SipTimer() {
  cancel();
}

SipTimer::SipTimer(SipTimer&& o) noexcept : state_(std::move(o.state_)) {}

SipTimer& SipTimer::operator=(SipTimer&& o) noexcept {
  if (this != &o) {
    cancel();
    state_ = std::move(o.state_);
  }
  return *this;
}

void SipTimer::cancel() {
  if (state_ && state_->timer) {
    su_timer_destroy(state_->timer);
    state_->timer = nullptr;
  }
  state_.reset();
}

LoopTimers::~LoopTimers() {
  timers_.clear();
}

Timers::Id LoopTimers::after(Duration delay, std::function<void()> fn) {
  const Id id = next_++;
  if (loop_.on_loop()) {
    arm(id, delay, std::move(fn));
  } else {
    loop_.post([this, id, delay, fn = std::move(fn)]() mutable { arm(id, delay, std::move(fn)); });
  }
  return id;
}

void LoopTimers::arm(Id id, Duration delay, std::function<void()> fn) {
  timers_[id] = SipTimer(loop_.root(), delay, [this, id, fn = std::move(fn)] {
    // Forget the timer first: fn may set another one, or cancel this one.
    auto node = timers_.extract(id);
    fn();
  });
}

bool LoopTimers::cancel(Id id) {
  if (!loop_.on_loop()) {
    loop_.post([this, id] { timers_.erase(id); });
    return true;
  }
  return timers_.erase(id) > 0;
}

}  // namespace cc::edge
