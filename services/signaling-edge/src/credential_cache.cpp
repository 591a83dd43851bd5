#include "signaling_edge/credential_cache.h"

namespace cc::edge {

std::optional<std::string> CredentialCache::get(const std::string& user, TimePoint now) {
  Entry* e = entries_.find(user);
  if (!e) return std::nullopt;
  if (now - e->at >= ttl_) {
    entries_.erase(user);
    return std::nullopt;
  }
  return e->ha1;
}

void CredentialCache::put(const std::string& user, const std::string& ha1, TimePoint now) {
  if (Entry* e = entries_.touch(user)) *e = Entry{ha1, now};
}

}  // namespace cc::edge
