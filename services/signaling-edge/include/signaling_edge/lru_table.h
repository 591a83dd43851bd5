#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace cc::edge {

// A map that never holds more than `capacity` entries: adding one to a full table forgets the
// least recently used. What the edge keeps about strangers (sources, user names) lives in
// these, so that a flood or a spray of names costs a fixed amount of memory. Not thread-safe.
template <typename Value>
class LruTable {
 public:
  explicit LruTable(std::size_t capacity) : capacity_(capacity) {}

  // The entry, now the most recently used; nullptr if absent.
  Value* find(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second.second);
    return &it->second.first;
  }

  // The entry for `key`, made from `init` if absent (forgetting the oldest when full);
  // nullptr only with capacity 0.
  Value* touch(const std::string& key, Value init = Value{}) {
    if (Value* v = find(key)) return v;
    if (capacity_ == 0) return nullptr;
    while (entries_.size() >= capacity_) {
      entries_.erase(order_.back());
      order_.pop_back();
      evicted_++;
    }
    order_.push_front(key);
    auto [it, added] = entries_.emplace(key, std::make_pair(std::move(init), order_.begin()));
    return &it->second.first;
  }

  void erase(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    order_.erase(it->second.second);
    entries_.erase(it);
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }
  // Entries forgotten to make room: a table that evicts is under a spray.
  std::size_t evicted() const { return evicted_; }

 private:
  std::size_t capacity_;
  std::size_t evicted_ = 0;
  std::list<std::string> order_;  // most recent first
  std::unordered_map<std::string, std::pair<Value, std::list<std::string>::iterator>> entries_;
};

}  // namespace cc::edge
