// libFuzzer: the relay's SDP handling. Anything may be refused; nothing may crash, and the
// answer the relay writes for an offer it accepts must always parse again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media_relay/sdp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = cc::relay::ParseSdp(text);
  if (!offer.ok()) return 0;
  (void)cc::relay::WriteSdp(*offer);
  cc::relay::LocalMedia local;
  local.address = "192.0.2.10";
  local.port = 30000;
  auto negotiated = cc::relay::Negotiate(*offer, local);
  if (!negotiated.ok()) return 0;
  const std::string answer = cc::relay::WriteSdp(negotiated->answer);
  if (!cc::relay::ParseSdp(answer).ok()) std::abort();  // our own answer must parse
  return 0;
}
