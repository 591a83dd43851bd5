// libFuzzer: RTP, RTCP and telephone-event (RFC 4733) parsing, as packets arrive on a relay
// port. A packet that parses is written again and must parse to the same header.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "media_relay/dtmf.h"
#include "media_relay/rtp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  (void)cc::relay::IsRtcp(bytes);
  (void)cc::relay::ParseTelephoneEvent(bytes);
  auto packet = cc::relay::ParseRtp(bytes);
  if (!packet.ok()) return 0;
  (void)cc::relay::ParseTelephoneEvent(packet->payload);
  cc::relay::RtpHeader header = packet->header;
  header.csrc_count = 0;
  header.extension = false;
  header.padding = false;
  std::vector<std::uint8_t> out(cc::relay::kRtpFixedHeaderSize + packet->payload.size());
  const std::size_t n = cc::relay::WriteRtp(header, packet->payload, out);
  if (n == 0) return 0;
  auto again = cc::relay::ParseRtp(std::span<const std::uint8_t>(out.data(), n));
  if (!again.ok() || !(again->header == header)) std::abort();
  std::vector<std::uint8_t> copy(data, data + size);
  (void)cc::relay::RewriteRtpHeader(copy, header);
  return 0;
}
