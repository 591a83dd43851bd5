#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "media_relay/g711.h"

namespace cc::relay {

// Sample formats a prompt file may use: all mono, 8000 Hz.
enum class WavEncoding : std::uint8_t { kPcm16, kALaw, kMuLaw };

// A prompt held in memory, samples as stored in the file.
struct WavAudio {
  WavEncoding encoding = WavEncoding::kPcm16;
  std::vector<std::uint8_t> data;  // little-endian int16 for kPcm16, one byte per sample else

  std::size_t sample_count() const {
    return encoding == WavEncoding::kPcm16 ? data.size() / 2 : data.size();
  }
};

// Reads a RIFF/WAVE image: a "fmt " chunk of PCM 16-bit (format 1), A-law (6) or mu-law (7),
// mono, 8000 Hz, and a "data" chunk; other chunks are skipped. Anything else is
// INVALID_ARGUMENT naming what was found. A data chunk longer than the file (a writer that
// never patched its sizes) is cut to the bytes present.
Result<WavAudio> ParseWav(std::span<const std::uint8_t> bytes);
Result<WavAudio> ReadWavFile(const std::string& path);

// The prompt as a G.711 payload stream of `law`, one byte per sample.
std::vector<std::uint8_t> ToG711(const WavAudio& audio, G711Law law);

// ReadWavFile + ToG711.
Result<std::vector<std::uint8_t>> LoadPromptG711(const std::string& path, G711Law law);

// Records a call as a 16-bit 8000 Hz stereo WAV file, caller on the left channel and agent on
// the right, streaming to disk; close() writes the real RIFF and data sizes. Not thread-safe.
class StereoWavWriter {
 public:
  static Result<StereoWavWriter> Open(const std::string& path);

  StereoWavWriter(StereoWavWriter&&) noexcept = default;
  StereoWavWriter& operator=(StereoWavWriter&&) noexcept;
  ~StereoWavWriter();  // closes, ignoring errors

  // Appends max(caller.size(), agent.size()) frames; the shorter side is padded with silence.
  Status write(std::span<const std::int16_t> caller, std::span<const std::int16_t> agent);
  // Patches the header and closes the file; further writes fail.
  Status close();

  std::uint64_t frames_written() const { return frames_; }
  const std::string& path() const { return path_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };

  StereoWavWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  Status patch_sizes();

  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::uint64_t frames_ = 0;
  std::vector<std::uint8_t> buffer_;  // interleaved frames of the current write
};

}  // namespace cc::relay
