#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media_relay/wav.h"

namespace cc::relay {
namespace {

using Bytes = std::vector<std::uint8_t>;

void Append(Bytes& b, std::string_view tag) {
  b.insert(b.end(), tag.begin(), tag.end());
}
void Append16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void Append32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void AppendChunk(Bytes& b, std::string_view tag, const Bytes& body) {
  Append(b, tag);
  Append32(b, static_cast<std::uint32_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  if (body.size() % 2) b.push_back(0);
}

struct WavSpec {
  std::uint16_t format = 1;
  std::uint16_t channels = 1;
  std::uint32_t rate = 8000;
  std::uint16_t bits = 16;
  bool fmt_extension = false;  // an 18-byte fmt chunk with cbSize
};

Bytes FmtChunkBody(const WavSpec& s) {
  Bytes fmt;
  Append16(fmt, s.format);
  Append16(fmt, s.channels);
  Append32(fmt, s.rate);
  Append32(fmt, s.rate * s.channels * s.bits / 8);
  Append16(fmt, static_cast<std::uint16_t>(s.channels * s.bits / 8));
  Append16(fmt, s.bits);
  if (s.fmt_extension) Append16(fmt, 0);
  return fmt;
}

// A RIFF image made of the given chunks; the RIFF size is filled in.
Bytes Riff(const std::vector<std::pair<std::string, Bytes>>& chunks) {
  Bytes b;
  Append(b, "RIFF");
  Append32(b, 0);
  Append(b, "WAVE");
  for (const auto& [tag, body] : chunks) AppendChunk(b, tag, body);
  const auto riff_size = static_cast<std::uint32_t>(b.size() - 8);
  std::memcpy(b.data() + 4, &riff_size, 4);  // little-endian host
  return b;
}

Bytes Wav(const WavSpec& spec, const Bytes& data) {
  return Riff({{"fmt ", FmtChunkBody(spec)}, {"data", data}});
}

Bytes Pcm(const std::vector<std::int16_t>& samples) {
  Bytes b;
  for (std::int16_t s : samples) Append16(b, static_cast<std::uint16_t>(s));
  return b;
}

std::string TempPath(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "media_relay_" + info->name() + "_" + name;
}

void WriteFile(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::uint32_t Le32At(const Bytes& b, std::size_t offset) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[offset + static_cast<std::size_t>(i)];
  return v;
}

std::int16_t SampleAt(const Bytes& b, std::size_t offset) {
  return static_cast<std::int16_t>(b[offset] | (b[offset + 1] << 8));
}

void ExpectInvalid(const Bytes& bytes, const std::string& needle) {
  const auto audio = ParseWav(bytes);
  ASSERT_FALSE(audio.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(audio.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(audio.error().message.find(needle), std::string::npos) << audio.error().message;
}

const std::vector<std::int16_t> kSamples = {0, 1000, -1000, 32767, -32768, 8, -8};

TEST(WavReadTest, ReadsPcm16AndConvertsToEitherLaw) {
  const auto audio = ParseWav(Wav({}, Pcm(kSamples)));
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  EXPECT_EQ(audio->encoding, WavEncoding::kPcm16);
  EXPECT_EQ(audio->sample_count(), kSamples.size());
  const auto mu = ToG711(*audio, G711Law::kMuLaw);
  const auto a = ToG711(*audio, G711Law::kALaw);
  ASSERT_EQ(mu.size(), kSamples.size());
  ASSERT_EQ(a.size(), kSamples.size());
  for (std::size_t i = 0; i < kSamples.size(); ++i) {
    EXPECT_EQ(mu[i], MuLawEncode(kSamples[i])) << i;
    EXPECT_EQ(a[i], ALawEncode(kSamples[i])) << i;
  }
}

TEST(WavReadTest, ReadsALawAndMuLawFiles) {
  const Bytes codes = {0xD5, 0x55, 0xAA, 0x2A, 0x00};
  const auto alaw = ParseWav(Wav({.format = 6, .bits = 8}, codes));
  ASSERT_TRUE(alaw.ok()) << alaw.error().message;
  EXPECT_EQ(alaw->encoding, WavEncoding::kALaw);
  EXPECT_EQ(ToG711(*alaw, G711Law::kALaw), codes);  // passed through untouched
  const auto as_mu = ToG711(*alaw, G711Law::kMuLaw);
  for (std::size_t i = 0; i < codes.size(); ++i) EXPECT_EQ(as_mu[i], kALawToMuLaw[codes[i]]);

  const auto mulaw = ParseWav(Wav({.format = 7, .bits = 8}, codes));
  ASSERT_TRUE(mulaw.ok()) << mulaw.error().message;
  EXPECT_EQ(mulaw->encoding, WavEncoding::kMuLaw);
  EXPECT_EQ(ToG711(*mulaw, G711Law::kMuLaw), codes);
  const auto as_a = ToG711(*mulaw, G711Law::kALaw);
  for (std::size_t i = 0; i < codes.size(); ++i) EXPECT_EQ(as_a[i], kMuLawToALaw[codes[i]]);
}

TEST(WavReadTest, SkipsUnknownChunksAndTheirPadding) {
  const Bytes bytes = Riff({{"LIST", Bytes(7, 'x')},  // odd length: one pad byte follows
                            {"fmt ", FmtChunkBody({.fmt_extension = true})},
                            {"fact", Bytes(4, 0)},
                            {"data", Pcm({1, 2, 3})},
                            {"cue ", Bytes(3, 0)}});
  const auto audio = ParseWav(bytes);
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  EXPECT_EQ(audio->data, Pcm({1, 2, 3}));
}

TEST(WavReadTest, AcceptsDataBeforeFmt) {
  const auto audio = ParseWav(Riff({{"data", Pcm({5})}, {"fmt ", FmtChunkBody({})}}));
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  EXPECT_EQ(audio->sample_count(), 1u);
}

TEST(WavReadTest, CutsADataChunkThatClaimsMoreThanTheFile) {
  Bytes bytes = Wav({}, Pcm({1, 2, 3, 4}));
  bytes[40] = 0xFF;  // data size: 0xFFFF0008, as a writer that never patched it might leave
  bytes[41] = 0xFF;
  bytes[42] = 0xFF;
  bytes[43] = 0xFF;
  const auto audio = ParseWav(bytes);
  ASSERT_TRUE(audio.ok()) << audio.error().message;
  EXPECT_EQ(audio->data, Pcm({1, 2, 3, 4}));
}

TEST(WavReadTest, DropsATornLastSample) {
  Bytes data = Pcm({1, 2});
  data.push_back(0x7F);
  const auto audio = ParseWav(Wav({}, data));
  ASSERT_TRUE(audio.ok());
  EXPECT_EQ(audio->sample_count(), 2u);
  EXPECT_EQ(audio->data.size(), 4u);
}

TEST(WavReadTest, RefusesWhatThePromptPlayerCannotPlay) {
  ExpectInvalid(Wav({.channels = 2}, Pcm(kSamples)), "mono");
  ExpectInvalid(Wav({.rate = 16000}, Pcm(kSamples)), "8000 Hz, got 16000");
  ExpectInvalid(Wav({.rate = 44100}, Pcm(kSamples)), "44100");
  ExpectInvalid(Wav({.bits = 8}, Bytes(10, 0x80)), "16 bits");
  ExpectInvalid(Wav({.bits = 24}, Bytes(12, 0)), "got 24");
  ExpectInvalid(Wav({.format = 6, .bits = 16}, Pcm(kSamples)), "8 bits");
  ExpectInvalid(Wav({.format = 3, .bits = 32}, Bytes(8, 0)), "format tag 3");
  ExpectInvalid(Wav({.format = 0xFFFE}, Pcm(kSamples)), "EXTENSIBLE");
  ExpectInvalid(Wav({.format = 0x55}, Bytes(8, 0)), "format tag 85");  // MP3
}

TEST(WavReadTest, RefusesBrokenFiles) {
  ExpectInvalid({}, "RIFF");
  ExpectInvalid(Bytes{'R', 'I', 'F', 'F'}, "RIFF");
  Bytes rifx = Wav({}, Pcm(kSamples));
  rifx[3] = 'X';  // big-endian RIFF
  ExpectInvalid(rifx, "no RIFF header");
  Bytes avi = Wav({}, Pcm(kSamples));
  std::memcpy(avi.data() + 8, "AVI ", 4);
  ExpectInvalid(avi, "WAVE");
  ExpectInvalid(Riff({{"data", Pcm(kSamples)}}), "no fmt chunk");
  ExpectInvalid(Riff({{"fmt ", FmtChunkBody({})}}), "no data chunk");
  ExpectInvalid(Riff({{"fmt ", Bytes(12, 0)}, {"data", Pcm(kSamples)}}), "fmt chunk is too short");
  Bytes truncated = Riff({{"fmt ", FmtChunkBody({})}});
  truncated.resize(truncated.size() - 6);
  ExpectInvalid(truncated, "fmt chunk is truncated");
  const std::string text = "this is not audio at all";
  ExpectInvalid(Bytes(text.begin(), text.end()), "RIFF");
}

TEST(WavReadTest, TruncatedFilesNeverCrash) {
  const Bytes whole =
      Riff({{"LIST", Bytes(5, 1)}, {"fmt ", FmtChunkBody({})}, {"data", Pcm(kSamples)}});
  for (std::size_t n = 0; n <= whole.size(); ++n) {
    const auto audio = ParseWav(std::span(whole).first(n));
    if (audio.ok()) {
      EXPECT_LE(audio->data.size(), n);
    }
  }
}

TEST(WavFileTest, LoadsAPromptFromDisk) {
  const std::string path = TempPath("prompt.wav");
  WriteFile(path, Wav({}, Pcm(kSamples)));
  const auto payload = LoadPromptG711(path, G711Law::kALaw);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  ASSERT_EQ(payload->size(), kSamples.size());
  EXPECT_EQ((*payload)[1], ALawEncode(1000));
}

TEST(WavFileTest, MissingFileIsNotFound) {
  const auto audio = ReadWavFile(TempPath("does-not-exist.wav"));
  ASSERT_FALSE(audio.ok());
  EXPECT_EQ(audio.error().code, ErrorCode::kNotFound);
  EXPECT_NE(audio.error().message.find("does-not-exist.wav"), std::string::npos);
}

TEST(WavFileTest, ErrorsNameTheFile) {
  const std::string path = TempPath("stereo.wav");
  WriteFile(path, Wav({.channels = 2}, Pcm(kSamples)));
  const auto payload = LoadPromptG711(path, G711Law::kMuLaw);
  ASSERT_FALSE(payload.ok());
  EXPECT_EQ(payload.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(payload.error().message.find(path), std::string::npos);
  EXPECT_NE(payload.error().message.find("mono"), std::string::npos);
}

TEST(StereoWavWriterTest, WritesInterleavedStereoAndPatchesSizes) {
  const std::string path = TempPath("call.wav");
  auto writer = StereoWavWriter::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  const std::vector<std::int16_t> caller = {1, 2, 3, -4};
  const std::vector<std::int16_t> agent = {100, 200, 300, -32768};
  ASSERT_TRUE(writer->write(caller, agent).ok());
  ASSERT_TRUE(writer->write(std::span(caller).first(2), std::span(agent).first(2)).ok());
  EXPECT_EQ(writer->frames_written(), 6u);
  ASSERT_TRUE(writer->close().ok());

  const Bytes bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 44u + 6u * 4u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "RIFF");
  EXPECT_EQ(Le32At(bytes, 4), 36u + 24u);
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 16), "WAVEfmt ");
  EXPECT_EQ(Le32At(bytes, 16), 16u);
  EXPECT_EQ(SampleAt(bytes, 20), 1);     // PCM
  EXPECT_EQ(SampleAt(bytes, 22), 2);     // channels
  EXPECT_EQ(Le32At(bytes, 24), 8000u);   // sample rate
  EXPECT_EQ(Le32At(bytes, 28), 32000u);  // byte rate
  EXPECT_EQ(SampleAt(bytes, 32), 4);     // block align
  EXPECT_EQ(SampleAt(bytes, 34), 16);    // bits
  EXPECT_EQ(std::string(bytes.begin() + 36, bytes.begin() + 40), "data");
  EXPECT_EQ(Le32At(bytes, 40), 24u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(SampleAt(bytes, 44 + 4 * i), caller[i]) << i;     // left
    EXPECT_EQ(SampleAt(bytes, 44 + 4 * i + 2), agent[i]) << i;  // right
  }
  EXPECT_EQ(SampleAt(bytes, 44 + 16), 1);
  EXPECT_EQ(SampleAt(bytes, 44 + 22), 200);
}

TEST(StereoWavWriterTest, PadsTheShorterSideWithSilence) {
  const std::string path = TempPath("uneven.wav");
  auto writer = StereoWavWriter::Open(path);
  ASSERT_TRUE(writer.ok());
  const std::vector<std::int16_t> caller = {7, 7, 7};
  ASSERT_TRUE(writer->write(caller, {}).ok());
  ASSERT_TRUE(writer->close().ok());
  const Bytes bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 44u + 12u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(SampleAt(bytes, 44 + 4 * i), 7);
    EXPECT_EQ(SampleAt(bytes, 44 + 4 * i + 2), 0);
  }
}

TEST(StereoWavWriterTest, DestructorFinishesTheFile) {
  const std::string path = TempPath("dropped.wav");
  {
    auto writer = StereoWavWriter::Open(path);
    ASSERT_TRUE(writer.ok());
    const std::vector<std::int16_t> side(160, 5);
    ASSERT_TRUE(writer->write(side, side).ok());
  }
  const Bytes bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 44u + 640u);
  EXPECT_EQ(Le32At(bytes, 4), 36u + 640u);
  EXPECT_EQ(Le32At(bytes, 40), 640u);
}

TEST(StereoWavWriterTest, EmptyRecordingIsAValidFile) {
  const std::string path = TempPath("empty.wav");
  auto writer = StereoWavWriter::Open(path);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->close().ok());
  const Bytes bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 44u);
  EXPECT_EQ(Le32At(bytes, 4), 36u);
  EXPECT_EQ(Le32At(bytes, 40), 0u);
}

TEST(StereoWavWriterTest, WritingAfterCloseFails) {
  auto writer = StereoWavWriter::Open(TempPath("closed.wav"));
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(writer->close().ok());
  const std::vector<std::int16_t> side(4, 1);
  const Status st = writer->write(side, side);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(writer->close().ok());  // closing twice is harmless
}

TEST(StereoWavWriterTest, MovedWriterKeepsRecording) {
  const std::string path = TempPath("moved.wav");
  auto opened = StereoWavWriter::Open(path);
  ASSERT_TRUE(opened.ok());
  StereoWavWriter writer = std::move(opened).value();
  const std::vector<std::int16_t> side(2, 3);
  ASSERT_TRUE(writer.write(side, side).ok());
  StereoWavWriter other = std::move(writer);
  ASSERT_TRUE(other.write(side, side).ok());
  ASSERT_TRUE(other.close().ok());
  EXPECT_EQ(ReadFile(path).size(), 44u + 16u);
}

TEST(StereoWavWriterTest, UnwritablePathIsAnError) {
  const auto writer = StereoWavWriter::Open(TempPath("no-such-dir/x.wav"));
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message.find("no-such-dir"), std::string::npos);
}

}  // namespace
}  // namespace cc::relay
