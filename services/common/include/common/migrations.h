#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/config.h"
#include "common/pg.h"
#include "common/status.h"

namespace cc {

struct Migration {
  int version;       // from the file name: 0001_agents.sql -> 1
  std::string name;  // "agents"
  std::string sql;
};

// The migrations compiled into this binary (services/common/migrations/*.sql), in order.
const std::vector<Migration>& EmbeddedMigrations();
// Reads NNNN_name.sql files from a directory, sorted by version; errors on gaps/duplicates.
Result<std::vector<Migration>> LoadMigrations(const std::string& dir);

struct MigrationReport {
  std::vector<int> applied;  // versions applied by this call
  int current_version = 0;
};

// Applies the pending migrations, each in its own transaction, while holding a session
// advisory lock, so several replicas starting at once apply each migration exactly once.
// A migration that was applied but whose text changed since is refused (checksum).
Result<MigrationReport> ApplyMigrations(pqxx::connection& conn,
                                        const std::vector<Migration>& migrations);
// Versions applied so far (empty if the bookkeeping table does not exist yet).
Result<std::vector<int>> AppliedMigrations(pqxx::connection& conn);

// With --migrate, applies the pending migrations on one of the pool's connections. False,
// after logging why, when that failed: the caller then exits with 1. (Here, not in runtime:
// the services without a database must not link libpqxx.)
bool MigrateIfAsked(const Config& config, PgPool& pool);

}  // namespace cc
