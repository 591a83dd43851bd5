// The chaos suite (ctest label "chaos"): under a steady call load, each fault in turn, then
// PostgreSQL against the wire. Short runs; tools/chaos runs them longer for
// docs/reliability.md.
#include <gtest/gtest.h>

#include "chaos.h"
#include "common/ids.h"

namespace cc::chaos {
namespace {

class ChaosIt : public ::testing::TestWithParam<Fault> {};

TEST_P(ChaosIt, NoCallLostNoAgentStrandedNothingDoubleAssigned) {
  Options o;
  o.fault = GetParam();
  o.binaries = {CC_AGENT_REGISTRY_BIN, CC_QUEUE_SERVICE_BIN, CC_MEDIA_RELAY_BIN,
                CC_SIGNALING_EDGE_BIN};
  o.scenarios = CC_TEST_SCENARIOS;
  o.work_dir = ::testing::TempDir() + "/chaos-" + RandomHex(4);
  o.verbose = true;
  const Result r = chaos::Run(o);
  fprintf(stderr, "%s\n", Table({r}).c_str());
  EXPECT_TRUE(r.problems.empty());
  EXPECT_GT(r.recorded, 0);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.stranded_agents, 0);
  EXPECT_EQ(r.double_assignments, 0);
  EXPECT_EQ(r.illegal_transitions, 0);
  EXPECT_EQ(r.leftover_dialogs, 0);
  EXPECT_EQ(r.leftover_legs, 0);
  // Calls go on after the fault.
  EXPECT_GE(r.recovery_seconds, 0) << "no call connected after the fault";
  EXPECT_GT(r.completed, r.recorded / 2);
  RecordProperty("recovery_seconds", std::to_string(r.recovery_seconds));
}

INSTANTIATE_TEST_SUITE_P(Faults, ChaosIt, ::testing::ValuesIn(AllFaults()),
                         [](const ::testing::TestParamInfo<Fault>& p) {
                           switch (p.param) {
                             case Fault::kQueueService:
                               return "QueueServiceKilled";
                             case Fault::kAgentRegistry:
                               return "AgentRegistryKilled";
                             case Fault::kMediaRelay:
                               return "MediaRelayKilled";
                             case Fault::kSignalingEdge:
                               return "SignalingEdgeKilled";
                             case Fault::kNats:
                               return "NatsRestarted";
                             case Fault::kPostgres:
                               return "PostgresRestarted";
                             case Fault::kReplicas:
                               return "OneOfTwoReplicasKilled";
                             case Fault::kRelayOfTwo:
                               return "OneOfTwoRelaysKilled";
                           }
                           return "Unknown";
                         });

}  // namespace
}  // namespace cc::chaos
