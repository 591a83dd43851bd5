#pragma once
// The media-relay's per-leg state and its small helpers, private to src/: what a worker
// owns for each leg (sockets, negotiated media, symmetric-RTP source, statistics, prompt and
// recording state). Only the worker thread that owns a leg touches it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "media_relay/dtmf.h"
#include "media_relay/pacer.h"
#include "media_relay/relay.h"
#include "media_relay/rtp.h"
#include "media_relay/wav.h"
#include "mix.h"

namespace cc::relay {

constexpr int kBatch = 64;                   // packets per recvmmsg / sendmmsg
constexpr int kRoundsPerWakeup = 4;          // batches read from one socket before the next one
constexpr std::size_t kPacketBuffer = 2048;  // larger datagrams are dropped as too large
constexpr Duration kTick{5};                 // prompts, recordings, timeouts
constexpr int kRecordingRing = 16000;        // 2 s of samples per channel

inline bool SameAddress(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

inline std::string AddressText(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return buf;
}

inline std::optional<sockaddr_in> MakeAddress(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return std::nullopt;
  return a;
}

inline std::uint32_t Read32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

inline int BindUdp(const std::string& ip, std::uint16_t port, int buffer_bytes) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  auto addr = MakeAddress(ip, port);
  if (!addr || bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Two channels of decoded audio waiting to be written, each a fixed ring (no allocation on
// the packet path); the worker's tick writes 20 ms frames to the WAV file.
struct Recording {
  StereoWavWriter writer;
  std::string path;
  std::array<std::array<std::int16_t, kRecordingRing>, 2> ring{};
  std::array<std::size_t, 2> head{}, size{};
  TimePoint next_write{};
  std::uint64_t bytes_written = 0;
  bool paused = false;  // nothing taken in: the file gets silence, its length follows the clock

  explicit Recording(StereoWavWriter w) : writer(std::move(w)) {}
  void push(int channel, std::span<const std::int16_t> samples) {
    auto& r = ring[static_cast<size_t>(channel)];
    auto& h = head[static_cast<size_t>(channel)];
    auto& n = size[static_cast<size_t>(channel)];
    for (std::int16_t s : samples) {
      if (n == r.size()) {  // a channel far ahead of the clock: drop its oldest
        h = (h + 1) % r.size();
        --n;
      }
      r[(h + n) % r.size()] = s;
      ++n;
    }
  }
  void pop(int channel, std::span<std::int16_t> out) {
    auto& r = ring[static_cast<size_t>(channel)];
    auto& h = head[static_cast<size_t>(channel)];
    auto& n = size[static_cast<size_t>(channel)];
    for (auto& s : out) {
      if (n == 0) {
        s = 0;
        continue;
      }
      s = r[h];
      h = (h + 1) % r.size();
      --n;
    }
  }
};

struct Leg;

// One of a leg's two sockets, as registered with epoll.
struct Socket {
  Leg* leg = nullptr;
  bool rtcp = false;
  int fd = -1;
};

struct Leg {
  std::string id, call_id, label, edge_id;
  std::uint16_t port = 0;
  Socket rtp, rtcp;

  // What the remote end said in SDP.
  bool negotiated = false;
  bool awaiting_answer = false;
  G711Law law = G711Law::kMuLaw;
  std::uint8_t payload_type = 0;
  std::optional<std::uint8_t> telephone_event_pt;
  std::optional<sockaddr_in> sdp_rtp, sdp_rtcp;
  Direction remote_direction = Direction::kSendRecv;
  bool remote_hold = false;
  std::uint64_t session_id = 0, session_version = 0;
  std::string local_sdp;

  // Symmetric RTP: where the remote end really sends from.
  std::optional<sockaddr_in> rtp_source, rtcp_source;
  TimePoint rtp_source_seen{}, rtcp_source_seen{};
  std::uint32_t source_ssrc = 0;

  Leg* peer = nullptr;
  // Once the relay itself sent media to this leg (a prompt), everything it sends afterwards
  // goes through this, so the receiver sees one stream with monotonic sequence and time.
  std::unique_ptr<SequenceRewriter> out;
  std::unique_ptr<PromptPacer> pacer;
  std::vector<std::string> pacer_prompts;  // the names it plays, for the finished event
  std::shared_ptr<Recording> recording;
  int recording_channel = 0;
  // In a mix instead of a bridge: its decoded input, and the mix (owned by the worker).
  Mix* mix = nullptr;
  std::unique_ptr<PcmRing> mix_in;

  LegStats stats;
  bool seq_started = false;
  std::uint16_t max_seq = 0;
  std::uint32_t seq_cycles = 0, base_seq = 0;
  std::uint64_t received = 0;
  bool have_transit = false;
  std::int64_t last_transit = 0;
  double jitter = 0;  // in timestamp units

  DtmfDetector dtmf;
  TimePoint last_dtmf{};
  bool dtmf_pending = false;
  TimePoint last_rx{};
  bool timeout_reported = false;
  Duration idle_timeout{0};  // while a prompt plays and the leg is not bridged (0: none)

  bool can_receive() const { return !remote_hold; }
  bool on_hold() const { return remote_direction != Direction::kSendRecv || remote_hold; }
  const std::optional<sockaddr_in>& rtp_destination() const {
    return rtp_source ? rtp_source : sdp_rtp;
  }
  const std::optional<sockaddr_in>& rtcp_destination() const {
    return rtcp_source ? rtcp_source : sdp_rtcp;
  }
};

}  // namespace cc::relay
