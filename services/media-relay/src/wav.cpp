#include "media_relay/wav.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

namespace cc::relay {
namespace {

constexpr std::uint32_t kSampleRate = 8000;
constexpr std::uint16_t kFormatPcm = 1;
constexpr std::uint16_t kFormatALaw = 6;
constexpr std::uint16_t kFormatMuLaw = 7;
constexpr std::uint16_t kFormatExtensible = 0xFFFE;
constexpr std::size_t kMaxPromptBytes = 128u << 20;  // about 2 hours of 16-bit 8 kHz audio
constexpr std::size_t kWavHeaderSize = 44;
constexpr std::uint64_t kMaxRiffData = 0xFFFFFFFFull - (kWavHeaderSize - 8);

std::uint16_t Le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

std::uint32_t Le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

void PutLe16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}

void PutLe32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

bool HasTag(std::span<const std::uint8_t> bytes, std::size_t offset, std::string_view tag) {
  return bytes.size() >= offset + 4 && std::memcmp(bytes.data() + offset, tag.data(), 4) == 0;
}

struct Format {
  std::uint16_t tag = 0;
  std::uint16_t channels = 0;
  std::uint32_t sample_rate = 0;
  std::uint16_t bits = 0;
};

Format ParseFormat(const std::uint8_t* p) {
  return {Le16(p), Le16(p + 2), Le32(p + 4), Le16(p + 14)};
}

Result<WavEncoding> CheckFormat(const Format& f) {
  WavEncoding encoding;
  std::uint16_t want_bits = 8;
  switch (f.tag) {
    case kFormatPcm:
      encoding = WavEncoding::kPcm16;
      want_bits = 16;
      break;
    case kFormatALaw:
      encoding = WavEncoding::kALaw;
      break;
    case kFormatMuLaw:
      encoding = WavEncoding::kMuLaw;
      break;
    case kFormatExtensible:
      return InvalidArgument(
          "WAV uses WAVE_FORMAT_EXTENSIBLE; save it as plain PCM, A-law or mu-law");
    default:
      return InvalidArgument("unsupported WAV format tag " + std::to_string(f.tag) +
                             " (want 1 = PCM, 6 = A-law or 7 = mu-law)");
  }
  if (f.bits != want_bits) {
    return InvalidArgument("WAV must have " + std::to_string(want_bits) + " bits per sample for " +
                           "format " + std::to_string(f.tag) + ", got " + std::to_string(f.bits));
  }
  if (f.channels != 1) {
    return InvalidArgument("WAV must be mono, got " + std::to_string(f.channels) + " channels");
  }
  if (f.sample_rate != kSampleRate) {
    return InvalidArgument("WAV must be 8000 Hz, got " + std::to_string(f.sample_rate) + " Hz");
  }
  return encoding;
}

Error WriteFailed(const std::string& path) {
  return Internal("cannot write recording " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<WavAudio> ParseWav(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 12) return InvalidArgument("not a WAV file: shorter than a RIFF header");
  if (!HasTag(bytes, 0, "RIFF")) return InvalidArgument("not a WAV file: no RIFF header");
  if (!HasTag(bytes, 8, "WAVE")) return InvalidArgument("not a WAV file: RIFF form is not WAVE");

  std::optional<Format> format;
  std::optional<std::span<const std::uint8_t>> data;
  std::uint64_t offset = 12;
  while (offset + 8 <= bytes.size()) {
    const std::uint8_t* header = bytes.data() + offset;
    const std::uint32_t size = Le32(header + 4);
    const std::uint64_t body = offset + 8;
    const std::uint64_t available = bytes.size() - body;
    if (HasTag(bytes, offset, "fmt ")) {
      if (size < 16) return InvalidArgument("WAV fmt chunk is too short");
      if (size > available) return InvalidArgument("WAV fmt chunk is truncated");
      format = ParseFormat(header + 8);
    } else if (HasTag(bytes, offset, "data")) {
      data = bytes.subspan(body, std::min<std::uint64_t>(size, available));
    }
    offset = body + size + (size & 1);  // chunks are padded to an even length
  }
  if (!format) return InvalidArgument("WAV file has no fmt chunk");
  if (!data) return InvalidArgument("WAV file has no data chunk");
  CC_ASSIGN_OR_RETURN(const WavEncoding encoding, CheckFormat(*format));

  WavAudio audio;
  audio.encoding = encoding;
  std::size_t length = data->size();
  if (encoding == WavEncoding::kPcm16) length &= ~std::size_t{1};  // drop a torn last sample
  audio.data.assign(data->begin(), data->begin() + static_cast<std::ptrdiff_t>(length));
  return audio;
}

Result<WavAudio> ReadWavFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open WAV file " + path + ": " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size > kMaxPromptBytes) {
    return InvalidArgument("WAV file " + path + " is larger than " +
                           std::to_string(kMaxPromptBytes >> 20) + " MiB");
  }
  in.seekg(0);
  std::vector<std::uint8_t> bytes(size);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) return Internal("cannot read WAV file " + path);
  auto audio = ParseWav(bytes);
  if (!audio.ok()) return InvalidArgument(path + ": " + audio.error().message);
  return audio;
}

std::vector<std::uint8_t> ToG711(const WavAudio& audio, G711Law law) {
  std::vector<std::uint8_t> out;
  out.reserve(audio.sample_count());
  switch (audio.encoding) {
    case WavEncoding::kPcm16:
      for (std::size_t i = 0; i + 1 < audio.data.size(); i += 2) {
        out.push_back(Encode(law, static_cast<std::int16_t>(Le16(&audio.data[i]))));
      }
      break;
    case WavEncoding::kALaw:
    case WavEncoding::kMuLaw: {
      const G711Law from = audio.encoding == WavEncoding::kALaw ? G711Law::kALaw : G711Law::kMuLaw;
      out = audio.data;
      TranscodeG711(from, law, out);
      break;
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> LoadPromptG711(const std::string& path, G711Law law) {
  CC_ASSIGN_OR_RETURN(const WavAudio audio, ReadWavFile(path));
  return ToG711(audio, law);
}

Result<StereoWavWriter> StereoWavWriter::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Internal("cannot create recording " + path + ": " + std::strerror(errno));
  }
  StereoWavWriter writer(path, file);
  std::uint8_t header[kWavHeaderSize] = {};
  std::memcpy(header, "RIFF", 4);
  std::memcpy(header + 8, "WAVEfmt ", 8);
  PutLe32(header + 16, 16);
  PutLe16(header + 20, kFormatPcm);
  PutLe16(header + 22, 2);  // channels
  PutLe32(header + 24, kSampleRate);
  PutLe32(header + 28, kSampleRate * 2 * 2);  // byte rate
  PutLe16(header + 32, 4);                    // block align
  PutLe16(header + 34, 16);                   // bits per sample
  std::memcpy(header + 36, "data", 4);
  // Sizes stay 0 until close(); a crashed recording still opens in tools that tolerate that.
  if (std::fwrite(header, 1, sizeof header, file) != sizeof header) return WriteFailed(path);
  return writer;
}

StereoWavWriter& StereoWavWriter::operator=(StereoWavWriter&& other) noexcept {
  if (this != &other) {
    (void)close();
    path_ = std::move(other.path_);
    file_ = std::move(other.file_);
    frames_ = other.frames_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

StereoWavWriter::~StereoWavWriter() {
  (void)close();
}

Status StereoWavWriter::write(std::span<const std::int16_t> caller,
                              std::span<const std::int16_t> agent) {
  if (!file_) return FailedPrecondition("recording " + path_ + " is closed");
  const std::size_t frames = std::max(caller.size(), agent.size());
  if ((frames_ + frames) * 4 > kMaxRiffData) {
    return Error{ErrorCode::kResourceExhausted,
                 "recording " + path_ + " reached the WAV size limit"};
  }
  buffer_.resize(frames * 4);
  for (std::size_t i = 0; i < frames; ++i) {
    PutLe16(&buffer_[4 * i], static_cast<std::uint16_t>(i < caller.size() ? caller[i] : 0));
    PutLe16(&buffer_[4 * i + 2], static_cast<std::uint16_t>(i < agent.size() ? agent[i] : 0));
  }
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
    return WriteFailed(path_);
  }
  frames_ += frames;
  return OkStatus();
}

Status StereoWavWriter::close() {
  if (!file_) return OkStatus();
  Status patched = patch_sizes();
  const bool closed = std::fclose(file_.release()) == 0;
  if (!patched.ok()) return patched;
  if (!closed) return WriteFailed(path_);
  return OkStatus();
}

Status StereoWavWriter::patch_sizes() {
  const auto data_bytes = static_cast<std::uint32_t>(frames_ * 4);
  std::uint8_t size[4];
  PutLe32(size, data_bytes + static_cast<std::uint32_t>(kWavHeaderSize - 8));
  if (std::fseek(file_.get(), 4, SEEK_SET) != 0 || std::fwrite(size, 1, 4, file_.get()) != 4) {
    return WriteFailed(path_);
  }
  PutLe32(size, data_bytes);
  if (std::fseek(file_.get(), 40, SEEK_SET) != 0 || std::fwrite(size, 1, 4, file_.get()) != 4) {
    return WriteFailed(path_);
  }
  return OkStatus();
}

}  // namespace cc::relay
