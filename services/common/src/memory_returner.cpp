#include "common/memory_returner.h"

#include <malloc.h>

namespace cc {

MemoryReturner::MemoryReturner(std::chrono::milliseconds interval, std::function<bool()> quiet)
    : thread_([this, interval, quiet = std::move(quiet)] {
        std::unique_lock lock(mu_);
        while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
          lock.unlock();
          if (!quiet || quiet()) malloc_trim(0);
          lock.lock();
        }
      }) {}

MemoryReturner::~MemoryReturner() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace cc
