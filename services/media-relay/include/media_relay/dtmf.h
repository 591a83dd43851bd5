#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "media_relay/packet_result.h"

namespace cc::relay {

inline constexpr std::size_t kTelephoneEventSize = 4;

// One RFC 4733 telephone-event payload (section 2.3).
struct TelephoneEvent {
  std::uint8_t event = 0;  // 0-9, 10 = '*', 11 = '#', 12-15 = 'A'-'D', others are not DTMF
  bool end = false;
  std::uint8_t volume = 0;     // 0..63, in -dBm0
  std::uint16_t duration = 0;  // in RTP timestamp units since the event's timestamp

  friend bool operator==(const TelephoneEvent&, const TelephoneEvent&) = default;
};

// Parses the first event of a payload; bytes after the first 4 are ignored.
PacketResult<TelephoneEvent> ParseTelephoneEvent(std::span<const std::uint8_t> payload) noexcept;
// Writes 4 bytes; returns 0 if `out` is shorter.
std::size_t WriteTelephoneEvent(const TelephoneEvent& event, std::span<std::uint8_t> out) noexcept;

// '0'-'9', '*', '#', 'A'-'D' for events 0-15; '\0' for anything else.
char DtmfDigit(std::uint8_t event) noexcept;
std::optional<std::uint8_t> DtmfEventCode(char digit) noexcept;

// A finished key press.
struct DtmfPress {
  char digit = '\0';
  std::uint32_t duration_ms = 0;
  std::uint32_t rtp_timestamp = 0;  // the event's timestamp: its identity in the stream
  std::uint8_t volume = 0;
  bool end_seen = true;  // false when every end packet was lost

  friend bool operator==(const DtmfPress&, const DtmfPress&) = default;
};

// The presses one packet completed: none, one, or two (an unfinished press whose end packets
// were lost, followed by a new one whose start packets were lost).
class DtmfPresses {
 public:
  const DtmfPress* begin() const noexcept { return presses_.data(); }
  const DtmfPress* end() const noexcept { return presses_.data() + count_; }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  const DtmfPress& operator[](std::size_t i) const noexcept { return presses_[i]; }
  void push(const DtmfPress& press) noexcept {
    if (count_ < presses_.size()) presses_[count_++] = press;
  }

 private:
  std::array<DtmfPress, 2> presses_{};
  std::size_t count_ = 0;
};

// Turns the telephone-event packets of one RTP stream into exactly one DtmfPress per key press.
// Every packet of an event carries the event's start timestamp, so that timestamp identifies it:
// retransmitted starts and the redundant end packets are recognised by it, packets older than the
// last finished event are dropped, a press is reported at its first end packet (or, when all its
// end packets were lost, when the next event starts or on flush()), and a press whose start
// packets were lost is reported from its end packet alone. Long events split per RFC 4733
// section 2.5.1.3 (duration 0xFFFF, continued under timestamp + 0xFFFF) count as one press.
// Not thread-safe: one detector per stream, used by its owner loop.
class DtmfDetector {
 public:
  explicit DtmfDetector(std::uint32_t clock_rate = 8000) noexcept
      : clock_rate_(clock_rate == 0 ? 8000 : clock_rate) {}

  DtmfPresses on_event(std::uint32_t rtp_timestamp, const TelephoneEvent& event) noexcept;
  // Parses the payload first; a malformed payload completes nothing.
  DtmfPresses on_payload(std::uint32_t rtp_timestamp,
                         std::span<const std::uint8_t> payload) noexcept;
  // Reports a press still in progress (its end packets lost) and forgets it; call when the
  // stream stops or has carried no event for a while.
  std::optional<DtmfPress> flush() noexcept;

 private:
  struct Pending {
    std::uint32_t first_timestamp = 0;  // of the first segment: the press's identity
    std::uint32_t timestamp = 0;        // of the current segment
    std::uint8_t event = 0;
    std::uint8_t volume = 0;
    std::uint16_t duration = 0;         // of the current segment
    std::uint32_t earlier_samples = 0;  // of the segments before it (long events)
  };

  bool is_stale(std::uint32_t rtp_timestamp) const noexcept;
  bool continues_pending(std::uint32_t rtp_timestamp, const TelephoneEvent& event) const noexcept;
  DtmfPress finish(Pending p, bool end_seen) noexcept;  // and forgets the pending press

  std::uint32_t clock_rate_;
  std::optional<Pending> pending_;
  std::optional<std::uint32_t> last_finished_;  // timestamp of the newest reported press
};

}  // namespace cc::relay
