#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/nats.h"
#include "common/pg.h"

// The wiring every service main shares: common options, logging, settings for the database
// and the bus, and the wait-for-SIGTERM-then-drain sequence.
namespace cc {

struct ServiceDefaults {
  std::string name;            // "agent-registry"
  std::string grpc_listen;     // "127.0.0.1:50051"
  std::string metrics_listen;  // "127.0.0.1:9101"
  bool uses_database = false;
  bool uses_nats = false;
};

// Declares grpc-listen, metrics-listen, log-level, log-format, instance-id, drain-timeout and,
// as needed, db-url, db-pool-size, db-statement-timeout, nats-url, nats-subject-prefix.
void AddCommonOptions(Config& config, const ServiceDefaults& defaults);

// Parses argv and the environment. Returns an exit code when the process should stop now:
// 0 after --help, 2 after a configuration error (printed on stderr as one clear line).
std::optional<int> ParseOrExit(Config& config, int argc, char** argv);

// Configures structured logging from the options; returns the instance id.
std::string SetupLogging(const Config& config, const std::string& service);

// The tokens the gRPC API accepts (--api-tokens) and the one this process sends
// (--api-token-file), after SetupLogging; an exit code when a file is unusable.
std::optional<int> SetupApiAuth(const Config& config);

// True, after logging "startup failed" with its error, when a startup step (a Status or a
// Result) failed: the caller then exits with 1.
template <typename R>
bool StartupFailed(const R& step) {
  if (step.ok()) return false;
  log::Error("startup failed", {{"error", step.error().message}});
  return true;
}

PgSettings PgSettingsFrom(const Config& config, const std::string& application);
NatsSettings NatsSettingsFrom(const Config& config, const std::string& instance);

// Blocks until SIGTERM/SIGINT, then: health NOT_SERVING, `on_drain` (stop taking work),
// gRPC shutdown with the drain-timeout grace for calls in flight. Returns the exit code.
int ServeUntilSignal(GrpcServer& server, const Config& config,
                     const std::function<void()>& on_drain = nullptr);

}  // namespace cc
