#include "common/pg.h"

namespace cc {

std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

PgPool::PgPool(PgSettings settings) : settings_(std::move(settings)) {}

PgPool::~PgPool() {
  std::lock_guard lock(mu_);
  idle_.clear();
}

void PgPool::prepare(std::string name, std::string sql) {
  std::lock_guard lock(mu_);
  statements_.emplace_back(std::move(name), std::move(sql));
}

PgPool::Lease::~Lease() {
  if (conn_ && pool_) pool_->release(std::move(conn_), discard_);
}

Result<std::unique_ptr<pqxx::connection>> PgPool::open() {
  try {
    auto conn = std::make_unique<pqxx::connection>(settings_.url);
    {
      pqxx::nontransaction setup(*conn);
      setup.exec("SET statement_timeout = " + std::to_string(settings_.statement_timeout.count()));
      setup.exec("SET application_name = " + setup.quote(settings_.application_name));
      setup.exec("SET TIME ZONE 'UTC'");
    }
    return conn;
  } catch (const std::exception& e) {
    return Unavailable(std::string("database connection failed: ") + e.what());
  }
}

void PgPool::declare_statements(pqxx::connection& conn) {
  // Statements registered after this connection was opened are declared now; libpqxx sends
  // the PREPARE on first use.
  size_t& done = declared_[&conn];
  for (; done < statements_.size(); ++done) {
    conn.prepare(statements_[done].first, statements_[done].second);
  }
}

Result<PgPool::Lease> PgPool::acquire() {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + settings_.acquire_timeout;
  for (;;) {
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      declare_statements(*conn);
      return Lease(this, std::move(conn));
    }
    if (open_ < settings_.pool_size) {
      ++open_;
      lock.unlock();
      auto conn = open();
      lock.lock();
      if (!conn.ok()) {
        --open_;
        cv_.notify_one();
        return conn.error();
      }
      declare_statements(**conn);
      return Lease(this, std::move(conn).value());
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= settings_.pool_size) {
      return Error{ErrorCode::kUnavailable, "database pool exhausted: all " +
                                                std::to_string(settings_.pool_size) +
                                                " connections busy"};
    }
  }
}

void PgPool::release(std::unique_ptr<pqxx::connection> conn, bool discard) {
  std::lock_guard lock(mu_);
  if (discard || !conn->is_open()) {
    --open_;
    declared_.erase(conn.get());
    conn.reset();
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

std::pair<Error, bool> PgPool::Classify(const std::exception& e, bool committing) {
  const std::string what = e.what();
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return {Unavailable("database connection lost during commit; outcome unknown: " + what), false};
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return {Unavailable("database connection lost: " + what), !committing};
  }
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e)) {
    return {Aborted("database conflict: " + what), true};
  }
  if (dynamic_cast<const pqxx::unique_violation*>(&e)) return {AlreadyExists(what), false};
  if (dynamic_cast<const pqxx::check_violation*>(&e) ||
      dynamic_cast<const pqxx::not_null_violation*>(&e)) {
    return {InvalidArgument(what), false};
  }
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e)) {
    return {FailedPrecondition(what), false};
  }
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) {
    return {Unavailable("database: " + what), false};
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: server restarting.
    const std::string state = sql->sqlstate();
    if (state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0) {
      return {Unavailable("database unavailable: " + what), !committing};
    }
    if (state == "57014") return {Error{ErrorCode::kDeadlineExceeded, what}, false};
    if (state.rfind("P0", 0) == 0) return {FailedPrecondition(what), false};  // RAISE in triggers
    return {Internal("database error " + state + ": " + what), false};
  }
  return {Internal(what), false};
}

Status PgPool::ping() {
  return transact([](pqxx::work& tx) -> Status {
    tx.exec("SELECT 1");
    return OkStatus();
  });
}

int PgPool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

}  // namespace cc
