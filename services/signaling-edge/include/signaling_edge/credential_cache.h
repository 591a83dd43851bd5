#pragma once

#include <chrono>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace cc::edge {

// HA1s of users that registered lately, kept for `ttl` and at most `capacity` of them (the
// least recently used go first), so that a spray of user names cannot grow it: only users
// agent-registry knows are ever added. Loop thread only.
class CredentialCache {
 public:
  CredentialCache(std::size_t capacity, Duration ttl) : capacity_(capacity), ttl_(ttl) {}
  std::optional<std::string> get(const std::string& user, TimePoint now);
  void put(const std::string& user, const std::string& ha1, TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string ha1;
    TimePoint at;
    std::list<std::string>::iterator lru;
  };
  std::size_t capacity_;
  Duration ttl_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recent first
};

}  // namespace cc::edge
