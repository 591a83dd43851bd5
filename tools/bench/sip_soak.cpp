// sip-soak: thousands of calls back to back through the whole stack, then the books are checked.
//
// It starts the four services (built as they are: with ASan/LSan from the test build), a queue
// whose agents are one SIPp UAS answering at once, and runs --calls calls at --rate per second
// (each talks --hold, then the customer hangs up). After a tenth of them it reads each
// service's memory (VmRSS) and open file descriptors; after the last one, once every live
// counter is back to zero and --settle has passed, it reads them again. Then it stops each service
// with SIGTERM.
//
// It checks: every call succeeded; the edge holds no dialog, call or pending report, the relay
// no leg, the queue no waiting call, every agent is available; no service's descriptors grew
// by more than --fd-slack; every service exited 0 with no sanitizer report (LeakSanitizer
// makes a leaking process exit non-zero). It prints a table and exits 1 if a check failed,
// so a short run is a test (ctest soak_short) and a long run a tool.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench_stack.h"
#include "bench_util.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/runtime.h"
#include "sipp_util.h"

namespace {

namespace v1 = callcenter::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Sample {
  double rss_mib = 0;
  int fds = 0;
};

Sample Read(pid_t pid) {
  Sample s;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::atof(line.c_str() + 6) / 1024.0;
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    s.fds++;
  }
  return s;
}

class Soak {
 public:
  explicit Soak(cc::Config& c) : config_(c) {}

  int run() {
    setenv("CC_TEST_PG_ADMIN_URL", config_.str("pg-admin-url").c_str(), 1);
    setenv("CC_TEST_NATS_URL", config_.str("nats-url").c_str(), 1);
    // Under ASan a freed block waits in a quarantine (256 MiB by default) before it is reused:
    // the services' memory would grow by that much whatever they do. A small one keeps the
    // reading about the services (and changes nothing without ASan).
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan ? asan : "") + (asan && *asan ? ":" : "") +
                                "quarantine_size_mb=4:thread_local_quarantine_size_kb=64";
    setenv("ASAN_OPTIONS", options.c_str(), 1);
    work_ = std::filesystem::temp_directory_path() / ("sip-soak-" + cc::RandomHex(4));
    std::filesystem::create_directories(work_);
    cc::testing::TestDatabase db;
    auto o = cc::bench::BenchStack::Options(db.url(), config_.str("nats-url"), "soak");
    o.relay_args = {"--media-timeout=120s"};
    o.rtp_port_min = 40000;
    o.rtp_ports_per_relay = 2000;
    o.edge_args = {"--edge-id=edge-soak", "--trusted-sources=127.0.0.1"};
    if (!bench_.start(o)) return 1;
    const int agents = static_cast<int>(config_.integer("agents"));
    const int uas_port = cc::testing::FreeUdpPort();
    if (!bench_.add_queue("soak", [](v1::Queue&) {})) return 1;
    for (int i = 0; i < agents; ++i) {
      const std::string id = "s" + std::to_string(1000 + i);
      if (!bench_.add_agent(id, "soak") || !bench_.bind(id, "127.0.0.1", uas_port)) return 1;
    }
    const std::string target = "127.0.0.1:" + std::to_string(bench_.stack().sip_port());
    auto uas = cc::bench::Sipp(work_ + "/uas", std::string(CC_TEST_SCENARIOS) + "/agent.xml",
                               "127.0.0.1", uas_port, target, {"-d", "0"});
    std::this_thread::sleep_for(milliseconds(500));

    const long total = config_.integer("calls"), rate = config_.integer("rate");
    const long warm = std::max<long>(1, total / 10);
    long ok = calls(warm, rate, "warm-up");
    if (!quiet()) describe("after the warm-up");
    auto procs = processes();
    std::vector<Sample> before;
    for (const auto& [name, proc] : procs) before.push_back(Read(proc->process().pid()));
    const auto t0 = std::chrono::steady_clock::now();
    ok += calls(total - warm, rate, "main");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool quiet_after = quiet();
    // Sofia-SIP keeps each finished transaction ~32 s: the memory they hold is read after.
    std::this_thread::sleep_for(config_.duration("settle"));
    std::vector<Sample> after;
    for (const auto& [name, proc] : procs) after.push_back(Read(proc->process().pid()));
    uas.reset();

    std::printf("\n%ld calls at %ld/s (%.0f s after the warm-up), %ld succeeded; agents %d\n\n",
                total, rate, secs, ok, agents);
    std::printf(
        "| service | memory MiB after warm-up / at the end | open fds after warm-up / at the end "
        "| exit on SIGTERM | sanitizer report |\n|---|---|---|---|---|\n");
    bool pass = ok == total && quiet_after;
    if (!quiet_after) {
      describe("at the end");
      std::printf("live counters not back to zero (see above)\n");
    }
    const int slack = static_cast<int>(config_.integer("fd-slack"));
    for (std::size_t i = 0; i < procs.size(); ++i) {
      auto& proc = procs[i].second->process();
      proc.signal(SIGTERM);
      const int code = proc.wait(seconds(30));
      const std::string out = proc.output();
      const bool report = out.find("Sanitizer") != std::string::npos;
      std::printf("| %s | %.1f / %.1f | %d / %d | %d | %s |\n", procs[i].first.c_str(),
                  before[i].rss_mib, after[i].rss_mib, before[i].fds, after[i].fds, code,
                  report ? "yes (in its log)" : "none");
      if (report) {
        const auto at = out.find("Sanitizer");
        std::fprintf(stderr, "%s: %s\n", procs[i].first.c_str(),
                     out.substr(at > 200 ? at - 200 : 0, 1500).c_str());
      }
      pass = pass && code == 0 && !report && after[i].fds <= before[i].fds + slack;
    }
    std::printf("\n%s\n", pass ? "PASS" : "FAIL");
    bench_.stop();
    std::filesystem::remove_all(work_);
    return pass ? 0 : 1;
  }

 private:
  std::vector<std::pair<std::string, cc::testing::ServiceProcess*>> processes() {
    auto& s = bench_.stack();
    return {{"agent-registry", &s.registry()},
            {"queue-service", &s.queue()},
            {"media-relay", &s.relay()},
            {"signaling-edge", &s.edge()}};
  }

  // `n` calls at `rate`/s; how many succeeded.
  long calls(long n, long rate, const std::string& name) {
    if (n <= 0) return 0;
    const std::string dir = work_ + "/" + name;
    auto p = cc::bench::Sipp(
        dir, std::string(CC_TEST_SCENARIOS) + "/customer.xml", "127.0.0.1",
        cc::testing::FreeUdpPort(), "127.0.0.1:" + std::to_string(bench_.stack().sip_port()),
        {"-s", "soak", "-r", std::to_string(rate), "-m", std::to_string(n), "-d",
         std::to_string(config_.duration("hold").count()), "-recv_timeout", "20000", "-timeout",
         std::to_string(n / std::max<long>(1, rate) + 120) + "s", "-trace_stat", "-stf",
         "stats.csv", "-fd", "1"});
    p->wait(seconds(n / std::max<long>(1, rate) + 180));
    return cc::bench::ReadSippStats(dir + "/stats.csv").ok;
  }

  // Every live counter back to zero (waits up to 30 s).
  bool quiet() {
    return cc::testing::WaitFor(
        [&] {
          v1::EdgeStatsResponse es;
          v1::ListLegsResponse legs;
          v1::GetQueueStatsRequest qr;
          qr.set_queue("soak");
          v1::GetQueueStatsResponse qs;
          v1::ListAgentsRequest ar;
          v1::ListAgentsResponse as;
          if (!bench_.edge->Stats(bench_.ctx().get(), {}, &es).ok() ||
              !bench_.relay->ListLegs(bench_.ctx().get(), {}, &legs).ok() ||
              !bench_.queues->GetQueueStats(bench_.ctx().get(), qr, &qs).ok() ||
              !bench_.registry->ListAgents(bench_.ctx().get(), ar, &as).ok()) {
            return false;
          }
          int waiting = 0;
          for (const auto& q : qs.stats()) waiting += q.waiting();
          for (const auto& a : as.agents()) {
            if (a.status() != v1::AGENT_STATUS_AVAILABLE) return false;
          }
          return es.live_dialogs() == 0 && es.live_calls() == 0 && es.pending_reports() == 0 &&
                 legs.legs_size() == 0 && waiting == 0;
        },
        seconds(30));
  }

  void describe(const char* when) {
    v1::EdgeStatsResponse es;
    v1::ListLegsResponse legs;
    bench_.edge->Stats(bench_.ctx().get(), {}, &es);
    bench_.relay->ListLegs(bench_.ctx().get(), {}, &legs);
    std::printf("%s: edge dialogs %d, calls %d, pending reports %d; relay legs %d\n", when,
                es.live_dialogs(), es.live_calls(), es.pending_reports(), legs.legs_size());
  }

  cc::Config& config_;
  std::string work_;
  cc::bench::BenchStack bench_;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  cc::Config config("sip-soak");
  cc::bench::AddServerOptions(config);
  config.add_int("calls", 3000, "calls in all", 10, 1'000'000);
  config.add_int("rate", 50, "calls per second", 1, 1000);
  config.add_int("agents", 20, "agents answering (one SIPp UAS)", 1, 1000);
  config.add_duration("hold", milliseconds(200), "talk time of each call", milliseconds(0),
                      seconds(60));
  config.add_duration("settle", seconds(40), "wait after the last call before the second reading",
                      seconds(0), seconds(600));
  config.add_int("fd-slack", 8, "open descriptors a service may gain between the two readings", 0,
                 1000);
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Configure("sip-soak", "", cc::log::Level::kWarn, false);
  return Soak(config).run();
}
