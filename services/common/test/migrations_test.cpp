#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/agent_status.h"
#include "common/migrations.h"
#include "testing.h"

namespace cc {
namespace {

TEST(MigrationsTest, EmbeddedMigrationsAreNumberedWithoutGaps) {
  const auto& m = EmbeddedMigrations();
  ASSERT_FALSE(m.empty());
  for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i].version, static_cast<int>(i) + 1);
}

TEST(MigrationsTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  testing::TestDatabase db(false);
  constexpr int kReplicas = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::atomic<int> applied_total{0};
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&] {
      try {
        pqxx::connection conn(db.url());
        auto r = ApplyMigrations(conn, EmbeddedMigrations());
        if (!r.ok()) {
          ++failures;
        } else {
          applied_total += static_cast<int>(r->applied.size());
        }
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const int n = static_cast<int>(EmbeddedMigrations().size());
  EXPECT_EQ(applied_total.load(), n);  // each applied by exactly one replica
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), std::to_string(n));
}

TEST(MigrationsTest, SecondRunIsANoOpAndAnEditedMigrationIsRefused) {
  testing::TestDatabase db(false);
  pqxx::connection conn(db.url());
  auto first = ApplyMigrations(conn, EmbeddedMigrations());
  ASSERT_TRUE(first.ok());
  auto second = ApplyMigrations(conn, EmbeddedMigrations());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->applied.empty());
  auto edited = EmbeddedMigrations();
  edited[0].sql += "\n-- sneaky edit";
  auto refused = ApplyMigrations(conn, edited);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
}

TEST(MigrationsTest, AFailingMigrationLeavesNothingHalfApplied) {
  testing::TestDatabase db(false);
  pqxx::connection conn(db.url());
  std::vector<Migration> m = {{1, "good", "CREATE TABLE a (x int)"},
                              {2, "bad", "CREATE TABLE b (x int); SELECT * FROM nowhere"}};
  auto r = ApplyMigrations(conn, m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(db.scalar("SELECT max(version) FROM schema_migrations"), "1");
  EXPECT_EQ(db.scalar("SELECT to_regclass('b') IS NULL"), "t");
}

// The database's copy of the agent status machine must be the C++ table, row for row.
TEST(MigrationsTest, DatabaseStatusTransitionsEqualTheCodeTable) {
  testing::TestDatabase db;
  pqxx::connection conn(db.url());
  pqxx::nontransaction tx(conn);
  std::set<std::pair<std::string, std::string>> in_db, in_code;
  for (const auto& r : tx.exec("SELECT from_status, to_status FROM agent_status_transitions")) {
    in_db.insert({r[0].as<std::string>(), r[1].as<std::string>()});
  }
  for (const auto& t : kAgentStatusTransitions) {
    in_code.insert({std::string(ToString(t.from)), std::string(ToString(t.to))});
  }
  EXPECT_EQ(in_db, in_code);
}

}  // namespace
}  // namespace cc
