#pragma once

namespace cc::queue {

// The queue-service process: config, database, bus, engine, gRPC, metrics, shutdown.
int RunQueueService(int argc, char** argv);

}  // namespace cc::queue
