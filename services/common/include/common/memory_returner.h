#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace cc {

// Gives freed heap back to the system (glibc's malloc_trim), from a thread of its own, every
// `interval` in which `quiet()` says the process is not busy. A burst (a flood the SIP stack
// answered, each transaction kept ~32 s) frees its memory once over, but glibc keeps the
// pages: without this the process stays at its peak size for good. Never under load: a trim
// walks the heap holding the allocator's locks, and measured at 4,000 REGISTER/s it stalled
// the SIP loop into retransmissions.
class MemoryReturner {
 public:
  MemoryReturner(std::chrono::milliseconds interval, std::function<bool()> quiet);
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
