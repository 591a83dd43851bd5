#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cc::relay {

// ITU-T G.711 companding, the only audio the relay carries (PCMU = mu-law, PCMA = A-law).
// Everything here is pure and allocation-free.
enum class G711Law : std::uint8_t { kMuLaw, kALaw };

inline constexpr std::uint8_t kMuLawSilence = 0xFF;  // encodes linear 0
inline constexpr std::uint8_t kALawSilence = 0xD5;   // encodes linear +8, A-law's smallest step

constexpr std::uint8_t SilenceByte(G711Law law) noexcept {
  return law == G711Law::kMuLaw ? kMuLawSilence : kALawSilence;
}

// Static RTP payload type of each law (RFC 3551): PCMU 0, PCMA 8.
constexpr std::uint8_t StaticPayloadType(G711Law law) noexcept {
  return law == G711Law::kMuLaw ? 0 : 8;
}

constexpr std::int16_t MuLawDecode(std::uint8_t code) noexcept {
  const int u = ~code & 0xFF;
  const int magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
  return static_cast<std::int16_t>((u & 0x80) ? 0x84 - magnitude : magnitude - 0x84);
}

constexpr std::uint8_t MuLawEncode(std::int16_t sample) noexcept {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  const int mask = sample < 0 ? 0x7F : 0xFF;
  int magnitude = sample < 0 ? -int{sample} : int{sample};
  if (magnitude > kClip) magnitude = kClip;
  magnitude += kBias;
  int segment = 0;
  while (segment < 7 && magnitude > (0x100 << segment) - 1) ++segment;
  const int code = (segment << 4) | ((magnitude >> (segment + 3)) & 0x0F);
  return static_cast<std::uint8_t>(code ^ mask);
}

constexpr std::int16_t ALawDecode(std::uint8_t code) noexcept {
  const int a = code ^ 0x55;
  const int segment = (a & 0x70) >> 4;
  int magnitude = (a & 0x0F) << 4;
  if (segment == 0) {
    magnitude += 8;
  } else {
    magnitude = (magnitude + 0x108) << (segment - 1);
  }
  return static_cast<std::int16_t>((a & 0x80) ? magnitude : -magnitude);
}

constexpr std::uint8_t ALawEncode(std::int16_t sample) noexcept {
  int value = sample >> 3;  // A-law works on 13 bits
  int mask = 0xD5;
  if (value < 0) {
    mask = 0x55;
    value = -value - 1;
  }
  int segment = 0;
  while (segment < 8 && value > (0x20 << segment) - 1) ++segment;
  if (segment == 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  const int mantissa = (segment < 2 ? value >> 1 : value >> segment) & 0x0F;
  return static_cast<std::uint8_t>(((segment << 4) | mantissa) ^ mask);
}

inline std::int16_t Decode(G711Law law, std::uint8_t code) noexcept {
  return law == G711Law::kMuLaw ? MuLawDecode(code) : ALawDecode(code);
}

inline std::uint8_t Encode(G711Law law, std::int16_t sample) noexcept {
  return law == G711Law::kMuLaw ? MuLawEncode(sample) : ALawEncode(sample);
}

// Byte-for-byte transcoding tables, built as encode(decode(code)) of the other law.
extern const std::array<std::uint8_t, 256> kMuLawToALaw;
extern const std::array<std::uint8_t, 256> kALawToMuLaw;

// Buffer forms: convert min(in.size(), out.size()) samples.
void DecodeG711(G711Law law, std::span<const std::uint8_t> in,
                std::span<std::int16_t> out) noexcept;
void EncodeG711(G711Law law, std::span<const std::int16_t> in,
                std::span<std::uint8_t> out) noexcept;
// Transcodes in place from `from` to the other law; a no-op when the laws are equal.
void TranscodeG711(G711Law from, G711Law to, std::span<std::uint8_t> payload) noexcept;

}  // namespace cc::relay
