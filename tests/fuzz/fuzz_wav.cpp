// libFuzzer: WAV prompt files as the relay reads them (any bytes an operator's file may hold).
#include <cstdint>
#include <span>

#include "media_relay/wav.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto wav = cc::relay::ParseWav(std::span<const std::uint8_t>(data, size));
  if (!wav.ok()) return 0;
  (void)cc::relay::ToG711(*wav, cc::relay::G711Law::kMuLaw);
  (void)cc::relay::ToG711(*wav, cc::relay::G711Law::kALaw);
  return 0;
}
