#include "media_relay/dtmf.h"

#include <algorithm>

namespace cc::relay {
namespace {

constexpr char kDigits[] = "0123456789*#ABCD";
constexpr std::uint16_t kMaxSegmentDuration = 0xFFFF;

}  // namespace

PacketResult<TelephoneEvent> ParseTelephoneEvent(std::span<const std::uint8_t> payload) noexcept {
  if (payload.size() < kTelephoneEventSize) return PacketError::kTooShort;
  TelephoneEvent e;
  e.event = payload[0];
  e.end = (payload[1] & 0x80) != 0;
  e.volume = payload[1] & 0x3F;
  e.duration = static_cast<std::uint16_t>((payload[2] << 8) | payload[3]);
  return e;
}

std::size_t WriteTelephoneEvent(const TelephoneEvent& event, std::span<std::uint8_t> out) noexcept {
  if (out.size() < kTelephoneEventSize) return 0;
  out[0] = event.event;
  out[1] = static_cast<std::uint8_t>((event.end ? 0x80 : 0) | (event.volume & 0x3F));
  out[2] = static_cast<std::uint8_t>(event.duration >> 8);
  out[3] = static_cast<std::uint8_t>(event.duration);
  return kTelephoneEventSize;
}

char DtmfDigit(std::uint8_t event) noexcept {
  return event < 16 ? kDigits[event] : '\0';
}

std::optional<std::uint8_t> DtmfEventCode(char digit) noexcept {
  if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
  for (std::uint8_t code = 0; code < 16; ++code) {
    if (kDigits[code] == digit) return code;
  }
  return std::nullopt;
}

DtmfPresses DtmfDetector::on_event(std::uint32_t rtp_timestamp,
                                   const TelephoneEvent& event) noexcept {
  DtmfPresses done;
  if (DtmfDigit(event.event) == '\0' || is_stale(rtp_timestamp)) return done;

  if (pending_ && rtp_timestamp == pending_->timestamp) {
    pending_->duration = std::max(pending_->duration, event.duration);
    pending_->volume = event.volume;
  } else if (pending_ && continues_pending(rtp_timestamp, event)) {
    pending_->earlier_samples += pending_->duration;
    pending_->timestamp = rtp_timestamp;
    pending_->duration = event.duration;
  } else {
    if (pending_) {
      // A packet older than the press in progress belongs to nothing we can still report.
      if (static_cast<std::int32_t>(rtp_timestamp - pending_->timestamp) < 0) return done;
      done.push(finish(*pending_, false));
    }
    pending_ = Pending{rtp_timestamp, rtp_timestamp, event.event, event.volume, event.duration, 0};
  }

  if (event.end) done.push(finish(*pending_, true));
  return done;
}

DtmfPresses DtmfDetector::on_payload(std::uint32_t rtp_timestamp,
                                     std::span<const std::uint8_t> payload) noexcept {
  const auto event = ParseTelephoneEvent(payload);
  if (!event) return {};
  return on_event(rtp_timestamp, *event);
}

std::optional<DtmfPress> DtmfDetector::flush() noexcept {
  if (!pending_) return std::nullopt;
  return finish(*pending_, false);
}

bool DtmfDetector::is_stale(std::uint32_t rtp_timestamp) const noexcept {
  return last_finished_ && static_cast<std::int32_t>(rtp_timestamp - *last_finished_) <= 0;
}

bool DtmfDetector::continues_pending(std::uint32_t rtp_timestamp,
                                     const TelephoneEvent& event) const noexcept {
  return event.event == pending_->event && pending_->duration == kMaxSegmentDuration &&
         rtp_timestamp == pending_->timestamp + kMaxSegmentDuration;
}

DtmfPress DtmfDetector::finish(Pending p, bool end_seen) noexcept {
  const std::uint64_t samples = std::uint64_t{p.earlier_samples} + p.duration;
  DtmfPress press;
  press.digit = DtmfDigit(p.event);
  press.duration_ms = static_cast<std::uint32_t>(samples * 1000 / clock_rate_);
  press.rtp_timestamp = p.first_timestamp;
  press.volume = p.volume;
  press.end_seen = end_seen;
  last_finished_ = p.timestamp;
  pending_.reset();
  return press;
}

}  // namespace cc::relay
