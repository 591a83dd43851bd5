#pragma once
// Mixing, private to src/: legs of a mix (a conference, or a call a supervisor monitors) do not
// forward to a peer. What each one's remote end sends is decoded into its input ring, and
// every 20 ms the worker sends each member the sum of the members it hears, encoded in its
// own law. Who hears whom is per member: a muted member is heard by nobody, and one with a
// `heard_by` list only by those legs (a supervisor's whisper reaches the agent alone).

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"

namespace cc::relay {

inline constexpr std::size_t kMixFrame = 160;             // 20 ms at 8 kHz
inline constexpr std::size_t kMixRing = 8 * kMixFrame;    // 160 ms of input per member
inline constexpr std::size_t kMixMaxLag = 3 * kMixFrame;  // more queued than this: drop the oldest

// Decoded input of one member, waiting for the next frame.
struct PcmRing {
  std::array<std::int16_t, kMixRing> samples{};
  std::size_t head = 0, size = 0;

  void push(std::span<const std::int16_t> in) {
    for (std::int16_t s : in) {
      if (size == samples.size()) {
        head = (head + 1) % samples.size();
        --size;
      }
      samples[(head + size) % samples.size()] = s;
      ++size;
    }
  }
  // One frame (silence where nothing came); a sender running ahead of the clock is brought
  // back to a bounded delay.
  void pop(std::span<std::int16_t> out) {
    while (size > kMixMaxLag + out.size()) {
      head = (head + 1) % samples.size();
      --size;
    }
    for (auto& s : out) {
      if (size == 0) {
        s = 0;
        continue;
      }
      s = samples[head];
      head = (head + 1) % samples.size();
      --size;
    }
  }
  void clear() { head = size = 0; }
};

struct Leg;

struct MixMember {
  Leg* leg = nullptr;
  std::string leg_id;
  bool muted = false;
  std::vector<std::string> heard_by;  // empty: every other member
  // The stream the relay makes for this member (its own sequence and timestamps).
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
};

struct Mix {
  std::string id;
  std::vector<MixMember> members;
  TimePoint next_frame{};

  // Does `listener` hear `speaker`?
  static bool Hears(const MixMember& listener, const MixMember& speaker) {
    if (&listener == &speaker || speaker.muted) return false;
    return speaker.heard_by.empty() || std::find(speaker.heard_by.begin(), speaker.heard_by.end(),
                                                 listener.leg_id) != speaker.heard_by.end();
  }
};

}  // namespace cc::relay
