#pragma once

namespace cc::relay {

// The media-relay process: config, workers, gRPC control, metrics, drain on SIGTERM.
int RunMediaRelay(int argc, char** argv);

}  // namespace cc::relay
