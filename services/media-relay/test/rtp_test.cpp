#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "media_relay/rtp.h"

namespace cc::relay {
namespace {

using std::chrono::milliseconds;

std::vector<std::uint8_t> Packet(std::initializer_list<std::uint8_t> header,
                                 std::size_t payload_size = 0, std::uint8_t fill = 0xAB) {
  std::vector<std::uint8_t> p(header);
  p.resize(p.size() + payload_size, fill);
  return p;
}

// V=2, PT 0, seq 0x1234, ts 0x00ABCDEF, SSRC 0xDEADBEEF.
constexpr std::array<std::uint8_t, 12> kPlainHeader = {0x80, 0x00, 0x12, 0x34, 0x00, 0xAB,
                                                       0xCD, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF};

std::vector<std::uint8_t> PlainPacket(std::size_t payload_size) {
  std::vector<std::uint8_t> p(kPlainHeader.begin(), kPlainHeader.end());
  p.resize(p.size() + payload_size, 0xAB);
  return p;
}

TEST(RtpParseTest, ReadsFixedHeaderAndPayload) {
  const auto bytes = PlainPacket(160);
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok()) << ToString(packet.error());
  EXPECT_FALSE(packet->header.padding);
  EXPECT_FALSE(packet->header.extension);
  EXPECT_EQ(packet->header.csrc_count, 0);
  EXPECT_FALSE(packet->header.marker);
  EXPECT_EQ(packet->header.payload_type, 0);
  EXPECT_EQ(packet->header.sequence, 0x1234);
  EXPECT_EQ(packet->header.timestamp, 0x00ABCDEFu);
  EXPECT_EQ(packet->header.ssrc, 0xDEADBEEFu);
  EXPECT_EQ(packet->payload.size(), 160u);
  EXPECT_EQ(packet->payload.data(), bytes.data() + 12);  // a view, not a copy
  EXPECT_EQ(packet->padding_size, 0);
}

TEST(RtpParseTest, ReadsMarkerAndPayloadType) {
  auto bytes = PlainPacket(4);
  bytes[1] = 0x80 | 101;
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->header.marker);
  EXPECT_EQ(packet->header.payload_type, 101);
}

TEST(RtpParseTest, HeaderOnlyPacketHasEmptyPayload) {
  const auto packet = ParseRtp(PlainPacket(0));
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->payload.empty());
}

TEST(RtpParseTest, RefusesShortPackets) {
  for (std::size_t n = 0; n < 12; ++n) {
    const auto bytes = PlainPacket(0);
    const auto packet = ParseRtp(std::span(bytes).first(n));
    ASSERT_FALSE(packet.ok()) << n;
    EXPECT_EQ(packet.error(), PacketError::kTooShort) << n;
  }
}

TEST(RtpParseTest, RefusesOtherVersions) {
  for (std::uint8_t first : {0x00, 0x40, 0xC0}) {
    auto bytes = PlainPacket(10);
    bytes[0] = first;
    const auto packet = ParseRtp(bytes);
    ASSERT_FALSE(packet.ok());
    EXPECT_EQ(packet.error(), PacketError::kBadVersion);
  }
}

TEST(RtpParseTest, ReadsCsrcList) {
  const auto bytes =
      Packet({0x82, 0x08, 0,    1,    0,    0,    0,    2,    0,    0,   0, 3,  // CC = 2
              0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xAA, 0xBB});
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->header.csrc_count, 2);
  EXPECT_EQ(packet->csrc(0), 0x11223344u);
  EXPECT_EQ(packet->csrc(1), 0x55667788u);
  ASSERT_EQ(packet->payload.size(), 2u);
  EXPECT_EQ(packet->payload[0], 0xAA);
}

TEST(RtpParseTest, RefusesCsrcCountPastTheEnd) {
  const auto bytes =
      Packet({0x83, 0x08, 0,    1,    0,    0,    0,    2,   0, 0, 0, 3,  // CC = 3, only 2 present
              0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88});
  const auto packet = ParseRtp(bytes);
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kTruncatedCsrc);
}

TEST(RtpParseTest, ReadsHeaderExtension) {
  const auto bytes = Packet({0x90, 0x00, 0,    1,    0, 0, 0, 2, 0, 0, 0, 3,  // X = 1
                             0xBE, 0xDE, 0x00, 0x01,                          // profile, 1 word
                             0x10, 0x20, 0x30, 0x40,                          // extension data
                             0x99});                                          // payload
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->header.extension);
  EXPECT_EQ(packet->extension_profile, 0xBEDE);
  ASSERT_EQ(packet->extension.size(), 4u);
  EXPECT_EQ(packet->extension[3], 0x40);
  ASSERT_EQ(packet->payload.size(), 1u);
  EXPECT_EQ(packet->payload[0], 0x99);
}

TEST(RtpParseTest, RefusesTruncatedExtension) {
  // The extension header itself is missing.
  auto packet = ParseRtp(Packet({0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE}));
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kTruncatedExtension);
  // Its length claims 2 words, 1 is present.
  packet = ParseRtp(
      Packet({0x90, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0x00, 0x02, 1, 2, 3, 4}));
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kTruncatedExtension);
}

TEST(RtpParseTest, StripsPadding) {
  auto bytes = PlainPacket(8);
  bytes[0] |= 0x20;
  bytes.back() = 3;  // 2 padding bytes plus the count
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->header.padding);
  EXPECT_EQ(packet->padding_size, 3);
  EXPECT_EQ(packet->payload.size(), 5u);
}

TEST(RtpParseTest, PaddingMayFillTheWholeBody) {
  auto bytes = PlainPacket(4);
  bytes[0] |= 0x20;
  bytes.back() = 4;
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->payload.empty());
}

TEST(RtpParseTest, RefusesBadPadding) {
  auto bytes = PlainPacket(4);
  bytes[0] |= 0x20;
  bytes.back() = 0;  // the count includes itself: never 0
  auto packet = ParseRtp(bytes);
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kBadPadding);
  bytes.back() = 5;  // longer than the body
  packet = ParseRtp(bytes);
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kBadPadding);
  // Padding flag on a packet with no body at all.
  auto empty = PlainPacket(0);
  empty[0] |= 0x20;
  packet = ParseRtp(empty);
  ASSERT_FALSE(packet.ok());
  EXPECT_EQ(packet.error(), PacketError::kBadPadding);
}

TEST(RtpParseTest, ErrorsHaveNames) {
  EXPECT_STREQ(ToString(PacketError::kTooShort), "packet too short");
  EXPECT_STREQ(ToString(PacketError::kBadVersion), "not RTP version 2");
}

TEST(RtpParseTest, RandomBytesNeverReadOutOfBounds) {
  std::mt19937 rng(42);
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < 20000; ++i) {
    bytes.resize(rng() % 80);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    if (!bytes.empty() && rng() % 2) bytes[0] = static_cast<std::uint8_t>(0x80 | (bytes[0] & 0x3F));
    const auto packet = ParseRtp(bytes);
    if (!packet.ok()) continue;
    const auto* begin = bytes.data();
    const auto* end = bytes.data() + bytes.size();
    EXPECT_GE(packet->payload.data(), begin);
    EXPECT_LE(packet->payload.data() + packet->payload.size(), end);
    EXPECT_EQ(packet->csrcs.size(), 4u * packet->header.csrc_count);
  }
}

TEST(RtpWriteTest, RoundTripsThroughParse) {
  RtpHeader h;
  h.marker = true;
  h.payload_type = 8;
  h.sequence = 65535;
  h.timestamp = 0xFFFFFFF0;
  h.ssrc = 0x01020304;
  h.csrc_count = 2;
  const std::array<std::uint32_t, 2> csrcs = {0xAAAAAAAA, 0xBBBBBBBB};
  const std::array<std::uint8_t, 3> payload = {1, 2, 3};
  std::array<std::uint8_t, 64> out{};
  const std::size_t n = WriteRtp(h, payload, out, csrcs);
  ASSERT_EQ(n, 12u + 8u + 3u);
  const auto packet = ParseRtp(std::span(out).first(n));
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(packet->header, h);
  EXPECT_EQ(packet->csrc(1), 0xBBBBBBBBu);
  ASSERT_EQ(packet->payload.size(), 3u);
  EXPECT_EQ(packet->payload[2], 3);
}

TEST(RtpWriteTest, WritesExactBytes) {
  RtpHeader h;
  h.payload_type = 0;
  h.sequence = 0x1234;
  h.timestamp = 0x00ABCDEF;
  h.ssrc = 0xDEADBEEF;
  std::array<std::uint8_t, 12> out{};
  ASSERT_EQ(WriteRtp(h, {}, out), 12u);
  EXPECT_EQ(out, kPlainHeader);
}

TEST(RtpWriteTest, RefusesSmallBufferAndInconsistentCsrcs) {
  RtpHeader h;
  const std::array<std::uint8_t, 160> payload{};
  std::array<std::uint8_t, 171> small{};
  EXPECT_EQ(WriteRtp(h, payload, small), 0u);
  std::array<std::uint8_t, 172> exact{};
  EXPECT_EQ(WriteRtp(h, payload, exact), 172u);
  h.csrc_count = 1;  // but no CSRC given
  EXPECT_EQ(WriteRtp(h, payload, exact), 0u);
}

TEST(RtpWriteTest, RewriteKeepsEverythingButTheIdentity) {
  auto bytes = Packet({0x92, 0x00, 0,    1,    0, 0, 0, 2, 0, 0, 0, 3,  // X = 1, CC = 2
                       1,    1,    1,    1,    2, 2, 2, 2,              // CSRCs
                       0xBE, 0xDE, 0x00, 0x01, 9, 9, 9, 9,              // extension
                       0x55, 0x66});
  const auto before = bytes;
  RtpHeader h;
  h.marker = true;
  h.payload_type = 101;
  h.sequence = 7;
  h.timestamp = 8;
  h.ssrc = 9;
  ASSERT_TRUE(RewriteRtpHeader(bytes, h));
  const auto packet = ParseRtp(bytes);
  ASSERT_TRUE(packet.ok());
  EXPECT_TRUE(packet->header.marker);
  EXPECT_EQ(packet->header.payload_type, 101);
  EXPECT_EQ(packet->header.sequence, 7);
  EXPECT_EQ(packet->header.timestamp, 8u);
  EXPECT_EQ(packet->header.ssrc, 9u);
  EXPECT_EQ(packet->header.csrc_count, 2);
  EXPECT_TRUE(packet->header.extension);
  EXPECT_EQ(bytes[0], before[0]);
  EXPECT_TRUE(std::equal(bytes.begin() + 12, bytes.end(), before.begin() + 12));
  std::array<std::uint8_t, 11> short_packet{};
  EXPECT_FALSE(RewriteRtpHeader(short_packet, h));
}

std::vector<std::uint8_t> Rtcp(std::uint8_t first, std::uint8_t type, std::size_t size = 8) {
  std::vector<std::uint8_t> p(size, 0);
  p[0] = first;
  p[1] = type;
  return p;
}

TEST(RtcpTest, RecognisesRtcpPacketTypes) {
  for (std::uint8_t type : {200, 201, 202, 203, 204}) {
    EXPECT_TRUE(IsRtcp(Rtcp(0x80, type))) << int{type};
    EXPECT_TRUE(IsRtcp(Rtcp(0x81, type, 32))) << int{type};
  }
}

TEST(RtcpTest, RtpIsNotRtcp) {
  EXPECT_FALSE(IsRtcp(PlainPacket(160)));
  for (std::uint8_t second : {0x00, 0x80, 0x08, 0x88, 0x65, 0xE5}) {  // PCMU, PCMA, DTMF, +marker
    EXPECT_FALSE(IsRtcp(Rtcp(0x80, second, 172))) << int{second};
  }
  EXPECT_FALSE(IsRtcp(Rtcp(0x80, 199)));
  EXPECT_FALSE(IsRtcp(Rtcp(0x80, 205)));
  EXPECT_FALSE(IsRtcp(Rtcp(0x40, 200)));     // version 1
  EXPECT_FALSE(IsRtcp(Rtcp(0x80, 200, 7)));  // shorter than header + SSRC
}

// A sender of 20 ms PCMU packets.
struct Source {
  std::uint32_t ssrc;
  std::uint16_t sequence;
  std::uint32_t timestamp;
  std::uint32_t step = 160;
  RtpHeader next() {
    RtpHeader h;
    h.ssrc = ssrc;
    h.sequence = sequence++;
    h.timestamp = timestamp;
    timestamp += step;
    return h;
  }
};

class SequenceRewriterTest : public ::testing::Test {
 protected:
  RtpHeader Send(Source& source, int gap_ms = 20) {
    clock_.advance(milliseconds(gap_ms));
    auto out = rewriter_.rewrite(source.next(), clock_.now());
    EXPECT_TRUE(out.has_value());
    return out.value_or(RtpHeader{});
  }
  static std::int32_t TsDelta(const RtpHeader& a, const RtpHeader& b) {
    return static_cast<std::int32_t>(b.timestamp - a.timestamp);
  }
  static std::uint16_t SeqDelta(const RtpHeader& a, const RtpHeader& b) {
    return static_cast<std::uint16_t>(b.sequence - a.sequence);
  }

  SimulatedClock clock_;
  SequenceRewriter rewriter_{0x5EED, 1000, 50000};
};

TEST_F(SequenceRewriterTest, FirstSourceStartsAtTheConfiguredNumbers) {
  Source prompt{0x1111, 7, 123};
  const RtpHeader first = Send(prompt);
  EXPECT_EQ(first.ssrc, 0x5EEDu);
  EXPECT_EQ(first.sequence, 1000);
  EXPECT_EQ(first.timestamp, 50000u);
  EXPECT_TRUE(first.marker);
  const RtpHeader second = Send(prompt);
  EXPECT_EQ(second.sequence, 1001);
  EXPECT_EQ(second.timestamp, 50160u);
  EXPECT_FALSE(second.marker);
}

TEST_F(SequenceRewriterTest, StaysMonotonicAcrossTwoSourceSwitches) {
  Source prompt{0x1111, 100, 1000};
  Source caller{0x2222, 40000, 123456789};
  Source music{0x3333, 65530, 0xFFFFFF00};  // both of its counters wrap soon
  std::vector<RtpHeader> out;
  for (int i = 0; i < 10; ++i) out.push_back(Send(prompt));
  for (int i = 0; i < 10; ++i) out.push_back(Send(caller));
  for (int i = 0; i < 10; ++i) out.push_back(Send(music));
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(SeqDelta(out[i - 1], out[i]), 1) << i;
    EXPECT_EQ(TsDelta(out[i - 1], out[i]), 160) << i;
    EXPECT_EQ(out[i].ssrc, 0x5EEDu);
    EXPECT_EQ(out[i].marker, i == 10 || i == 20) << i;
  }
}

TEST_F(SequenceRewriterTest, TimestampsFollowWallTimeAcrossASilentSwitch) {
  Source prompt{0x1111, 100, 1000};
  Source caller{0x2222, 9, 777};
  const RtpHeader last_prompt = Send(prompt);
  const RtpHeader first_caller = Send(caller, 1000);  // one second without packets
  EXPECT_EQ(SeqDelta(last_prompt, first_caller), 1);
  EXPECT_EQ(TsDelta(last_prompt, first_caller), 8000);
  EXPECT_TRUE(first_caller.marker);
}

TEST_F(SequenceRewriterTest, ASwitchSoonerThanOneFrameStillAdvancesAFrame) {
  Source prompt{0x1111, 100, 1000};
  Source caller{0x2222, 9, 777};
  const RtpHeader last_prompt = Send(prompt);
  const RtpHeader first_caller = Send(caller, 5);
  EXPECT_EQ(TsDelta(last_prompt, first_caller), 160);
}

TEST_F(SequenceRewriterTest, LearnsTheFrameLengthOfTheSource) {
  Source caller{0x2222, 9, 777, 240};  // 30 ms packets
  Source music{0x3333, 1, 1};
  Send(caller, 30);
  const RtpHeader last = Send(caller, 30);
  const RtpHeader next = Send(music, 1);
  EXPECT_EQ(TsDelta(last, next), 240);
}

TEST_F(SequenceRewriterTest, FollowsSequenceWraparoundWithinASource) {
  Source caller{0x2222, 65533, 0};
  std::vector<RtpHeader> out;
  for (int i = 0; i < 6; ++i) out.push_back(Send(caller));  // 65533 .. 2
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_EQ(SeqDelta(out[i - 1], out[i]), 1) << i;
    EXPECT_FALSE(out[i].marker) << "the wrap is not a new source";
  }
}

TEST_F(SequenceRewriterTest, OutputSequenceWrapsAround) {
  SequenceRewriter rewriter(1, 65534, 0);
  Source caller{0x2222, 10, 0};
  std::vector<std::uint16_t> seqs;
  for (int i = 0; i < 4; ++i)
    seqs.push_back(rewriter.rewrite(caller.next(), clock_.now())->sequence);
  EXPECT_EQ(seqs, (std::vector<std::uint16_t>{65534, 65535, 0, 1}));
}

TEST_F(SequenceRewriterTest, KeepsALossVisible) {
  Source caller{0x2222, 10, 0};
  const RtpHeader a = Send(caller);
  caller.next();  // lost on the way
  const RtpHeader c = Send(caller, 40);
  EXPECT_EQ(SeqDelta(a, c), 2);
  EXPECT_EQ(TsDelta(a, c), 320);
}

TEST_F(SequenceRewriterTest, MapsAReorderedPacketToItsPlace) {
  Source caller{0x2222, 10, 0};
  const RtpHeader a = Send(caller);
  const RtpHeader late_in = caller.next();
  const RtpHeader c = Send(caller, 40);
  const auto late = rewriter_.rewrite(late_in, clock_.now());
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(SeqDelta(a, *late), 1);
  EXPECT_EQ(TsDelta(a, *late), 160);
  EXPECT_FALSE(late->marker);
  const RtpHeader d = Send(caller);  // the late one did not disturb what follows
  EXPECT_EQ(SeqDelta(c, d), 1);
}

TEST_F(SequenceRewriterTest, DropsALatePacketFromBeforeTheSourceStarted) {
  Source prompt{0x1111, 100, 1000};
  Source caller{0x2222, 500, 0};
  Send(prompt);
  const RtpHeader early = caller.next();  // arrives after its successor
  Send(caller);
  EXPECT_FALSE(rewriter_.rewrite(early, clock_.now()).has_value());
}

TEST_F(SequenceRewriterTest, ARestartedSenderWithTheSameSsrcIsANewSource) {
  Source caller{0x2222, 100, 1000};
  const RtpHeader a = Send(caller);
  Source restarted{0x2222, 30000, 5};
  const RtpHeader b = Send(restarted);
  EXPECT_EQ(SeqDelta(a, b), 1);
  EXPECT_EQ(TsDelta(a, b), 160);
  EXPECT_TRUE(b.marker);
}

TEST_F(SequenceRewriterTest, ResetSourceStartsOverOnTheNextPacket) {
  Source caller{0x2222, 100, 1000};
  const RtpHeader a = Send(caller);
  rewriter_.reset_source();
  caller.timestamp += 80000;  // e.g. after a re-INVITE the sender's clock jumped
  const RtpHeader b = Send(caller);
  EXPECT_EQ(SeqDelta(a, b), 1);
  EXPECT_EQ(TsDelta(a, b), 160);
  EXPECT_TRUE(b.marker);
}

TEST_F(SequenceRewriterTest, LongSourcesKeepFlowing) {
  Source caller{0x2222, 0, 0};
  std::uint16_t expected = 1000;
  for (int i = 0; i < 70000; ++i) {  // longer than half the sequence space
    const auto out = rewriter_.rewrite(caller.next(), clock_.now());
    ASSERT_TRUE(out.has_value()) << i;
    ASSERT_EQ(out->sequence, expected++) << i;
  }
}

}  // namespace
}  // namespace cc::relay
