#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>

#include "media_relay/sdp.h"

namespace cc::relay {

// Failed comparisons show the SDP rather than bytes.
void PrintTo(const SessionDescription& sdp, std::ostream* os) {
  *os << "\n" << WriteSdp(sdp);
}

namespace {

// Test SDP is written with \n for readability; phones send CRLF.
std::string Crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const std::string kLinphone = Crlf(R"(v=0
o=alice 3060 1738 IN IP4 192.168.1.20
s=Talk
c=IN IP4 192.168.1.20
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
)");

const std::string kZoiper = Crlf(R"(v=0
o=Z 1700000000123 1 IN IP4 10.0.0.15
s=Z
c=IN IP4 10.0.0.15
t=0 0
m=audio 8000 RTP/AVP 106 9 98 101 0 8 3
a=rtpmap:106 opus/48000/2
a=fmtp:106 sprop-maxcapturerate=16000; minptime=20; useinbandfec=1
a=rtpmap:98 telephone-event/48000
a=fmtp:98 0-16
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
a=rtcp-mux
)");

// A Bria-like softphone configured to prefer A-law.
const std::string kBria = Crlf(R"(v=0
o=- 13303405 3 IN IP4 192.168.0.33
s=Bria 6 release 6.5.3 stamp 107000
c=IN IP4 192.168.0.33
b=AS:2064
t=0 0
m=audio 52146 RTP/AVP 9 8 0 18 101
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=rtcp:52147
a=sendrecv
)");

const std::string kPolycom = Crlf(R"(v=0
o=- 1700000001 1700000001 IN IP4 172.16.5.20
s=Polycom IP Phone
c=IN IP4 172.16.5.20
t=0 0
a=sendrecv
m=audio 2222 RTP/AVP 9 102 0 8 18 127
a=rtpmap:9 G722/8000
a=rtpmap:102 G7221/16000
a=fmtp:102 bitrate=32000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:127 telephone-event/8000
)");

// SIPp's built-in uac scenario.
const std::string kSipp = Crlf(R"(v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
)");

const std::string kHoldSendonly = Crlf(R"(v=0
o=alice 3060 1739 IN IP4 192.168.1.20
s=Talk
c=IN IP4 192.168.1.20
t=0 0
m=audio 7078 RTP/AVP 0 8 101
a=rtpmap:101 telephone-event/8000
a=sendonly
)");

// RFC 2543 hold, still sent by some older phones.
const std::string kHoldZeroAddress = Crlf(R"(v=0
o=- 42 43 IN IP4 10.1.1.1
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 7078 RTP/AVP 0
)");

const std::string kAudioAndVideo = Crlf(R"(v=0
o=bob 2808844564 2808844564 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 49170 RTP/AVP 0 8 97
a=rtpmap:97 iLBC/8000
m=video 51372 RTP/AVP 31 32
a=rtpmap:31 H261/90000
a=rtpmap:32 MPV/90000
)");

LocalMedia Relay() {
  LocalMedia local;
  local.address = "203.0.113.5";
  local.port = 30000;
  local.session_id = 77;
  local.session_version = 1;
  return local;
}

SessionDescription Parse(const std::string& text) {
  auto sdp = ParseSdp(text);
  EXPECT_TRUE(sdp.ok()) << sdp.error().message;
  return sdp.ok() ? *sdp : SessionDescription{};
}

Negotiation NegotiateOk(const std::string& offer) {
  auto n = Negotiate(Parse(offer), Relay());
  EXPECT_TRUE(n.ok()) << n.error().message;
  return n.ok() ? *n : Negotiation{};
}

void ExpectInvalid(const std::string& text, const std::string& needle) {
  const auto sdp = ParseSdp(text);
  ASSERT_FALSE(sdp.ok()) << "parsed: " << text;
  EXPECT_EQ(sdp.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(sdp.error().message.find(needle), std::string::npos) << sdp.error().message;
}

// ---- parsing ----

TEST(SdpParseTest, ReadsLinphoneOffer) {
  const SessionDescription sdp = Parse(kLinphone);
  EXPECT_EQ(sdp.origin.username, "alice");
  EXPECT_EQ(sdp.origin.session_id, 3060u);
  EXPECT_EQ(sdp.origin.session_version, 1738u);
  EXPECT_EQ(sdp.origin.address, (Connection{"IP4", "192.168.1.20"}));
  EXPECT_EQ(sdp.session_name, "Talk");
  ASSERT_TRUE(sdp.connection.has_value());
  EXPECT_EQ(sdp.connection->address, "192.168.1.20");
  EXPECT_FALSE(sdp.direction.has_value());
  ASSERT_EQ(sdp.media.size(), 1u);
  const MediaDescription& m = sdp.media[0];
  EXPECT_TRUE(m.is_audio());
  EXPECT_TRUE(m.is_rtp());
  EXPECT_EQ(m.port, 7078);
  EXPECT_EQ(m.proto, "RTP/AVP");
  EXPECT_EQ(m.payload_types, (std::vector<std::uint8_t>{96, 97, 98, 0, 8, 18, 101, 99, 100}));
  EXPECT_EQ(m.rtpmaps.at(96), (RtpMap{"opus", 48000, 2}));
  EXPECT_EQ(m.rtpmaps.at(0), (RtpMap{"PCMU", 8000, 1}));  // static, without a=rtpmap
  EXPECT_EQ(m.rtpmaps.at(18), (RtpMap{"G729", 8000, 1}));
  EXPECT_EQ(m.rtpmaps.at(100), (RtpMap{"telephone-event", 8000, 1}));
  EXPECT_EQ(m.fmtps.at(96), "useinbandfec=1");
  EXPECT_EQ(m.fmtps.at(18), "annexb=yes");
  EXPECT_EQ(m.direction, Direction::kSendRecv);
  EXPECT_FALSE(m.ptime.has_value());
  EXPECT_FALSE(m.connection.has_value());
  EXPECT_FALSE(m.rtcp_port.has_value());
}

TEST(SdpParseTest, ReadsPtimeRtcpAndBandwidthLines) {
  const SessionDescription sdp = Parse(kBria);
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.media[0].ptime, 20u);
  EXPECT_EQ(sdp.media[0].rtcp_port, 52147);
  EXPECT_EQ(sdp.session_name, "Bria 6 release 6.5.3 stamp 107000");
}

TEST(SdpParseTest, ReadsRtcpWithAddress) {
  const SessionDescription sdp = Parse(Crlf(R"(v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 49170 RTP/AVP 0
a=rtcp:53020 IN IP4 126.16.64.4
)"));
  EXPECT_EQ(sdp.media.at(0).rtcp_port, 53020);
}

TEST(SdpParseTest, SessionLevelDirectionAppliesUnlessTheMediaSaysOtherwise) {
  const SessionDescription sdp = Parse(Crlf(R"(v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
a=sendonly
m=audio 4000 RTP/AVP 0
m=audio 4002 RTP/AVP 0
a=sendrecv
m=audio 4004 RTP/AVP 0
a=inactive
)"));
  EXPECT_EQ(sdp.direction, Direction::kSendOnly);
  ASSERT_EQ(sdp.media.size(), 3u);
  EXPECT_EQ(sdp.media[0].direction, Direction::kSendOnly);
  EXPECT_EQ(sdp.media[1].direction, Direction::kSendRecv);
  EXPECT_EQ(sdp.media[2].direction, Direction::kInactive);
}

TEST(SdpParseTest, MediaLevelConnectionBeatsSessionLevel) {
  const SessionDescription sdp = Parse(Crlf(R"(v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0
c=IN IP4 10.0.0.2
m=audio 4002 RTP/AVP 0
)"));
  ASSERT_EQ(sdp.media.size(), 2u);
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address, "10.0.0.2");
  EXPECT_EQ(sdp.connection_for(sdp.media[1])->address, "10.0.0.1");
}

TEST(SdpParseTest, ConnectionOnlyAtMediaLevel) {
  const SessionDescription sdp = Parse(Crlf(R"(v=0
o=- 1 1 IN IP6 2001:db8::1
s=-
t=0 0
m=audio 4000 RTP/AVP 8
c=IN IP6 2001:db8::2
)"));
  EXPECT_FALSE(sdp.connection.has_value());
  EXPECT_EQ(sdp.origin.address.address_type, "IP6");
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address, "2001:db8::2");
  EXPECT_EQ(sdp.connection_for(sdp.media[0])->address_type, "IP6");
}

TEST(SdpParseTest, AcceptsBareLineFeeds) {
  const SessionDescription sdp = Parse(
      "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
  ASSERT_EQ(sdp.media.size(), 1u);
  EXPECT_EQ(sdp.media[0].port, 4000);
}

TEST(SdpParseTest, ReadsNonRtpAndRejectedStreams) {
  const SessionDescription sdp = Parse(Crlf(R"(v=0
o=- 1 1 IN IP4 10.0.0.1
s=-
c=IN IP4 10.0.0.1
t=0 0
m=audio 4000 RTP/AVP 0
m=image 0 udptl t38
m=video 0 RTP/AVP 31
)"));
  ASSERT_EQ(sdp.media.size(), 3u);
  EXPECT_EQ(sdp.media[1].type, "image");
  EXPECT_FALSE(sdp.media[1].is_rtp());
  EXPECT_EQ(sdp.media[1].formats, (std::vector<std::string>{"t38"}));
  EXPECT_TRUE(sdp.media[1].payload_types.empty());
  EXPECT_EQ(sdp.media[2].port, 0);
  EXPECT_EQ(sdp.media[2].direction, Direction::kInactive);
}

TEST(SdpParseTest, HoldOffers) {
  const SessionDescription sendonly = Parse(kHoldSendonly);
  EXPECT_EQ(sendonly.media.at(0).direction, Direction::kSendOnly);
  const SessionDescription zero = Parse(kHoldZeroAddress);
  EXPECT_TRUE(zero.connection_for(zero.media.at(0))->is_unspecified());
  EXPECT_EQ(zero.media.at(0).direction, Direction::kSendRecv);
}

TEST(SdpParseTest, LargeDescriptionsAreNotTruncated) {
  std::string text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  for (int i = 0; i < 200; ++i) {
    text += "m=audio " + std::to_string(10000 + 2 * i) + " RTP/AVP 0 8 101\r\n";
    text += "a=rtpmap:101 telephone-event/8000\r\na=x-long:" + std::string(500, 'x') + "\r\n";
  }
  const SessionDescription sdp = Parse(text);
  ASSERT_EQ(sdp.media.size(), 200u);
  EXPECT_EQ(sdp.media[199].port, 10398);
  EXPECT_EQ(sdp.media[199].rtpmaps.at(101).encoding, "telephone-event");
}

// ---- malformed input ----

const std::string kHeader =
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";

TEST(SdpParseTest, RefusesEmptyAndGarbage) {
  ExpectInvalid("", "empty");
  ExpectInvalid("\r\n \r\n", "empty");
  ExpectInvalid("garbage", "invalid SDP");
  ExpectInvalid("INVITE sip:bob@example.com SIP/2.0\r\n", "invalid SDP");
  ExpectInvalid(std::string("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\0s=-\r\n", 30), "NUL");
}

TEST(SdpParseTest, RefusesMissingMandatoryLines) {
  ExpectInvalid("v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "o=");
  ExpectInvalid("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
                "c=");
  ExpectInvalid("o=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n", "invalid SDP");  // no v=
}

TEST(SdpParseTest, RefusesBadOriginAndConnection) {
  ExpectInvalid("v=0\r\no=\r\ns=-\r\n", "invalid SDP");
  ExpectInvalid("v=0\r\no=- x 1 IN IP4 10.0.0.1\r\n", "session id");
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP 0\r\nc=IN IP7 somewhere\r\n", "IP7");
  ExpectInvalid("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=ATM NSAP x\r\nt=0 0\r\n", "address");
}

TEST(SdpParseTest, RefusesBadMediaLines) {
  ExpectInvalid(kHeader + "m=audio 70000 RTP/AVP 0\r\n", "port 70000 is out of range");
  ExpectInvalid(kHeader + "m=audio 99999999999999999999999 RTP/AVP 0\r\n", "out of range");
  ExpectInvalid(kHeader + "m=audio port RTP/AVP 0\r\n", "port");
  ExpectInvalid(kHeader + "m=audio 40", "protocol");  // truncated
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP 0 200\r\n", "format");
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP 0 pcmu\r\n", "format");
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP\r\n", "no formats");
}

// A malformed attribute line the relay reads is left out and named; the rest of the offer
// stands (RFC 4475 3.1.2.? style: PCMU next to a broken a=rtpmap is still PCMU).
TEST(SdpParseTest, LeavesOutBadAttributesAndKeepsTheRest) {
  struct Case {
    std::string line, why;
  };
  const std::vector<Case> cases = {{"a=rtpmap:0 PCMU", "malformed"},
                                   {"a=rtpmap:96 opus/48000/x", "invalid channel count"},
                                   {"a=rtpmap:96 opus/0", "invalid clock rate"},
                                   {"a=rtpmap:96 opus/99999999999", "invalid clock rate"},
                                   {"a=rtpmap:300 opus/48000", "malformed"},
                                   {"a=rtpmap:", "malformed"},
                                   {"a=rtpmap:96 op(us/48000", "malformed"},
                                   {"a=fmtp:abc 0-15", "malformed"},
                                   {"a=ptime:abc", "invalid value"},
                                   {"a=ptime:0", "invalid value"},
                                   {"a=rtcp:99999", "invalid port"},
                                   {"a=rtcp:", "invalid port"}};
  for (const auto& c : cases) {
    const auto sdp = ParseSdp(kHeader + "m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\n" +
                              c.line + "\r\n");
    ASSERT_TRUE(sdp.ok()) << c.line << ": " << sdp.error().message;
    ASSERT_EQ(sdp->ignored.size(), 1u) << c.line;
    EXPECT_NE(sdp->ignored[0].find(c.why), std::string::npos) << sdp->ignored[0];
    ASSERT_EQ(sdp->media.size(), 1u);
    EXPECT_EQ(sdp->media[0].rtpmaps.at(0).encoding, "PCMU");
    EXPECT_FALSE(sdp->media[0].ptime.has_value());
    EXPECT_FALSE(sdp->media[0].rtcp_port.has_value());
  }
}

TEST(NegotiateTest, PcmuNextToAMalformedRtpmapIsAnsweredWithPcmu) {
  const Negotiation n = NegotiateOk(kHeader +
                                    "m=audio 4000 RTP/AVP 96 0\r\n"
                                    "a=rtpmap:96 opus/48000/two\r\n"
                                    "a=rtpmap:0 PCMU/8000\r\n");
  EXPECT_EQ(n.audio.law, G711Law::kMuLaw);
  EXPECT_EQ(n.audio.payload_type, 0);
}

TEST(NegotiateTest, NothingUsableLeftIsRefused) {
  const auto n = Negotiate(Parse(kHeader + "m=audio 4000 RTP/AVP 96\r\n"
                                           "a=rtpmap:96 PCMU\r\n"),
                           Relay());
  EXPECT_FALSE(n.ok());
}

// Inputs that hang or overrun the Sofia-SIP 1.12.11 parser Debian ships, if they reach it.
TEST(SdpParseTest, RefusesLinesThatBreakSofia) {
  ExpectInvalid(kHeader + "m=image 5000 udptl [t38\r\n", "invalid format \"[t38\"");
  ExpectInvalid(kHeader + "m=audio 8000 RTP/\xF3[P 0 8\r\n", "invalid protocol");
  ExpectInvalid(kHeader + "m=au(dio 8000 RTP/AVP 0\r\n", "invalid media");
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP 0\r\nx", "malformed line \"x\"");
  ExpectInvalid(kHeader + "m=audio 4000 RTP/AVP 0\r\nab\r\n", "malformed line");
  // Trailing tabs used to leave Sofia's format loop spinning on blanks.
  ExpectInvalid(kHeader + "m=image 5000 udptl\t \t\r\n", "no formats");
}

TEST(SdpParseTest, ToleratesBlanksAndTabs) {
  const SessionDescription sdp = Parse(kHeader +
                                       "m=audio\t4000  RTP/AVP\t0 8 \t\r\n"
                                       "   \r\n"  // a blank line must not end the description
                                       "\r\n"
                                       "a=ptime:30 \r\n"
                                       "m=image 5002 udptl t38\t\r\n");
  ASSERT_EQ(sdp.media.size(), 2u);
  EXPECT_EQ(sdp.media[0].payload_types, (std::vector<std::uint8_t>{0, 8}));
  EXPECT_EQ(sdp.media[0].ptime, 30u);
  EXPECT_EQ(sdp.media[1].formats, (std::vector<std::string>{"t38"}));
}

TEST(SdpParseTest, EveryTruncationIsHandled) {
  for (const std::string* sample : {&kLinphone, &kBria, &kAudioAndVideo}) {
    for (std::size_t n = 0; n <= sample->size(); ++n) {
      const auto sdp = ParseSdp(std::string_view(*sample).substr(0, n));
      if (!sdp.ok()) {
        EXPECT_EQ(sdp.error().code, ErrorCode::kInvalidArgument);
      }
    }
  }
}

TEST(SdpParseTest, CorruptedBytesNeverCrash) {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string text = i % 2 ? kZoiper : kAudioAndVideo;
    for (int k = 0; k < 4; ++k) text[rng() % text.size()] = static_cast<char>(rng() % 256);
    const auto sdp = ParseSdp(text);
    if (!sdp.ok()) {
      EXPECT_EQ(sdp.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

// ---- writing ----

TEST(SdpWriteTest, WritesTheRelayOffer) {
  EXPECT_EQ(WriteSdp(BuildOffer(Relay())),
            "v=0\r\n"
            "o=- 77 1 IN IP4 203.0.113.5\r\n"
            "s=cc-media-relay\r\n"
            "c=IN IP4 203.0.113.5\r\n"
            "t=0 0\r\n"
            "m=audio 30000 RTP/AVP 0 8 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-15\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n");
}

TEST(SdpWriteTest, WritesEverythingTheModelHolds) {
  SessionDescription sdp;
  sdp.origin = {"relay", 5, 6, {"IP6", "2001:db8::5"}};
  sdp.session_name = "";
  sdp.direction = Direction::kRecvOnly;
  MediaDescription m;
  m.port = 4000;
  m.payload_types = {96, 96};
  m.rtpmaps[96] = {"opus", 48000, 2};
  m.fmtps[96] = "useinbandfec=1";
  m.connection = Connection{"IP6", "2001:db8::6"};
  m.rtcp_port = 4005;
  m.direction = Direction::kRecvOnly;
  sdp.media.push_back(m);
  EXPECT_EQ(WriteSdp(sdp),
            "v=0\r\n"
            "o=relay 5 6 IN IP6 2001:db8::5\r\n"
            "s=-\r\n"
            "t=0 0\r\n"
            "a=recvonly\r\n"
            "m=audio 4000 RTP/AVP 96 96\r\n"
            "c=IN IP6 2001:db8::6\r\n"
            "a=rtpmap:96 opus/48000/2\r\n"
            "a=fmtp:96 useinbandfec=1\r\n"
            "a=rtcp:4005\r\n"
            "a=recvonly\r\n");
}

TEST(SdpWriteTest, ParseWriteParseRoundTrips) {
  const std::string samples[] = {kLinphone,     kZoiper,          kBria,         kPolycom, kSipp,
                                 kHoldSendonly, kHoldZeroAddress, kAudioAndVideo};
  for (const std::string& sample : samples) {
    const SessionDescription first = Parse(sample);
    const std::string written = WriteSdp(first);
    const SessionDescription second = Parse(written);
    EXPECT_EQ(first, second) << written;
    EXPECT_EQ(WriteSdp(second), written);
  }
}

TEST(SdpWriteTest, OfferRoundTrips) {
  const SessionDescription offer = BuildOffer(Relay());
  EXPECT_EQ(Parse(WriteSdp(offer)), offer);
}

// ---- negotiation ----

TEST(NegotiateTest, LinphoneGetsPcmuAndTheNarrowbandTelephoneEvent) {
  const Negotiation n = NegotiateOk(kLinphone);
  EXPECT_EQ(n.audio.media_index, 0u);
  EXPECT_EQ(n.audio.law, G711Law::kMuLaw);
  EXPECT_EQ(n.audio.payload_type, 0);
  EXPECT_EQ(n.audio.telephone_event_payload_type, 100);
  EXPECT_EQ(n.audio.remote.address, "192.168.1.20");
  EXPECT_EQ(n.audio.remote_rtp_port, 7078);
  EXPECT_EQ(n.audio.remote_rtcp_port, 7079);
  EXPECT_FALSE(n.audio.remote_hold);
  const MediaDescription& m = n.answer.media.at(0);
  EXPECT_EQ(m.port, 30000);
  EXPECT_EQ(m.payload_types, (std::vector<std::uint8_t>{0, 100}));
  EXPECT_EQ(m.rtpmaps.at(100), (RtpMap{"telephone-event", 8000, 1}));
  EXPECT_EQ(m.fmtps.at(100), "0-15");  // none offered: the digits the relay detects
  EXPECT_EQ(m.direction, Direction::kSendRecv);
}

TEST(NegotiateTest, ZoiperKeepsItsTelephoneEventParameters) {
  const Negotiation n = NegotiateOk(kZoiper);
  EXPECT_EQ(n.audio.payload_type, 0);  // 0 is listed before 8
  EXPECT_EQ(n.audio.telephone_event_payload_type, 101);
  EXPECT_EQ(n.answer.media.at(0).fmtps.at(101), "0-16");
}

TEST(NegotiateTest, FollowsTheOffersOrderBetweenTheTwoLaws) {
  const Negotiation n = NegotiateOk(kBria);  // lists 9 8 0
  EXPECT_EQ(n.audio.law, G711Law::kALaw);
  EXPECT_EQ(n.audio.payload_type, 8);
  EXPECT_EQ(n.audio.remote_rtcp_port, 52147);
  EXPECT_EQ(n.audio.remote_ptime, 20u);
  EXPECT_EQ(n.answer.media.at(0).rtpmaps.at(8), (RtpMap{"PCMA", 8000, 1}));
}

TEST(NegotiateTest, PolycomGetsPcmuAndEvent127) {
  const Negotiation n = NegotiateOk(kPolycom);
  EXPECT_EQ(n.audio.payload_type, 0);
  EXPECT_EQ(n.audio.telephone_event_payload_type, 127);
  EXPECT_EQ(n.answer.media.at(0).payload_types, (std::vector<std::uint8_t>{0, 127}));
}

TEST(NegotiateTest, SippOfferGetsAPlainPcmuAnswer) {
  const Negotiation n = NegotiateOk(kSipp);
  EXPECT_EQ(n.audio.payload_type, 0);
  EXPECT_FALSE(n.audio.telephone_event_payload_type.has_value());
  EXPECT_EQ(WriteSdp(n.answer),
            "v=0\r\n"
            "o=- 77 1 IN IP4 203.0.113.5\r\n"
            "s=cc-media-relay\r\n"
            "c=IN IP4 203.0.113.5\r\n"
            "t=0 0\r\n"
            "m=audio 30000 RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n");
}

TEST(NegotiateTest, HoldWithSendonlyIsAnsweredRecvonly) {
  const Negotiation n = NegotiateOk(kHoldSendonly);
  EXPECT_EQ(n.audio.remote_direction, Direction::kSendOnly);
  EXPECT_TRUE(n.audio.remote_hold);
  EXPECT_EQ(n.answer.media.at(0).direction, Direction::kRecvOnly);
}

TEST(NegotiateTest, HoldWithZeroAddressIsRecognised) {
  const Negotiation n = NegotiateOk(kHoldZeroAddress);
  EXPECT_TRUE(n.audio.remote_hold);
  EXPECT_EQ(n.audio.remote.address, "0.0.0.0");
  EXPECT_EQ(n.answer.media.at(0).direction, Direction::kSendRecv);
}

TEST(NegotiateTest, DirectionsAreMirrored) {
  EXPECT_EQ(AnswerDirection(Direction::kSendRecv), Direction::kSendRecv);
  EXPECT_EQ(AnswerDirection(Direction::kSendOnly), Direction::kRecvOnly);
  EXPECT_EQ(AnswerDirection(Direction::kRecvOnly), Direction::kSendOnly);
  EXPECT_EQ(AnswerDirection(Direction::kInactive), Direction::kInactive);
  const Negotiation n = NegotiateOk(kHeader + "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n");
  EXPECT_EQ(n.answer.media.at(0).direction, Direction::kSendOnly);
  EXPECT_FALSE(n.audio.remote_hold);
}

TEST(NegotiateTest, VideoIsRefusedWithPortZero) {
  const Negotiation n = NegotiateOk(kAudioAndVideo);
  ASSERT_EQ(n.answer.media.size(), 2u);
  EXPECT_EQ(n.answer.media[0].port, 30000);
  EXPECT_EQ(n.answer.media[1].type, "video");
  EXPECT_EQ(n.answer.media[1].port, 0);
  const std::string text = WriteSdp(n.answer);
  EXPECT_NE(text.find("m=audio 30000 RTP/AVP 0\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("m=video 0 RTP/AVP 31 32\r\n"), std::string::npos) << text;
  EXPECT_EQ(Parse(text), n.answer);
}

TEST(NegotiateTest, AcceptsAudioAfterARefusedStream) {
  const Negotiation n = NegotiateOk(kHeader +
                                    "m=video 5000 RTP/AVP 31\r\n"
                                    "m=image 5002 udptl t38\r\n"
                                    "m=audio 0 RTP/AVP 0\r\n"
                                    "m=audio 5004 RTP/SAVP 0\r\n"
                                    "m=audio 5006 RTP/AVP 18 8\r\n"
                                    "m=audio 5008 RTP/AVP 0\r\n");
  EXPECT_EQ(n.audio.media_index, 4u);
  EXPECT_EQ(n.audio.payload_type, 8);
  EXPECT_EQ(n.audio.remote_rtp_port, 5006);
  ASSERT_EQ(n.answer.media.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(n.answer.media[i].port, i == 4 ? 30000 : 0) << i;
  }
  EXPECT_EQ(n.answer.media[1].formats, (std::vector<std::string>{"t38"}));
  EXPECT_EQ(n.answer.media[3].proto, "RTP/SAVP");
  EXPECT_EQ(Parse(WriteSdp(n.answer)), n.answer);
}

TEST(NegotiateTest, RecognisesG711ByRtpmapOnADynamicType) {
  const Negotiation n = NegotiateOk(kHeader +
                                    "m=audio 4000 RTP/AVP 96 97\r\na=rtpmap:96 G729/8000\r\n"
                                    "a=rtpmap:97 pcma/8000\r\n");
  EXPECT_EQ(n.audio.payload_type, 97);
  EXPECT_EQ(n.audio.law, G711Law::kALaw);
}

TEST(NegotiateTest, NoCommonCodec) {
  for (const std::string& body :
       {std::string("m=audio 4000 RTP/AVP 18 9\r\na=rtpmap:18 G729/8000\r\n"),
        std::string("m=video 4000 RTP/AVP 31\r\n"), std::string("m=audio 4000 RTP/SAVP 0 8\r\n"),
        std::string("m=audio 0 RTP/AVP 0 8\r\n"),
        std::string("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/16000\r\n"), std::string()}) {
    const auto n = Negotiate(Parse(kHeader + body), Relay());
    ASSERT_FALSE(n.ok()) << body;
    EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(n.error().message.find("no common codec"), std::string::npos) << n.error().message;
  }
}

TEST(NegotiateTest, AnswerRoundTrips) {
  for (const std::string* offer : {&kLinphone, &kZoiper, &kBria, &kPolycom, &kHoldSendonly}) {
    const Negotiation n = NegotiateOk(*offer);
    EXPECT_EQ(Parse(WriteSdp(n.answer)), n.answer);
  }
}

}  // namespace
}  // namespace cc::relay
