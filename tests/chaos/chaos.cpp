#include "chaos.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <pqxx/pqxx>

#include "callcenter/v1/agent_registry.grpc.pb.h"
#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "common/clock.h"
#include "common/grpc_server.h"
#include "common/ids.h"
#include "testing.h"

namespace cc::chaos {
namespace {

namespace v1 = callcenter::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

std::unique_ptr<grpc::ClientContext> Ctx() {
  return MakeContext(seconds(3));
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The reasons a call may end with when a process holding it died: recorded, not lost.
bool EndedByAFault(const std::string& reason) {
  for (const char* r :
       {"no longer holds the call", " lost", "media relay lost", "edge does not hold the call",
        "call over in queue-service", "call unknown to queue-service", "media unavailable",
        "media bridge failed"}) {
    if (reason.find(r) != std::string::npos) return true;
  }
  return false;
}

class Harness {
 public:
  explicit Harness(const Options& o) : o_(o) { result_.fault = o.fault; }

  Result run() {
    std::filesystem::create_directories(o_.work_dir);
    db_ = std::make_unique<testing::TestDatabase>(pg_.admin_url(), true);
    if (!start_stack()) return result_;
    if (!provision()) return result_;
    start_agents();
    load();
    settle();
    measure();
    for (auto& a : agents_) a->signal(SIGTERM);
    return result_;
  }

 private:
  void problem(std::string p) {
    if (o_.verbose) fprintf(stderr, "chaos %s: %s\n", ToString(o_.fault), p.c_str());
    result_.problems.push_back(std::move(p));
  }

  bool start_stack() {
    testing::StackOptions s;
    s.db_url = db_->url();
    s.nats_url = nats_.url();
    s.subject_prefix = "chaos";
    s.common = {"--drain-timeout=1s", "--log-level=warn"};
    s.registry_args = {"--sweep-interval=500ms"};
    s.queue_args = {"--sweep-interval=100ms", "--match-interval=200ms", "--lease-grace=2s",
                    "--edge-lease=10s",       "--reconcile-grace=3s",   "--offer-ack-timeout=1s"};
    s.relay_args = {"--media-timeout=600s", "--edge-legs-grace=3s", "--edge-lease=10s"};
    s.edge_args = {"--edge-id=chaos-edge", "--heartbeat=1s", "--relay-poll=500ms",
                   "--rpc-timeout=1s", "--enqueue-retry=10s",
                   // All the load comes from one address, as from a carrier's trunk.
                   "--trusted-sources=127.0.0.1"};
    s.rtp_port_min = 20000 + static_cast<int>(std::stoul(RandomHex(2), nullptr, 16) % 50) * 400;
    s.rtp_ports_per_relay = 200;
    s.sip_port = testing::FreeUdpPort();
    if (o_.fault == Fault::kReplicas) s.registries = s.queues = 2;
    if (o_.fault == Fault::kRelayOfTwo) s.relays = 2;
    stack_ = std::make_unique<testing::Stack>(o_.binaries, s);
    if (!stack_->failure().empty()) {
      problem("the stack did not start: " + stack_->failure());
      return false;
    }
    std::string registries = stack_->registry(0).target(), queues = stack_->queue(0).target();
    if (s.registries > 1) registries += "," + stack_->registry(1).target();
    if (s.queues > 1) queues += "," + stack_->queue(1).target();
    registry_ = v1::AgentRegistry::NewStub(MakeChannel(registries));
    queue_ = v1::QueueService::NewStub(MakeChannel(queues));
    edge_ = v1::SignalingEdge::NewStub(MakeChannel(stack_->edge().target()));
    relays_ = s.relays;
    return true;
  }

  bool provision() {
    v1::CreateQueueRequest q;
    q.mutable_queue()->set_name("chaos");
    q.mutable_queue()->set_answer_mode(v1::ANSWER_MODE_RING_UNTIL_AGENT);
    q.mutable_queue()->mutable_ring_timeout()->set_seconds(5);
    q.mutable_queue()->set_wrap_up_seconds(0);
    v1::QueueResponse qr;
    if (auto st = queue_->CreateQueue(Ctx().get(), q, &qr); !st.ok()) {
      problem("create queue: " + st.error_message());
      return false;
    }
    v1::SetDialplanEntryRequest dp;
    dp.mutable_entry()->set_pattern("chaos");
    dp.mutable_entry()->set_queue("chaos");
    v1::DialplanResponse dr;
    if (!queue_->SetDialplanEntry(Ctx().get(), dp, &dr).ok()) return false;
    for (int i = 0; i < o_.agents; ++i) {
      const std::string id = "agent" + std::to_string(i);
      v1::CreateAgentRequest c;
      c.set_id(id);
      c.set_display_name(id);
      c.set_sip_username(id);
      c.set_password("pw");
      c.set_wrap_up_seconds(0);
      c.add_queues()->set_queue("chaos");
      v1::CreateAgentResponse cr;
      if (auto st = registry_->CreateAgent(Ctx().get(), c, &cr); !st.ok()) {
        problem("create agent: " + st.error_message());
        return false;
      }
      v1::LoginRequest l;
      l.set_id(id);
      v1::StatusChangeResponse sc;
      if (!registry_->Login(Ctx().get(), l, &sc).ok()) return false;
      const int port = testing::FreeUdpPort();
      v1::RegisterBindingRequest b;
      b.set_sip_username(id);
      b.set_contact_uri("sip:" + id + "@127.0.0.1:" + std::to_string(port));
      b.set_source_address("127.0.0.1");
      b.set_source_port(port);
      b.set_expires_seconds(3600);
      v1::RegisterBindingResponse br;
      if (!registry_->RegisterBinding(Ctx().get(), b, &br).ok()) return false;
      agent_ports_.push_back(port);
    }
    return true;
  }

  std::unique_ptr<testing::ChildProcess> Sipp(const std::string& scenario, int port,
                                              std::vector<std::string> args) {
    std::vector<std::string> a = {
        "-sf",         scenario,
        "-i",          "127.0.0.1",
        "-p",          std::to_string(port),
        "-nostdin",    "-trace_err",
        "-error_file", o_.work_dir + "/sipp-" + std::to_string(port) + ".err"};
    a.insert(a.end(), args.begin(), args.end());
    a.push_back("127.0.0.1:" + std::to_string(stack_->sip_port()));
    return std::make_unique<testing::ChildProcess>("sipp", a);
  }

  void start_agents() {
    for (int port : agent_ports_) {
      // Rings 200 ms, answers, stays until the far end hangs up; as many calls as come.
      agents_.push_back(Sipp(o_.scenarios + "/sip/agent.xml", port,
                             {"-d", "200", "-mp", std::to_string(testing::FreeUdpPort())}));
    }
  }

  // The customers; the fault in the middle of them.
  void load() {
    std::string scenario = Read(o_.scenarios + "/chaos/customer.xml");
    scenario = std::regex_replace(scenario, std::regex("HOLD_MS"), std::to_string(o_.hold.count()));
    const std::string customer = o_.work_dir + "/customer.xml";
    std::ofstream(customer) << scenario;
    outcomes_ = o_.work_dir + "/outcomes.log";
    result_.offered = static_cast<int>(o_.rate * static_cast<double>(o_.load.count()));
    std::ostringstream rate;
    rate << o_.rate;
    auto customers = Sipp(customer, testing::FreeUdpPort(),
                          {"-s", "chaos", "-r", rate.str(), "-m", std::to_string(result_.offered),
                           "-l", "500", "-trace_logs", "-log_file", outcomes_, "-timeout",
                           std::to_string(o_.load.count() + 120) + "s", "-mp",
                           std::to_string(testing::FreeUdpPort())});
    std::this_thread::sleep_for(o_.fault_at);
    inject();
    customers->wait(o_.load + seconds(150));
    load_over_ = SteadyClock::now();
  }

  void inject() {
    fault_time_ = std::chrono::system_clock::now();
    switch (o_.fault) {
      case Fault::kQueueService:
        restart(stack_->queue(0));
        return;
      case Fault::kAgentRegistry:
        restart(stack_->registry(0));
        return;
      case Fault::kMediaRelay:
        restart(stack_->relay(0));
        return;
      case Fault::kSignalingEdge:
        restart(stack_->edge());
        return;
      case Fault::kNats:
        nats_.stop();
        std::this_thread::sleep_for(o_.down);
        nats_.start();
        return;
      case Fault::kPostgres:
        pg_.crash();
        std::this_thread::sleep_for(o_.down);
        if (!pg_.start()) problem("PostgreSQL did not start again");
        return;
      case Fault::kReplicas:
        stack_->queue(0).kill();
        stack_->registry(0).kill();
        return;
      case Fault::kRelayOfTwo:
        stack_->relay(0).kill();
        dead_relay_ = 0;
        return;
    }
  }

  void restart(testing::ServiceProcess& p) {
    p.kill();
    std::this_thread::sleep_for(o_.down);
    if (!p.restart()) problem("did not come back: " + p.process().output().substr(0, 2000));
  }

  std::string scalar(const std::string& sql) {
    try {
      return db_->scalar(sql);
    } catch (const std::exception& e) {
      return std::string("error: ") + e.what();
    }
  }

  int live_on_wire() {
    int n = 0;
    v1::EdgeStatsResponse es;
    if (!edge_->Stats(Ctx().get(), {}, &es).ok()) return -1;
    n += es.live_calls() + es.live_dialogs();
    for (int i = 0; i < relays_; ++i) {
      if (i == dead_relay_) continue;
      auto stub = v1::MediaRelay::NewStub(MakeChannel(stack_->relay(i).target()));
      v1::ListLegsResponse legs;
      if (!stub->ListLegs(Ctx().get(), {}, &legs).ok()) return -1;
      n += legs.legs_size();
    }
    return n;
  }

  // Until PostgreSQL and the wire agree that everything is over.
  void settle() {
    const auto deadline = SteadyClock::now() + o_.settle;
    while (SteadyClock::now() < deadline) {
      const bool db_over =
          scalar("SELECT count(*) FROM calls WHERE state IN ('WAITING','OFFERED','CONNECTED')") ==
              "0" &&
          scalar("SELECT count(*) FROM agents WHERE status IN ('RESERVED','ON_CALL')") == "0";
      if (db_over && live_on_wire() == 0) break;
      std::this_thread::sleep_for(milliseconds(250));
    }
    result_.settle_seconds = std::chrono::duration<double>(SteadyClock::now() - load_over_).count();
  }

  void measure() {
    // What the customers saw.
    std::map<int, std::string> outcome;  // per call number, the last
    std::istringstream log(Read(outcomes_));
    static const std::regex kLine("outcome ([0-9]+) (.+)");
    for (std::string line; std::getline(log, line);) {
      std::smatch m;
      if (std::regex_search(line, m, kLine)) outcome[std::stoi(m[1])] = m[2];
    }
    for (const auto& [n, what] : outcome) result_.customers[what]++;
    const int reported = static_cast<int>(outcome.size());
    if (reported < result_.offered) result_.customers["unknown"] += result_.offered - reported;

    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    result_.recorded = tx.exec("SELECT count(*) FROM calls")[0][0].as<int>();
    for (const auto& r :
         tx.exec("SELECT state, regexp_replace(outcome_reason, 'chaos-edge', 'EDGE'), count(*)::int"
                 " FROM calls GROUP BY 1, 2 ORDER BY 1, 2")) {
      const std::string state = r[0].as<std::string>(), reason = r[1].as<std::string>();
      const int n = r[2].as<int>();
      if (state == "WAITING" || state == "OFFERED" || state == "CONNECTED") {
        result_.lost += n;
        problem(std::to_string(n) + " calls left " + state);
        continue;
      }
      if (state == "ENDED" && (reason == "caller hung up" || reason == "agent hung up")) {
        result_.completed += n;
        continue;
      }
      result_.endings[state + ": " + reason] += n;
      (EndedByAFault(reason) ? result_.ended_early : result_.ended_otherwise) += n;
    }
    const auto count = [&tx](const char* sql) { return tx.exec(sql)[0][0].as<int>(); };
    result_.stranded_agents =
        count("SELECT count(*)::int FROM agents WHERE status IN ('RESERVED','ON_CALL')");
    if (result_.stranded_agents > 0) {
      problem(std::to_string(result_.stranded_agents) + " agents stranded");
    }
    result_.double_assignments = count(
        "SELECT count(*)::int FROM assignments a JOIN assignments b ON a.id < b.id"
        " AND (a.agent_id = b.agent_id OR a.call_id = b.call_id)"
        " AND b.offered_at < COALESCE(a.ended_at, 'infinity')"
        " AND a.offered_at < COALESCE(b.ended_at, 'infinity')");
    if (result_.double_assignments > 0) {
      problem(std::to_string(result_.double_assignments) + " overlapping assignments");
    }
    result_.illegal_transitions = count(
        "SELECT count(*)::int FROM agent_status_audit x WHERE NOT EXISTS (SELECT 1"
        " FROM agent_status_transitions t WHERE t.from_status = x.from_status"
        " AND t.to_status = x.to_status)");
    if (result_.illegal_transitions > 0) problem("illegal status transitions");
    const int live_assignments =
        tx.exec(
              "SELECT count(*)::int FROM assignments WHERE state IN ('OFFERED','CONNECTED')")[0][0]
            .as<int>();
    if (live_assignments > 0) problem(std::to_string(live_assignments) + " assignments left live");
    const auto first = tx.exec_params(
        "SELECT extract(epoch from min(connected_at) - $1::timestamptz) FROM calls"
        " WHERE enqueued_at > $1::timestamptz AND connected_at IS NOT NULL",
        FormatTime(fault_time_));
    result_.recovery_seconds = first[0][0].is_null() ? -1 : first[0][0].as<double>();
    tx.commit();

    v1::EdgeStatsResponse es;
    if (edge_->Stats(Ctx().get(), {}, &es).ok()) {
      result_.leftover_dialogs = es.live_dialogs();
      if (es.live_calls() > 0 || es.live_dialogs() > 0) {
        problem("the edge still holds " + std::to_string(es.live_calls()) + " calls, " +
                std::to_string(es.live_dialogs()) + " dialogs");
      }
    } else {
      problem("the edge does not answer");
    }
    for (int i = 0; i < relays_; ++i) {
      if (i == dead_relay_) continue;
      auto stub = v1::MediaRelay::NewStub(MakeChannel(stack_->relay(i).target()));
      v1::ListLegsResponse legs;
      if (stub->ListLegs(Ctx().get(), {}, &legs).ok()) result_.leftover_legs += legs.legs_size();
    }
    if (result_.leftover_legs > 0) {
      problem(std::to_string(result_.leftover_legs) + " relay legs left");
    }
    // Only a dead edge or relay may end calls early.
    const bool may_end_early = o_.fault == Fault::kSignalingEdge ||
                               o_.fault == Fault::kMediaRelay || o_.fault == Fault::kRelayOfTwo;
    if (!may_end_early && result_.ended_early > 0) {
      problem(std::to_string(result_.ended_early) +
              " calls ended early though no edge or relay died");
    }
    // Nothing else ends a call under this load (agents enough, no queue timeout).
    if (result_.ended_otherwise > 0) {
      problem(std::to_string(result_.ended_otherwise) +
              " calls ended neither by a hang-up nor a fault");
    }
  }

  Options o_;
  Result result_;
  testing::PostgresServer pg_;
  testing::NatsServerProcess nats_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<testing::Stack> stack_;
  std::unique_ptr<v1::AgentRegistry::Stub> registry_;
  std::unique_ptr<v1::QueueService::Stub> queue_;
  std::unique_ptr<v1::SignalingEdge::Stub> edge_;
  int relays_ = 1;
  int dead_relay_ = -1;
  std::vector<int> agent_ports_;
  std::vector<std::unique_ptr<testing::ChildProcess>> agents_;
  std::string outcomes_;
  std::chrono::system_clock::time_point fault_time_{};
  SteadyClock::time_point load_over_{};
};

}  // namespace

const char* ToString(Fault f) {
  switch (f) {
    case Fault::kQueueService:
      return "kill -9 queue-service, restart";
    case Fault::kAgentRegistry:
      return "kill -9 agent-registry, restart";
    case Fault::kMediaRelay:
      return "kill -9 media-relay, restart";
    case Fault::kSignalingEdge:
      return "kill -9 signaling-edge, restart";
    case Fault::kNats:
      return "restart nats-server";
    case Fault::kPostgres:
      return "crash PostgreSQL, restart";
    case Fault::kReplicas:
      return "2+2 replicas: kill -9 one queue-service and one agent-registry";
    case Fault::kRelayOfTwo:
      return "2 relays: kill -9 one";
  }
  return "?";
}

std::vector<Fault> AllFaults() {
  return {Fault::kQueueService, Fault::kAgentRegistry, Fault::kMediaRelay, Fault::kSignalingEdge,
          Fault::kNats,         Fault::kPostgres,      Fault::kReplicas,   Fault::kRelayOfTwo};
}

Result Run(const Options& options) {
  return Harness(options).run();
}

std::string Table(const std::vector<Result>& results) {
  auto join = [](const std::map<std::string, int>& m, const std::set<std::string>& skip) {
    std::string out;
    for (const auto& [k, n] : m) {
      if (skip.count(k)) continue;
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + k;
    }
    return out.empty() ? std::string("-") : out;
  };
  std::ostringstream t;
  t << "| fault | customers | answered and completed | refused (status) | other customer"
       " outcomes | calls recorded | ended normally | ended early by the fault (recorded)"
       " | lost | agents stranded | double assignments | recovery s | all over after s |\n"
    << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    std::map<std::string, int> refused, other;
    for (const auto& [k, n] : r.customers) {
      if (k.rfind("refused ", 0) == 0) {
        refused[k.substr(8)] += n;
      } else if (k != "completed") {
        other[k] += n;
      }
    }
    auto count = [&](const char* k) {
      auto it = r.customers.find(k);
      return it == r.customers.end() ? 0 : it->second;
    };
    char recovery[32], settle[32];
    snprintf(recovery, sizeof recovery, "%.1f", r.recovery_seconds);
    snprintf(settle, sizeof settle, "%.1f", r.settle_seconds);
    t << "| " << ToString(r.fault) << " | " << r.offered << " | " << count("completed") << " | "
      << join(refused, {}) << " | " << join(other, {}) << " | " << r.recorded << " | "
      << r.completed << " | " << r.ended_early
      << (r.endings.empty() ? "" : " (" + join(r.endings, {}) + ")") << " | " << r.lost << " | "
      << r.stranded_agents << " | " << r.double_assignments << " | " << recovery << " | " << settle
      << " |\n";
  }
  return t.str();
}

}  // namespace cc::chaos
