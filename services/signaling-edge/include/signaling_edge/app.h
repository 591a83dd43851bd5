#pragma once

namespace cc::edge {

// The signaling-edge process: config, SIP loop, edge, admin gRPC, metrics, drain on SIGTERM.
int RunSignalingEdge(int argc, char** argv);

}  // namespace cc::edge
