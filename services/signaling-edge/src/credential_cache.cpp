#include "signaling_edge/credential_cache.h"

namespace cc::edge {

std::optional<std::string> CredentialCache::get(const std::string& user, TimePoint now) {
  auto it = entries_.find(user);
  if (it == entries_.end()) return std::nullopt;
  if (now - it->second.at >= ttl_) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.ha1;
}

void CredentialCache::put(const std::string& user, const std::string& ha1, TimePoint now) {
  if (capacity_ == 0) return;
  auto it = entries_.find(user);
  if (it != entries_.end()) {
    it->second.ha1 = ha1;
    it->second.at = now;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  while (entries_.size() >= capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(user);
  entries_[user] = Entry{ha1, now, lru_.begin()};
}

}  // namespace cc::edge
