#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "signaling_edge/lru_table.h"

namespace cc::edge {

// HA1s of users that registered lately, kept for `ttl` and at most `capacity` of them (the
// least recently used go first), so that a spray of user names cannot grow it: only users
// agent-registry knows are ever added. Loop thread only.
class CredentialCache {
 public:
  CredentialCache(std::size_t capacity, Duration ttl) : entries_(capacity), ttl_(ttl) {}
  std::optional<std::string> get(const std::string& user, TimePoint now);
  void put(const std::string& user, const std::string& ha1, TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string ha1;
    TimePoint at;
  };
  LruTable<Entry> entries_;
  Duration ttl_;
};

}  // namespace cc::edge
