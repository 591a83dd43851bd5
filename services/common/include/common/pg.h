#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "common/log.h"
#include "common/status.h"

namespace cc {

struct PgSettings {
  std::string url;  // libpq connection string or postgresql:// URL
  int pool_size = 4;
  std::chrono::milliseconds acquire_timeout{5000};
  std::chrono::milliseconds statement_timeout{5000};
  std::string application_name = "callcenter";
};

// A PostgreSQL text[] literal of the items, each quoted and escaped: for one array parameter
// instead of a statement per item (`= ANY($1::text[])`, `unnest($1::text[])`).
std::string TextArray(const std::vector<std::string>& items);

// A fixed-size pool of libpqxx connections. Connections are opened lazily, prepared
// statements registered with prepare() are declared on each of them, and a connection found
// broken is dropped and replaced. Thread-safe.
class PgPool {
 public:
  explicit PgPool(PgSettings settings);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Declares a prepared statement on every connection (run it with tx.exec_prepared(name)).
  void prepare(std::string name, std::string sql);

  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& conn() { return *conn_; }
    void discard() { discard_ = true; }  // do not return it to the pool

   private:
    PgPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
    bool discard_ = false;
  };
  Result<Lease> acquire();

  // Runs `fn(tx)` in one transaction and commits if it returns a value; anything else
  // (an error result or an exception) rolls back. Retries the whole transaction on
  // serialization failures, deadlocks and a connection lost before commit. libpqxx
  // exceptions become typed errors: unique violation -> ALREADY_EXISTS, check and not-null
  // violations -> INVALID_ARGUMENT, foreign key -> FAILED_PRECONDITION, connection ->
  // UNAVAILABLE. `fn` must be safe to run more than once.
  template <typename F>
  auto transact(F&& fn) -> decltype(fn(std::declval<pqxx::work&>())) {
    using R = decltype(fn(std::declval<pqxx::work&>()));
    Error last = Unavailable("database: no attempt made");
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      auto lease = acquire();
      if (!lease.ok()) return lease.error();
      bool committing = false;
      try {
        pqxx::work tx(lease->conn());
        R r = fn(tx);
        if (!r.ok()) return r;  // tx rolls back in its destructor
        committing = true;
        tx.commit();
        return r;
      } catch (const std::exception& e) {
        auto [error, retry] = Classify(e, committing);
        if (error.code == ErrorCode::kUnavailable) lease->discard();
        if (!retry) return error;
        last = error;
        log::Debug("retrying transaction", {{"attempt", attempt + 1}, {"error", e.what()}});
      }
    }
    return last;
  }

  // SELECT 1 on a pooled connection.
  Status ping();
  int open_connections() const;

 private:
  static constexpr int kMaxAttempts = 5;
  static std::pair<Error, bool> Classify(const std::exception& e, bool committing);
  Result<std::unique_ptr<pqxx::connection>> open();
  void release(std::unique_ptr<pqxx::connection> conn, bool discard);
  void declare_statements(pqxx::connection& conn);  // with mu_ held

  PgSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
  std::vector<std::pair<std::string, std::string>> statements_;
  std::map<const pqxx::connection*, size_t> declared_;  // statements declared per connection
};

}  // namespace cc
