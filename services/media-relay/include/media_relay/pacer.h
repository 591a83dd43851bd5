#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "media_relay/g711.h"
#include "media_relay/rtp.h"

namespace cc::relay {

// G.711 bytes of one prompt, loaded once and shared by every call that plays it.
using PromptAudio = std::shared_ptr<const std::vector<std::uint8_t>>;

inline constexpr Duration kMinPtime{10};
inline constexpr Duration kMaxPtime{60};
inline constexpr std::size_t kMaxPacedPacketSize = kRtpFixedHeaderSize + 8 * 60;

struct PacerConfig {
  G711Law law = G711Law::kMuLaw;  // pads the last packet with this law's silence
  std::uint8_t payload_type = 0;
  std::uint32_t ssrc = 0;
  std::uint16_t first_sequence = 0;
  std::uint32_t first_timestamp = 0;
  Duration ptime{20};  // 8 samples (bytes) per millisecond at 8 kHz
  bool loop = false;   // music on hold: start the list again, seamlessly, until stop()
  // After a late wake-up up to this many overdue packets go out back to back; a longer backlog
  // is skipped (timestamps jump, the marker bit is set) so that playback stays in real time.
  int max_catch_up = 5;
};

// One packet ready for the wire.
struct PacedPacket {
  RtpHeader header;
  std::array<std::uint8_t, kMaxPacedPacketSize> bytes{};
  std::size_t size = 0;

  std::span<const std::uint8_t> data() const { return {bytes.data(), size}; }
  std::span<const std::uint8_t> payload() const { return data().subspan(kRtpFixedHeaderSize); }
};

// Plays a list of prompts as an RTP stream: ptime-long packets cut from the prompts as one
// continuous byte stream, sequence +1 and timestamp +samples per packet, one SSRC, the marker
// bit on the first packet only. It never sleeps or reads a clock: the owner asks next_due(),
// arms a timer, and calls take_due(now) until it returns nothing. Not thread-safe.
class PromptPacer {
 public:
  // The first packet is due at `start`. Empty prompts are skipped.
  static Result<PromptPacer> Create(const PacerConfig& config, std::vector<PromptAudio> prompts,
                                    TimePoint start);

  // When the next packet is due; nullopt once everything was played (or stop()).
  std::optional<TimePoint> next_due() const noexcept;
  // The next packet if it is due at `now`.
  std::optional<PacedPacket> take_due(TimePoint now) noexcept;
  void stop() noexcept { finished_ = true; }
  bool finished() const noexcept { return finished_; }
  std::uint64_t packets_sent() const noexcept { return packets_sent_; }

 private:
  PromptPacer(const PacerConfig& config, std::vector<PromptAudio> prompts, TimePoint start);

  // Copies the next `count` bytes of the prompt stream to `dest` (or only skips them when dest
  // is null); returns how many there were.
  std::size_t consume(std::size_t count, std::uint8_t* dest) noexcept;
  bool has_audio_left() const noexcept;
  void skip_backlog(TimePoint now) noexcept;

  PacerConfig config_;
  std::vector<PromptAudio> prompts_;
  std::size_t samples_per_packet_;
  std::size_t prompt_ = 0;  // index of the prompt being played
  std::size_t offset_ = 0;  // within it
  TimePoint due_;
  std::uint16_t sequence_;
  std::uint32_t timestamp_;
  bool marker_ = true;
  bool finished_ = false;
  std::uint64_t packets_sent_ = 0;
};

}  // namespace cc::relay
