// queue-bench: how fast the queue-service assigns calls, with 1, 2 and 4 instances on one
// database. For each instance count it creates a fresh database, starts the instances,
// provisions agents (routable, wrap-up 0) and a queue, and drives calls through a fake edge
// that acknowledges each offer and at once reports it connected and ended, so agents
// recycle. Two runs per instance count:
//   latency:    calls at a fixed rate with free agents; enqueue -> offer received at the edge
//   throughput: a closed loop of concurrent callers; assignments per second
// Not a test: it prints a table. Needs PostgreSQL and nats-server (e.g. tools/stack.sh start).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include <pqxx/pqxx>

#include "agent_registry/pg_repository.h"
#include "agent_registry/service.h"
#include "bench_util.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/migrations.h"
#include "common/runtime.h"
#include "fake_edge.h"
#include "testing.h"

namespace {

namespace v1 = callcenter::v1;
using Clock = std::chrono::steady_clock;
using cc::bench::Percentile;
using std::chrono::milliseconds;

class NullAgentEvents final : public cc::registry::EventSink {
 public:
  void status_changed(const cc::registry::StatusChangeResult&) override {}
  void routability_changed(const std::string&, bool, int, const std::string&) override {}
  void binding_changed(cc::registry::BindingEvent, const cc::registry::Binding&) override {}
  void lifecycle(cc::registry::LifecycleEvent, const std::string&) override {}
};

struct RunResult {
  int calls = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // enqueue sent -> offer received
};

class Bench {
 public:
  Bench(cc::Config& c) : config_(c) {}

  bool run_instances(int instances) {
    const std::string admin = config_.str("pg-admin-url");
    const std::string db = "queue_bench_" + cc::RandomHex(4);
    {
      pqxx::connection conn(admin);
      pqxx::nontransaction tx(conn);
      tx.exec("CREATE DATABASE " + db);
    }
    const std::string url = admin.substr(0, admin.rfind('/')) + "/" + db;
    {
      pqxx::connection conn(url);
      auto r = cc::ApplyMigrations(conn, cc::EmbeddedMigrations());
      if (!r.ok()) {
        std::fprintf(stderr, "migrations: %s\n", r.error().message.c_str());
        return false;
      }
    }
    const std::string prefix = "bench" + cc::RandomHex(3);
    std::vector<std::unique_ptr<cc::testing::ServiceProcess>> procs;
    for (int i = 0; i < instances; ++i) {
      procs.push_back(std::make_unique<cc::testing::ServiceProcess>(
          config_.str("queue-service"),
          std::vector<std::string>{"--db-url=" + url, "--nats-url=" + config_.str("nats-url"),
                                   "--nats-subject-prefix=" + prefix, "--log-level=warn",
                                   "--db-pool-size=8"}));
      if (!procs.back()->ready()) {
        std::fprintf(stderr, "queue-service did not start:\n%s\n",
                     procs.back()->process().output().c_str());
        return false;
      }
    }
    provision(url, *procs[0]);

    cc::NatsSettings ns;
    ns.url = config_.str("nats-url");
    ns.subject_prefix = prefix;
    auto nats = std::move(cc::NatsClient::Connect(ns)).value();
    std::vector<std::unique_ptr<v1::QueueService::Stub>> stubs;
    for (auto& p : procs) stubs.push_back(v1::QueueService::NewStub(cc::MakeChannel(p->target())));

    std::mutex mu;
    std::map<std::string, Clock::time_point> sent;
    std::vector<double> latencies;
    std::atomic<int> offers{0};
    std::atomic<size_t> rr{0};
    auto stub = [&]() -> v1::QueueService::Stub& { return *stubs[rr++ % stubs.size()]; };
    cc::testing::FakeEdge edge(
        *nats, "bench-edge",
        [&](const v1::Offer& o) {
          const auto now = Clock::now();
          {
            std::lock_guard lock(mu);
            auto it = sent.find(o.call_id());
            if (it != sent.end()) {
              latencies.push_back(
                  std::chrono::duration<double, std::milli>(now - it->second).count());
            }
          }
          offers++;
          v1::ReportConnectedRequest c;
          c.set_call_id(o.call_id());
          c.set_assignment_id(o.assignment_id());
          v1::ReportResponse r;
          stub().ReportConnected(cc::MakeContext(milliseconds(5000)).get(), c, &r);
          v1::ReportEndedRequest e;
          e.set_call_id(o.call_id());
          e.set_assignment_id(o.assignment_id());
          stub().ReportEnded(cc::MakeContext(milliseconds(5000)).get(), e, &r);
        },
        8);

    auto enqueue = [&](const std::string& id) {
      v1::EnqueueRequest req;
      req.set_call_id(id);
      req.set_queue("bench");
      req.set_edge_id("bench-edge");
      v1::EnqueueResponse resp;
      {
        std::lock_guard lock(mu);
        sent[id] = Clock::now();
      }
      auto st = stub().Enqueue(cc::MakeContext(milliseconds(5000)).get(), req, &resp);
      if (!st.ok())
        std::fprintf(stderr, "enqueue %s: %s\n", id.c_str(), st.error_message().c_str());
    };
    auto wait_offers = [&](int n, int secs) {
      const auto deadline = Clock::now() + std::chrono::seconds(secs);
      while (offers.load() < n && Clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(5));
    };

    // Latency: a steady rate with free agents.
    const int latency_calls = static_cast<int>(config_.integer("latency-calls"));
    const double rate = static_cast<double>(config_.integer("latency-rate"));
    auto start = Clock::now();
    for (int i = 0; i < latency_calls; ++i) {
      std::this_thread::sleep_until(start +
                                    std::chrono::microseconds(static_cast<long>(i * 1e6 / rate)));
      enqueue("lat-" + std::to_string(i));
    }
    wait_offers(latency_calls, 30);
    std::vector<double> lat;
    {
      std::lock_guard lock(mu);
      lat.swap(latencies);
    }
    // Throughput: closed loop.
    const int tp_calls = static_cast<int>(config_.integer("throughput-calls"));
    const int concurrency = static_cast<int>(config_.integer("concurrency"));
    offers = 0;
    start = Clock::now();
    std::vector<std::thread> callers;
    std::atomic<int> next{0};
    for (int t = 0; t < concurrency; ++t) {
      callers.emplace_back([&] {
        for (int i = next++; i < tp_calls; i = next++) {
          enqueue("tp-" + std::to_string(i));
          // Keep at most `concurrency` calls unassigned.
          while (i - offers.load() > concurrency * 2) std::this_thread::sleep_for(milliseconds(1));
        }
      });
    }
    for (auto& c : callers) c.join();
    wait_offers(tp_calls, 60);
    const double tp_secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> tp_lat;
    {
      std::lock_guard lock(mu);
      tp_lat.swap(latencies);
    }
    std::printf("| %d | %d @ %.0f/s | %.2f | %.2f | %.2f | %d | %.0f | %.2f | %.2f |\n", instances,
                latency_calls, rate, Percentile(lat, 0.5), Percentile(lat, 0.99),
                lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()), offers.load(),
                offers.load() / tp_secs, Percentile(tp_lat, 0.5), Percentile(tp_lat, 0.99));
    std::fflush(stdout);
    if (config_.boolean("verbose")) print_breakdown(*procs[0]);
    procs.clear();
    nats.reset();
    try {
      pqxx::connection conn(admin);
      pqxx::nontransaction tx(conn);
      tx.exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
    } catch (...) {
    }
    return true;
  }

 private:
  // Average time per gRPC method and per matching pass on the first instance.
  static void print_breakdown(cc::testing::ServiceProcess& p) {
    const std::string text = cc::testing::HttpGet(p.metrics_port(), "/metrics");
    std::map<std::string, std::pair<double, double>> sums;  // series -> (sum, count)
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t end = text.find('\n', pos);
      const std::string line = text.substr(pos, end - pos);
      pos = end == std::string::npos ? text.size() : end + 1;
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      std::string name = line.substr(0, space);
      const double v = std::atof(line.c_str() + space + 1);
      for (const char* suffix : {"_sum", "_count"}) {
        const auto at = name.find(suffix);
        if (at == std::string::npos) continue;
        std::string key = name.substr(0, at) + name.substr(at + std::strlen(suffix));
        (std::string(suffix) == "_sum" ? sums[key].first : sums[key].second) = v;
      }
    }
    for (const auto& [key, sc] : sums) {
      if (sc.second > 0 && (key.find("handling_seconds") != std::string::npos ||
                            key.find("match_pass") != std::string::npos)) {
        std::printf("    %-90s avg %.2f ms over %.0f\n", key.c_str(), 1000 * sc.first / sc.second,
                    sc.second);
      }
    }
  }

  void provision(const std::string& url, cc::testing::ServiceProcess& svc) {
    auto stub = v1::QueueService::NewStub(cc::MakeChannel(svc.target()));
    v1::CreateQueueRequest q;
    q.mutable_queue()->set_name("bench");
    q.mutable_queue()->set_wrap_up_seconds(0);
    v1::QueueResponse qr;
    stub->CreateQueue(cc::MakeContext(milliseconds(5000)).get(), q, &qr);
    cc::PgPool pool({url, 4});
    cc::registry::PgAgentRepository repo(pool);
    NullAgentEvents events;
    cc::registry::AgentService agents(repo, events, cc::SystemClock::instance(), {});
    for (int i = 0; i < config_.integer("agents"); ++i) {
      const std::string id = "a" + std::to_string(i);
      cc::registry::NewAgent n;
      n.id = n.display_name = n.sip_username = id;
      n.password = "pw";
      n.queues = {{"bench", 0}};
      n.wrap_up_seconds = 0;
      (void)agents.create(n);
      (void)agents.login(id, false, "");
      cc::registry::BindingRequest b;
      b.sip_username = id;
      b.contact_uri = "sip:" + id + "@127.0.0.1:5999";
      b.expires_seconds = 3600;
      (void)agents.register_binding(b);
    }
  }

  cc::Config& config_;
};

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  cc::Config config("queue-bench");
  cc::bench::AddServerOptions(config);
  config.add_string("queue-service", CC_QUEUE_SERVICE_BIN, "the queue-service binary");
  config.add_string("instances", "1,2,4", "instance counts to run, comma separated");
  config.add_int("agents", 50, "agents (all free, wrap-up 0)", 1, 10000);
  config.add_int("latency-calls", 1000, "calls in the latency run", 1, 1000000);
  config.add_int("latency-rate", 100, "calls per second in the latency run", 1, 100000);
  config.add_int("throughput-calls", 3000, "calls in the throughput run", 1, 1000000);
  config.add_bool("verbose", false, "print per-method averages of the first instance");
  config.add_int("concurrency", 16, "concurrent callers in the throughput run", 1, 1000);
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Configure("queue-bench", "", cc::log::Level::kWarn, false);

  std::printf(
      "| instances | latency run | p50 ms | p99 ms | max ms | assigned | assignments/s | "
      "p50 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|\n");
  Bench bench(config);
  for (const int n : cc::bench::SplitInts(config.str("instances"))) {
    if (!bench.run_instances(n)) return 1;
  }
  return 0;
}
