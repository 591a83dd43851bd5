// chaos-run: the chaos suite's faults, each under a longer call load than the tests use, and
// one Markdown table of what happened (docs/reliability.md is made with it):
//
//   build/bench/tools/chaos-run --load=60s --rate=5 > /tmp/reliability.md
//
// Every fault gets a fresh PostgreSQL and nats-server of its own (it crashes or restarts
// them), the four services of this build, SIPp agents and customers, all on 127.0.0.1.
#include <cstdio>
#include <iostream>
#include <thread>

#include "chaos.h"
#include "common/config.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/runtime.h"

int main(int argc, char** argv) {
  cc::Config config("chaos-run");
  config.add_string("faults", "all",
                    "comma-separated fault numbers (1 queue-service, 2 agent-registry, 3 relay, 4 "
                    "edge, 5 nats, 6 postgres, 7 replicas, 8 relay of two) or all");
  config.add_duration("load", cc::Duration{60000}, "how long customers keep arriving",
                      cc::Duration{5000}, cc::Duration{3'600'000});
  config.add_string("rate", "5", "customers per second");
  config.add_duration("hold", cc::Duration{3000}, "talk time", cc::Duration{100},
                      cc::Duration{600'000});
  config.add_int("agents", 16, "agents answering (SIPp phones)", 1, 200);
  config.add_duration("fault-at", cc::Duration{20000}, "when the fault comes, after the start",
                      cc::Duration{1000}, cc::Duration{3'600'000});
  config.add_duration("down", cc::Duration{5000}, "how long the killed process stays down",
                      cc::Duration{0}, cc::Duration{600'000});
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Configure("chaos-run", "", cc::log::Level::kError, false);

  std::vector<cc::chaos::Fault> faults;
  const auto all = cc::chaos::AllFaults();
  if (config.str("faults") == "all") {
    faults = all;
  } else {
    for (const auto& item : cc::Config::SplitList(config.str("faults"))) {
      const int n = std::atoi(item.c_str());
      if (n < 1 || n > static_cast<int>(all.size())) {
        std::fprintf(stderr, "chaos-run: no fault %s\n", item.c_str());
        return 2;
      }
      faults.push_back(all[static_cast<size_t>(n - 1)]);
    }
  }
  std::vector<cc::chaos::Result> results;
  for (auto fault : faults) {
    cc::chaos::Options o;
    o.fault = fault;
    o.load = std::chrono::duration_cast<std::chrono::seconds>(config.duration("load"));
    o.rate = std::stod(config.str("rate"));
    o.hold = config.duration("hold");
    o.agents = static_cast<int>(config.integer("agents"));
    o.fault_at = std::chrono::duration_cast<std::chrono::seconds>(config.duration("fault-at"));
    o.down = std::chrono::duration_cast<std::chrono::seconds>(config.duration("down"));
    o.binaries = {CC_AGENT_REGISTRY_BIN, CC_QUEUE_SERVICE_BIN, CC_MEDIA_RELAY_BIN,
                  CC_SIGNALING_EDGE_BIN};
    o.scenarios = CC_TEST_SCENARIOS;
    o.work_dir = "/tmp/chaos-run-" + cc::RandomHex(4);
    o.verbose = true;
    std::fprintf(stderr, "chaos-run: %s ...\n", cc::chaos::ToString(fault));
    results.push_back(cc::chaos::Run(o));
    for (const auto& p : results.back().problems)
      std::fprintf(stderr, "  PROBLEM: %s\n", p.c_str());
  }
  std::cout << "Load: " << config.str("rate") << " customers/s for "
            << config.duration("load").count() / 1000 << " s, talk "
            << config.duration("hold").count() << " ms, " << config.integer("agents")
            << " agents; the fault " << config.duration("fault-at").count() / 1000
            << " s in, restarted after " << config.duration("down").count() / 1000 << " s.\n\n"
            << cc::chaos::Table(results);
  int broken = 0;
  for (const auto& r : results) broken += static_cast<int>(r.problems.size());
  return broken == 0 ? 0 : 1;
}
