#include "media_relay/rtp.h"

#include <algorithm>
#include <chrono>

namespace cc::relay {
namespace {

// RFC 3550 appendix A.1: a forward jump up to kMaxDropout or a step back up to kMaxMisorder is
// the same sender; anything else is a sender that restarted its numbering.
constexpr std::uint16_t kMaxDropout = 3000;
constexpr std::uint16_t kMaxMisorder = 100;

std::uint16_t Load16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t Load32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void Store16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void Store32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

RtpHeader ParseFixedHeader(const std::uint8_t* p) noexcept {
  RtpHeader h;
  h.padding = (p[0] & 0x20) != 0;
  h.extension = (p[0] & 0x10) != 0;
  h.csrc_count = p[0] & 0x0F;
  h.marker = (p[1] & 0x80) != 0;
  h.payload_type = p[1] & 0x7F;
  h.sequence = Load16(p + 2);
  h.timestamp = Load32(p + 4);
  h.ssrc = Load32(p + 8);
  return h;
}

void StoreMarkerAndType(std::uint8_t* p, const RtpHeader& h) noexcept {
  p[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F));
}

void StoreIdentity(std::uint8_t* p, const RtpHeader& h) noexcept {
  StoreMarkerAndType(p, h);
  Store16(p + 2, h.sequence);
  Store32(p + 4, h.timestamp);
  Store32(p + 8, h.ssrc);
}

}  // namespace

const char* ToString(PacketError error) noexcept {
  switch (error) {
    case PacketError::kTooShort:
      return "packet too short";
    case PacketError::kBadVersion:
      return "not RTP version 2";
    case PacketError::kTruncatedCsrc:
      return "CSRC list runs past the end of the packet";
    case PacketError::kTruncatedExtension:
      return "header extension runs past the end of the packet";
    case PacketError::kBadPadding:
      return "invalid padding length";
  }
  return "invalid packet";
}

std::uint32_t RtpPacket::csrc(std::size_t index) const noexcept {
  return Load32(csrcs.data() + 4 * index);
}

PacketResult<RtpPacket> ParseRtp(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.size() < kRtpFixedHeaderSize) return PacketError::kTooShort;
  if ((bytes[0] >> 6) != 2) return PacketError::kBadVersion;
  RtpPacket packet;
  packet.header = ParseFixedHeader(bytes.data());
  std::size_t offset = kRtpFixedHeaderSize;

  const std::size_t csrc_bytes = 4u * packet.header.csrc_count;
  if (bytes.size() - offset < csrc_bytes) return PacketError::kTruncatedCsrc;
  packet.csrcs = bytes.subspan(offset, csrc_bytes);
  offset += csrc_bytes;

  if (packet.header.extension) {
    if (bytes.size() - offset < 4) return PacketError::kTruncatedExtension;
    packet.extension_profile = Load16(bytes.data() + offset);
    const std::size_t extension_bytes = 4u * Load16(bytes.data() + offset + 2);
    offset += 4;
    if (bytes.size() - offset < extension_bytes) return PacketError::kTruncatedExtension;
    packet.extension = bytes.subspan(offset, extension_bytes);
    offset += extension_bytes;
  }

  std::size_t end = bytes.size();
  if (packet.header.padding) {
    // The last octet counts the padding, itself included.
    const std::uint8_t padding = bytes.back();
    if (padding == 0 || padding > end - offset) return PacketError::kBadPadding;
    packet.padding_size = padding;
    end -= padding;
  }
  packet.payload = bytes.subspan(offset, end - offset);
  return packet;
}

std::size_t WriteRtp(const RtpHeader& header, std::span<const std::uint8_t> payload,
                     std::span<std::uint8_t> out, std::span<const std::uint32_t> csrcs) noexcept {
  if (header.csrc_count != csrcs.size() || csrcs.size() > kMaxCsrcCount) return 0;
  const std::size_t header_size = kRtpFixedHeaderSize + 4 * csrcs.size();
  const std::size_t total = header_size + payload.size();
  if (out.size() < total) return 0;
  std::uint8_t* p = out.data();
  p[0] = static_cast<std::uint8_t>(0x80 | (header.padding ? 0x20 : 0) |
                                   (header.extension ? 0x10 : 0) | header.csrc_count);
  StoreIdentity(p, header);
  for (std::size_t i = 0; i < csrcs.size(); ++i) Store32(p + kRtpFixedHeaderSize + 4 * i, csrcs[i]);
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(header_size));
  return total;
}

bool RewriteRtpHeader(std::span<std::uint8_t> packet, const RtpHeader& header) noexcept {
  if (packet.size() < kRtpFixedHeaderSize) return false;
  StoreIdentity(packet.data(), header);
  return true;
}

bool IsRtcp(std::span<const std::uint8_t> bytes) noexcept {
  // An RTCP compound packet starts with at least a 4-byte header and the sender's SSRC.
  if (bytes.size() < 8 || (bytes[0] >> 6) != 2) return false;
  return bytes[1] >= 200 && bytes[1] <= 204;
}

SequenceRewriter::SequenceRewriter(std::uint32_t ssrc, std::uint16_t first_sequence,
                                   std::uint32_t first_timestamp, std::uint32_t clock_rate) noexcept
    : ssrc_(ssrc),
      clock_rate_(clock_rate),
      first_sequence_(first_sequence),
      first_timestamp_(first_timestamp),
      frame_samples_(clock_rate / 50) {}

std::optional<RtpHeader> SequenceRewriter::rewrite(const RtpHeader& in, TimePoint now) noexcept {
  const bool new_source = is_new_source(in);
  if (new_source) {
    begin_source(in, now);
  } else if (!follow_source(in)) {
    return std::nullopt;
  }
  RtpHeader out = in;
  out.ssrc = ssrc_;
  out.sequence = static_cast<std::uint16_t>(in.sequence + sequence_offset_);
  out.timestamp = in.timestamp + timestamp_offset_;
  out.marker = in.marker || new_source;
  if (in.sequence == last_in_sequence_) {
    last_out_sequence_ = out.sequence;
    last_out_timestamp_ = out.timestamp;
    last_out_time_ = now;
    have_output_ = true;
  }
  return out;
}

bool SequenceRewriter::follow_source(const RtpHeader& in) noexcept {
  const auto step = static_cast<std::uint16_t>(in.sequence - last_in_sequence_);
  if (step == 0) return true;
  if (step >= kMaxDropout) {  // a little late: is_new_source() let nothing else through
    const auto back = static_cast<std::uint16_t>(last_in_sequence_ - in.sequence);
    return back <= source_span_;
  }
  const std::uint32_t ts_step = in.timestamp - last_in_timestamp_;
  if (step == 1 && ts_step > 0 && ts_step < clock_rate_) frame_samples_ = ts_step;
  source_span_ = std::min<std::uint32_t>(source_span_ + step, 0xFFFF);
  last_in_sequence_ = in.sequence;
  last_in_timestamp_ = in.timestamp;
  return true;
}

bool SequenceRewriter::is_new_source(const RtpHeader& in) const noexcept {
  if (!have_source_ || in.ssrc != source_ssrc_) return true;
  const auto step = static_cast<std::uint16_t>(in.sequence - last_in_sequence_);
  const bool forward = step < kMaxDropout;
  const bool slightly_back = step > 0xFFFF - kMaxMisorder;
  return !forward && !slightly_back;
}

void SequenceRewriter::begin_source(const RtpHeader& in, TimePoint now) noexcept {
  std::uint16_t out_sequence = first_sequence_;
  std::uint32_t out_timestamp = first_timestamp_;
  if (have_output_) {
    out_sequence = static_cast<std::uint16_t>(last_out_sequence_ + 1);
    out_timestamp = last_out_timestamp_ + std::max(elapsed_samples(now), frame_samples_);
  }
  have_source_ = true;
  source_ssrc_ = in.ssrc;
  source_span_ = 0;
  last_in_sequence_ = in.sequence;
  last_in_timestamp_ = in.timestamp;
  sequence_offset_ = static_cast<std::uint16_t>(out_sequence - in.sequence);
  timestamp_offset_ = out_timestamp - in.timestamp;
}

std::uint32_t SequenceRewriter::elapsed_samples(TimePoint now) const noexcept {
  if (now <= last_out_time_) return 0;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - last_out_time_);
  const auto samples = static_cast<std::uint64_t>(us.count()) * clock_rate_ / 1'000'000;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(samples, 0x7FFFFFFF));
}

}  // namespace cc::relay
