#include "common/migrations.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/log.h"

namespace cc {
namespace {

// Arbitrary but fixed: the advisory lock every migrator takes.
constexpr long long kMigrationLockKey = 0x63635f6d6967;  // "cc_mig"

std::string Checksum(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

Result<std::vector<Migration>> LoadMigrations(const std::string& dir) {
  std::vector<Migration> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    int version = 0;
    char rest[256] = {};
    if (std::sscanf(name.c_str(), "%d_%255[^.].sql", &version, rest) != 2 || version <= 0) {
      return InvalidArgument("migration file '" + name + "' is not named NNNN_name.sql");
    }
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    out.push_back({version, rest, ss.str()});
  }
  if (ec) return InvalidArgument("cannot read migrations directory '" + dir + "': " + ec.message());
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].version != static_cast<int>(i) + 1) {
      return InvalidArgument("migrations must be numbered 1, 2, 3... without gaps; found " +
                             std::to_string(out[i].version) + " at position " +
                             std::to_string(i + 1));
    }
  }
  return out;
}

Result<std::vector<int>> AppliedMigrations(pqxx::connection& conn) {
  try {
    pqxx::nontransaction tx(conn);
    auto exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
    std::vector<int> versions;
    if (!exists[0][0].as<bool>()) return versions;
    for (const auto& row : tx.exec("SELECT version FROM schema_migrations ORDER BY version")) {
      versions.push_back(row[0].as<int>());
    }
    return versions;
  } catch (const std::exception& e) {
    return Unavailable(std::string("reading schema_migrations: ") + e.what());
  }
}

Result<MigrationReport> ApplyMigrations(pqxx::connection& conn,
                                        const std::vector<Migration>& migrations) {
  MigrationReport report;
  try {
    pqxx::nontransaction lock(conn);
    lock.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  } catch (const std::exception& e) {
    return Unavailable(std::string("taking the migration lock: ") + e.what());
  }
  auto unlock = [&] {
    try {
      pqxx::nontransaction tx(conn);
      tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    } catch (...) {
      // The lock dies with the session anyway.
    }
  };
  try {
    {
      pqxx::work tx(conn);
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    std::map<int, std::pair<std::string, std::string>> applied;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
        applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
      }
    }
    for (const auto& m : migrations) {
      const std::string sum = Checksum(m.sql);
      if (auto it = applied.find(m.version); it != applied.end()) {
        if (it->second.second != sum) {
          unlock();
          return FailedPrecondition("migration " + std::to_string(m.version) + " (" + m.name +
                                    ") was changed after it was applied; add a new migration "
                                    "instead of editing an applied one");
        }
        report.current_version = m.version;
        continue;
      }
      pqxx::work tx(conn);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1,$2,$3)",
                     m.version, m.name, sum);
      tx.commit();
      log::Info("migration applied", {{"version", m.version}, {"name", m.name}});
      report.applied.push_back(m.version);
      report.current_version = m.version;
    }
    const int newest = migrations.empty() ? 0 : migrations.back().version;
    if (!applied.empty() && applied.rbegin()->first > newest) {
      log::Warn("database schema is newer than this binary",
                {{"database_version", applied.rbegin()->first}, {"binary_version", newest}});
      report.current_version = applied.rbegin()->first;
    }
  } catch (const std::exception& e) {
    unlock();
    return Internal(std::string("migration failed: ") + e.what());
  }
  unlock();
  return report;
}

bool MigrateIfAsked(const Config& config, PgPool& pool) {
  if (!config.boolean("migrate")) return true;
  auto lease = pool.acquire();
  auto report = lease.ok() ? ApplyMigrations(lease->conn(), EmbeddedMigrations())
                           : Result<MigrationReport>(lease.error());
  if (!report.ok()) {
    log::Error("migration failed", {{"error", report.error().message}});
    return false;
  }
  return true;
}

}  // namespace cc
