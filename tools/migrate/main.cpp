// cc-migrate: applies the numbered SQL migrations to a database. Safe to run from several
// replicas at once (an advisory lock serializes them; each migration is applied once).
#include <cstdio>
#include <iostream>

#include "common/config.h"
#include "common/log.h"
#include "common/migrations.h"
#include "common/runtime.h"

int main(int argc, char** argv) {
  cc::Config config("cc-migrate");
  config.add_string("db-url", "postgresql://callcenter@127.0.0.1:5432/callcenter",
                    "PostgreSQL connection URL");
  config.add_string("dir", "",
                    "read NNNN_name.sql files from this directory instead of the "
                    "migrations built into this binary");
  config.add_bool("status", false, "only print the applied and pending versions");
  config.add_string("log-level", "info", "debug, info, warn or error");
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  cc::log::Level level = cc::log::Level::kInfo;
  cc::log::ParseLevel(config.str("log-level"), &level);
  cc::log::Configure("cc-migrate", "", level, false);

  std::vector<cc::Migration> migrations = cc::EmbeddedMigrations();
  if (!config.str("dir").empty()) {
    auto loaded = cc::LoadMigrations(config.str("dir"));
    if (!loaded.ok()) {
      std::fprintf(stderr, "cc-migrate: %s\n", loaded.error().message.c_str());
      return 2;
    }
    migrations = std::move(loaded).value();
  }
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(config.str("db-url"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cc-migrate: cannot connect to the database: %s\n", e.what());
    return 1;
  }
  if (config.boolean("status")) {
    auto applied = cc::AppliedMigrations(*conn);
    if (!applied.ok()) {
      std::fprintf(stderr, "cc-migrate: %s\n", applied.error().message.c_str());
      return 1;
    }
    for (const auto& m : migrations) {
      const bool done = std::find(applied->begin(), applied->end(), m.version) != applied->end();
      std::printf("%04d  %-30s %s\n", m.version, m.name.c_str(), done ? "applied" : "pending");
    }
    return 0;
  }
  auto report = cc::ApplyMigrations(*conn, migrations);
  if (!report.ok()) {
    std::fprintf(stderr, "cc-migrate: %s\n", report.error().message.c_str());
    return 1;
  }
  std::printf("schema at version %d (%zu applied now)\n", report->current_version,
              report->applied.size());
  return 0;
}
