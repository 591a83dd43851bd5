#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

namespace cc::relay {

// RTP/RTCP port pairs (even RTP port, RTCP = RTP + 1) from a configured range. A released
// pair goes to the back of the line, so a port is reused as late as possible and packets
// still in flight for an old leg do not reach a new one. Thread-safe.
class PortPool {
 public:
  PortPool(std::uint16_t min_port, std::uint16_t max_port);
  // The next free RTP port, or nullopt when every pair is in use.
  std::optional<std::uint16_t> acquire();
  void release(std::uint16_t rtp_port);
  // A pair that could not be bound (someone else has it): kept out of rotation for now.
  void quarantine(std::uint16_t rtp_port);
  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::uint16_t> free_;
  std::set<std::uint16_t> used_;
  std::size_t capacity_ = 0;
};

}  // namespace cc::relay
