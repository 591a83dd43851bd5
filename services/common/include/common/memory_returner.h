#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cc {

// Gives freed heap back to the system every `interval` (glibc's malloc_trim), from a thread of
// its own. A burst (a flood the SIP stack answered, each transaction kept ~32 s) frees its memory
// once over, but glibc keeps the pages: without this the process stays at its peak size for good.
class MemoryReturner {
 public:
  explicit MemoryReturner(std::chrono::milliseconds interval);
  ~MemoryReturner();
  MemoryReturner(const MemoryReturner&) = delete;
  MemoryReturner& operator=(const MemoryReturner&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cc
