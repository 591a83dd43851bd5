#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "media_relay/g711.h"

namespace cc::relay {
namespace {

TEST(G711Test, MuLawKnownValues) {
  EXPECT_EQ(MuLawDecode(0xFF), 0);
  EXPECT_EQ(MuLawDecode(0x7F), 0);  // "negative zero"
  EXPECT_EQ(MuLawDecode(0x80), 32124);
  EXPECT_EQ(MuLawDecode(0x00), -32124);
  EXPECT_EQ(MuLawDecode(0xFE), 8);
  EXPECT_EQ(MuLawDecode(0x7E), -8);
  EXPECT_EQ(MuLawEncode(0), 0xFF);
  EXPECT_EQ(MuLawEncode(32767), 0x80);
  EXPECT_EQ(MuLawEncode(-32768), 0x00);
  EXPECT_EQ(MuLawEncode(-8), 0x7E);
  EXPECT_EQ(kMuLawSilence, MuLawEncode(0));
}

TEST(G711Test, ALawKnownValues) {
  EXPECT_EQ(ALawDecode(0xD5), 8);
  EXPECT_EQ(ALawDecode(0x55), -8);
  EXPECT_EQ(ALawDecode(0xAA), 32256);
  EXPECT_EQ(ALawDecode(0x2A), -32256);
  EXPECT_EQ(ALawEncode(0), 0xD5);
  EXPECT_EQ(ALawEncode(-1), 0x55);
  EXPECT_EQ(ALawEncode(32767), 0xAA);
  EXPECT_EQ(ALawEncode(-32768), 0x2A);
  EXPECT_EQ(kALawSilence, ALawEncode(0));
}

TEST(G711Test, EveryMuLawCodeRoundTripsThroughLinear) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<std::uint8_t>(c);
    const std::uint8_t expected = code == 0x7F ? 0xFF : code;  // both zeros encode as +0
    EXPECT_EQ(MuLawEncode(MuLawDecode(code)), expected) << c;
  }
}

TEST(G711Test, EveryALawCodeRoundTripsThroughLinear) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<std::uint8_t>(c);
    EXPECT_EQ(ALawEncode(ALawDecode(code)), code) << c;
  }
}

// Quantisation error stays within half a step of the segment the value falls in.
TEST(G711Test, EncodingEveryLinearValueStaysClose) {
  for (int x = -32768; x <= 32767; ++x) {
    const auto s = static_cast<std::int16_t>(x);
    const int bound = std::max(16, std::abs(x) / 16);
    ASSERT_LE(std::abs(MuLawDecode(MuLawEncode(s)) - x), bound) << x;
    ASSERT_LE(std::abs(ALawDecode(ALawEncode(s)) - x), bound) << x;
  }
}

TEST(G711Test, EncodingIsMonotonic) {
  int previous_mu = MuLawDecode(MuLawEncode(-32768));
  int previous_a = ALawDecode(ALawEncode(-32768));
  for (int x = -32767; x <= 32767; ++x) {
    const auto s = static_cast<std::int16_t>(x);
    const int mu = MuLawDecode(MuLawEncode(s));
    const int a = ALawDecode(ALawEncode(s));
    ASSERT_GE(mu, previous_mu) << x;
    ASSERT_GE(a, previous_a) << x;
    previous_mu = mu;
    previous_a = a;
  }
}

TEST(G711Test, TranslationTablesMatchDecodeThenEncode) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<std::uint8_t>(c);
    EXPECT_EQ(kMuLawToALaw[code], ALawEncode(MuLawDecode(code))) << c;
    EXPECT_EQ(kALawToMuLaw[code], MuLawEncode(ALawDecode(code))) << c;
  }
  EXPECT_EQ(kMuLawToALaw[kMuLawSilence], kALawSilence);
  EXPECT_EQ(kALawToMuLaw[kALawSilence], 0xFE);  // A-law's +8 is mu-law's +8
}

TEST(G711Test, TranslationKeepsTheSoundClose) {
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<std::uint8_t>(c);
    const int mu = MuLawDecode(code);
    const int bound = std::max(16, std::abs(mu) / 16);
    EXPECT_LE(std::abs(ALawDecode(kMuLawToALaw[code]) - mu), bound) << c;
    const int a = ALawDecode(code);
    EXPECT_LE(std::abs(MuLawDecode(kALawToMuLaw[code]) - a), std::max(16, std::abs(a) / 16)) << c;
    // There and back lands within one step of where it started.
    EXPECT_LE(std::abs(MuLawDecode(kALawToMuLaw[kMuLawToALaw[code]]) - mu), bound) << c;
  }
}

TEST(G711Test, BufferFormsMatchTheScalarOnes) {
  const std::vector<std::int16_t> linear = {0, 1, -1, 1000, -1000, 32767, -32768, 12345};
  std::vector<std::uint8_t> mu(linear.size());
  std::vector<std::uint8_t> a(linear.size());
  EncodeG711(G711Law::kMuLaw, linear, mu);
  EncodeG711(G711Law::kALaw, linear, a);
  std::vector<std::int16_t> decoded(linear.size());
  DecodeG711(G711Law::kALaw, a, decoded);
  for (std::size_t i = 0; i < linear.size(); ++i) {
    EXPECT_EQ(mu[i], MuLawEncode(linear[i]));
    EXPECT_EQ(a[i], ALawEncode(linear[i]));
    EXPECT_EQ(decoded[i], ALawDecode(a[i]));
  }
  std::vector<std::uint8_t> transcoded = mu;
  TranscodeG711(G711Law::kMuLaw, G711Law::kALaw, transcoded);
  for (std::size_t i = 0; i < mu.size(); ++i) EXPECT_EQ(transcoded[i], kMuLawToALaw[mu[i]]);
  TranscodeG711(G711Law::kALaw, G711Law::kALaw, transcoded);  // same law: untouched
  for (std::size_t i = 0; i < mu.size(); ++i) EXPECT_EQ(transcoded[i], kMuLawToALaw[mu[i]]);
}

TEST(G711Test, BufferFormsStopAtTheShorterSpan) {
  const std::vector<std::uint8_t> in = {0xFF, 0x00, 0x80};
  std::vector<std::int16_t> out(2, 99);
  DecodeG711(G711Law::kMuLaw, in, out);
  EXPECT_EQ(out, (std::vector<std::int16_t>{0, -32124}));
}

TEST(G711Test, PayloadTypesAndSilence) {
  EXPECT_EQ(StaticPayloadType(G711Law::kMuLaw), 0);
  EXPECT_EQ(StaticPayloadType(G711Law::kALaw), 8);
  EXPECT_EQ(SilenceByte(G711Law::kMuLaw), 0xFF);
  EXPECT_EQ(SilenceByte(G711Law::kALaw), 0xD5);
}

}  // namespace
}  // namespace cc::relay
