#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "media_relay/pacer.h"

namespace cc::relay {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

PromptAudio Prompt(std::size_t size, std::uint8_t first = 0) {
  auto bytes = std::make_shared<std::vector<std::uint8_t>>(size);
  std::iota(bytes->begin(), bytes->end(), first);  // recognisable, wrapping at 256
  return bytes;
}

PacerConfig Config() {
  PacerConfig c;
  c.payload_type = 0;
  c.ssrc = 0xCAFEF00D;
  c.first_sequence = 65530;  // wraps during most tests
  c.first_timestamp = 0xFFFFFC00;
  return c;
}

class PromptPacerTest : public ::testing::Test {
 protected:
  PromptPacer Make(const PacerConfig& config, std::vector<PromptAudio> prompts) {
    auto pacer = PromptPacer::Create(config, std::move(prompts), clock_.now());
    EXPECT_TRUE(pacer.ok()) << pacer.error().message;
    return std::move(pacer).value();
  }
  // Runs the simulated clock for `duration` in 1 ms steps, draining what is due at each step;
  // every packet must come out exactly when next_due() said it would.
  std::vector<PacedPacket> Run(PromptPacer& pacer, Duration duration) {
    std::vector<PacedPacket> out;
    const TimePoint end = clock_.now() + duration;
    while (clock_.now() < end) {
      for (auto due = pacer.next_due(); due && *due <= clock_.now(); due = pacer.next_due()) {
        EXPECT_EQ(*due, clock_.now());
        auto packet = pacer.take_due(clock_.now());
        if (!packet) break;  // finished with this call
        out.push_back(*packet);
      }
      EXPECT_FALSE(pacer.take_due(clock_.now()).has_value());
      clock_.advance(milliseconds(1));
    }
    return out;
  }
  static std::vector<std::uint8_t> Payloads(const std::vector<PacedPacket>& packets) {
    std::vector<std::uint8_t> all;
    for (const auto& p : packets) all.insert(all.end(), p.payload().begin(), p.payload().end());
    return all;
  }
  static void ExpectContinuous(const std::vector<PacedPacket>& packets, std::uint32_t step) {
    for (std::size_t i = 1; i < packets.size(); ++i) {
      EXPECT_EQ(
          static_cast<std::uint16_t>(packets[i].header.sequence - packets[i - 1].header.sequence),
          1)
          << i;
      EXPECT_EQ(packets[i].header.timestamp - packets[i - 1].header.timestamp, step) << i;
      EXPECT_EQ(packets[i].header.ssrc, packets[0].header.ssrc) << i;
      EXPECT_FALSE(packets[i].header.marker) << i;
    }
  }

  SimulatedClock clock_;
};

TEST_F(PromptPacerTest, SendsFiftyPacketsPerSecond) {
  PromptPacer pacer = Make(Config(), {Prompt(8000 * 5)});
  const TimePoint start = clock_.now();
  std::vector<TimePoint> sent_at;
  for (int ms = 0; ms < 1000; ++ms) {
    while (pacer.take_due(clock_.now())) sent_at.push_back(clock_.now());
    clock_.advance(milliseconds(1));
  }
  ASSERT_EQ(sent_at.size(), 50u);
  for (std::size_t i = 0; i < sent_at.size(); ++i) {
    EXPECT_EQ(sent_at[i], start + milliseconds(20 * i)) << i;  // each exactly when due
  }
  EXPECT_EQ(pacer.packets_sent(), 50u);
  EXPECT_EQ(pacer.next_due(), start + seconds(1));
}

TEST_F(PromptPacerTest, PacketsCarryTheRightHeaders) {
  PromptPacer pacer = Make(Config(), {Prompt(8000)});
  const auto packets = Run(pacer, seconds(2));
  ASSERT_EQ(packets.size(), 50u);  // exactly the one-second prompt
  EXPECT_TRUE(packets[0].header.marker);
  EXPECT_EQ(packets[0].header.sequence, 65530);
  EXPECT_EQ(packets[0].header.timestamp, 0xFFFFFC00u);
  EXPECT_EQ(packets[0].header.ssrc, 0xCAFEF00Du);
  ExpectContinuous(packets, 160);
  for (const auto& p : packets) {
    ASSERT_EQ(p.size, 172u);
    const auto parsed = ParseRtp(p.data());  // the bytes say what the header says
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->header, p.header);
    EXPECT_EQ(parsed->payload.size(), 160u);
  }
  EXPECT_EQ(Payloads(packets), *Prompt(8000));
  EXPECT_TRUE(pacer.finished());
  EXPECT_FALSE(pacer.next_due().has_value());
}

TEST_F(PromptPacerTest, DoesNothingBeforeItIsDue) {
  PromptPacer pacer = Make(Config(), {Prompt(1000)});
  const TimePoint start = clock_.now();
  EXPECT_EQ(pacer.next_due(), start);
  ASSERT_TRUE(pacer.take_due(start).has_value());
  EXPECT_EQ(pacer.next_due(), start + milliseconds(20));
  EXPECT_FALSE(pacer.take_due(start + milliseconds(19)).has_value());
  EXPECT_TRUE(pacer.take_due(start + milliseconds(20)).has_value());
}

TEST_F(PromptPacerTest, PromptBoundariesAreSeamless) {
  const PromptAudio welcome = Prompt(1000, 0);
  const PromptAudio position = Prompt(500, 100);
  PromptPacer pacer = Make(Config(), {welcome, position});
  const auto packets = Run(pacer, seconds(1));
  ASSERT_EQ(packets.size(), 10u);  // 1500 bytes in 160-byte packets
  ExpectContinuous(packets, 160);
  std::vector<std::uint8_t> expected = *welcome;
  expected.insert(expected.end(), position->begin(), position->end());
  expected.resize(1600, kMuLawSilence);  // the last packet is filled with silence
  EXPECT_EQ(Payloads(packets), expected);
  // Packet 6 (bytes 960..1119) holds the end of the first prompt and the start of the second.
  EXPECT_EQ(packets[6].payload()[39], (*welcome)[999]);
  EXPECT_EQ(packets[6].payload()[40], (*position)[0]);
}

TEST_F(PromptPacerTest, PadsWithTheSilenceOfItsLaw) {
  PacerConfig config = Config();
  config.law = G711Law::kALaw;
  config.payload_type = 8;
  PromptPacer pacer = Make(config, {Prompt(100)});
  const auto packets = Run(pacer, milliseconds(100));
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].header.payload_type, 8);
  EXPECT_EQ(packets[0].payload()[99], 99);
  EXPECT_EQ(packets[0].payload()[100], kALawSilence);
  EXPECT_EQ(packets[0].payload()[159], kALawSilence);
}

TEST_F(PromptPacerTest, LoopRestartsWithoutBreakingTheStream) {
  PacerConfig config = Config();
  config.loop = true;
  const PromptAudio music = Prompt(400);  // 2.5 packets: restarts land mid-packet
  PromptPacer pacer = Make(config, {music});
  const auto packets = Run(pacer, seconds(1));
  ASSERT_EQ(packets.size(), 50u);
  EXPECT_TRUE(packets[0].header.marker);
  ExpectContinuous(packets, 160);  // no marker, no jump at any restart
  const auto all = Payloads(packets);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], (*music)[i % 400]) << i;
  EXPECT_FALSE(pacer.finished());
  pacer.stop();
  EXPECT_TRUE(pacer.finished());
  EXPECT_FALSE(pacer.next_due().has_value());
  EXPECT_FALSE(pacer.take_due(clock_.now() + seconds(1)).has_value());
}

TEST_F(PromptPacerTest, LoopOverSeveralPrompts) {
  PacerConfig config = Config();
  config.loop = true;
  const PromptAudio a = Prompt(160, 0);
  const PromptAudio b = Prompt(320, 50);
  PromptPacer pacer = Make(config, {a, b});
  const auto packets = Run(pacer, milliseconds(200));
  ASSERT_EQ(packets.size(), 10u);
  ExpectContinuous(packets, 160);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const std::uint8_t first = (i % 3 == 0) ? (*a)[0] : (*b)[(i % 3 - 1) * 160];
    EXPECT_EQ(packets[i].payload()[0], first) << i;
  }
}

TEST_F(PromptPacerTest, CatchesUpAfterAShortDelay) {
  PromptPacer pacer = Make(Config(), {Prompt(8000)});
  ASSERT_TRUE(pacer.take_due(clock_.now()).has_value());
  clock_.advance(milliseconds(85));  // the owner woke up late: packets of 20..80 ms are due
  std::vector<PacedPacket> burst;
  while (auto p = pacer.take_due(clock_.now())) burst.push_back(*p);
  ASSERT_EQ(burst.size(), 4u);
  ExpectContinuous(burst, 160);
  EXPECT_EQ(burst[0].header.timestamp, 0xFFFFFC00u + 160);
}

TEST_F(PromptPacerTest, SkipsALongBacklogToStayInRealTime) {
  const PromptAudio prompt = Prompt(8000 * 3);
  PromptPacer pacer = Make(Config(), {prompt});
  const TimePoint start = clock_.now();
  const auto first = pacer.take_due(start);
  ASSERT_TRUE(first.has_value());
  clock_.advance(seconds(1));  // a stall: 49 packets overdue
  const auto resumed = pacer.take_due(clock_.now());
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->header.sequence, static_cast<std::uint16_t>(first->header.sequence + 1));
  EXPECT_EQ(resumed->header.timestamp - first->header.timestamp, 8000u);  // matches wall time
  EXPECT_TRUE(resumed->header.marker);
  EXPECT_EQ(resumed->payload()[0], (*prompt)[8000]);  // the audio that belongs to this moment
  EXPECT_FALSE(pacer.take_due(clock_.now()).has_value());
  EXPECT_EQ(pacer.next_due(), start + seconds(1) + milliseconds(20));
}

TEST_F(PromptPacerTest, AStallPastTheEndFinishesThePrompt) {
  PromptPacer pacer = Make(Config(), {Prompt(800)});
  ASSERT_TRUE(pacer.take_due(clock_.now()).has_value());
  clock_.advance(seconds(5));
  EXPECT_FALSE(pacer.take_due(clock_.now()).has_value());
  EXPECT_TRUE(pacer.finished());
}

TEST_F(PromptPacerTest, OtherPacketTimes) {
  PacerConfig config = Config();
  config.ptime = milliseconds(30);
  PromptPacer pacer = Make(config, {Prompt(8000 * 2)});
  const auto packets = Run(pacer, seconds(1));
  ASSERT_EQ(packets.size(), 34u);  // due at 0, 30, ..., 990 ms
  ExpectContinuous(packets, 240);
  EXPECT_EQ(packets[0].payload().size(), 240u);
}

TEST_F(PromptPacerTest, NothingToPlayIsFinishedAtOnce) {
  PromptPacer pacer = Make(Config(), {Prompt(0), nullptr});
  EXPECT_TRUE(pacer.finished());
  EXPECT_FALSE(pacer.next_due().has_value());
  EXPECT_FALSE(pacer.take_due(clock_.now()).has_value());
  PacerConfig looping = Config();
  looping.loop = true;
  PromptPacer empty_loop = Make(looping, {});
  EXPECT_TRUE(empty_loop.finished());
}

TEST_F(PromptPacerTest, RefusesBadConfiguration) {
  PacerConfig config = Config();
  config.ptime = milliseconds(5);
  auto pacer = PromptPacer::Create(config, {Prompt(10)}, clock_.now());
  ASSERT_FALSE(pacer.ok());
  EXPECT_NE(pacer.error().message.find("ptime"), std::string::npos);
  config = Config();
  config.ptime = milliseconds(80);
  EXPECT_FALSE(PromptPacer::Create(config, {Prompt(10)}, clock_.now()).ok());
  config = Config();
  config.payload_type = 128;
  EXPECT_FALSE(PromptPacer::Create(config, {Prompt(10)}, clock_.now()).ok());
}

}  // namespace
}  // namespace cc::relay
