#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "common/pg.h"
#include "testing.h"

namespace cc {
namespace {

class PgPoolTest : public ::testing::Test {
 protected:
  testing::TestDatabase db_{false};
};

TEST_F(PgPoolTest, CommitsOnSuccessAndRollsBackOnError) {
  PgPool pool({db_.url(), 2});
  ASSERT_TRUE(pool.transact([](pqxx::work& tx) -> Status {
                    tx.exec("CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v > 0))");
                    return OkStatus();
                  })
                  .ok());
  auto ok = pool.transact([](pqxx::work& tx) -> Result<int> {
    tx.exec("INSERT INTO t VALUES (1, 1)");
    return 1;
  });
  ASSERT_TRUE(ok.ok());
  auto rolled_back = pool.transact([](pqxx::work& tx) -> Status {
    tx.exec("INSERT INTO t VALUES (2, 2)");
    return FailedPrecondition("changed my mind");
  });
  ASSERT_FALSE(rolled_back.ok());
  EXPECT_EQ(rolled_back.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM t"), "1");
}

TEST_F(PgPoolTest, MapsConstraintViolationsToTypedErrors) {
  PgPool pool({db_.url(), 2});
  ASSERT_TRUE(pool.transact([](pqxx::work& tx) -> Status {
                    tx.exec("CREATE TABLE t (id int PRIMARY KEY, v int CHECK (v > 0))");
                    tx.exec("INSERT INTO t VALUES (1, 1)");
                    return OkStatus();
                  })
                  .ok());
  auto dup = pool.transact([](pqxx::work& tx) -> Status {
    tx.exec("INSERT INTO t VALUES (1, 5)");
    return OkStatus();
  });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto check = pool.transact([](pqxx::work& tx) -> Status {
    tx.exec("INSERT INTO t VALUES (3, -1)");
    return OkStatus();
  });
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.error().code, ErrorCode::kInvalidArgument);
  auto raised = pool.transact([](pqxx::work& tx) -> Status {
    tx.exec("DO $$ BEGIN RAISE EXCEPTION 'nope'; END $$");
    return OkStatus();
  });
  ASSERT_FALSE(raised.ok());
  EXPECT_EQ(raised.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PgPoolTest, RetriesSerializationFailures) {
  PgPool pool({db_.url(), 2});
  std::atomic<int> attempts{0};
  auto r = pool.transact([&](pqxx::work& tx) -> Result<int> {
    if (++attempts < 3) {
      tx.exec("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$");
    }
    return 7;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(attempts.load(), 3);
}

TEST_F(PgPoolTest, ReplacesAConnectionKilledByTheServer) {
  PgPool pool({db_.url(), 1});
  auto pid = pool.transact([](pqxx::work& tx) -> Result<std::string> {
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<std::string>();
  });
  ASSERT_TRUE(pid.ok());
  db_.scalar("SELECT pg_terminate_backend(" + *pid + ")");
  auto again = pool.transact([](pqxx::work& tx) -> Result<std::string> {
    return tx.exec("SELECT pg_backend_pid()")[0][0].as<std::string>();
  });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_NE(*again, *pid);
}

TEST_F(PgPoolTest, NeverOpensMoreThanItsSizeAndTimesOutWhenExhausted) {
  PgSettings s{db_.url(), 2};
  s.acquire_timeout = std::chrono::milliseconds(200);
  PgPool pool(s);
  auto a = pool.acquire();
  auto b = pool.acquire();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  auto c = pool.acquire();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(pool.open_connections(), 2);
}

TEST(PgPoolNoServerTest, UnreachableDatabaseIsUnavailableNotACrash) {
  PgSettings s;
  s.url = "postgresql://nobody@127.0.0.1:" + std::to_string(testing::FreePort()) + "/x";
  PgPool pool(s);
  auto st = pool.ping();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cc
