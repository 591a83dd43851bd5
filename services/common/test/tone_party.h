#pragma once

// A participant's media in the on-the-wire tests: SIPp does the SIP, and its SDP names this
// party's UDP port, so the relay sends here what the participant hears. The party sends its
// own tone (G.711 u-law, 20 ms packets) to the relay leg it is given, and tells which of a
// set of tones it has heard since it last forgot: who hears whom, checked by frequency.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <numbers>
#include <set>
#include <thread>
#include <vector>

#include "media_relay/g711.h"

namespace cc::testing {

// Goertzel power of `hz` in the frame, relative to the frame's energy.
inline double ToneShare(const std::vector<double>& x, double hz) {
  const double w = 2 * std::numbers::pi * hz / 8000.0, c = 2 * std::cos(w);
  double s1 = 0, s2 = 0, energy = 0;
  for (double v : x) {
    const double s0 = v + c * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += v * v;
  }
  const double power = s1 * s1 + s2 * s2 - c * s1 * s2;
  return energy > 0 ? power / (energy * x.size() / 2.0) : 0.0;
}

class ToneParty {
 public:
  // Sends `hz` (0: silence) once send_to() names the relay leg.
  explicit ToneParty(double hz) : hz_(hz) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 20000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    receiver_ = std::thread([this] { receive(); });
  }
  ~ToneParty() {
    stop_ = true;
    if (sender_.joinable()) sender_.join();
    receiver_.join();
    ::close(fd_);
  }
  ToneParty(const ToneParty&) = delete;
  ToneParty& operator=(const ToneParty&) = delete;

  int port() const { return port_; }

  // Starts (or moves) the tone to the relay's port for this party's leg.
  void send_to(int relay_port) {
    relay_port_ = relay_port;
    if (!sender_.joinable()) sender_ = std::thread([this] { send(); });
  }

  // Forgets what was heard.
  void clear() {
    std::lock_guard lock(mu_);
    frames_ = 0;
    present_.clear();
  }
  int frames() const {
    std::lock_guard lock(mu_);
    return frames_;
  }
  // Of `candidates`, the tones present in at least `share` of the frames heard since clear().
  std::set<int> heard(const std::vector<int>& candidates, double share = 0.5) const {
    std::lock_guard lock(mu_);
    std::set<int> out;
    if (frames_ == 0) return out;
    for (int f : candidates) {
      auto it = present_.find(f);
      if (it != present_.end() && it->second >= share * frames_) out.insert(f);
    }
    return out;
  }
  // The frequencies to look for in what arrives.
  void listen_for(std::vector<int> candidates) {
    std::lock_guard lock(mu_);
    candidates_ = std::move(candidates);
  }

 private:
  void send() {
    std::uint8_t pkt[12 + 160];
    std::uint16_t seq = 0;
    std::uint32_t ts = 0;
    const std::uint32_t ssrc = 0x1000 + static_cast<std::uint32_t>(port_);
    double phase = 0;
    auto next = std::chrono::steady_clock::now();
    while (!stop_) {
      pkt[0] = 0x80;
      pkt[1] = 0;  // PCMU
      pkt[2] = static_cast<std::uint8_t>(seq >> 8);
      pkt[3] = static_cast<std::uint8_t>(seq);
      for (int i = 0; i < 4; ++i) pkt[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
      for (int i = 0; i < 4; ++i) pkt[8 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
      for (int i = 0; i < 160; ++i) {
        const double v = hz_ > 0 ? 8000.0 * std::sin(phase) : 0.0;
        phase += 2 * std::numbers::pi * hz_ / 8000.0;
        pkt[12 + i] = relay::MuLawEncode(static_cast<std::int16_t>(v));
      }
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(static_cast<std::uint16_t>(relay_port_.load()));
      ::sendto(fd_, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      ++seq;
      ts += 160;
      next += std::chrono::milliseconds(20);
      std::this_thread::sleep_until(next);
    }
  }

  void receive() {
    std::uint8_t buf[2048];
    while (!stop_) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 12 + 80) continue;  // nothing, or not a voice frame
      const int pt = buf[1] & 0x7f;
      if (pt != 0 && pt != 8) continue;  // DTMF events and the like
      std::vector<double> x;
      double energy = 0;
      for (ssize_t i = 12; i < n; ++i) {
        const double v = pt == 0 ? relay::MuLawDecode(buf[i]) : relay::ALawDecode(buf[i]);
        x.push_back(v);
        energy += v * v;
      }
      std::lock_guard lock(mu_);
      ++frames_;
      if (energy / static_cast<double>(x.size()) < 100.0 * 100.0) continue;  // silence
      for (int f : candidates_) {
        // A tone among up to three mixed ones still holds a fair part of the energy.
        if (ToneShare(x, f) > 0.15) ++present_[f];
      }
    }
  }

  double hz_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> relay_port_{0};
  std::atomic<bool> stop_{false};
  std::thread sender_, receiver_;
  mutable std::mutex mu_;
  int frames_ = 0;
  std::map<int, int> present_;
  std::vector<int> candidates_;
};

}  // namespace cc::testing
