#include "media_relay/pacer.h"

#include <algorithm>
#include <string>

namespace cc::relay {

Result<PromptPacer> PromptPacer::Create(const PacerConfig& config, std::vector<PromptAudio> prompts,
                                        TimePoint start) {
  if (config.ptime < kMinPtime || config.ptime > kMaxPtime) {
    return InvalidArgument("ptime must be 10..60 ms, got " + std::to_string(config.ptime.count()));
  }
  if (config.payload_type > 127) return InvalidArgument("payload type must be 0..127");
  if (config.max_catch_up < 0) return InvalidArgument("max_catch_up must not be negative");
  std::erase_if(prompts, [](const PromptAudio& p) { return !p || p->empty(); });
  return PromptPacer(config, std::move(prompts), start);
}

PromptPacer::PromptPacer(const PacerConfig& config, std::vector<PromptAudio> prompts,
                         TimePoint start)
    : config_(config),
      prompts_(std::move(prompts)),
      samples_per_packet_(static_cast<std::size_t>(config.ptime.count()) * 8),
      due_(start),
      sequence_(config.first_sequence),
      timestamp_(config.first_timestamp),
      finished_(prompts_.empty()) {}

std::optional<TimePoint> PromptPacer::next_due() const noexcept {
  if (finished_) return std::nullopt;
  return due_;
}

std::optional<PacedPacket> PromptPacer::take_due(TimePoint now) noexcept {
  if (finished_ || now < due_) return std::nullopt;
  skip_backlog(now);
  if (finished_) return std::nullopt;

  PacedPacket packet;
  packet.header.marker = marker_;
  packet.header.payload_type = config_.payload_type;
  packet.header.sequence = sequence_;
  packet.header.timestamp = timestamp_;
  packet.header.ssrc = config_.ssrc;
  const std::span<std::uint8_t> out(packet.bytes);
  WriteRtp(packet.header, {}, out);
  std::uint8_t* payload = packet.bytes.data() + kRtpFixedHeaderSize;
  const std::size_t copied = consume(samples_per_packet_, payload);
  std::fill(payload + copied, payload + samples_per_packet_, SilenceByte(config_.law));
  packet.size = kRtpFixedHeaderSize + samples_per_packet_;

  marker_ = false;
  ++sequence_;
  timestamp_ += static_cast<std::uint32_t>(samples_per_packet_);
  due_ += config_.ptime;
  ++packets_sent_;
  if (!has_audio_left()) finished_ = true;
  return packet;
}

std::size_t PromptPacer::consume(std::size_t count, std::uint8_t* dest) noexcept {
  std::size_t done = 0;
  while (done < count && has_audio_left()) {
    if (prompt_ == prompts_.size()) prompt_ = 0;  // looping
    const std::vector<std::uint8_t>& audio = *prompts_[prompt_];
    const std::size_t n = std::min(count - done, audio.size() - offset_);
    if (dest != nullptr) {
      std::copy_n(audio.begin() + static_cast<std::ptrdiff_t>(offset_), n, dest + done);
    }
    done += n;
    offset_ += n;
    if (offset_ == audio.size()) {
      ++prompt_;
      offset_ = 0;
    }
  }
  return done;
}

bool PromptPacer::has_audio_left() const noexcept {
  return prompt_ < prompts_.size() || (config_.loop && !prompts_.empty());
}

void PromptPacer::skip_backlog(TimePoint now) noexcept {
  const auto late_packets = (now - due_) / config_.ptime;
  if (late_packets <= config_.max_catch_up) return;
  for (auto i = late_packets; i > 0 && has_audio_left(); --i) {
    consume(samples_per_packet_, nullptr);
    timestamp_ += static_cast<std::uint32_t>(samples_per_packet_);
    due_ += config_.ptime;
  }
  marker_ = true;  // a timestamp jump without a sequence gap: let the receiver resync
  if (!has_audio_left()) finished_ = true;
}

}  // namespace cc::relay
