#include "media_relay/g711.h"

#include <algorithm>

namespace cc::relay {
namespace {

constexpr std::array<std::uint8_t, 256> BuildMuToA() {
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<std::size_t>(c)] = ALawEncode(MuLawDecode(static_cast<std::uint8_t>(c)));
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> BuildAToMu() {
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<std::size_t>(c)] = MuLawEncode(ALawDecode(static_cast<std::uint8_t>(c)));
  }
  return table;
}

}  // namespace

constexpr std::array<std::uint8_t, 256> kMuLawToALaw = BuildMuToA();
constexpr std::array<std::uint8_t, 256> kALawToMuLaw = BuildAToMu();

void DecodeG711(G711Law law, std::span<const std::uint8_t> in,
                std::span<std::int16_t> out) noexcept {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = Decode(law, in[i]);
}

void EncodeG711(G711Law law, std::span<const std::int16_t> in,
                std::span<std::uint8_t> out) noexcept {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = Encode(law, in[i]);
}

void TranscodeG711(G711Law from, G711Law to, std::span<std::uint8_t> payload) noexcept {
  if (from == to) return;
  const auto& table = from == G711Law::kMuLaw ? kMuLawToALaw : kALawToMuLaw;
  for (auto& b : payload) b = table[b];
}

}  // namespace cc::relay
