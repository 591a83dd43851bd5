// mix-bench: what mixing costs the media-relay per participant. Sets up M mixes of K legs on a
// running relay (SetMix, everyone hears everyone), sends every leg 50 packets/s of G.711 from
// its own UDP socket for S seconds, counts what comes back, and reads the relay's CPU time from
// /proc/<pid>/stat. With --bridge it sets up K/2 plain bridges per "mix" instead, for the same
// participants, as the baseline. Prints one table row. Loopback only; bounded in time.
//   mix-bench --server=127.0.0.1:50053 --relay-pid=PID --mixes=10 --members=3 --secs=10
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "callcenter/v1/media_relay.grpc.pb.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/runtime.h"

namespace v1 = callcenter::v1;

namespace {

struct Party {
  int fd = -1;
  int port = 0;        // ours
  int relay_port = 0;  // the leg's
  std::string leg;
};

std::string Sdp(int port) {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
         std::to_string(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
}

// utime + stime of the process, in clock ticks.
long CpuTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

}  // namespace

int main(int argc, char** argv) {
  cc::Config config("mix-bench");
  config.add_string("server", "127.0.0.1:50053", "media-relay gRPC address (loopback)");
  config.add_int("relay-pid", 0, "the relay's process id, for its CPU time", 0, 1 << 30);
  config.add_int("mixes", 10, "mixes (conferences)", 1, 2000);
  config.add_int("members", 3, "legs per mix", 2, 32);
  config.add_int("secs", 10, "seconds of traffic", 1, 30);
  config.add_bool("bridge", false, "plain bridges of two instead of mixes (the baseline)");
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  const int mixes = static_cast<int>(config.integer("mixes"));
  const int members = static_cast<int>(config.integer("members"));
  const int secs = static_cast<int>(config.integer("secs"));
  const bool bridge = config.boolean("bridge");
  const int pid = static_cast<int>(config.integer("relay-pid"));
  auto stub = v1::MediaRelay::NewStub(cc::MakeChannel(config.str("server")));
  auto ctx = [] { return cc::MakeContext(std::chrono::seconds(10)); };

  std::vector<Party> parties;
  for (int m = 0; m < mixes; ++m) {
    const std::size_t first = parties.size();
    for (int k = 0; k < members; ++k) {
      Party p;
      p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof a;
      if (p.fd < 0 || bind(p.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          getsockname(p.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::fprintf(stderr, "mix-bench: no socket\n");
        return 1;
      }
      p.port = ntohs(a.sin_port);
      v1::CreateLegRequest req;
      req.set_call_id("mix-bench-" + std::to_string(m));
      req.set_label(k == 0 ? "customer" : "agent");
      req.set_remote_sdp(Sdp(p.port));
      v1::CreateLegResponse resp;
      auto st = stub->CreateLeg(ctx().get(), req, &resp);
      if (!st.ok()) {
        std::fprintf(stderr, "mix-bench: CreateLeg: %s\n", st.error_message().c_str());
        return 1;
      }
      p.leg = resp.leg().id();
      p.relay_port = resp.leg().local_rtp_port();
      parties.push_back(p);
    }
    grpc::Status st;
    if (bridge) {
      for (int k = 0; k + 1 < members; k += 2) {
        v1::BridgeRequest b;
        b.set_leg_a(parties[first + k].leg);
        b.set_leg_b(parties[first + k + 1].leg);
        v1::BridgeResponse r;
        st = stub->Bridge(ctx().get(), b, &r);
      }
    } else {
      v1::SetMixRequest req;
      req.set_mix_id("mix-bench-" + std::to_string(m));
      for (int k = 0; k < members; ++k) req.add_members()->set_leg_id(parties[first + k].leg);
      v1::SetMixResponse r;
      st = stub->SetMix(ctx().get(), req, &r);
    }
    if (!st.ok()) {
      std::fprintf(stderr, "mix-bench: %s\n", st.error_message().c_str());
      return 1;
    }
  }

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> received{0};
  std::thread receiver([&] {
    std::vector<pollfd> fds;
    for (const auto& p : parties) fds.push_back({p.fd, POLLIN, 0});
    char buf[2048];
    while (!stop) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (auto& f : fds) {
        if (!(f.revents & POLLIN)) continue;
        while (recv(f.fd, buf, sizeof buf, 0) > 0) received++;
      }
    }
  });
  // 20 ms frames of a 440 Hz tone (u-law of a sine), every participant each 20 ms.
  std::uint8_t pkt[12 + 160];
  std::uint64_t sent = 0;
  const long ticks0 = pid ? CpuTicks(pid) : -1;
  const auto start = std::chrono::steady_clock::now();
  auto next = start;
  for (std::uint32_t n = 0; n < static_cast<std::uint32_t>(secs * 50); ++n) {
    pkt[0] = 0x80;
    pkt[1] = 0;
    pkt[2] = static_cast<std::uint8_t>(n >> 8);
    pkt[3] = static_cast<std::uint8_t>(n);
    const std::uint32_t ts = n * 160;
    for (int i = 0; i < 4; ++i) pkt[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
    for (int i = 0; i < 160; ++i) {
      const double v = std::sin(2 * 3.14159265358979 * 440.0 * (n * 160 + i) / 8000.0);
      pkt[12 + i] = v >= 0 ? 0x80 : 0x00;  // a square wave in u-law terms: cheap and loud
    }
    for (const auto& p : parties) {
      for (int i = 0; i < 4; ++i) pkt[8 + i] = static_cast<std::uint8_t>(p.port >> (24 - 8 * i));
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      to.sin_port = htons(static_cast<std::uint16_t>(p.relay_port));
      if (sendto(p.fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) sent++;
    }
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long ticks1 = pid ? CpuTicks(pid) : -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  receiver.join();
  for (const auto& p : parties) {
    v1::ReleaseLegRequest r;
    r.set_leg_id(p.leg);
    v1::ReleaseLegResponse resp;
    (void)stub->ReleaseLeg(ctx().get(), r, &resp);
    close(p.fd);
  }
  const int participants = mixes * members;
  const double cpu_s =
      (ticks0 >= 0 && ticks1 >= 0) ? static_cast<double>(ticks1 - ticks0) / sysconf(_SC_CLK_TCK)
                                   : 0;
  std::printf("| %s | %d | %d | %d | %.0f | %.0f | %.1f | %.1f |\n", bridge ? "bridges" : "mixes",
              mixes, members, participants, static_cast<double>(sent) / elapsed,
              static_cast<double>(received.load()) / elapsed, 100.0 * cpu_s / elapsed,
              1e6 * cpu_s / elapsed / participants);
  return 0;
}
