// sip-flood: what a flood from one address costs everyone else.
//
// It starts the four services with the edge's default front door (per-address limits, no
// trusted network), provisions a queue "legit" whose agents are one SIPp UAS answering at once
// and a queue "held" nobody serves, then runs one row per flood. In every row, from 127.0.0.1:
// OPTIONS at --options-rate and calls to "legit" at --call-rate (each talks --hold), whose
// response and setup times are the legitimate traffic's latency. From 127.0.0.2 at
// --flood-rate for --flood-time, bounded in count:
//
//   none      nothing (the baseline)
//   register  REGISTERs without credentials, a new user each (a scanner)
//   invite    INVITEs to "held" that never send media nor hang up
//   options   OPTIONS
//
// Per row: what the attacker got (answered, refused by the front door by reason), the
// legitimate OPTIONS' and calls' p50/p95/max, legitimate calls that failed, the relay's legs
// at most, and the edge's memory (VmRSS) before, at most and after. After the last row it
// waits --settle and reads the edge's memory again. Not a test: it prints a table
// (docs/reliability.md). Needs PostgreSQL and nats-server (e.g. `tools/stack.sh start`) and sipp.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench_stack.h"
#include "bench_util.h"
#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/runtime.h"
#include "sipp_util.h"
#include "stack.h"
#include "testing.h"

namespace {

namespace v1 = callcenter::v1;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kRealm = "flood.local";
const std::string kLegit = "127.0.0.1";
const std::string kAttacker = "127.0.0.2";

// The resident memory of `pid` in MiB, from /proc (0 if gone).
double RssMiB(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

struct Flood {
  std::string name, scenario, service;
};

class FloodBench {
 public:
  explicit FloodBench(cc::Config& c) : config_(c) {}

  int run() {
    setenv("CC_TEST_PG_ADMIN_URL", config_.str("pg-admin-url").c_str(), 1);
    setenv("CC_TEST_NATS_URL", config_.str("nats-url").c_str(), 1);
    work_ = std::filesystem::temp_directory_path() / ("sip-flood-" + cc::RandomHex(4));
    std::filesystem::create_directories(work_);
    cc::testing::TestDatabase db;
    if (!start_stack(db.url()) || !provision()) return 1;
    const int uas_port = cc::testing::FreeUdpPort();
    if (!bind_agents(uas_port)) return 1;
    auto uas = sipp("uas", "agent.xml", kLegit, uas_port, {"-d", "0"});
    std::this_thread::sleep_for(milliseconds(500));

    const pid_t edge = bench_.stack().edge().process().pid();
    const double start_rss = RssMiB(edge);
    std::printf(
        "\nFloods from %s at %lld/s for %lld s; legitimate traffic from %s: OPTIONS %lld/s, calls "
        "%lld/s (talk %lld ms). Edge memory at start: %.1f MiB\n\n",
        kAttacker.c_str(), static_cast<long long>(config_.integer("flood-rate")),
        static_cast<long long>(config_.duration("flood-time").count() / 1000), kLegit.c_str(),
        static_cast<long long>(config_.integer("options-rate")),
        static_cast<long long>(config_.integer("call-rate")),
        static_cast<long long>(config_.duration("hold").count()), start_rss);
    std::printf(
        "| flood | sent | answered | refused by the front door | OPTIONS p50 / p95 / max ms |"
        " call setup p50 / p95 / max ms | calls ok / failed | relay legs max |"
        " edge MiB before / max / after |\n|---|---|---|---|---|---|---|---|---|\n");
    const std::vector<Flood> floods = {{"none", "", ""},
                                       {"register", "flood_register.xml", "scan"},
                                       {"invite", "flood_invite.xml", "held"},
                                       {"options", "flood_options.xml", "scan"}};
    const std::string only = config_.str("only");
    for (const auto& f : floods) {
      if (!only.empty() && f.name != "none" && f.name != only) continue;
      row(f, edge);
    }
    std::printf("\nsettling %lld s (the stack keeps each answered transaction ~32 s) ...\n",
                static_cast<long long>(config_.duration("settle").count() / 1000));
    std::fflush(stdout);
    std::this_thread::sleep_for(config_.duration("settle"));
    std::printf("edge memory: %.1f MiB at start, %.1f MiB after the floods settled\n", start_rss,
                RssMiB(edge));
    uas.reset();
    bench_.stop();
    if (!config_.boolean("keep")) std::filesystem::remove_all(work_);
    return 0;
  }

 private:
  bool start_stack(const std::string& db_url) {
    auto o = cc::bench::BenchStack::Options(db_url, config_.str("nats-url"), "flood");
    o.common = {"--log-level=error", "--drain-timeout=2s"};
    o.registry_args = {"--sip-realm=" + kRealm};
    o.relay_args = {"--rtp-port-min=16000", "--rtp-port-max=31999", "--media-timeout=120s"};
    // The front door as shipped; the attacker's admitted calls end when no RTP comes.
    o.edge_args = {"--sip-realm=" + kRealm, "--edge-id=edge-flood",
                   "--waiting-media-timeout=" + config_.str("attacker-call-life")};
    return bench_.start(o);
  }

  bool add_queue(const std::string& name) {
    return bench_.add_queue(name, [](v1::Queue& q) {
      q.mutable_max_wait()->set_seconds(600);
      // "held" has nobody: its callers wait anyway (music from the relay), as in a busy hour.
      q.set_join_empty(v1::EMPTY_QUEUE_RULE_ALWAYS);
      q.set_leave_empty(v1::EMPTY_QUEUE_RULE_ALWAYS);
    });
  }

  static std::string AgentName(int i) { return "f" + std::to_string(1000 + i); }

  bool provision() {
    if (!add_queue("legit") || !add_queue("held")) return false;
    for (int i = 0; i < config_.integer("agents"); ++i) {
      if (!bench_.add_agent(AgentName(i), "legit")) return false;
    }
    return true;
  }

  bool bind_agents(int port) {
    for (int i = 0; i < config_.integer("agents"); ++i) {
      if (!bench_.bind(AgentName(i), kLegit, port)) return false;
    }
    return true;
  }

  // SIPp in its own folder under the work folder (its -trace_rtt files land there).
  std::unique_ptr<cc::testing::ChildProcess> sipp(const std::string& dir,
                                                  const std::string& scenario,
                                                  const std::string& ip, int port,
                                                  std::vector<std::string> args) {
    return cc::bench::Sipp(work_ + "/" + dir, std::string(CC_TEST_SCENARIOS) + "/" + scenario, ip,
                           port, kLegit + ":" + std::to_string(bench_.stack().sip_port()), args);
  }

  static std::vector<std::string> Load(long rate, long total, const std::string& stats, bool rtt,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a = {"-r",
                                  std::to_string(rate),
                                  "-rp",
                                  "1000",
                                  "-m",
                                  std::to_string(total),
                                  "-recv_timeout",
                                  "5000",
                                  "-timeout",
                                  "120s",
                                  "-trace_stat",
                                  "-stf",
                                  stats,
                                  "-fd",
                                  "1"};
    if (rtt) a.insert(a.end(), {"-trace_rtt", "-rtt_freq", "1"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::map<std::string, double> edge_counters(const std::string& family) {
    return cc::bench::Counters(
        cc::testing::HttpGet(bench_.stack().edge().metrics_port(), "/metrics"), family);
  }

  void row(const Flood& f, pid_t edge) {
    const long secs = config_.duration("flood-time").count() / 1000;
    const std::string dir = "row-" + f.name;
    const double rss_before = RssMiB(edge);
    const auto refused_before = edge_counters("cc_sip_refused_total");
    // Sampled while the row runs: the edge's memory and the relay's legs at most.
    std::atomic<bool> sampling{true};
    double rss_max = rss_before;
    int legs_max = 0;
    std::thread sampler([&] {
      while (sampling) {
        rss_max = std::max(rss_max, RssMiB(edge));
        v1::ListLegsResponse legs;
        if (bench_.relay->ListLegs(cc::bench::BenchStack::ctx().get(), {}, &legs).ok()) {
          legs_max = std::max(legs_max, legs.legs_size());
        }
        std::this_thread::sleep_for(milliseconds(250));
      }
    });
    const long options_rate = config_.integer("options-rate"),
               call_rate = config_.integer("call-rate");
    auto options = sipp(dir + "/options", "options.xml", kLegit, cc::testing::FreeUdpPort(),
                        Load(options_rate, options_rate * secs, "stats.csv", true, {}));
    auto calls = sipp(dir + "/calls", "customer.xml", kLegit, cc::testing::FreeUdpPort(),
                      Load(call_rate, call_rate * secs, "stats.csv", true,
                           {"-s", "legit", "-d", std::to_string(config_.duration("hold").count()),
                            "-default_behaviors", "all,-abortunexp"}));
    std::unique_ptr<cc::testing::ChildProcess> flood;
    const long flood_total = f.scenario.empty() ? 0 : config_.integer("flood-rate") * secs;
    if (!f.scenario.empty()) {
      flood =
          sipp(dir + "/flood", f.scenario, kAttacker, cc::testing::FreeUdpPort(),
               Load(config_.integer("flood-rate"), flood_total, "stats.csv", false,
                    {"-s", f.service, "-max_recv_loops", "100000", "-default_behaviors", "none"}));
    }
    const auto wait = seconds(secs + 60);
    options->wait(wait);
    calls->wait(wait);
    if (flood) flood->wait(wait);
    sampling = false;
    sampler.join();
    const auto o = cc::bench::ReadSippStats(work_ + "/" + dir + "/options/stats.csv");
    const auto c = cc::bench::ReadSippStats(work_ + "/" + dir + "/calls/stats.csv");
    const auto orr = cc::bench::ReadRtts(work_ + "/" + dir + "/options");
    const auto crr = cc::bench::ReadRtts(work_ + "/" + dir + "/calls");
    long answered = 0;
    if (flood) answered = cc::bench::ReadSippStats(work_ + "/" + dir + "/flood/stats.csv").ok;
    std::string refused;
    for (const auto& [labels, v] : edge_counters("cc_sip_refused_total")) {
      const double d = v - (refused_before.count(labels) ? refused_before.at(labels) : 0);
      if (d <= 0) continue;
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s%s %.0f", refused.empty() ? "" : ", ", labels.c_str(), d);
      refused += buf;
    }
    auto pct = [](const cc::bench::Rtts& r) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f / %.1f / %.1f", cc::bench::Percentile(r.ms, 0.5),
                    cc::bench::Percentile(r.ms, 0.95), cc::bench::Percentile(r.ms, 1.0));
      return std::string(buf);
    };
    std::printf("| %s | %ld | %ld | %s | %s | %s | %ld / %ld | %d | %.1f / %.1f / %.1f |\n",
                f.name.c_str(), flood_total, answered, refused.empty() ? "-" : refused.c_str(),
                pct(orr).c_str(), pct(crr).c_str(), c.ok, call_rate * secs - c.ok, legs_max,
                rss_before, rss_max, RssMiB(edge));
    if (o.ok != options_rate * secs) {
      std::printf("    legitimate OPTIONS answered: %ld of %ld\n", o.ok, options_rate * secs);
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(seconds(2));
  }

  cc::Config& config_;
  std::string work_;
  cc::bench::BenchStack bench_;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  cc::Config config("sip-flood");
  cc::bench::AddServerOptions(config);
  config.add_int("flood-rate", 2000, "requests per second from the attacker", 1, 20000);
  config.add_duration("flood-time", seconds(10), "length of each flood", seconds(1), seconds(120));
  config.add_int("options-rate", 10, "legitimate OPTIONS per second", 1, 1000);
  config.add_int("call-rate", 5, "legitimate calls per second", 1, 200);
  config.add_duration("hold", milliseconds(500), "talk time of each legitimate call",
                      milliseconds(0), seconds(60));
  config.add_int("agents", 30, "agents serving the legitimate calls", 1, 1000);
  config.add_string("attacker-call-life", "20s",
                    "an admitted attacker's call sends no RTP: the edge ends it after this");
  config.add_duration("settle", seconds(40), "wait after the last flood before reading memory",
                      seconds(0), seconds(600));
  config.add_string("only", "", "register, invite or options: that flood only (and the baseline)");
  config.add_bool("keep", false, "keep SIPp's files");
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Configure("sip-flood", "", cc::log::Level::kWarn, false);
  return FloodBench(config).run();
}
