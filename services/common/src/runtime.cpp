#include "common/runtime.h"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/api_auth.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/signals.h"

namespace cc {

void AddCommonOptions(Config& c, const ServiceDefaults& d) {
  c.add_host_port("grpc-listen", d.grpc_listen, "gRPC listen address (port 0: any free port)",
                  true);
  c.add_string("metrics-listen", d.metrics_listen,
               "Prometheus /metrics listen address host:port; empty disables it",
               [](const std::string& v) -> std::optional<std::string> {
                 if (v.empty() || Config::ParseHostPort(v)) return std::nullopt;
                 return "expected host:port or empty";
               });
  c.add_string("log-level", "info", "debug, info, warn or error",
               [](const std::string& v) -> std::optional<std::string> {
                 log::Level l;
                 if (log::ParseLevel(v, &l)) return std::nullopt;
                 return "expected debug, info, warn or error";
               });
  c.add_string("log-format", "json", "json (one object per line) or text",
               [](const std::string& v) -> std::optional<std::string> {
                 if (v == "json" || v == "text") return std::nullopt;
                 return "expected json or text";
               });
  c.add_string("instance-id", "", "name of this instance in logs and events (default: generated)");
  c.add_string("api-tokens", "",
               "file of the bearer tokens the gRPC API accepts, one 'ROLE NAME TOKEN' per line "
               "(roles: admin, supervisor, read-only, edge); empty: the API is open to anyone "
               "who can reach it");
  c.add_string("api-token-file", "",
               "file holding the bearer token this service sends on its own gRPC calls");
  c.add_duration("drain-timeout", Duration{5000},
                 "on SIGTERM, how long calls in flight may take to finish", Duration{0},
                 Duration{600'000});
  if (d.uses_database) {
    c.add_string("db-url", "postgresql://callcenter@127.0.0.1:5432/callcenter",
                 "PostgreSQL connection URL",
                 [](const std::string& v) -> std::optional<std::string> {
                   if (v.empty()) return "must not be empty";
                   return std::nullopt;
                 });
    c.add_int("db-pool-size", 8, "database connections kept open", 1, 256);
    c.add_duration("db-statement-timeout", Duration{5000}, "per-statement timeout", Duration{100},
                   Duration{600'000});
  }
  if (d.uses_nats) {
    c.add_string("nats-url", "nats://127.0.0.1:4222", "NATS server URL(s), comma separated",
                 [](const std::string& v) -> std::optional<std::string> {
                   if (v.rfind("nats://", 0) == 0 || v.rfind("tls://", 0) == 0) return std::nullopt;
                   return "expected nats://host:port";
                 });
    c.add_string("nats-subject-prefix", "cc", "prefix of every subject published or read",
                 [](const std::string& v) -> std::optional<std::string> {
                   if (v.empty() || v.find_first_of(" *>") != std::string::npos ||
                       v.front() == '.' || v.back() == '.') {
                     return "must be a non-empty subject token list without wildcards";
                   }
                   return std::nullopt;
                 });
  }
}

std::optional<int> ParseOrExit(Config& config, int argc, char** argv) {
  auto st = config.parse_command_line(argc, argv);
  if (config.help_requested()) {
    std::cout << config.help();
    return 0;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "%s: configuration error: %s\n", argc > 0 ? argv[0] : "service",
                 st.error().message.c_str());
    return 2;
  }
  return std::nullopt;
}

std::optional<int> SetupApiAuth(const Config& config) {
  if (const std::string path = config.str("api-tokens"); !path.empty()) {
    auto tokens = ReadApiTokens(path);
    if (!tokens.ok()) {
      std::fprintf(stderr, "configuration error: api-tokens: %s\n", tokens.error().message.c_str());
      return 2;
    }
    log::Info("gRPC API requires bearer tokens",
              {{"identities", static_cast<int>(tokens->size())}});
    SetApiTokens(std::move(tokens).value());
  } else {
    log::Warn("gRPC API open to anyone who can reach it: set --api-tokens");
  }
  if (const std::string path = config.str("api-token-file"); !path.empty()) {
    std::ifstream f(path);
    std::string token;
    if (!f || !(f >> token)) {
      std::fprintf(stderr, "configuration error: api-token-file: cannot read a token from %s\n",
                   path.c_str());
      return 2;
    }
    SetApiToken(token);
  }
  return std::nullopt;
}

std::string SetupLogging(const Config& config, const std::string& service) {
  std::string instance = config.str("instance-id");
  if (instance.empty()) instance = MakeInstanceId(service);
  log::Level level = log::Level::kInfo;
  log::ParseLevel(config.str("log-level"), &level);
  log::Configure(service, instance, level, config.str("log-format") == "json");
  return instance;
}

PgSettings PgSettingsFrom(const Config& config, const std::string& application) {
  PgSettings s;
  s.url = config.str("db-url");
  s.pool_size = static_cast<int>(config.integer("db-pool-size"));
  s.statement_timeout = config.duration("db-statement-timeout");
  s.application_name = application;
  return s;
}

NatsSettings NatsSettingsFrom(const Config& config, const std::string& instance) {
  NatsSettings s;
  s.url = config.str("nats-url");
  s.subject_prefix = config.str("nats-subject-prefix");
  s.name = instance;
  return s;
}

int ServeUntilSignal(GrpcServer& server, const Config& config,
                     const std::function<void()>& on_drain) {
  const int sig = ShutdownSignal::Wait();
  log::Info("shutting down", {{"signal", strsignal(sig)}});
  server.set_serving(false);
  if (on_drain) on_drain();
  server.shutdown(config.duration("drain-timeout"));
  log::Info("stopped");
  return 0;
}

}  // namespace cc
