#pragma once
// A worker thread of the media-relay: its legs, one epoll loop, the packet path (receive,
// latch, translate, forward, record), prompts, DTMF and timeouts on its tick. Private to
// src/; the Relay hands it legs and runs commands on its thread.

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.h"
#include "leg.h"

namespace cc::relay {

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
    leave_mix(*leg);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg->rtp.fd, nullptr);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, leg->rtcp.fd, nullptr);
    return leg;
  }

  Leg* find(const std::string& id) {
    auto it = legs_.find(id);
    return it == legs_.end() ? nullptr : it->second.get();
  }

  void close_leg(Leg& leg) {
    leave_mix(leg);
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

  // The mix `id` made or changed to exactly `members` (their legs are on this worker and
  // bridged with nobody); none: the mix ends.
  void set_mix(const std::string& id, const std::vector<MixMemberSpec>& members) {
    auto& slot = mixes_[id];
    if (!slot) slot = std::make_unique<Mix>();
    Mix& mix = *slot;
    mix.id = id;
    std::vector<MixMember> next;
    for (const auto& spec : members) {
      Leg* leg = find(spec.leg_id);
      if (!leg) continue;
      if (leg->mix && leg->mix != &mix) leave_mix(*leg);
      MixMember m;
      m.leg = leg;
      m.leg_id = leg->id;
      m.muted = spec.muted;
      m.heard_by = spec.heard_by;
      // A member already in the mix keeps its stream's numbering.
      for (const auto& old : mix.members) {
        if (old.leg == leg) {
          m.sequence = old.sequence;
          m.timestamp = old.timestamp;
        }
      }
      next.push_back(std::move(m));
    }
    for (auto& old : mix.members) {
      const bool stays = std::any_of(next.begin(), next.end(),
                                     [&](const MixMember& m) { return m.leg == old.leg; });
      if (!stays) {
        old.leg->mix = nullptr;
        old.leg->mix_in.reset();
      }
    }
    const TimePoint now = clock().now();
    for (auto& m : next) {
      if (!m.leg->mix_in) m.leg->mix_in = std::make_unique<PcmRing>();
      m.leg->mix = &mix;
      // The media timeout counts from the mix for a leg that never sent anything.
      if (m.leg->last_rx.time_since_epoch().count() == 0) m.leg->last_rx = now;
    }
    mix.members = std::move(next);
    if (mix.members.empty()) {
      mixes_.erase(id);
      return;
    }
    if (mix.next_frame.time_since_epoch().count() == 0) mix.next_frame = now;
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
    i.mix_id = leg.mix ? leg.mix->id : "";
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
      // Commands run after the batch: one may close a leg whose socket is further on in it
      // (its Socket would be freed under the event).
      bool commands = false;
      for (int i = 0; i < n && running_; ++i) {
        void* tag = events[static_cast<size_t>(i)].data.ptr;
        if (tag == &cmd_tag_) {
          commands = true;
        } else if (tag == &timer_tag_) {
          std::uint64_t expirations;
          ssize_t r = read(timerfd_, &expirations, sizeof expirations);
          (void)r;
          tick(clock().now());
        } else {
          readable(*static_cast<Socket*>(tag));
        }
      }
      if (commands) run_commands();
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

    if (leg.mix) {  // mixed on the tick, never forwarded as it came
      if (leg.negotiated && pt == leg.payload_type && leg.mix_in) mix_input(leg, pkt);
      return false;
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
    if (leg.recording->paused) return;
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
    for (auto& [id, mix] : mixes_) mix_frames(*mix, now);
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
      relay_.events_.prompt_finished(Ref(leg), leg.pacer_prompts);
    }
  }

  void leave_mix(Leg& leg) {
    if (!leg.mix) return;
    Mix* mix = leg.mix;
    auto& m = mix->members;
    m.erase(std::remove_if(m.begin(), m.end(), [&](const MixMember& x) { return x.leg == &leg; }),
            m.end());
    leg.mix = nullptr;
    leg.mix_in.reset();
    if (m.empty()) {
      const std::string id = mix->id;
      mixes_.erase(id);
    }
  }

  void mix_input(Leg& leg, std::span<const std::uint8_t> pkt) {
    auto parsed = ParseRtp(pkt);
    if (!parsed || parsed->payload.size() > 480) return;
    std::array<std::int16_t, 480> pcm{};
    std::span<std::int16_t> out(pcm.data(), parsed->payload.size());
    DecodeG711(leg.law, parsed->payload, out);
    leg.mix_in->push(out);
  }

  // Every 20 ms of the mix's clock: one frame from each member's input, and to each member
  // the sum of those it hears.
  void mix_frames(Mix& mix, TimePoint now) {
    int frames = 0;
    while (now >= mix.next_frame && frames++ < 5) {
      const std::size_t n = mix.members.size();
      mix_pcm_.resize(n);
      for (std::size_t i = 0; i < n; ++i) mix.members[i].leg->mix_in->pop(mix_pcm_[i]);
      for (std::size_t i = 0; i < n; ++i) {
        std::array<std::int32_t, kMixFrame> sum{};
        for (std::size_t j = 0; j < n; ++j) {
          if (!Mix::Hears(mix.members[i], mix.members[j])) continue;
          for (std::size_t k = 0; k < kMixFrame; ++k) sum[k] += mix_pcm_[j][k];
        }
        send_mix(mix.members[i], sum, now);
      }
      mix.next_frame += Duration{20};
    }
    if (now >= mix.next_frame) mix.next_frame = now;  // far behind: do not try to catch up
  }

  void send_mix(MixMember& m, const std::array<std::int32_t, kMixFrame>& sum, TimePoint now) {
    Leg& leg = *m.leg;
    const auto& to = leg.rtp_destination();
    RtpHeader h;
    h.payload_type = leg.payload_type;
    h.sequence = m.sequence++;
    h.timestamp = m.timestamp;
    h.ssrc = 0x6d697800u ^ static_cast<std::uint32_t>(leg.port);  // the mix's own source
    m.timestamp += kMixFrame;
    if (!leg.negotiated || !to || !leg.can_receive() || leg.pacer) return;
    if (!leg.out) {
      leg.out = std::make_unique<SequenceRewriter>(h.ssrc ^ 0x5a5a5a5au, m.sequence, m.timestamp);
    }
    auto rewritten = leg.out->rewrite(h, now);
    if (!rewritten) return;
    std::array<std::int16_t, kMixFrame> pcm{};
    for (std::size_t k = 0; k < kMixFrame; ++k) {
      pcm[k] = static_cast<std::int16_t>(std::clamp(sum[k], -32768, 32767));
    }
    std::array<std::uint8_t, kMixFrame> payload{};
    EncodeG711(leg.law, pcm, payload);
    std::array<std::uint8_t, kRtpFixedHeaderSize + kMixFrame> bytes{};
    const std::size_t size = WriteRtp(*rewritten, payload, bytes);
    if (size == 0) return;
    if (sendto(leg.rtp.fd, bytes.data(), size, 0, reinterpret_cast<const sockaddr*>(&*to),
               sizeof(sockaddr_in)) > 0) {
      count_out(leg, size);
      packets_out.fetch_add(1, std::memory_order_relaxed);
      bytes_out.fetch_add(size, std::memory_order_relaxed);
    }
  }

  static LegRef Ref(const Leg& leg) { return {leg.call_id, leg.id, leg.edge_id}; }

  // Silent for too long: a bridged leg past the media timeout (neither side on hold), or a
  // leg hearing a prompt with an idle timeout.
  bool timed_out(const Leg& leg, TimePoint now) const {
    if (leg.peer) {
      return !leg.peer->on_hold() && now - leg.last_rx > relay_.settings_.media_timeout;
    }
    if (leg.mix) return !leg.on_hold() && now - leg.last_rx > relay_.settings_.media_timeout;
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
  std::map<std::string, std::unique_ptr<Mix>> mixes_;
  std::vector<std::array<std::int16_t, kMixFrame>> mix_pcm_;  // one frame per member
  TimePoint last_timeout_check_{};

  std::array<std::array<std::uint8_t, kPacketBuffer>, kBatch> bufs_{};
  std::array<mmsghdr, kBatch> rmsg_{}, smsg_{};
  std::array<iovec, kBatch> riov_{}, siov_{};
  std::array<sockaddr_in, kBatch> from_{};

  friend class Relay;
};

}  // namespace cc::relay
