// The media-relay binary driven through its gRPC API, with real UDP endpoints on loopback
// standing in for the phones, and its events read from NATS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "callcenter/v1/events.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "media_relay/g711.h"
#include "media_relay/rtp.h"
#include "testing.h"
#include "tone_party.h"

namespace cc::relay {
namespace {

namespace v1 = callcenter::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// A phone's media socket on 127.0.0.1.
class UdpPeer {
 public:
  UdpPeer() { fd_ = testing::BoundUdpSocket(&port_); }
  ~UdpPeer() { close(fd_); }
  int port() const { return port_; }

  void send(int to_port, const std::vector<std::uint8_t>& bytes) const {
    sockaddr_in d{};
    d.sin_family = AF_INET;
    d.sin_port = htons(static_cast<std::uint16_t>(to_port));
    d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&d), sizeof d);
  }

  struct Packet {
    std::vector<std::uint8_t> bytes;
    int from_port;
    SteadyClock::time_point at;
  };
  // Whatever arrives within `timeout` (stops early once `want` packets are in).
  std::vector<Packet> receive(milliseconds timeout, size_t want = SIZE_MAX) const {
    std::vector<Packet> out;
    const auto deadline = SteadyClock::now() + timeout;
    while (out.size() < want) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      std::vector<std::uint8_t> buf(4096);
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      buf.resize(static_cast<size_t>(n));
      out.push_back({std::move(buf), ntohs(from.sin_port), SteadyClock::now()});
    }
    return out;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::vector<std::uint8_t> Rtp(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts,
                              std::uint32_t ssrc, const std::vector<std::uint8_t>& payload,
                              bool marker = false) {
  RtpHeader h;
  h.payload_type = pt;
  h.sequence = seq;
  h.timestamp = ts;
  h.ssrc = ssrc;
  h.marker = marker;
  std::vector<std::uint8_t> out(kRtpFixedHeaderSize + payload.size());
  WriteRtp(h, payload, out);
  return out;
}

std::string Offer(int rtp_port, const std::string& codecs = "0 8 101",
                  const std::string& direction = "sendrecv") {
  return "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " +
         std::to_string(rtp_port) + " RTP/AVP " + codecs +
         "\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=" +
         direction + "\r\n";
}

class RelayIt : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/relay-it-" + RandomHex(4);
    std::filesystem::create_directories(dir_ + "/prompts");
    std::filesystem::create_directories(dir_ + "/recordings");
    nats_ = testing::ConnectNats(prefix_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Start(std::vector<std::string> extra = {}, int pairs = 20) {
    // A port range of its own: parallel tests must not share one.
    std::mt19937 rng{std::random_device{}()};
    port_min_ = 33000 + static_cast<int>(rng() % 1500) * 20;
    std::vector<std::string> args = {"--nats-url=" + testing::NatsUrl(),
                                     "--nats-subject-prefix=" + prefix_,
                                     "--rtp-port-min=" + std::to_string(port_min_),
                                     "--rtp-port-max=" + std::to_string(port_min_ + 2 * pairs - 1),
                                     "--prompt-dir=" + dir_ + "/prompts",
                                     "--recording-dir=" + dir_ + "/recordings",
                                     "--drain-timeout=1s"};
    for (auto& e : extra) args.push_back(e);
    relay_ = std::make_unique<testing::ServiceProcess>(CC_MEDIA_RELAY_BIN, args);
    ASSERT_TRUE(relay_->ready()) << relay_->process().output();
    stub_ = v1::MediaRelay::NewStub(MakeChannel(relay_->target()));
  }

  v1::CreateLegResponse Create(const std::string& call, const std::string& label,
                               const std::string& sdp, const std::string& edge = "") {
    v1::CreateLegRequest req;
    req.set_call_id(call);
    req.set_label(label);
    req.set_remote_sdp(sdp);
    req.set_edge_id(edge);
    v1::CreateLegResponse resp;
    auto st = stub_->CreateLeg(MakeContext(seconds(5)).get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Customer leg from a's offer; agent leg from the relay's offer answered by b; bridged.
  std::pair<v1::Leg, v1::Leg> Bridged(const UdpPeer& a, const UdpPeer& b,
                                      const std::string& a_codecs = "0 8 101",
                                      const std::string& b_codecs = "0 8 101") {
    auto ca = Create("call-1", "customer", Offer(a.port(), a_codecs));
    auto cb = Create("call-1", "agent", "");
    EXPECT_NE(cb.local_sdp().find("m=audio " + std::to_string(cb.leg().local_rtp_port())),
              std::string::npos);
    v1::UpdateLegRequest up;
    up.set_leg_id(cb.leg().id());
    up.set_remote_sdp(Offer(b.port(), b_codecs));
    v1::UpdateLegResponse upr;
    EXPECT_TRUE(stub_->UpdateLeg(MakeContext(seconds(5)).get(), up, &upr).ok());
    v1::BridgeRequest br;
    br.set_leg_a(ca.leg().id());
    br.set_leg_b(cb.leg().id());
    v1::BridgeResponse brr;
    EXPECT_TRUE(stub_->Bridge(MakeContext(seconds(5)).get(), br, &brr).ok());
    return {ca.leg(), upr.leg()};
  }

  v1::Leg Get(const std::string& id) {
    v1::GetLegRequest req;
    req.set_leg_id(id);
    v1::GetLegResponse resp;
    EXPECT_TRUE(stub_->GetLeg(MakeContext(seconds(5)).get(), req, &resp).ok());
    return resp.leg();
  }

  std::string dir_;
  std::string prefix_ = testing::UniqueSubjectPrefix();
  std::unique_ptr<NatsClient> nats_;
  int port_min_ = 0;
  std::unique_ptr<testing::ServiceProcess> relay_;
  std::unique_ptr<v1::MediaRelay::Stub> stub_;
};

TEST_F(RelayIt, ABridgeForwardsRtpAndRtcpBothWaysUntouchedAndInOrder) {
  Start();
  UdpPeer a, b, a_rtcp_unused;
  auto [la, lb] = Bridged(a, b);
  EXPECT_EQ(la.codec(), "PCMU");
  std::vector<std::vector<std::uint8_t>> sent;
  for (int i = 0; i < 50; ++i) {
    std::vector<std::uint8_t> payload(160, static_cast<std::uint8_t>(i));
    sent.push_back(Rtp(0, static_cast<std::uint16_t>(1000 + i), 160u * i, 0xA11CE, payload));
    a.send(la.local_rtp_port(), sent.back());
  }
  auto got = b.receive(seconds(3), 50);
  ASSERT_EQ(got.size(), 50u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].bytes, sent[i]) << i;             // byte for byte, SSRC included
    EXPECT_EQ(got[i].from_port, lb.local_rtp_port());  // from the agent leg's own port
  }
  // The agent's phone answers; its audio reaches the customer from the customer leg's port.
  for (int i = 0; i < 10; ++i) {
    b.send(lb.local_rtp_port(), Rtp(0, static_cast<std::uint16_t>(i), 160u * i, 0xB0B,
                                    std::vector<std::uint8_t>(160, 0x7f)));
  }
  auto back = a.receive(seconds(3), 10);
  ASSERT_EQ(back.size(), 10u);
  EXPECT_EQ(back[0].from_port, la.local_rtp_port());
  // RTCP to the RTCP port goes to the other side's RTCP port (RTP + 1, from the SDP).
  UdpPeer rtcp_b;  // not in SDP, so nothing reaches it
  std::vector<std::uint8_t> rr = {0x81, 201, 0, 7, 0, 0, 0xA1, 0x1C};
  rr.resize(32, 0);
  a.send(la.local_rtp_port() + 1, rr);
  std::this_thread::sleep_for(milliseconds(200));
  auto leg = Get(la.id());
  EXPECT_EQ(leg.stats().packets_in(), 50u);
  EXPECT_EQ(leg.stats().packets_lost(), 0u);
  EXPECT_EQ(Get(lb.id()).stats().packets_out(), 50u);
}

TEST_F(RelayIt, LatchesOntoANewSourcePortOfTheSameStreamAndDropsStrangers) {
  Start();
  UdpPeer a, a_moved, stranger, b;
  auto [la, lb] = Bridged(a, b);
  a.send(la.local_rtp_port(), Rtp(0, 1, 0, 0xFEED, std::vector<std::uint8_t>(160, 1)));
  ASSERT_EQ(b.receive(seconds(2), 1).size(), 1u);
  // A stranger with another stream: dropped and counted.
  stranger.send(la.local_rtp_port(), Rtp(0, 7, 0, 0xBAD, std::vector<std::uint8_t>(160, 9)));
  EXPECT_TRUE(b.receive(milliseconds(300)).empty());
  // The phone's NAT mapping changes: same stream, new port. The relay follows ...
  a_moved.send(la.local_rtp_port(), Rtp(0, 2, 160, 0xFEED, std::vector<std::uint8_t>(160, 2)));
  auto got = b.receive(seconds(2), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes[kRtpFixedHeaderSize], 2);
  // ... and sends the other direction to the new port.
  b.send(lb.local_rtp_port(), Rtp(0, 1, 0, 0x1, std::vector<std::uint8_t>(160, 3)));
  EXPECT_EQ(a_moved.receive(seconds(2), 1).size(), 1u);
  EXPECT_TRUE(a.receive(milliseconds(200)).empty());
  EXPECT_EQ(Get(la.id()).stats().dropped(), 1u);
}

TEST_F(RelayIt, TranslatesBetweenMuLawAndALaw) {
  Start();
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b, "0 101", "8 101");
  EXPECT_EQ(la.codec(), "PCMU");
  EXPECT_EQ(lb.codec(), "PCMA");
  std::vector<std::uint8_t> payload(160);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
  a.send(la.local_rtp_port(), Rtp(0, 5, 800, 0x42, payload));
  auto got = b.receive(seconds(2), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes[1] & 0x7f, 8);  // now PCMA
  for (size_t i = 0; i < payload.size(); ++i) {
    EXPECT_EQ(got[0].bytes[kRtpFixedHeaderSize + i], kMuLawToALaw[payload[i]]) << i;
  }
}

TEST_F(RelayIt, PlaysAPromptAt20msPacingThenForwardingContinuesTheSameStream) {
  Start();
  // A 400 ms prompt file: 16-bit 8 kHz mono.
  {
    std::ofstream f(dir_ + "/prompts/hello.wav", std::ios::binary);
    const std::uint32_t samples = 3200, data = samples * 2;
    auto w32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto w16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    f.write("RIFF", 4);
    w32(36 + data);
    f.write("WAVEfmt ", 8);
    w32(16);
    w16(1);
    w16(1);
    w32(8000);
    w32(16000);
    w16(2);
    w16(16);
    f.write("data", 4);
    w32(data);
    for (std::uint32_t i = 0; i < samples; ++i) w16(static_cast<std::uint16_t>(1000));
  }
  testing::MessageCollector finished(*nats_, prefix_ + ".media.prompt_finished.>");
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b);
  // The relay learns where the customer is from its first packet (symmetric RTP).
  a.send(la.local_rtp_port(), Rtp(0, 1, 0, 0xAA, std::vector<std::uint8_t>(160, 0xff)));
  b.receive(milliseconds(300));
  v1::PlayRequest play;
  play.set_leg_id(la.id());
  play.add_prompts("hello");
  v1::PlayResponse pr;
  ASSERT_TRUE(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).ok());
  // Meanwhile the agent talks: the prompt has the customer's line, so that is not forwarded.
  b.send(lb.local_rtp_port(), Rtp(0, 500, 9000, 0xB0B, std::vector<std::uint8_t>(160, 0x11)));
  auto got = a.receive(seconds(3), 20);
  ASSERT_EQ(got.size(), 20u);
  const auto first = ParseRtp(got[0].bytes);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->header.marker);
  for (size_t i = 1; i < got.size(); ++i) {
    auto p = ParseRtp(got[i].bytes);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->header.marker);
    EXPECT_EQ(p->header.ssrc, first->header.ssrc);
    EXPECT_EQ(p->header.sequence, static_cast<std::uint16_t>(first->header.sequence + i));
    EXPECT_EQ(p->header.timestamp, first->header.timestamp + 160u * i);
    EXPECT_EQ(p->payload.size(), 160u);
    EXPECT_EQ(p->payload[0], MuLawEncode(1000));
  }
  const double span_ms =
      std::chrono::duration<double, std::milli>(got.back().at - got.front().at).count();
  EXPECT_GT(span_ms, 19 * 20 * 0.8);  // 19 intervals of 20 ms, paced, not a burst
  EXPECT_LT(span_ms, 19 * 20 * 1.5);
  ASSERT_TRUE(finished.wait_for(1, seconds(3)));
  v1::MediaEvent ev;
  ASSERT_TRUE(ev.ParseFromString(finished.messages()[0].data));
  EXPECT_EQ(ev.leg_id(), la.id());
  ASSERT_EQ(ev.prompts_size(), 1);
  EXPECT_EQ(ev.prompts(0), "hello");  // what was played, by name
  // Forwarding resumes, renumbered to continue the prompt's stream.
  b.send(lb.local_rtp_port(), Rtp(0, 501, 9160, 0xB0B, std::vector<std::uint8_t>(160, 0x22)));
  b.send(lb.local_rtp_port(), Rtp(0, 502, 9320, 0xB0B, std::vector<std::uint8_t>(160, 0x22)));
  auto after = a.receive(seconds(2), 2);
  ASSERT_EQ(after.size(), 2u);
  const auto last_prompt = ParseRtp(got.back().bytes);
  const auto p1 = ParseRtp(after[0].bytes);
  const auto p2 = ParseRtp(after[1].bytes);
  EXPECT_EQ(p1->header.ssrc, first->header.ssrc);
  EXPECT_EQ(p1->header.sequence, static_cast<std::uint16_t>(last_prompt->header.sequence + 1));
  EXPECT_GT(static_cast<std::int32_t>(p1->header.timestamp - last_prompt->header.timestamp), 0);
  EXPECT_EQ(p2->header.sequence, static_cast<std::uint16_t>(p1->header.sequence + 1));
  EXPECT_EQ(p2->header.timestamp, p1->header.timestamp + 160);
  EXPECT_EQ(p2->payload[0], 0x22);  // the agent's audio, untouched
  // Unknown prompts are NOT_FOUND, names with paths INVALID_ARGUMENT.
  play.set_prompts(0, "nope");
  EXPECT_EQ(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  play.set_prompts(0, "../../etc/passwd");
  EXPECT_EQ(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RelayIt, RecordsTheBridgeCallerLeftAgentRight) {
  Start();
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b);
  v1::StartRecordingRequest sr;
  sr.set_leg_id(lb.id());  // from the agent leg: the customer still goes left
  sr.set_path("call-1.wav");
  v1::StartRecordingResponse srr;
  ASSERT_TRUE(stub_->StartRecording(MakeContext(seconds(5)).get(), sr, &srr).ok());
  const std::uint8_t left_code = MuLawEncode(4000), right_code = MuLawEncode(-2000);
  for (int i = 0; i < 25; ++i) {
    a.send(la.local_rtp_port(), Rtp(0, static_cast<std::uint16_t>(i), 160u * i, 1,
                                    std::vector<std::uint8_t>(160, left_code)));
    b.send(lb.local_rtp_port(), Rtp(0, static_cast<std::uint16_t>(i), 160u * i, 2,
                                    std::vector<std::uint8_t>(160, right_code)));
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(200));
  v1::StopRecordingRequest stop;
  stop.set_leg_id(la.id());
  v1::StopRecordingResponse stopped;
  ASSERT_TRUE(stub_->StopRecording(MakeContext(seconds(5)).get(), stop, &stopped).ok());
  EXPECT_EQ(stopped.path(), srr.path());
  std::ifstream f(stopped.path(), std::ios::binary);
  std::vector<char> wav((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(wav.size(), 44u + 25 * 160 * 4 / 2);
  auto u16 = [&](size_t off) {
    return static_cast<std::uint16_t>(static_cast<std::uint8_t>(wav[off]) |
                                      (static_cast<std::uint8_t>(wav[off + 1]) << 8));
  };
  auto u32 = [&](size_t off) {
    return std::uint32_t{u16(off)} | (std::uint32_t{u16(off + 2)} << 16);
  };
  EXPECT_EQ(std::string(wav.data(), 4), "RIFF");
  EXPECT_EQ(u16(22), 2);                // stereo
  EXPECT_EQ(u32(24), 8000u);            // 8 kHz
  EXPECT_EQ(u16(34), 16);               // 16-bit
  EXPECT_EQ(u32(40), wav.size() - 44);  // data size patched on close
  int left_hits = 0, right_hits = 0;
  for (size_t off = 44; off + 4 <= wav.size(); off += 4) {
    const auto l = static_cast<std::int16_t>(u16(off));
    const auto r = static_cast<std::int16_t>(u16(off + 2));
    if (l == MuLawDecode(left_code)) ++left_hits;
    if (r == MuLawDecode(right_code)) ++right_hits;
    EXPECT_TRUE(l == 0 || l == MuLawDecode(left_code)) << off;
    EXPECT_TRUE(r == 0 || r == MuLawDecode(right_code)) << off;
  }
  EXPECT_GE(left_hits, 24 * 160);
  EXPECT_GE(right_hits, 24 * 160);
}

// Recordings live in "until-YYYYMMDD" folders named by their retention day: the relay
// removes the folders of past days (at start, then every ten minutes) and keeps the others
// and the files kept for ever.
TEST_F(RelayIt, RecordingsPastTheirRetentionDayAreRemoved) {
  namespace fs = std::filesystem;
  const std::string rec = dir_ + "/recordings";
  for (const char* d : {"until-20200101", "until-29991231", "kept", "until-bogus"}) {
    fs::create_directories(rec + "/" + d);
    std::ofstream(rec + "/" + d + "/call-1-1.wav") << "RIFF";
  }
  Start();
  EXPECT_TRUE(testing::WaitFor([&] { return !fs::exists(rec + "/until-20200101"); }, seconds(5)));
  EXPECT_TRUE(fs::exists(rec + "/until-29991231/call-1-1.wav"));
  EXPECT_TRUE(fs::exists(rec + "/kept/call-1-1.wav"));
  EXPECT_TRUE(fs::exists(rec + "/until-bogus/call-1-1.wav"));  // not a day: not touched
}

TEST_F(RelayIt, DtmfFromTheCallerIsOneEventOnNats) {
  Start();
  testing::MessageCollector dtmf(*nats_, prefix_ + ".media.dtmf.>");
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b);
  // RFC 4733: digit 5, start + 2 updates + 3 redundant end packets, one timestamp.
  auto ev = [](bool end, std::uint16_t duration) {
    return std::vector<std::uint8_t>{5, static_cast<std::uint8_t>((end ? 0x80 : 0) | 10),
                                     static_cast<std::uint8_t>(duration >> 8),
                                     static_cast<std::uint8_t>(duration & 0xff)};
  };
  std::uint16_t seq = 100;
  a.send(la.local_rtp_port(), Rtp(101, seq++, 8000, 7, ev(false, 160), true));
  a.send(la.local_rtp_port(), Rtp(101, seq++, 8000, 7, ev(false, 320)));
  a.send(la.local_rtp_port(), Rtp(101, seq++, 8000, 7, ev(false, 480)));
  for (int i = 0; i < 3; ++i) a.send(la.local_rtp_port(), Rtp(101, seq++, 8000, 7, ev(true, 800)));
  ASSERT_TRUE(dtmf.wait_for(1, seconds(3)));
  std::this_thread::sleep_for(milliseconds(1500));  // a duplicate would have come by now
  ASSERT_EQ(dtmf.messages().size(), 1u);
  v1::MediaEvent e;
  ASSERT_TRUE(e.ParseFromString(dtmf.messages()[0].data));
  EXPECT_EQ(e.digit(), "5");
  EXPECT_EQ(e.duration_ms(), 100);
  EXPECT_EQ(e.call_id(), "call-1");
  EXPECT_EQ(e.leg_id(), la.id());
  EXPECT_EQ(b.receive(seconds(1), 6).size(), 6u);  // and passed through to the agent
}

TEST_F(RelayIt, MediaTimeoutOnASilentBridgeButNotOnHold) {
  Start({"--media-timeout=1s"});
  testing::MessageCollector timeouts(*nats_, prefix_ + ".media.timeout.>");
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b);
  ASSERT_TRUE(timeouts.wait_for(1, seconds(5)));
  v1::MediaEvent e;
  ASSERT_TRUE(e.ParseFromString(timeouts.messages()[0].data));
  EXPECT_EQ(e.kind(), v1::MediaEvent::KIND_MEDIA_TIMEOUT);
  // A second call put on hold (re-INVITE with sendonly) stays quiet without a timeout.
  UdpPeer c, d;
  auto cc_leg = Create("call-2", "customer", Offer(c.port()));
  auto dd_leg = Create("call-2", "agent", Offer(d.port()));
  v1::UpdateLegRequest hold;
  hold.set_leg_id(cc_leg.leg().id());
  hold.set_remote_sdp(Offer(c.port(), "0 8 101", "sendonly"));
  v1::UpdateLegResponse held;
  ASSERT_TRUE(stub_->UpdateLeg(MakeContext(seconds(5)).get(), hold, &held).ok());
  EXPECT_NE(held.local_sdp().find("a=recvonly"), std::string::npos) << held.local_sdp();
  EXPECT_EQ(held.leg().direction(), v1::MEDIA_DIRECTION_SENDONLY);
  v1::BridgeRequest br;
  br.set_leg_a(cc_leg.leg().id());
  br.set_leg_b(dd_leg.leg().id());
  v1::BridgeResponse brr;
  ASSERT_TRUE(stub_->Bridge(MakeContext(seconds(5)).get(), br, &brr).ok());
  // While held, the relay sends nothing to the held phone.
  d.send(dd_leg.leg().local_rtp_port(), Rtp(0, 1, 0, 3, std::vector<std::uint8_t>(160, 1)));
  EXPECT_TRUE(c.receive(milliseconds(300)).empty());
  std::this_thread::sleep_for(milliseconds(2500));
  for (const auto& m : timeouts.messages()) {
    v1::MediaEvent x;
    ASSERT_TRUE(x.ParseFromString(m.data));
    EXPECT_EQ(x.call_id(), "call-1");
  }
  // Resume: audio flows again.
  hold.set_remote_sdp(Offer(c.port()));
  ASSERT_TRUE(stub_->UpdateLeg(MakeContext(seconds(5)).get(), hold, &held).ok());
  d.send(dd_leg.leg().local_rtp_port(), Rtp(0, 2, 160, 3, std::vector<std::uint8_t>(160, 1)));
  EXPECT_EQ(c.receive(seconds(2), 1).size(), 1u);
}

// An agent's answer connected in one call: its SDP applied, the customer's music stopped, the
// legs bridged, audio flowing both ways.
TEST_F(RelayIt, ConnectLegAnswersBridgesAndStopsTheMusic) {
  Start();
  UdpPeer a, b;
  auto customer = Create("call-1", "customer", Offer(a.port()));
  auto agent = Create("call-1", "agent", "");
  v1::PlayRequest play;
  play.set_leg_id(customer.leg().id());
  play.add_prompts("moh");
  play.set_loop(true);
  v1::PlayResponse pr;
  ASSERT_TRUE(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).ok());
  EXPECT_FALSE(a.receive(milliseconds(300)).empty());  // music for the waiting caller
  v1::ConnectLegRequest req;
  req.set_leg_id(agent.leg().id());
  req.set_remote_sdp(Offer(b.port()));
  req.set_bridge_with(customer.leg().id());
  v1::ConnectLegResponse resp;
  auto st = stub_->ConnectLeg(MakeContext(seconds(5)).get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.leg().bridged_with(), customer.leg().id());
  EXPECT_FALSE(Get(customer.leg().id()).playing());
  a.receive(milliseconds(100));                       // what was in flight
  EXPECT_TRUE(a.receive(milliseconds(200)).empty());  // no more music
  b.send(agent.leg().local_rtp_port(), Rtp(0, 1, 0, 9, std::vector<std::uint8_t>(160, 7)));
  EXPECT_EQ(a.receive(seconds(2), 1).size(), 1u);
  a.send(customer.leg().local_rtp_port(), Rtp(0, 1, 0, 8, std::vector<std::uint8_t>(160, 7)));
  EXPECT_EQ(b.receive(seconds(2), 1).size(), 1u);
  // Bad answers are refused with the reason; unknown legs are NOT_FOUND.
  req.set_remote_sdp("v=0\r\nnonsense");
  EXPECT_EQ(stub_->ConnectLeg(MakeContext(seconds(5)).get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_remote_sdp("");
  req.set_bridge_with("L999-none");
  EXPECT_EQ(stub_->ConnectLeg(MakeContext(seconds(5)).get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// A waiting caller hearing music with an idle timeout who sends nothing: a media timeout, on
// the call's subject and on its edge's own; a caller who keeps sending is not timed out.
TEST_F(RelayIt, AWaitingCallerGoneSilentTimesOutWhileMusicPlays) {
  Start();
  testing::MessageCollector timeouts(*nats_, prefix_ + ".media.timeout.>");
  testing::MessageCollector edge_events(*nats_, prefix_ + ".edge.edge-7.media.>");
  UdpPeer silent, talking;
  auto quiet = Create("quiet-call", "customer", Offer(silent.port()), "edge-7");
  auto alive = Create("alive-call", "customer", Offer(talking.port()), "edge-7");
  for (const auto& leg : {quiet.leg().id(), alive.leg().id()}) {
    v1::PlayRequest play;
    play.set_leg_id(leg);
    play.add_prompts("moh");
    play.set_loop(true);
    play.mutable_idle_timeout()->set_seconds(1);
    v1::PlayResponse pr;
    ASSERT_TRUE(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).ok());
  }
  const auto until = SteadyClock::now() + milliseconds(2500);
  std::uint16_t seq = 1;
  while (SteadyClock::now() < until) {
    talking.send(alive.leg().local_rtp_port(),
                 Rtp(0, seq, seq * 160u, 5, std::vector<std::uint8_t>(160, 1)));
    ++seq;
    std::this_thread::sleep_for(milliseconds(100));
  }
  // Read while the talking caller still talks (it goes silent when the loop ends).
  auto timed_out = [&](const std::string& call) {
    int n = 0;
    for (const auto& m : timeouts.messages()) {
      v1::MediaEvent x;
      if (x.ParseFromString(m.data) && x.call_id() == call) ++n;
    }
    return n;
  };
  EXPECT_EQ(timed_out("quiet-call"), 1);
  EXPECT_EQ(timed_out("alive-call"), 0);
  ASSERT_TRUE(edge_events.wait_for(1, seconds(3)));
  EXPECT_EQ(edge_events.messages()[0].subject, prefix_ + ".edge.edge-7.media.timeout");
  // Without an idle timeout, music alone never times a caller out.
  UdpPeer other;
  auto plain = Create("plain-call", "customer", Offer(other.port()), "edge-7");
  v1::PlayRequest play;
  play.set_leg_id(plain.leg().id());
  play.add_prompts("moh");
  play.set_loop(true);
  v1::PlayResponse pr;
  ASSERT_TRUE(stub_->Play(MakeContext(seconds(5)).get(), play, &pr).ok());
  std::this_thread::sleep_for(milliseconds(2000));
  EXPECT_EQ(timed_out("plain-call"), 0);
  EXPECT_EQ(timed_out("quiet-call"), 1);  // reported once, not every half second
}

// An edge lists the legs it holds: the others it created are released (once older than the
// grace), listed legs the relay lacks are named back, and the legs of an edge that stops
// listing are released when its lease runs out; legs created without an edge are left alone.
TEST_F(RelayIt, EdgeLegsReleasesWhatTheEdgeNoLongerHolds) {
  Start({"--edge-legs-grace=500ms", "--edge-lease=2s"});
  UdpPeer p1, p2, p3, p4;
  auto kept = Create("c1", "customer", Offer(p1.port()), "edge-a");
  auto dropped = Create("c2", "customer", Offer(p2.port()), "edge-a");
  auto other_edge = Create("c3", "customer", Offer(p3.port()), "edge-b");
  auto no_edge = Create("c4", "customer", Offer(p4.port()));
  std::this_thread::sleep_for(milliseconds(700));
  v1::EdgeLegsRequest req;
  req.set_edge_id("edge-a");
  req.add_leg_ids(kept.leg().id());
  req.add_leg_ids("L0-gone");
  req.mutable_lease()->set_seconds(30);
  v1::EdgeLegsResponse resp;
  auto st = stub_->EdgeLegs(MakeContext(seconds(5)).get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.released(), 1);
  ASSERT_EQ(resp.unknown_leg_ids_size(), 1);
  EXPECT_EQ(resp.unknown_leg_ids(0), "L0-gone");
  EXPECT_FALSE(resp.instance_id().empty());
  EXPECT_EQ(resp.legs(), 3);
  EXPECT_GT(resp.ports_free(), 0);
  v1::GetLegRequest g;
  g.set_leg_id(dropped.leg().id());
  v1::GetLegResponse gr;
  EXPECT_EQ(stub_->GetLeg(MakeContext(seconds(5)).get(), g, &gr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // edge-b never lists its legs: its default lease (2 s here) runs out.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        v1::ListLegsResponse legs;
        return stub_->ListLegs(MakeContext(seconds(5)).get(), {}, &legs).ok() &&
               legs.legs_size() == 2;
      },
      seconds(6)));
  v1::ListLegsResponse legs;
  ASSERT_TRUE(stub_->ListLegs(MakeContext(seconds(5)).get(), {}, &legs).ok());
  std::set<std::string> left;
  for (const auto& l : legs.legs()) left.insert(l.id());
  EXPECT_EQ(left, (std::set<std::string>{kept.leg().id(), no_edge.leg().id()}));
  (void)other_edge;
  // A bad lease is refused.
  req.mutable_lease()->set_seconds(0);
  EXPECT_EQ(stub_->EdgeLegs(MakeContext(seconds(5)).get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RelayIt, BadInputIsDroppedOrRefusedNeverACrash) {
  Start({}, 2);  // two port pairs only
  UdpPeer a, b;
  auto [la, lb] = Bridged(a, b);
  const int port = la.local_rtp_port();
  a.send(port, {1, 2, 3});                              // short
  a.send(port, std::vector<std::uint8_t>(40, 0x00));    // RTP version 0
  a.send(port, std::vector<std::uint8_t>(3000, 0x80));  // larger than any RTP packet
  a.send(port + 1, {0x80, 0x00, 0, 1});                 // not RTCP
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> junk(rng() % 300);
    for (auto& x : junk) x = static_cast<std::uint8_t>(rng());
    a.send(port, junk);
  }
  // RTCP junk on the RTCP port, and RTP from a stranger's SSRC mid-call.
  for (int i = 0; i < 50; ++i) {
    std::vector<std::uint8_t> rtcp = {0x80, static_cast<std::uint8_t>(200 + i % 5), 0xff, 0xff};
    rtcp.resize(4 + static_cast<std::size_t>(rng() % 80));
    a.send(port + 1, rtcp);
  }
  a.send(port, Rtp(0, 7, 0, 0xBAD, std::vector<std::uint8_t>(160, 9)));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(relay_->process().running());
  const auto leg = Get(la.id());
  EXPECT_GE(leg.stats().dropped(), 4u);
  // The call in progress is not affected: audio still flows both ways.
  (void)b.receive(milliseconds(200));  // whatever the junk let through
  (void)a.receive(milliseconds(50));
  for (int i = 0; i < 10; ++i) {
    a.send(port, Rtp(0, static_cast<std::uint16_t>(100 + i), 160u * (100 + i), 0xA11CE,
                     std::vector<std::uint8_t>(160, 1)));
    b.send(lb.local_rtp_port(), Rtp(0, static_cast<std::uint16_t>(100 + i), 160u * (100 + i), 0xB0B,
                                    std::vector<std::uint8_t>(160, 2)));
  }
  EXPECT_EQ(b.receive(seconds(3), 10).size(), 10u);
  EXPECT_EQ(a.receive(seconds(3), 10).size(), 10u);
  // Malformed SDP: INVALID_ARGUMENT with the reason.
  v1::CreateLegRequest bad;
  bad.set_call_id("x");
  bad.set_remote_sdp("v=0\r\nm=audio banana RTP/AVP 0\r\n");
  v1::CreateLegResponse r;
  auto st = stub_->CreateLeg(MakeContext(seconds(5)).get(), bad, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(st.error_message().empty());
  bad.set_remote_sdp(Offer(a.port(), "18"));  // G.729 only
  EXPECT_EQ(stub_->CreateLeg(MakeContext(seconds(5)).get(), bad, &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The range is full: RESOURCE_EXHAUSTED, and a release gives the pair back.
  bad.set_remote_sdp("");
  st = stub_->CreateLeg(MakeContext(seconds(5)).get(), bad, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  v1::ReleaseLegRequest rel;
  rel.set_leg_id(lb.id());
  v1::ReleaseLegResponse relr;
  ASSERT_TRUE(stub_->ReleaseLeg(MakeContext(seconds(5)).get(), rel, &relr).ok());
  EXPECT_EQ(stub_->ReleaseLeg(MakeContext(seconds(5)).get(), rel, &relr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(stub_->CreateLeg(MakeContext(seconds(5)).get(), bad, &r).ok());
  EXPECT_EQ(Get(la.id()).bridged_with(), "");  // its peer went away
  // Unknown legs, bridging a leg with itself.
  v1::BridgeRequest br;
  br.set_leg_a(la.id());
  br.set_leg_b(la.id());
  v1::BridgeResponse brr;
  EXPECT_EQ(stub_->Bridge(MakeContext(seconds(5)).get(), br, &brr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  br.set_leg_b("L999-nope");
  EXPECT_EQ(stub_->Bridge(MakeContext(seconds(5)).get(), br, &brr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Draining: no new legs, the old ones keep working.
  v1::DrainResponse dr;
  ASSERT_TRUE(stub_->Drain(MakeContext(seconds(5)).get(), {}, &dr).ok());
  EXPECT_EQ(dr.live_legs(), 2);
  EXPECT_EQ(stub_->CreateLeg(MakeContext(seconds(5)).get(), bad, &r).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Metrics count what was dropped and why.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return testing::HttpGet(relay_->metrics_port(), "/metrics")
                   .find("cc_relay_dropped_packets_total{reason=\"malformed\"}") !=
               std::string::npos;
      },
      seconds(5)));
  const std::string m = testing::HttpGet(relay_->metrics_port(), "/metrics");
  EXPECT_NE(m.find("cc_relay_legs 2"), std::string::npos) << m;
  EXPECT_NE(m.find("cc_relay_ports_total 2"), std::string::npos);
  EXPECT_NE(m.find("reason=\"too_large\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace cc::relay

namespace cc::relay {
namespace {

// Who hears whom in a mix, by tone: the caller, the agent and a supervisor each send their
// own frequency, and each must hear exactly the members the mix lets it hear, in barge
// (everyone), listen (the supervisor muted) and whisper (the supervisor heard by the agent
// alone). A bridge the mix takes over ends; an ended mix forwards nothing.
class MixIt : public RelayIt {
 protected:
  v1::Leg Leg(const std::string& label, const testing::ToneParty& p) {
    return Create("call-m", label, Offer(p.port(), "0 101")).leg();
  }
  grpc::Status SetMix(const std::vector<v1::MixMember>& members) {
    v1::SetMixRequest req;
    req.set_mix_id("call-m");
    for (const auto& m : members) *req.add_members() = m;
    v1::SetMixResponse resp;
    return stub_->SetMix(MakeContext(seconds(5)).get(), req, &resp);
  }
  static v1::MixMember Member(const v1::Leg& l, bool muted = false,
                              std::vector<std::string> heard_by = {}) {
    v1::MixMember m;
    m.set_leg_id(l.id());
    m.set_muted(muted);
    for (auto& h : heard_by) m.add_heard_by(h);
    return m;
  }
  void Listen(std::initializer_list<testing::ToneParty*> parties) {
    for (auto* p : parties) p->clear();
    std::this_thread::sleep_for(milliseconds(1200));
  }
};

TEST_F(MixIt, EachMemberHearsExactlyWhomTheMixLetsItHear) {
  Start({}, 20);
  const std::vector<int> tones = {500, 1100, 1700};
  testing::ToneParty caller(500), agent(1100), supervisor(1700);
  for (auto* p : {&caller, &agent, &supervisor}) p->listen_for(tones);
  const v1::Leg c = Leg("customer", caller), a = Leg("agent", agent),
                s = Leg("supervisor", supervisor);
  caller.send_to(c.local_rtp_port());
  agent.send_to(a.local_rtp_port());
  supervisor.send_to(s.local_rtp_port());
  v1::BridgeRequest br;
  br.set_leg_a(c.id());
  br.set_leg_b(a.id());
  v1::BridgeResponse brr;
  ASSERT_TRUE(stub_->Bridge(MakeContext(seconds(5)).get(), br, &brr).ok());
  Listen({&caller, &agent, &supervisor});
  EXPECT_EQ(caller.heard(tones), std::set<int>{1100});
  EXPECT_EQ(supervisor.frames(), 0);

  // Barge: everyone hears the other two.
  ASSERT_TRUE(SetMix({Member(c), Member(a), Member(s)}).ok());
  EXPECT_EQ(Get(c.id()).bridged_with(), "");
  EXPECT_EQ(Get(c.id()).mix_id(), "call-m");
  Listen({&caller, &agent, &supervisor});
  EXPECT_EQ(caller.heard(tones), (std::set<int>{1100, 1700}));
  EXPECT_EQ(agent.heard(tones), (std::set<int>{500, 1700}));
  EXPECT_EQ(supervisor.heard(tones), (std::set<int>{500, 1100}));

  // Listen: nobody hears the supervisor.
  ASSERT_TRUE(SetMix({Member(c), Member(a), Member(s, true)}).ok());
  Listen({&caller, &agent, &supervisor});
  EXPECT_EQ(caller.heard(tones), std::set<int>{1100});
  EXPECT_EQ(agent.heard(tones), std::set<int>{500});
  EXPECT_EQ(supervisor.heard(tones), (std::set<int>{500, 1100}));

  // Whisper: the agent hears the supervisor, the caller does not.
  ASSERT_TRUE(SetMix({Member(c), Member(a), Member(s, false, {a.id()})}).ok());
  Listen({&caller, &agent, &supervisor});
  EXPECT_EQ(caller.heard(tones), std::set<int>{1100});
  EXPECT_EQ(agent.heard(tones), (std::set<int>{500, 1700}));
  EXPECT_EQ(supervisor.heard(tones), (std::set<int>{500, 1100}));

  // Bad mixes are refused and change nothing.
  EXPECT_EQ(SetMix({Member(c), Member(c)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SetMix({Member(c), Member(a, false, {"nobody"})}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Leg ghost;
  ghost.set_id("leg-nope");
  EXPECT_EQ(SetMix({Member(c), Member(ghost)}).error_code(), grpc::StatusCode::NOT_FOUND);
  Listen({&caller});
  EXPECT_EQ(caller.heard(tones), std::set<int>{1100});

  // The supervisor leaves: the two go on in the mix; then the mix ends and forwards nothing.
  ASSERT_TRUE(SetMix({Member(c), Member(a)}).ok());
  EXPECT_EQ(Get(s.id()).mix_id(), "");
  Listen({&caller, &agent, &supervisor});
  EXPECT_EQ(caller.heard(tones), std::set<int>{1100});
  EXPECT_EQ(supervisor.frames(), 0);
  ASSERT_TRUE(SetMix({}).ok());
  Listen({&caller, &agent});
  EXPECT_EQ(caller.frames(), 0);
  EXPECT_EQ(agent.frames(), 0);
}

}  // namespace
}  // namespace cc::relay
