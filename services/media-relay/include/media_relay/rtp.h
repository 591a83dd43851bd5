#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/clock.h"
#include "media_relay/packet_result.h"

namespace cc::relay {

inline constexpr std::size_t kRtpFixedHeaderSize = 12;
inline constexpr std::size_t kMaxCsrcCount = 15;

// The fixed part of an RTP header (RFC 3550 section 5.1).
struct RtpHeader {
  bool padding = false;
  bool extension = false;
  std::uint8_t csrc_count = 0;
  bool marker = false;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;

  friend bool operator==(const RtpHeader&, const RtpHeader&) = default;
};

// A parsed RTP packet: the header plus views into the caller's buffer, which must outlive it.
struct RtpPacket {
  RtpHeader header;
  std::span<const std::uint8_t> csrcs;  // 4 bytes per CSRC, network order
  std::uint16_t extension_profile = 0;
  std::span<const std::uint8_t> extension;  // extension data after its 4-byte header
  std::span<const std::uint8_t> payload;
  std::uint8_t padding_size = 0;

  std::uint32_t csrc(std::size_t index) const noexcept;  // index < header.csrc_count
};

// Parses and validates an RTP packet (version 2, CSRC list, extension and padding lengths).
PacketResult<RtpPacket> ParseRtp(std::span<const std::uint8_t> bytes) noexcept;

// Writes `header` (its CSRC count must equal csrcs.size()) and `payload` into `out`. The
// extension and padding flags are written as given but no extension or padding bytes are; set
// them only if `payload` carries those bytes. Returns the packet size, or 0 if `out` is too
// small or the header is inconsistent.
std::size_t WriteRtp(const RtpHeader& header, std::span<const std::uint8_t> payload,
                     std::span<std::uint8_t> out,
                     std::span<const std::uint32_t> csrcs = {}) noexcept;

// Overwrites marker, payload type, sequence, timestamp and SSRC of a packet in place (the
// forwarding path); the rest of the packet is untouched. False if the buffer is shorter than a
// fixed header.
bool RewriteRtpHeader(std::span<std::uint8_t> packet, const RtpHeader& header) noexcept;

// RTCP on a muxed port (RFC 5761 section 4): version 2 and a packet type of 200..204 (SR, RR,
// SDES, BYE, APP) where RTP has its marker bit and payload type.
bool IsRtcp(std::span<const std::uint8_t> bytes) noexcept;

// Makes one outgoing stream out of successive sources (a prompt, then the other leg's RTP, then
// music on hold...). Within a source, sequence numbers and timestamps keep the source's own
// spacing (so losses and reordering stay visible to the receiver); when the source changes (new
// SSRC, or a jump a restarted sender makes) the output continues one sequence number later and
// at least one frame (or the elapsed wall time) later in timestamps, with the marker bit set.
// Not thread-safe: one rewriter per outgoing stream, used by its owner loop.
class SequenceRewriter {
 public:
  SequenceRewriter(std::uint32_t ssrc, std::uint16_t first_sequence, std::uint32_t first_timestamp,
                   std::uint32_t clock_rate = 8000) noexcept;

  // The header to send for `in` at `now`; nullopt for a late packet that predates the current
  // source (sending it would reuse numbers the previous source already had).
  std::optional<RtpHeader> rewrite(const RtpHeader& in, TimePoint now) noexcept;

  // Makes the next packet start a new source even if its SSRC is unchanged.
  void reset_source() noexcept { have_source_ = false; }

  std::uint32_t ssrc() const noexcept { return ssrc_; }

 private:
  bool is_new_source(const RtpHeader& in) const noexcept;
  bool follow_source(const RtpHeader& in) noexcept;
  void begin_source(const RtpHeader& in, TimePoint now) noexcept;
  std::uint32_t elapsed_samples(TimePoint now) const noexcept;

  std::uint32_t ssrc_;
  std::uint32_t clock_rate_;
  std::uint16_t first_sequence_;
  std::uint32_t first_timestamp_;

  bool have_output_ = false;
  std::uint16_t last_out_sequence_ = 0;
  std::uint32_t last_out_timestamp_ = 0;
  TimePoint last_out_time_{};
  std::uint32_t frame_samples_;  // timestamp step between consecutive packets of the source

  bool have_source_ = false;
  std::uint32_t source_ssrc_ = 0;
  std::uint32_t source_span_ = 0;  // sequence steps from the source's first packet to its newest
  std::uint16_t last_in_sequence_ = 0;
  std::uint32_t last_in_timestamp_ = 0;
  std::uint16_t sequence_offset_ = 0;
  std::uint32_t timestamp_offset_ = 0;
};

}  // namespace cc::relay
