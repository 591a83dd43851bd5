#pragma once

namespace cc::registry {

// The agent-registry process: config, database, bus, gRPC, metrics, periodic sweep and
// graceful shutdown. Returns the process exit code.
int RunAgentRegistry(int argc, char** argv);

}  // namespace cc::registry
