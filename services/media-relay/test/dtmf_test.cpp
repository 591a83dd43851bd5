#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "media_relay/dtmf.h"

namespace cc::relay {
namespace {

TEST(TelephoneEventTest, ParsesPayload) {
  const std::array<std::uint8_t, 4> payload = {0x05, 0x8A, 0x03, 0x20};
  const auto event = ParseTelephoneEvent(payload);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->event, 5);
  EXPECT_TRUE(event->end);
  EXPECT_EQ(event->volume, 10);
  EXPECT_EQ(event->duration, 800);
}

TEST(TelephoneEventTest, IgnoresTheReservedBit) {
  const std::array<std::uint8_t, 4> payload = {0x0B, 0x40 | 0x3F, 0xFF, 0xFF};
  const auto event = ParseTelephoneEvent(payload);
  ASSERT_TRUE(event.ok());
  EXPECT_FALSE(event->end);
  EXPECT_EQ(event->volume, 63);
  EXPECT_EQ(event->duration, 0xFFFF);
}

TEST(TelephoneEventTest, RefusesShortPayload) {
  const std::array<std::uint8_t, 3> payload = {0x05, 0x8A, 0x03};
  const auto event = ParseTelephoneEvent(payload);
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.error(), PacketError::kTooShort);
  EXPECT_FALSE(ParseTelephoneEvent({}).ok());
}

TEST(TelephoneEventTest, WriteRoundTrips) {
  const TelephoneEvent e{11, true, 7, 1280};
  std::array<std::uint8_t, 4> out{};
  ASSERT_EQ(WriteTelephoneEvent(e, out), 4u);
  EXPECT_EQ(out, (std::array<std::uint8_t, 4>{0x0B, 0x87, 0x05, 0x00}));
  EXPECT_EQ(*ParseTelephoneEvent(out), e);
  std::array<std::uint8_t, 3> small{};
  EXPECT_EQ(WriteTelephoneEvent(e, small), 0u);
}

TEST(TelephoneEventTest, MapsEventCodesToDigits) {
  std::string digits;
  for (std::uint8_t e = 0; e < 16; ++e) digits += DtmfDigit(e);
  EXPECT_EQ(digits, "0123456789*#ABCD");
  EXPECT_EQ(DtmfDigit(16), '\0');  // flash
  EXPECT_EQ(DtmfDigit(255), '\0');
  for (std::uint8_t e = 0; e < 16; ++e) EXPECT_EQ(DtmfEventCode(DtmfDigit(e)), e);
  EXPECT_EQ(DtmfEventCode('a'), 12);
  EXPECT_EQ(DtmfEventCode('x'), std::nullopt);
}

// Feeds the packets an RFC 4733 sender produces for a key press.
class DtmfDetectorTest : public ::testing::Test {
 protected:
  // Packets every 20 ms (160 samples) from `first` to `last` duration, without the end bit.
  std::vector<DtmfPress> Progress(std::uint32_t ts, std::uint8_t event, std::uint16_t first,
                                  std::uint16_t last) {
    std::vector<DtmfPress> out;
    for (std::uint32_t d = first; d <= last; d += 160) {
      Collect(out, detector_.on_event(ts, {event, false, 10, static_cast<std::uint16_t>(d)}));
    }
    return out;
  }
  // The three redundant end packets.
  std::vector<DtmfPress> End(std::uint32_t ts, std::uint8_t event, std::uint16_t duration) {
    std::vector<DtmfPress> out;
    for (int i = 0; i < 3; ++i) Collect(out, detector_.on_event(ts, {event, true, 10, duration}));
    return out;
  }
  std::vector<DtmfPress> Press(std::uint32_t ts, std::uint8_t event, std::uint16_t duration) {
    auto out = Progress(ts, event, 160, duration);
    auto end = End(ts, event, duration);
    out.insert(out.end(), end.begin(), end.end());
    return out;
  }
  static void Collect(std::vector<DtmfPress>& out, const DtmfPresses& presses) {
    for (const DtmfPress& p : presses) out.push_back(p);
  }

  DtmfDetector detector_;
};

TEST_F(DtmfDetectorTest, OneKeyPressIsReportedOnceAtItsEnd) {
  auto during = Progress(1000, 5, 160, 1120);
  EXPECT_TRUE(during.empty());
  const DtmfPresses first_end = detector_.on_event(1000, {5, true, 10, 1280});
  ASSERT_EQ(first_end.size(), 1u);
  EXPECT_EQ(first_end[0].digit, '5');
  EXPECT_EQ(first_end[0].duration_ms, 160u);
  EXPECT_EQ(first_end[0].rtp_timestamp, 1000u);
  EXPECT_EQ(first_end[0].volume, 10);
  EXPECT_TRUE(first_end[0].end_seen);
  EXPECT_TRUE(detector_.on_event(1000, {5, true, 10, 1280}).empty());  // 2nd redundant end
  EXPECT_TRUE(detector_.on_event(1000, {5, true, 10, 1280}).empty());  // 3rd
  EXPECT_FALSE(detector_.flush().has_value());
}

TEST_F(DtmfDetectorTest, RetransmittedStartsDoNotMakeMorePresses) {
  std::vector<DtmfPress> out;
  for (int i = 0; i < 3; ++i) Collect(out, detector_.on_event(2000, {11, false, 10, 0}));
  auto rest = Press(2000, 11, 800);
  out.insert(out.end(), rest.begin(), rest.end());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].digit, '#');
  EXPECT_EQ(out[0].duration_ms, 100u);
}

TEST_F(DtmfDetectorTest, TheSameDigitTwiceIsTwoPresses) {
  auto first = Press(1000, 5, 800);
  auto second = Press(3000, 5, 800);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].rtp_timestamp, 1000u);
  EXPECT_EQ(second[0].rtp_timestamp, 3000u);
}

TEST_F(DtmfDetectorTest, APressWhoseStartWasLostIsReportedFromItsEndPackets) {
  auto first = Press(1000, 1, 800);
  auto second = End(5000, 2, 960);  // nothing but the end packets arrived
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].digit, '2');
  EXPECT_EQ(second[0].duration_ms, 120u);
  EXPECT_TRUE(second[0].end_seen);
}

TEST_F(DtmfDetectorTest, APressWhoseEndWasLostIsReportedWhenTheNextStarts) {
  EXPECT_TRUE(Progress(1000, 1, 160, 640).empty());  // end packets lost
  const DtmfPresses next = detector_.on_event(5000, {2, false, 10, 160});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].digit, '1');
  EXPECT_EQ(next[0].duration_ms, 80u);  // the longest duration seen
  EXPECT_FALSE(next[0].end_seen);
  auto rest = End(5000, 2, 800);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].digit, '2');
}

TEST_F(DtmfDetectorTest, LostEndThenLostStartGivesBothPressesInOrder) {
  Progress(1000, 3, 160, 480);
  const DtmfPresses both = detector_.on_event(5000, {4, true, 10, 800});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].digit, '3');
  EXPECT_FALSE(both[0].end_seen);
  EXPECT_EQ(both[1].digit, '4');
  EXPECT_TRUE(both[1].end_seen);
  EXPECT_TRUE(End(5000, 4, 800).empty());
}

TEST_F(DtmfDetectorTest, LatePacketsOfAnEarlierPressAreIgnored) {
  Press(1000, 1, 800);
  Press(5000, 2, 800);
  EXPECT_TRUE(detector_.on_event(1000, {1, true, 10, 800}).empty());
  EXPECT_TRUE(detector_.on_event(1000, {1, false, 10, 160}).empty());
  EXPECT_FALSE(detector_.flush().has_value());
}

TEST_F(DtmfDetectorTest, APacketOlderThanThePressInProgressIsIgnored) {
  Progress(5000, 2, 160, 320);
  EXPECT_TRUE(detector_.on_event(1000, {1, true, 10, 800}).empty());
  const auto pending = detector_.flush();
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->digit, '2');
}

TEST_F(DtmfDetectorTest, ReorderedProgressKeepsTheLongestDuration) {
  detector_.on_event(1000, {7, false, 10, 480});
  detector_.on_event(1000, {7, false, 10, 320});  // arrived late
  const auto press = detector_.flush();
  ASSERT_TRUE(press.has_value());
  EXPECT_EQ(press->duration_ms, 60u);
}

TEST_F(DtmfDetectorTest, FlushReportsAnUnfinishedPressOnce) {
  Progress(1000, 9, 160, 800);
  const auto press = detector_.flush();
  ASSERT_TRUE(press.has_value());
  EXPECT_EQ(press->digit, '9');
  EXPECT_EQ(press->duration_ms, 100u);
  EXPECT_FALSE(press->end_seen);
  EXPECT_FALSE(detector_.flush().has_value());
  EXPECT_TRUE(End(1000, 9, 960).empty());  // its end packets, arriving after all
}

TEST_F(DtmfDetectorTest, IgnoresEventsThatAreNotDigits) {
  EXPECT_TRUE(Press(1000, 16, 800).empty());  // flash
  EXPECT_FALSE(detector_.flush().has_value());
  auto press = Press(3000, 0, 800);
  ASSERT_EQ(press.size(), 1u);
  EXPECT_EQ(press[0].digit, '0');
}

TEST_F(DtmfDetectorTest, EveryDigitIsRecognised) {
  std::string digits;
  for (std::uint8_t e = 0; e < 16; ++e) {
    for (const DtmfPress& p : Press(1000 + 2000u * e, e, 640)) digits += p.digit;
  }
  EXPECT_EQ(digits, "0123456789*#ABCD");
}

TEST_F(DtmfDetectorTest, SurvivesTimestampWraparound) {
  auto first = Press(0xFFFFFF00u, 1, 800);
  auto second = Press(0x00000200u, 2, 800);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].digit, '2');
}

TEST_F(DtmfDetectorTest, ALongEventSplitIntoSegmentsIsOnePress) {
  detector_.on_event(1000, {5, false, 10, 160});
  EXPECT_TRUE(detector_.on_event(1000, {5, false, 10, 0xFFFF}).empty());
  // RFC 4733 2.5.1.3: the next segment restarts the duration under timestamp + 0xFFFF.
  EXPECT_TRUE(detector_.on_event(1000 + 0xFFFF, {5, false, 10, 160}).empty());
  const DtmfPresses end = detector_.on_event(1000 + 0xFFFF, {5, true, 10, 800});
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].rtp_timestamp, 1000u);
  EXPECT_EQ(end[0].duration_ms, (0xFFFFu + 800u) / 8u);
  EXPECT_TRUE(End(1000 + 0xFFFF, 5, 800).empty());
  EXPECT_TRUE(detector_.on_event(1000, {5, true, 10, 0xFFFF}).empty());  // old segment, late
}

TEST_F(DtmfDetectorTest, DurationUsesTheStreamClockRate) {
  DtmfDetector wideband(16000);
  const DtmfPresses p = wideband.on_event(1, {1, true, 0, 1600});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].duration_ms, 100u);
}

TEST_F(DtmfDetectorTest, ParsesPayloadsAndSkipsMalformedOnes) {
  const std::array<std::uint8_t, 2> broken = {0x05, 0x80};
  EXPECT_TRUE(detector_.on_payload(1000, broken).empty());
  const std::array<std::uint8_t, 4> end = {0x0A, 0x8A, 0x06, 0x40};
  const DtmfPresses p = detector_.on_payload(1000, end);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].digit, '*');
  EXPECT_EQ(p[0].duration_ms, 200u);
}

}  // namespace
}  // namespace cc::relay
