#include "media_relay/port_pool.h"

namespace cc::relay {

PortPool::PortPool(std::uint16_t min_port, std::uint16_t max_port) {
  std::uint32_t first = min_port % 2 == 0 ? min_port : min_port + 1u;
  for (std::uint32_t p = first; p + 1 <= max_port; p += 2) {
    free_.push_back(static_cast<std::uint16_t>(p));
  }
  capacity_ = free_.size();
}

std::optional<std::uint16_t> PortPool::acquire() {
  std::lock_guard lock(mu_);
  if (free_.empty()) return std::nullopt;
  const std::uint16_t p = free_.front();
  free_.pop_front();
  used_.insert(p);
  return p;
}

void PortPool::release(std::uint16_t rtp_port) {
  std::lock_guard lock(mu_);
  if (used_.erase(rtp_port)) free_.push_back(rtp_port);
}

void PortPool::quarantine(std::uint16_t rtp_port) {
  // Back of the line as well: by the time it comes round again it may be free.
  release(rtp_port);
}

std::size_t PortPool::in_use() const {
  std::lock_guard lock(mu_);
  return used_.size();
}

}  // namespace cc::relay
