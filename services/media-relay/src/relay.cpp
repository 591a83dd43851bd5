#include "media_relay/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "common/ids.h"
#include "common/log.h"
#include "media_relay/dtmf.h"
#include "media_relay/pacer.h"
#include "media_relay/rtp.h"
#include "media_relay/wav.h"

namespace cc::relay {

const char* ToString(DropReason r) {
  switch (r) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kUnknownSource:
      return "unknown_source";
    case DropReason::kNoBridge:
      return "no_bridge";
    case DropReason::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

namespace {

constexpr int kBatch = 64;                   // packets per recvmmsg / sendmmsg
constexpr int kRoundsPerWakeup = 4;          // batches read from one socket before the next one
constexpr std::size_t kPacketBuffer = 2048;  // larger datagrams are dropped as too large
constexpr Duration kTick{5};                 // prompts, recordings, timeouts
constexpr int kRecordingRing = 16000;        // 2 s of samples per channel

bool SameAddress(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

std::string AddressText(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return buf;
}

std::optional<sockaddr_in> MakeAddress(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return std::nullopt;
  return a;
}

std::uint32_t Read32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

int BindUdp(const std::string& ip, std::uint16_t port, int buffer_bytes) {
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

}  // namespace

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
  std::shared_ptr<Recording> recording;
  int recording_channel = 0;

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

// A worker thread: its legs, one epoll loop, and the only code that touches those legs.
class Worker {
 public:
  Worker(Relay& relay, int index) : relay_(relay), index_(index) {}
  ~Worker() { stop(); }

  Status start() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    cmdfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd_ < 0 || cmdfd_ < 0 || timerfd_ < 0) return Internal("cannot create event fds");
    itimerspec spec{};
    spec.it_interval.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(kTick).count();
    spec.it_value = spec.it_interval;
    timerfd_settime(timerfd_, 0, &spec, nullptr);
    add_fd(cmdfd_, &cmd_tag_);
    add_fd(timerfd_, &timer_tag_);
    for (int i = 0; i < kBatch; ++i) {
      riov_[i] = {bufs_[i].data(), kPacketBuffer};
      rmsg_[i].msg_hdr = {};
      rmsg_[i].msg_hdr.msg_iov = &riov_[i];
      rmsg_[i].msg_hdr.msg_iovlen = 1;
      rmsg_[i].msg_hdr.msg_name = &from_[i];
      smsg_[i].msg_hdr = {};
      smsg_[i].msg_hdr.msg_iov = &siov_[i];
      smsg_[i].msg_hdr.msg_iovlen = 1;
    }
    running_ = true;
    thread_ = std::thread([this] { loop(); });
    return OkStatus();
  }

  void stop() {
    if (!thread_.joinable()) return;
    run([this] {
      running_ = false;
      for (auto& [id, leg] : legs_) close_leg(*leg);
      legs_.clear();
    });
    thread_.join();
    for (int fd : {epfd_, cmdfd_, timerfd_}) {
      if (fd >= 0) close(fd);
    }
  }

  // Runs `fn` on this worker's thread and returns its result.
  template <typename F>
  auto run(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::packaged_task<R()> task(std::forward<F>(fn));
    auto result = task.get_future();
    {
      std::lock_guard lock(cmd_mu_);
      commands_.emplace_back([&task] { task(); });
    }
    const std::uint64_t one = 1;
    ssize_t w = write(cmdfd_, &one, sizeof one);
    (void)w;
    return result.get();
  }

  // --- called on the worker thread (inside run) ---------------------------------------

  void adopt(std::unique_ptr<Leg> leg) {
    leg->rtp.leg = leg->rtcp.leg = leg.get();
    add_fd(leg->rtp.fd, &leg->rtp);
    add_fd(leg->rtcp.fd, &leg->rtcp);
    legs_[leg->id] = std::move(leg);
  }

  std::unique_ptr<Leg> detach(const std::string& id) {
    auto it = legs_.find(id);
    if (it == legs_.end()) return nullptr;
    auto leg = std::move(it->second);
    legs_.erase(it);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg->rtp.fd, nullptr);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg->rtcp.fd, nullptr);
    return leg;
  }

  Leg* find(const std::string& id) {
    auto it = legs_.find(id);
    return it == legs_.end() ? nullptr : it->second.get();
  }

  void close_leg(Leg& leg) {
    if (leg.peer) {
      leg.peer->peer = nullptr;
      leg.peer = nullptr;
      relay_.bridges_--;
    }
    stop_recording(leg);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg.rtp.fd, nullptr);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg.rtcp.fd, nullptr);
    close(leg.rtp.fd);
    close(leg.rtcp.fd);
  }

  static void stop_recording(Leg& leg) {
    if (!leg.recording) return;
    auto rec = leg.recording;
    if (leg.peer && leg.peer->recording == rec) leg.peer->recording.reset();
    leg.recording.reset();
    if (rec.use_count() == 1) (void)rec->writer.close();
  }

  LegStats stats_of(const Leg& leg) const {
    LegStats s = leg.stats;
    if (leg.seq_started) {
      const std::uint64_t extended = (std::uint64_t{leg.seq_cycles} << 16) + leg.max_seq;
      const std::uint64_t expected = extended - leg.base_seq + 1;
      s.packets_lost = expected > leg.received ? expected - leg.received : 0;
    }
    s.jitter_ms = leg.jitter / 8.0;  // 8 kHz clock
    return s;
  }

  LegInfo info_of(const Leg& leg) const {
    LegInfo i;
    i.id = leg.id;
    i.call_id = leg.call_id;
    i.label = leg.label;
    i.local_address = relay_.settings_.advertise_address;
    i.local_rtp_port = leg.port;
    if (const auto& d = leg.rtp_destination()) {
      i.remote_address = AddressText(*d);
      i.remote_rtp_port = ntohs(d->sin_port);
    }
    i.codec = leg.negotiated ? (leg.law == G711Law::kMuLaw ? "PCMU" : "PCMA") : "";
    i.direction = leg.remote_direction;
    i.bridged_with = leg.peer ? leg.peer->id : "";
    i.playing = leg.pacer != nullptr;
    i.recording = leg.recording != nullptr;
    i.stats = stats_of(leg);
    return i;
  }

  std::vector<LegInfo> list(const std::string& call_id) const {
    std::vector<LegInfo> out;
    for (const auto& [id, leg] : legs_) {
      if (call_id.empty() || leg->call_id == call_id) out.push_back(info_of(*leg));
    }
    return out;
  }

  // Totals, readable from other threads.
  std::atomic<std::uint64_t> packets_in{0}, packets_out{0}, bytes_in{0}, bytes_out{0},
      send_errors{0};
  std::array<std::atomic<std::uint64_t>, kDropReasons> drops{};

  const Clock& clock() const { return SystemClock::instance(); }

 private:
  void add_fd(int fd, void* tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = tag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }

  void loop() {
    const std::string name = "relay-w" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    std::array<epoll_event, 64> events{};
    while (running_) {
      const int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n && running_; ++i) {
        void* tag = events[static_cast<size_t>(i)].data.ptr;
        if (tag == &cmd_tag_) {
          run_commands();
        } else if (tag == &timer_tag_) {
          std::uint64_t expirations;
          ssize_t r = read(timerfd_, &expirations, sizeof expirations);
          (void)r;
          tick(clock().now());
        } else {
          readable(*static_cast<Socket*>(tag));
        }
      }
    }
  }

  void run_commands() {
    std::uint64_t count;
    ssize_t r = read(cmdfd_, &count, sizeof count);
    (void)r;
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(cmd_mu_);
      batch.swap(commands_);
    }
    for (auto& fn : batch) fn();
  }

  void drop(DropReason why, Leg& leg) {
    drops[static_cast<size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    leg.stats.dropped++;
  }

  // Symmetric RTP: the first packet tells where the remote end really is; later a new source
  // replaces it only if it carries the same stream (a NAT rebinding) or the old one went quiet.
  bool accept_source(Leg& leg, std::optional<sockaddr_in>& source, TimePoint& seen,
                     const sockaddr_in& from, std::optional<std::uint32_t> ssrc, TimePoint now) {
    if (source && SameAddress(*source, from)) {
      seen = now;
      return true;
    }
    const bool first = !source.has_value();
    if (first && relay_.settings_.strict_source && leg.sdp_rtp &&
        leg.sdp_rtp->sin_addr.s_addr != from.sin_addr.s_addr) {
      return false;
    }
    const bool same_stream = ssrc && leg.source_ssrc != 0 && *ssrc == leg.source_ssrc;
    if (!first && !same_stream && now - seen < relay_.settings_.relatch_after) return false;
    source = from;
    seen = now;
    return true;
  }

  void readable(Socket& sock) {
    Leg& leg = *sock.leg;
    for (int round = 0; round < kRoundsPerWakeup; ++round) {
      for (int i = 0; i < kBatch; ++i) {
        rmsg_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        rmsg_[i].msg_hdr.msg_flags = 0;
      }
      const int n = recvmmsg(sock.fd, rmsg_.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      const TimePoint now = clock().now();
      int out = 0;
      const sockaddr_in* dest = nullptr;
      int dest_fd = -1;
      std::uint64_t in_bytes = 0;
      for (int i = 0; i < n; ++i) {
        const auto len = static_cast<std::size_t>(rmsg_[i].msg_len);
        in_bytes += len;
        if (rmsg_[i].msg_hdr.msg_flags & MSG_TRUNC) {
          drop(DropReason::kTooLarge, leg);
          continue;
        }
        std::span<std::uint8_t> pkt(bufs_[i].data(), len);
        const bool ok = sock.rtcp ? rtcp(leg, pkt, from_[i], now, dest, dest_fd)
                                  : rtp(leg, pkt, from_[i], now, dest, dest_fd);
        if (ok) siov_[out++] = {pkt.data(), pkt.size()};
      }
      packets_in.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      bytes_in.fetch_add(in_bytes, std::memory_order_relaxed);
      if (out > 0) send(dest_fd, *dest, out, sock.rtcp);
      if (n < kBatch) return;
    }
  }

  void send(int fd, const sockaddr_in& dest, int count, bool rtcp) {
    std::uint64_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      smsg_[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&dest);
      smsg_[i].msg_hdr.msg_namelen = sizeof dest;
      bytes += siov_[i].iov_len;
    }
    int off = 0;
    while (off < count) {
      const int s = sendmmsg(fd, smsg_.data() + off, static_cast<unsigned>(count - off), 0);
      if (s < 0) {
        if (errno == EINTR) continue;
        send_errors.fetch_add(static_cast<std::uint64_t>(count - off), std::memory_order_relaxed);
        break;  // full buffer or unreachable: the rest of this batch is lost, like on a wire
      }
      off += s;
    }
    packets_out.fetch_add(static_cast<std::uint64_t>(off), std::memory_order_relaxed);
    bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    (void)rtcp;
  }

  // One RTP packet from `leg`'s remote end: checks, statistics, DTMF, recording, and the
  // decision to forward it to the peer (in place, possibly transcoded or renumbered).
  bool rtp(Leg& leg, std::span<std::uint8_t> pkt, const sockaddr_in& from, TimePoint now,
           const sockaddr_in*& dest, int& dest_fd) {
    if (pkt.size() < kRtpFixedHeaderSize || (pkt[0] >> 6) != 2 || IsRtcp(pkt)) {
      drop(DropReason::kMalformed, leg);
      return false;
    }
    const std::uint32_t ssrc = Read32(&pkt[8]);
    if (!accept_source(leg, leg.rtp_source, leg.rtp_source_seen, from, ssrc, now)) {
      drop(DropReason::kUnknownSource, leg);
      return false;
    }
    leg.source_ssrc = ssrc;
    const std::uint8_t pt = pkt[1] & 0x7f;
    const std::uint16_t seq = static_cast<std::uint16_t>((pkt[2] << 8) | pkt[3]);
    const std::uint32_t ts = Read32(&pkt[4]);
    count_in(leg, seq, ts, pkt.size(), now);

    if (leg.telephone_event_pt && pt == *leg.telephone_event_pt) {
      dtmf(leg, pkt, ts, now);
    } else if (leg.recording && leg.negotiated && pt == leg.payload_type) {
      record(leg, pkt);
    }

    Leg* peer = leg.peer;
    if (!peer) {
      drop(DropReason::kNoBridge, leg);
      return false;
    }
    if (peer->pacer || !peer->can_receive()) return false;  // a prompt owns it, or it is held
    const auto& to = peer->rtp_destination();
    if (!to) return false;  // the peer has not told us where it is yet
    if (peer->negotiated && leg.negotiated) {
      if (pt == leg.payload_type && peer->law != leg.law) {
        auto parsed = ParseRtp(pkt);
        if (!parsed) {
          drop(DropReason::kMalformed, leg);
          return false;
        }
        const auto offset = static_cast<std::size_t>(parsed->payload.data() - pkt.data());
        TranscodeG711(leg.law, peer->law, pkt.subspan(offset, parsed->payload.size()));
        pkt[1] = static_cast<std::uint8_t>((pkt[1] & 0x80) | peer->payload_type);
      } else if (leg.telephone_event_pt && pt == *leg.telephone_event_pt &&
                 peer->telephone_event_pt && *peer->telephone_event_pt != pt) {
        pkt[1] = static_cast<std::uint8_t>((pkt[1] & 0x80) | *peer->telephone_event_pt);
      }
    }
    if (peer->out) {
      RtpHeader h;
      h.marker = (pkt[1] & 0x80) != 0;
      h.payload_type = pkt[1] & 0x7f;
      h.sequence = seq;
      h.timestamp = ts;
      h.ssrc = ssrc;
      auto rewritten = peer->out->rewrite(h, now);
      if (!rewritten) return false;
      RewriteRtpHeader(pkt, *rewritten);
    }
    count_out(*peer, pkt.size());
    dest = &*to;
    dest_fd = peer->rtp.fd;
    return true;
  }

  bool rtcp(Leg& leg, std::span<std::uint8_t> pkt, const sockaddr_in& from, TimePoint now,
            const sockaddr_in*& dest, int& dest_fd) {
    if (pkt.size() < 8 || (pkt[0] >> 6) != 2 || pkt[1] < 192 || pkt[1] > 223) {
      drop(DropReason::kMalformed, leg);
      return false;
    }
    if (!accept_source(leg, leg.rtcp_source, leg.rtcp_source_seen, from, std::nullopt, now)) {
      drop(DropReason::kUnknownSource, leg);
      return false;
    }
    leg.stats.rtcp_in++;
    Leg* peer = leg.peer;
    if (!peer) {
      drop(DropReason::kNoBridge, leg);
      return false;
    }
    const auto& to = peer->rtcp_destination();
    if (!to || !peer->can_receive()) return false;
    peer->stats.rtcp_out++;
    dest = &*to;
    dest_fd = peer->rtcp.fd;
    return true;
  }

  static void count_out(Leg& leg, std::size_t bytes) {
    leg.stats.packets_out++;
    leg.stats.bytes_out += bytes;
  }

  // RFC 3550 A.1 (sequence, simplified) and A.8 (jitter) for the leg's incoming stream.
  static void count_in(Leg& leg, std::uint16_t seq, std::uint32_t ts, std::size_t bytes,
                       TimePoint now) {
    leg.stats.packets_in++;
    leg.stats.bytes_in += bytes;
    leg.last_rx = now;
    leg.timeout_reported = false;
    if (!leg.seq_started) {
      leg.seq_started = true;
      leg.base_seq = seq;
      leg.max_seq = seq;
    } else {
      const std::uint16_t delta = static_cast<std::uint16_t>(seq - leg.max_seq);
      if (delta < 0x8000) {
        if (seq < leg.max_seq) leg.seq_cycles++;
        leg.max_seq = seq;
      }
    }
    leg.received++;
    const auto arrival =
        static_cast<std::int64_t>(ToUnixMillis(now)) * 8;  // in 8 kHz timestamp units
    const std::int64_t transit = arrival - static_cast<std::int64_t>(ts);
    if (leg.have_transit) {
      const double d = std::fabs(static_cast<double>(transit - leg.last_transit));
      leg.jitter += (d - leg.jitter) / 16.0;
    }
    leg.have_transit = true;
    leg.last_transit = transit;
  }

  void dtmf(Leg& leg, std::span<const std::uint8_t> pkt, std::uint32_t ts, TimePoint now) {
    auto parsed = ParseRtp(pkt);
    if (!parsed) return;
    leg.last_dtmf = now;
    leg.dtmf_pending = true;
    for (const auto& press : leg.dtmf.on_payload(ts, parsed->payload)) {
      relay_.events_.dtmf(Ref(leg), press.digit, press.duration_ms);
    }
  }

  void record(Leg& leg, std::span<const std::uint8_t> pkt) {
    auto parsed = ParseRtp(pkt);
    if (!parsed || parsed->payload.size() > 480) return;
    std::array<std::int16_t, 480> pcm{};
    std::span<std::int16_t> out(pcm.data(), parsed->payload.size());
    DecodeG711(leg.law, parsed->payload, out);
    leg.recording->push(leg.recording_channel, out);
  }

  // Prompts, recordings, DTMF presses whose end never came, media timeouts.
  void tick(TimePoint now) {
    const bool check_timeouts = now - last_timeout_check_ >= Duration{500};
    if (check_timeouts) last_timeout_check_ = now;
    for (auto& [id, leg_ptr] : legs_) {
      Leg& leg = *leg_ptr;
      if (leg.pacer) play(leg, now);
      if (leg.recording && leg.recording_channel == 0) write_recording(*leg.recording, now);
      if (leg.dtmf_pending && now - leg.last_dtmf > Duration{1000}) {
        leg.dtmf_pending = false;
        if (auto press = leg.dtmf.flush()) {
          relay_.events_.dtmf(Ref(leg), press->digit, press->duration_ms);
        }
      }
      if (check_timeouts && !leg.timeout_reported && !leg.on_hold() && timed_out(leg, now)) {
        leg.timeout_reported = true;
        relay_.events_.media_timeout(Ref(leg));
      }
    }
  }

  void play(Leg& leg, TimePoint now) {
    const auto& to = leg.rtp_destination();
    while (auto p = leg.pacer->take_due(now)) {
      if (!to || !leg.can_receive()) continue;  // nobody listens: the prompt still runs
      auto h = leg.out->rewrite(p->header, now);
      if (!h) continue;
      std::array<std::uint8_t, kMaxPacedPacketSize> bytes = p->bytes;
      RewriteRtpHeader(std::span<std::uint8_t>(bytes.data(), p->size), *h);
      if (sendto(leg.rtp.fd, bytes.data(), p->size, 0, reinterpret_cast<const sockaddr*>(&*to),
                 sizeof(sockaddr_in)) > 0) {
        count_out(leg, p->size);
        packets_out.fetch_add(1, std::memory_order_relaxed);
        bytes_out.fetch_add(p->size, std::memory_order_relaxed);
      }
    }
    if (leg.pacer->finished()) {
      leg.pacer.reset();
      leg.idle_timeout = Duration{0};
      relay_.events_.prompt_finished(Ref(leg));
    }
  }

  static LegRef Ref(const Leg& leg) { return {leg.call_id, leg.id, leg.edge_id}; }

  // Silent for too long: a bridged leg past the media timeout (neither side on hold), or a
  // leg hearing a prompt with an idle timeout.
  bool timed_out(const Leg& leg, TimePoint now) const {
    if (leg.peer) {
      return !leg.peer->on_hold() && now - leg.last_rx > relay_.settings_.media_timeout;
    }
    return leg.pacer && leg.idle_timeout.count() > 0 && now - leg.last_rx > leg.idle_timeout;
  }

  static void write_recording(Recording& rec, TimePoint now) {
    constexpr std::size_t kFrame = 160;  // 20 ms
    int frames = 0;
    while (now >= rec.next_write && frames++ < 10) {
      std::array<std::int16_t, kFrame> left{}, right{};
      rec.pop(0, left);
      rec.pop(1, right);
      if (rec.writer.write(left, right).ok()) rec.bytes_written += kFrame * 4;
      rec.next_write += Duration{20};
    }
    if (now >= rec.next_write) rec.next_write = now;  // far behind: do not try to catch up
  }

  Relay& relay_;
  int index_;
  int epfd_ = -1, cmdfd_ = -1, timerfd_ = -1;
  char cmd_tag_ = 0, timer_tag_ = 0;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::mutex cmd_mu_;
  std::deque<std::function<void()>> commands_;
  std::map<std::string, std::unique_ptr<Leg>> legs_;
  TimePoint last_timeout_check_{};

  std::array<std::array<std::uint8_t, kPacketBuffer>, kBatch> bufs_{};
  std::array<mmsghdr, kBatch> rmsg_{}, smsg_{};
  std::array<iovec, kBatch> riov_{}, siov_{};
  std::array<sockaddr_in, kBatch> from_{};

  friend class Relay;
};

// -----------------------------------------------------------------------------------------

Relay::Relay(RelaySettings settings, MediaEventSink& events)
    : settings_(std::move(settings)),
      events_(events),
      ports_(settings_.port_min, settings_.port_max),
      instance_id_(RandomHex(8)) {
  if (settings_.advertise_address.empty()) settings_.advertise_address = settings_.bind_address;
}

Relay::~Relay() {
  stop();
}

Status Relay::start() {
  if (!MakeAddress(settings_.bind_address, 0)) {
    return InvalidArgument("bind address '" + settings_.bind_address + "' is not an IPv4 address");
  }
  for (int i = 0; i < std::max(1, settings_.workers); ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
    CC_RETURN_IF_ERROR(workers_.back()->start());
  }
  return OkStatus();
}

void Relay::stop() {
  for (auto& w : workers_) w->stop();
  workers_.clear();
  std::lock_guard lock(mu_);
  leg_owner_.clear();
}

std::string Relay::next_leg_id() {
  return "L" + std::to_string(next_id_++) + "-" + RandomHex(4);
}

Worker* Relay::owner(const std::string& leg_id) {
  std::lock_guard lock(mu_);
  auto it = leg_owner_.find(leg_id);
  return it == leg_owner_.end() ? nullptr : it->second;
}

namespace {

// Applies what the remote SDP says (the accepted audio stream) to a leg.
void Apply(Leg& leg, const NegotiatedAudio& audio) {
  leg.negotiated = true;
  leg.law = audio.law;
  leg.payload_type = audio.payload_type;
  leg.telephone_event_pt = audio.telephone_event_payload_type;
  leg.remote_direction = audio.remote_direction;
  leg.remote_hold = audio.remote_hold;
  const auto rtp = MakeAddress(audio.remote.address, audio.remote_rtp_port);
  const auto rtcp = MakeAddress(audio.remote.address, audio.remote_rtcp_port);
  // A new address in the SDP (not a hold's 0.0.0.0) means a new remote end: learn it again.
  if (rtp && !audio.remote.is_unspecified() && (!leg.sdp_rtp || !SameAddress(*leg.sdp_rtp, *rtp))) {
    leg.rtp_source.reset();
    leg.rtcp_source.reset();
  }
  if (!audio.remote.is_unspecified()) {
    leg.sdp_rtp = rtp;
    leg.sdp_rtcp = rtcp;
  }
}

}  // namespace

Result<LegDescription> Relay::create_leg(const std::string& call_id, const std::string& label,
                                         const std::string& remote_sdp,
                                         const std::string& edge_id) {
  if (draining_) return Unavailable("media-relay is draining: no new legs");
  std::optional<SessionDescription> offer;
  if (!remote_sdp.empty()) {
    CC_ASSIGN_OR_RETURN(offer, ParseSdp(remote_sdp));
    // An offer we cannot accept is refused before a port is taken for it.
    LocalMedia probe;
    probe.address = settings_.advertise_address;
    probe.port = 1;
    CC_RETURN_IF_ERROR(Negotiate(*offer, probe));
  }
  auto leg = std::make_unique<Leg>();
  leg->id = next_leg_id();
  leg->call_id = call_id;
  leg->label = label;
  leg->edge_id = edge_id;
  // Bind a free pair; a pair someone else holds is skipped.
  for (std::size_t attempt = 0; attempt <= ports_.capacity(); ++attempt) {
    auto port = ports_.acquire();
    if (!port) {
      return Error{ErrorCode::kResourceExhausted, "no free RTP port pair in " +
                                                      std::to_string(settings_.port_min) + "-" +
                                                      std::to_string(settings_.port_max)};
    }
    const int rtp_fd = BindUdp(settings_.bind_address, *port, settings_.socket_buffer_bytes);
    const int rtcp_fd = rtp_fd < 0
                            ? -1
                            : BindUdp(settings_.bind_address, static_cast<std::uint16_t>(*port + 1),
                                      settings_.socket_buffer_bytes);
    if (rtp_fd >= 0 && rtcp_fd >= 0) {
      leg->port = *port;
      leg->rtp = {nullptr, false, rtp_fd};
      leg->rtcp = {nullptr, true, rtcp_fd};
      break;
    }
    if (rtp_fd >= 0) close(rtp_fd);
    ports_.quarantine(*port);
  }
  if (leg->port == 0) {
    return Error{ErrorCode::kResourceExhausted, "no RTP port pair could be bound"};
  }
  std::mt19937_64 rng{std::random_device{}()};
  leg->session_id = rng() >> 1;
  leg->session_version = 1;
  LocalMedia local;
  local.address = settings_.advertise_address;
  local.port = leg->port;
  local.session_id = leg->session_id;
  local.session_version = leg->session_version;
  if (offer) {
    auto negotiated = Negotiate(*offer, local);
    if (!negotiated.ok()) {
      ports_.release(leg->port);
      close(leg->rtp.fd);
      close(leg->rtcp.fd);
      return negotiated.error();
    }
    Apply(*leg, negotiated->audio);
    leg->local_sdp = WriteSdp(negotiated->answer);
  } else {
    leg->awaiting_answer = true;
    leg->local_sdp = WriteSdp(BuildOffer(local));
  }
  // Legs of one call share a worker, so bridging them never moves a leg.
  Worker* w = workers_[std::hash<std::string>{}(call_id) % workers_.size()].get();
  LegDescription out;
  Leg* raw = leg.get();
  out.local_sdp = leg->local_sdp;
  {
    std::lock_guard lock(mu_);
    leg_owner_[leg->id] = w;
    if (!edge_id.empty()) {
      const TimePoint now = SystemClock::instance().now();
      auto& edge = edges_[edge_id];
      edge.legs[leg->id] = now;
      // An edge that has not listed its legs yet: its legs live for the default lease.
      if (edge.lease_until < now + settings_.edge_lease && edge.legs.size() == 1) {
        edge.lease_until = std::max(edge.lease_until, now + settings_.edge_lease);
      }
    }
  }
  out.leg = w->run([&] {
    w->adopt(std::move(leg));
    return w->info_of(*raw);
  });
  return out;
}

Result<LegDescription> Relay::update_leg(const std::string& leg_id, const std::string& remote_sdp) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  CC_ASSIGN_OR_RETURN(SessionDescription sdp, ParseSdp(remote_sdp));
  return w->run([&]() -> Result<LegDescription> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    LocalMedia local;
    local.address = settings_.advertise_address;
    local.port = leg->port;
    local.session_id = leg->session_id;
    local.session_version = leg->session_version + (leg->awaiting_answer ? 0 : 1);
    // An answer to our offer is read the same way as an offer: the audio line it accepted.
    CC_ASSIGN_OR_RETURN(Negotiation n, Negotiate(sdp, local));
    Apply(*leg, n.audio);
    if (leg->awaiting_answer) {
      leg->awaiting_answer = false;
    } else {
      leg->session_version = local.session_version;
      leg->local_sdp = WriteSdp(n.answer);
    }
    return LegDescription{w->info_of(*leg), leg->local_sdp};
  });
}

Status Relay::bridge(const std::string& a, const std::string& b) {
  if (a == b) return InvalidArgument("a leg cannot be bridged with itself");
  Worker* wa = owner(a);
  Worker* wb = owner(b);
  if (!wa) return NotFound("leg '" + a + "' not found");
  if (!wb) return NotFound("leg '" + b + "' not found");
  if (wa != wb) {
    // Legs of different calls on different workers: move b over (it must not be bridged).
    auto moved = wb->run([&]() -> Result<std::unique_ptr<Leg>> {
      Leg* leg = wb->find(b);
      if (!leg) return NotFound("leg '" + b + "' not found");
      if (leg->peer) return FailedPrecondition("leg " + b + " is bridged; unbridge it first");
      return wb->detach(b);
    });
    if (!moved.ok()) return moved.error();
    wa->run([&] { wa->adopt(std::move(moved).value()); });
    std::lock_guard lock(mu_);
    leg_owner_[b] = wa;
  }
  return wa->run([&]() -> Status {
    Leg* la = wa->find(a);
    Leg* lb = wa->find(b);
    if (!la || !lb) return NotFound("leg not found");
    if (la->peer == lb) return OkStatus();
    if (la->peer || lb->peer) {
      return FailedPrecondition("leg " + std::string(la->peer ? a : b) +
                                " is already bridged; unbridge it first");
    }
    la->peer = lb;
    lb->peer = la;
    // The media timeout counts from the bridge for a leg that never sent anything.
    const TimePoint now = wa->clock().now();
    for (Leg* l : {la, lb}) {
      if (l->last_rx.time_since_epoch().count() == 0) l->last_rx = now;
    }
    bridges_++;
    return OkStatus();
  });
}

Status Relay::unbridge(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->peer) return FailedPrecondition("leg " + leg_id + " is not bridged");
    Worker::stop_recording(*leg);
    leg->peer->peer = nullptr;
    leg->peer = nullptr;
    bridges_--;
    return OkStatus();
  });
}

namespace {

// Prompts the relay can always play, so that a fresh installation has music on hold: "moh"
// (a quiet 8 s loop of a few notes) and "beep" (200 ms at 1 kHz). A file of the same name in
// the prompt directory wins.
std::optional<std::vector<std::uint8_t>> BuiltinPrompt(const std::string& name, G711Law law) {
  std::vector<std::int16_t> pcm;
  auto tone = [&](double hz, int ms, double level) {
    const int n = ms * 8;
    for (int i = 0; i < n; ++i) {
      const double fade = std::min({1.0, i / 400.0, (n - i) / 400.0});
      pcm.push_back(static_cast<std::int16_t>(level * fade * 32767.0 *
                                              std::sin(2 * 3.14159265358979 * hz * i / 8000.0)));
    }
  };
  if (name == "moh") {
    for (double hz : {392.0, 440.0, 494.0, 523.3, 494.0, 440.0, 392.0, 330.0}) tone(hz, 1000, 0.12);
  } else if (name == "beep") {
    tone(1000, 200, 0.3);
  } else {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out(pcm.size());
  EncodeG711(law, pcm, out);
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> Relay::load_prompt(const std::string& name, G711Law law) {
  if (name.empty() || name.size() > 128 || name.find("..") != std::string::npos ||
      name.find('/') != std::string::npos) {
    return InvalidArgument("prompt name '" + name + "' is not a plain name");
  }
  if (!settings_.prompt_dir.empty()) {
    const std::string path = settings_.prompt_dir + "/" + name + ".wav";
    if (access(path.c_str(), F_OK) == 0) return LoadPromptG711(path, law);
  }
  if (auto builtin = BuiltinPrompt(name, law)) return std::move(*builtin);
  return NotFound("no prompt named '" + name + "'" +
                  (settings_.prompt_dir.empty() ? "" : " in " + settings_.prompt_dir));
}

Status Relay::play(const std::string& leg_id, const std::vector<std::string>& names, bool loop,
                   Duration idle_timeout) {
  if (names.empty()) return InvalidArgument("give at least one prompt");
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  auto law = w->run([&]() -> Result<G711Law> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->negotiated) return FailedPrecondition("leg " + leg_id + " has no codec yet");
    return leg->law;
  });
  if (!law.ok()) return law.error();
  std::vector<PromptAudio> audio;
  for (const auto& name : names) {
    const auto key = std::make_pair(name, static_cast<int>(*law));
    std::lock_guard lock(prompt_mu_);
    auto it = prompts_.find(key);
    if (it == prompts_.end()) {
      auto loaded = load_prompt(name, *law);
      if (!loaded.ok()) {
        return Error{loaded.error().code, "prompt '" + name + "': " + loaded.error().message};
      }
      it =
          prompts_
              .emplace(key,
                       std::make_shared<const std::vector<std::uint8_t>>(std::move(loaded).value()))
              .first;
    }
    audio.push_back(it->second);
  }
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    std::mt19937 rng{std::random_device{}()};
    if (!leg->out) {
      leg->out = std::make_unique<SequenceRewriter>(static_cast<std::uint32_t>(rng()),
                                                    static_cast<std::uint16_t>(rng()),
                                                    static_cast<std::uint32_t>(rng()));
    }
    PacerConfig config;
    config.law = leg->law;
    config.payload_type = leg->payload_type;
    config.ssrc = static_cast<std::uint32_t>(rng());  // a new source for the rewriter
    config.first_sequence = static_cast<std::uint16_t>(rng());
    config.first_timestamp = static_cast<std::uint32_t>(rng());
    config.loop = loop;
    const TimePoint now = w->clock().now();
    CC_ASSIGN_OR_RETURN(PromptPacer pacer, PromptPacer::Create(config, audio, now));
    leg->pacer = std::make_unique<PromptPacer>(std::move(pacer));
    leg->idle_timeout = idle_timeout;
    // A caller who never sent anything is silent from the start of the prompt.
    if (leg->last_rx.time_since_epoch().count() == 0) leg->last_rx = now;
    leg->timeout_reported = false;
    return OkStatus();
  });
}

Status Relay::stop_play(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    leg->pacer.reset();  // forwarding resumes through the leg's rewriter
    leg->idle_timeout = Duration{0};
    return OkStatus();
  });
}

Result<std::string> Relay::start_recording(const std::string& leg_id, const std::string& path) {
  if (settings_.recording_dir.empty()) {
    return FailedPrecondition("recording is off: no recording directory configured");
  }
  if (path.empty() || path.find("..") != std::string::npos || path.front() == '/' ||
      path.size() > 200) {
    return InvalidArgument("recording path '" + path +
                           "' must be a relative path inside the recording directory");
  }
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  const std::string full = settings_.recording_dir + "/" + path;
  return w->run([&]() -> Result<std::string> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->peer) return FailedPrecondition("leg " + leg_id + " is not bridged");
    if (leg->recording) return FailedPrecondition("the bridge is already being recorded");
    CC_ASSIGN_OR_RETURN(StereoWavWriter writer, StereoWavWriter::Open(full));
    auto rec = std::make_shared<Recording>(std::move(writer));
    rec->path = full;
    rec->next_write = w->clock().now();
    Leg* left = leg->peer->label == "customer" && leg->label != "customer" ? leg->peer : leg;
    Leg* right = left == leg ? leg->peer : leg;
    left->recording = right->recording = rec;
    left->recording_channel = 0;
    right->recording_channel = 1;
    return full;
  });
}

Result<std::pair<std::string, std::uint64_t>> Relay::stop_recording(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Result<std::pair<std::string, std::uint64_t>> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->recording) return FailedPrecondition("leg " + leg_id + " is not being recorded");
    auto rec = leg->recording;
    Worker::stop_recording(*leg);
    if (leg->peer) Worker::stop_recording(*leg->peer);
    return std::make_pair(rec->path, rec->bytes_written);
  });
}

Result<LegStats> Relay::release_leg(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  auto stats = w->run([&]() -> Result<std::pair<LegStats, std::uint16_t>> {
    auto leg = w->detach(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    LegStats s = w->stats_of(*leg);
    w->close_leg(*leg);
    return std::make_pair(s, leg->port);
  });
  if (!stats.ok()) return stats.error();
  ports_.release(stats->second);
  std::lock_guard lock(mu_);
  leg_owner_.erase(leg_id);
  for (auto it = edges_.begin(); it != edges_.end(); ++it) {
    if (it->second.legs.erase(leg_id)) break;
  }
  return stats->first;
}

Result<LegInfo> Relay::connect_leg(const std::string& leg_id, const std::string& remote_sdp,
                                   const std::string& bridge_with) {
  if (!remote_sdp.empty()) CC_RETURN_IF_ERROR(update_leg(leg_id, remote_sdp));
  CC_RETURN_IF_ERROR(stop_play(leg_id));
  CC_RETURN_IF_ERROR(stop_play(bridge_with));
  CC_RETURN_IF_ERROR(bridge(bridge_with, leg_id));
  return get_leg(leg_id);
}

EdgeLegsResult Relay::edge_legs(const std::string& edge_id, const std::vector<std::string>& held,
                                Duration lease) {
  const Duration grace = settings_.edge_legs_grace;
  EdgeLegsResult out;
  const TimePoint now = SystemClock::instance().now();
  std::vector<std::string> release;
  {
    std::lock_guard lock(mu_);
    auto& edge = edges_[edge_id];
    edge.lease_until = now + lease;
    std::set<std::string> listed(held.begin(), held.end());
    for (const auto& [id, created] : edge.legs) {
      if (!listed.count(id) && now - created > grace) release.push_back(id);
    }
    for (const auto& id : held) {
      if (!leg_owner_.count(id)) out.unknown.push_back(id);
    }
  }
  for (const auto& id : release) {
    if (release_leg(id).ok()) ++out.released;
  }
  if (out.released > 0) {
    log::Warn("released legs their edge no longer holds",
              {{"edge_id", edge_id}, {"legs", out.released}});
  }
  return out;
}

int Relay::release_orphans() {
  const TimePoint now = SystemClock::instance().now();
  std::vector<std::pair<std::string, std::string>> release;  // edge, leg
  {
    std::lock_guard lock(mu_);
    for (auto it = edges_.begin(); it != edges_.end();) {
      if (it->second.lease_until < now) {
        for (const auto& [id, created] : it->second.legs) release.emplace_back(it->first, id);
        if (it->second.legs.empty()) {
          it = edges_.erase(it);
          continue;
        }
      }
      ++it;
    }
  }
  int released = 0;
  for (const auto& [edge, id] : release) {
    if (release_leg(id).ok()) ++released;
  }
  if (released > 0) {
    log::Warn("released legs of edges that went silent", {{"legs", released}});
  }
  return released;
}

Result<LegInfo> Relay::get_leg(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Result<LegInfo> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    return w->info_of(*leg);
  });
}

std::vector<LegInfo> Relay::list_legs(const std::string& call_id) {
  std::vector<LegInfo> out;
  for (auto& w : workers_) {
    auto part = w->run([&] { return w->list(call_id); });
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

int Relay::drain() {
  draining_ = true;
  return live_legs();
}

int Relay::live_legs() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(leg_owner_.size());
}

int Relay::bridges() const {
  return bridges_.load();
}

RelayTotals Relay::totals() const {
  RelayTotals t;
  for (const auto& w : workers_) {
    t.packets_in += w->packets_in.load(std::memory_order_relaxed);
    t.packets_out += w->packets_out.load(std::memory_order_relaxed);
    t.bytes_in += w->bytes_in.load(std::memory_order_relaxed);
    t.bytes_out += w->bytes_out.load(std::memory_order_relaxed);
    t.send_errors += w->send_errors.load(std::memory_order_relaxed);
    for (int i = 0; i < kDropReasons; ++i) {
      t.drops[i] += w->drops[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    }
  }
  return t;
}

}  // namespace cc::relay
