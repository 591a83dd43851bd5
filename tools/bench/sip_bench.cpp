// sip-bench: SIP load through the whole engine, SIPp on both sides.
//
// It starts the four services (as the tests do: one fresh database on the given PostgreSQL,
// one NATS subject prefix), provisions `--agents` agents in one queue (ring until an agent
// answers, wrap-up 0) and then runs two sweeps, each step bounded in count and time:
//
//   REGISTER: SIPp registers the agents from an injection file, cycling through them, at
//     each rate of --register-rates for --step seconds. Every registration is a REGISTER,
//     a 401 with a fresh nonce, a REGISTER with digest credentials and a 200 (two
//     requests, two answers); after the first pass they are refreshes of live bindings.
//   Calls: the agents' bindings point at one SIPp UAS that answers every INVITE at once;
//     a SIPp UAC calls the queue at each rate of --call-rates for --step seconds, talks
//     --hold and hangs up. A call counts as set up when the customer gets its 200 OK, which
//     in this answer mode means an agent answered; setup time is INVITE -> that 200.
//
// Per step it prints the offered rate, what SIPp counted, setup time percentiles, and the
// CPU each process used during the step (percent of one core). A step passes when every
// call succeeded and the stack is back to zero calls afterwards. Not a test: it prints a
// table. Needs PostgreSQL and nats-server (e.g. `tools/stack.sh start`) and sipp.
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "bench_stack.h"
#include "bench_util.h"
#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "callcenter/v1/signaling_edge.grpc.pb.h"
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

const std::string kRealm = "bench.local";

// A process whose CPU we report, and its ticks at the start of a step.
struct Watched {
  std::string name;
  pid_t pid;
  long start = 0;
};

class Bench {
 public:
  explicit Bench(cc::Config& c) : config_(c), agents_(static_cast<int>(c.integer("agents"))) {}

  int run() {
    setenv("CC_TEST_PG_ADMIN_URL", config_.str("pg-admin-url").c_str(), 1);
    setenv("CC_TEST_NATS_URL", config_.str("nats-url").c_str(), 1);
    work_ = std::filesystem::temp_directory_path() / ("sip-bench-" + cc::RandomHex(4));
    std::filesystem::create_directories(work_);
    for (const char* f : {"register_users.xml"}) {
      std::filesystem::copy_file(std::string(CC_BENCH_SCENARIOS) + "/" + f, work_ + "/" + f);
    }
    for (const char* f : {"customer.xml", "agent.xml"}) {
      std::filesystem::copy_file(std::string(CC_TEST_SCENARIOS) + "/" + f, work_ + "/" + f);
    }
    cc::testing::TestDatabase db;
    if (!start_stack(db.url())) return 1;
    if (!provision()) return 1;
    {
      // Fresh statistics, as autovacuum has them a minute after agents are created: with
      // the empty tables' estimates the planner joins the agents quadratically.
      pqxx::connection conn(db.url());
      pqxx::nontransaction(conn).exec0("ANALYZE");
    }
    agent_port_ = cc::testing::FreeUdpPort();

    bool registered = false;
    if (config_.str("only") != "calls") {
      registered = register_sweep();
    }
    if (config_.str("only") != "register") {
      if (!registered && !bind_directly()) return 1;
      call_sweep();
    }
    bench_.stop();
    if (config_.boolean("keep")) {
      std::printf("\nSIPp files kept in %s\n", work_.c_str());
    } else {
      std::filesystem::remove_all(work_);
    }
    return 0;
  }

 private:
  bool start_stack(const std::string& db_url) {
    auto o = cc::bench::BenchStack::Options(db_url, config_.str("nats-url"), "bench");
    o.registry_args = {"--sip-realm=" + kRealm, "--db-pool-size=" + config_.str("db-pool")};
    o.queue_args = {"--db-pool-size=" + config_.str("db-pool")};
    o.relay_args = {"--rtp-port-min=16000", "--rtp-port-max=31999", "--media-timeout=120s"};
    o.edge_args = {"--sip-realm=" + kRealm, "--edge-id=edge-bench", "--max-calls=20000",
                   "--auth-failures=100000", "--trusted-sources=127.0.0.1"};
    if (!bench_.start(o)) return false;
    cc::testing::Stack& stack = bench_.stack();
    watched_ = {{"edge", stack.edge().process().pid()},
                {"queue", stack.queue().process().pid()},
                {"registry", stack.registry().process().pid()},
                {"relay", stack.relay().process().pid()},
                {"postgres", postmaster(db_url)},
                {"nats", nats_server()}};
    return true;
  }

  // The postmaster: the parent of our own backend.
  static pid_t postmaster(const std::string& url) {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    const auto backend = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    std::ifstream f("/proc/" + std::to_string(backend) + "/stat");
    std::string line;
    std::getline(f, line);
    int ppid = 0;
    std::sscanf(line.substr(line.rfind(')') + 2).c_str(), "%*c %d", &ppid);
    return ppid;
  }

  // The nats-server listening on --nats-url's port (found by its command line).
  pid_t nats_server() const {
    const std::string url = config_.str("nats-url");
    const std::string port = url.substr(url.rfind(':') + 1);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream f(e.path() / "cmdline");
      std::stringstream text;
      text << f.rdbuf();
      std::string cmd = text.str();
      std::replace(cmd.begin(), cmd.end(), '\0', ' ');
      if (cmd.find("nats-server") != std::string::npos && cmd.find(port) != std::string::npos) {
        return std::stoi(name);
      }
    }
    return 0;
  }

  static std::unique_ptr<grpc::ClientContext> ctx() { return cc::bench::BenchStack::ctx(); }

  // Runs `work(i)` for i in [0, n) on a few threads.
  static void Parallel(int n, const std::function<void(int)>& work) {
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = next++; i < n; i = next++) work(i);
      });
    }
    for (auto& t : threads) t.join();
  }

  static std::string AgentName(int i) { return "b" + std::to_string(1000 + i); }

  bool provision() {
    if (!bench_.add_queue("bench", [](v1::Queue&) {})) return false;
    std::atomic<int> failed{0};
    std::ofstream users(work_ + "/users.csv");
    users << "SEQUENTIAL\n";
    for (int i = 0; i < agents_; ++i) {
      users << AgentName(i) << ";[authentication username=" << AgentName(i)
            << " password=" << AgentName(i) << "-pw]\n";
    }
    Parallel(agents_, [&](int i) {
      if (!bench_.add_agent(AgentName(i), "bench")) failed++;
    });
    if (failed > 0) std::fprintf(stderr, "%d agents could not be provisioned\n", failed.load());
    return failed == 0;
  }

  // Without the REGISTER sweep: bindings straight into the registry, at the UAS port.
  bool bind_directly() {
    std::atomic<int> failed{0};
    Parallel(agents_, [&](int i) {
      if (!bench_.bind(AgentName(i), "127.0.0.1", agent_port_)) failed++;
    });
    return failed == 0;
  }

  // A SIPp child in the work folder (so its -trace_rtt files land there).
  std::unique_ptr<cc::testing::ChildProcess> sipp(const std::string& scenario, int port,
                                                  std::vector<std::string> args) {
    const std::string errors = work_ + "/" + scenario + "-" + std::to_string(port) + ".err";
    if (config_.boolean("keep")) args.insert(args.end(), {"-trace_err", "-error_file", errors});
    return cc::bench::Sipp(work_, scenario, "127.0.0.1", port,
                           "127.0.0.1:" + std::to_string(bench_.stack().sip_port()), args);
  }

  // A SIPp load step: `total` scenarios at `rate` per second, each response awaited at most
  // `recv_timeout_ms`, statistics every second into `stats` and every response time logged.
  static std::vector<std::string> LoadArgs(int rate, long total, int step_s, int recv_timeout_ms,
                                           const std::string& stats,
                                           std::vector<std::string> extra) {
    std::vector<std::string> a = {"-r",
                                  std::to_string(rate),
                                  "-rp",
                                  "1000",
                                  "-m",
                                  std::to_string(total),
                                  "-recv_timeout",
                                  std::to_string(recv_timeout_ms),
                                  "-timeout",
                                  std::to_string(step_s + 60) + "s",
                                  "-trace_stat",
                                  "-stf",
                                  stats,
                                  "-fd",
                                  "1",
                                  "-trace_rtt",
                                  "-rtt_freq",
                                  "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // CPU accounting for one step. `live` are SIPp processes that outlive the step; the one a
  // step waits for is reaped before it is read, so it is counted from RUSAGE_CHILDREN.
  void start_cpu(const std::vector<pid_t>& live) {
    watched_.resize(6);
    for (const pid_t pid : live) watched_.push_back({"sipp", pid});
    for (auto& w : watched_) w.start = cc::bench::ProcessTreeTicks(w.pid);
    reaped_from_ = ReapedChildrenSeconds();
    cpu_from_ = Clock::now();
  }

  static double ReapedChildrenSeconds() {
    rusage ru{};
    getrusage(RUSAGE_CHILDREN, &ru);
    auto secs = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
  }

  // Percent of one core per watched process since start_cpu (SIPp instances summed).
  std::string cpu_columns() {
    const double secs = std::chrono::duration<double>(Clock::now() - cpu_from_).count();
    std::map<std::string, double> pct;
    std::vector<std::string> order;
    for (auto& w : watched_) {
      if (!pct.count(w.name)) order.push_back(w.name);
      pct[w.name] += 100.0 * static_cast<double>(cc::bench::ProcessTreeTicks(w.pid) - w.start) /
                     cc::bench::TicksPerSecond() / secs;
    }
    if (!pct.count("sipp")) order.push_back("sipp");
    pct["sipp"] += 100.0 * (ReapedChildrenSeconds() - reaped_from_) / secs;
    std::string out;
    char buf[32];
    for (const auto& n : order) {
      std::snprintf(buf, sizeof buf, " %.0f |", pct[n]);
      out += buf;
    }
    return out;
  }

  static std::string CpuHeader() {
    return " edge | queue | registry | relay | postgres | nats | sipp |";
  }

  bool register_sweep() {
    std::printf("\nREGISTER with digest auth, %d agents, %lld s per step\n\n", agents_,
                static_cast<long long>(config_.duration("step").count() / 1000));
    std::printf(
        "| offered reg/s | registrations | ok | failed | reg/s done | REGISTER req/s |"
        " p50 ms | p99 ms |%s\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        "---|\n",
        CpuHeader().c_str());
    const int step_s = static_cast<int>(config_.duration("step").count() / 1000);
    bool all_ok = true;
    for (const int rate : cc::bench::SplitInts(config_.str("register-rates"))) {
      const long total = static_cast<long>(rate) * step_s;
      const std::string stats = "register-" + std::to_string(rate) + ".csv";
      auto p = sipp("register_users.xml", agent_port_,
                    LoadArgs(rate, total, step_s, 5000, stats,
                             {"-inf", "users.csv", "-set", "expires", "3600"}));
      start_cpu({});
      const auto t0 = Clock::now();
      const int rc = p->wait(seconds(step_s + 90));
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      const std::string cpu = cpu_columns();
      const auto c = cc::bench::ReadSippStats(work_ + "/" + stats);
      const auto rtt = cc::bench::ReadRtts(work_);
      const double done = static_cast<double>(c.ok) / secs;
      std::printf("| %d | %ld | %ld | %ld | %.0f | %.0f | %.0f | %.0f |%s\n", rate, total, c.ok,
                  total - c.ok, done, 2 * done, cc::bench::Percentile(rtt.ms, 0.5),
                  cc::bench::Percentile(rtt.ms, 0.99), cpu.c_str());
      std::fflush(stdout);
      if (rc != 0 || c.ok != total) {
        all_ok = false;
        std::fprintf(stderr, "  step %d/s: sipp exited %d\n%s", rate, rc,
                     cc::bench::FirstLines(work_ + "/register_users.xml-" +
                                           std::to_string(agent_port_) + ".err")
                         .c_str());
      }
      std::this_thread::sleep_for(seconds(2));
    }
    return all_ok || bind_directly();
  }

  // The edge's live calls and the relay's legs, both zero when every call is over.
  std::pair<int, int> live() {
    v1::EdgeStatsResponse es;
    v1::ListLegsResponse legs;
    bench_.edge->Stats(ctx().get(), {}, &es);
    bench_.relay->ListLegs(ctx().get(), {}, &legs);
    return {es.live_calls(), legs.legs_size()};
  }

  // What the calls still live at the edge are doing (the first few), to explain leftovers.
  void describe_live_calls() {
    v1::ListLiveCallsResponse resp;
    if (!bench_.edge->ListLiveCalls(ctx().get(), {}, &resp).ok()) return;
    std::map<std::string, int> states;
    for (const auto& c : resp.calls()) {
      states[c.state() + " customer=" + c.customer().state() + " agent=" + c.agent().state()]++;
    }
    for (const auto& [state, n] : states)
      std::fprintf(stderr, "  live: %d x %s\n", n, state.c_str());
  }

  void call_sweep() {
    const int step_s = static_cast<int>(config_.duration("step").count() / 1000);
    const auto hold = config_.duration("hold").count();
    std::printf("\nCalls through the whole path, %d agents, talk %lld ms, %d s per step\n\n",
                agents_, static_cast<long long>(hold), step_s);
    std::printf(
        "| offered calls/s | calls | ok | failed | setups/s | setup p50 ms | p99 ms | "
        "max ms |%s left over |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        "---|---|\n",
        CpuHeader().c_str());
    auto uas = sipp("agent.xml", agent_port_, {"-d", "0"});
    std::this_thread::sleep_for(milliseconds(500));
    int best = 0;
    double peak = 0;
    for (const int rate : cc::bench::SplitInts(config_.str("call-rates"))) {
      const long total = static_cast<long>(rate) * step_s;
      const std::string stats = "calls-" + std::to_string(rate) + ".csv";
      const auto before = cc::bench::Counters(
          cc::testing::HttpGet(bench_.stack().edge().metrics_port(), "/metrics"),
          "cc_edge_call_failures_total");
      const int port = cc::testing::FreeUdpPort();
      auto p = sipp("customer.xml", port,
                    LoadArgs(rate, total, step_s, 15000, stats,
                             {"-s", "bench", "-d", std::to_string(hold), "-default_behaviors",
                              "all,-abortunexp"}));
      start_cpu({uas->pid()});
      const int rc = p->wait(seconds(step_s + 90));
      const std::string cpu = cpu_columns();
      const auto c = cc::bench::ReadSippStats(work_ + "/" + stats);
      const auto rtt = cc::bench::ReadRtts(work_);
      // Every call must be over everywhere before the next step.
      std::pair<int, int> left{0, 0};
      cc::testing::WaitFor(
          [&] {
            left = live();
            return left.first == 0 && left.second == 0;
          },
          seconds(30));
      if (left.first > 0) describe_live_calls();
      const double span_s = (rtt.last_at_ms - rtt.first_at_ms) / 1000.0;
      const double setups = span_s > 0 ? static_cast<double>(rtt.ms.size() - 1) / span_s : 0.0;
      peak = std::max(peak, setups);
      std::printf("| %d | %ld | %ld | %ld | %.0f | %.0f | %.0f | %.0f |%s %d calls, %d legs |\n",
                  rate, total, c.ok, total - c.ok, setups, cc::bench::Percentile(rtt.ms, 0.5),
                  cc::bench::Percentile(rtt.ms, 0.99), cc::bench::Percentile(rtt.ms, 1.0),
                  cpu.c_str(), left.first, left.second);
      const auto after = cc::bench::Counters(
          cc::testing::HttpGet(bench_.stack().edge().metrics_port(), "/metrics"),
          "cc_edge_call_failures_total");
      for (const auto& [labels, v] : after) {
        const double d = v - (before.count(labels) ? before.at(labels) : 0);
        if (d > 0) std::printf("    edge call failures %s: %.0f\n", labels.c_str(), d);
      }
      std::fflush(stdout);
      const bool pass = rc == 0 && c.ok == total && left == std::pair<int, int>{0, 0};
      if (!pass) {
        std::fprintf(stderr, "  step %d/s failed (sipp exit %d)\n%s", rate, rc,
                     cc::bench::FirstLines(work_ + "/customer.xml-" + std::to_string(port) + ".err")
                         .c_str());
        if (config_.boolean("stop-at-failure")) break;
      } else if (setups >= 0.95 * rate) {
        best = std::max(best, rate);  // carried: the calls did not pile up in the queue
      }
      std::this_thread::sleep_for(seconds(2));
    }
    std::printf(
        "\nhighest rate carried (no failed call, nothing left over, setups within 5%% of the"
        " offered rate): %d calls/s; peak setup rate: %.0f calls/s\n",
        best, peak);
  }

  cc::Config& config_;
  const int agents_;
  std::string work_;
  int agent_port_ = 0;
  cc::bench::BenchStack bench_;
  std::vector<Watched> watched_;
  Clock::time_point cpu_from_;
  double reaped_from_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  cc::Config config("sip-bench");
  cc::bench::AddServerOptions(config);
  config.add_int("agents", 1000, "agents in the bench queue (wrap-up 0)", 1, 20000);
  config.add_string("register-rates", "500,1000,2000,4000", "REGISTER sweep rates (per second)");
  config.add_string("call-rates", "50,100,200,300,400,500", "call sweep rates (per second)");
  config.add_duration("step", seconds(10), "length of each step", seconds(1), seconds(60));
  config.add_duration("hold", milliseconds(1000), "talk time of each call", milliseconds(0),
                      seconds(60));
  config.add_string("db-pool", "8", "database connections of registry and queue-service");
  config.add_string("only", "", "'register' or 'calls' to run one sweep");
  config.add_bool("keep", false,
                  "keep SIPp's files (set CC_KEEP_CHILD_LOGS=1 to keep the services' logs too)");
  config.add_bool("stop-at-failure", false, "stop the call sweep at the first failed step");
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Configure("sip-bench", "", cc::log::Level::kWarn, false);
  return Bench(config).run();
}
