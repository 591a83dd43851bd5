// The registry's rules against a real PostgreSQL: the trigger-enforced status machine, the
// audit trail, and concurrent writers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "agent_registry/pg_repository.h"
#include "agent_registry/service.h"
#include "testing.h"

namespace cc::registry {
namespace {

using std::chrono::seconds;

class NullSink final : public EventSink {
 public:
  void status_changed(const StatusChangeResult&) override { ++statuses; }
  void routability_changed(const std::string&, bool r, int, const std::string&) override {
    if (!r) ++unroutable;
  }
  void binding_changed(BindingEvent kind, const Binding&) override {
    if (kind == BindingEvent::kExpired) ++expired;
  }
  void lifecycle(LifecycleEvent, const std::string&) override {}
  std::atomic<int> statuses{0}, unroutable{0}, expired{0};
};

class PgRepositoryTest : public ::testing::Test {
 protected:
  PgRepositoryTest() : pool_({db_.url(), 8}), repo_(pool_), service_(repo_, sink_, clock_, {}) {}
  void Create(const std::string& id) {
    NewAgent n;
    n.id = id;
    n.display_name = id;
    n.sip_username = id;
    n.password = "pw";
    n.skills = {{"english", 7}};
    n.queues = {{"sales", 2}};
    auto r = service_.create(n);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  testing::TestDatabase db_;
  PgPool pool_;
  PgAgentRepository repo_;
  NullSink sink_;
  SimulatedClock clock_;
  AgentService service_;
};

TEST_F(PgRepositoryTest, RoundTripsAnAgentWithSkillsAndQueues) {
  Create("alice");
  auto a = service_.get("alice");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->skills, (std::vector<Skill>{{"english", 7}}));
  EXPECT_EQ(a->queues, (std::vector<Membership>{{"sales", 2}}));
  EXPECT_EQ(a->created_at, clock_.now());
  EXPECT_EQ(service_.get_by_username("alice")->id, "alice");
  NewAgent dup;
  dup.id = "alice2";
  dup.display_name = "x";
  dup.sip_username = "alice";
  dup.password = "pw";
  auto taken = service_.create(dup);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(taken.error().message.find("sip_username"), std::string::npos);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM agents"), "1");  // nothing partial
}

TEST_F(PgRepositoryTest, DatabaseRefusesIllegalTransitionsFromAnyWriter) {
  Create("alice");
  // Even raw SQL (another service, an operator in psql) cannot skip the table.
  EXPECT_THROW(db_.scalar("UPDATE agents SET status = 'ON_CALL' WHERE id = 'alice'"),
               std::exception);
  EXPECT_THROW(db_.scalar("UPDATE agents SET status = 'PAUSED' WHERE id = 'alice'"),
               std::exception);  // legal move, but a pause needs a reason
  db_.scalar(
      "UPDATE agents SET status = 'AVAILABLE', status_reason = 'by hand' WHERE id = 'alice'");
  EXPECT_EQ(db_.scalar("SELECT reason || ':' || from_status || '>' || to_status FROM "
                       "agent_status_audit WHERE agent_id = 'alice'"),
            "by hand:LOGGED_OUT>AVAILABLE");
}

TEST_F(PgRepositoryTest, EveryStatusChangeHasItsAuditRowInTheSameTransaction) {
  Create("alice");
  ASSERT_TRUE(service_.login("alice", false, "").ok());
  auto r = service_.change_status("alice", AgentStatus::kReserved, "offer", std::nullopt, "c-1");
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->audit_id, 0);
  EXPECT_EQ(db_.scalar("SELECT call_id FROM agent_status_audit WHERE id = " +
                       std::to_string(r->audit_id)),
            "c-1");
  auto bad = service_.change_status("alice", AgentStatus::kWrapUp, "x", std::nullopt, "");
  EXPECT_EQ(bad.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM agent_status_audit"), "2");
  EXPECT_EQ(service_.get("alice")->status, AgentStatus::kReserved);
}

// Many threads hammer one agent with transitions; the audit trail must read as one chain.
TEST_F(PgRepositoryTest, ConcurrentTransitionsSerializeIntoOneChain) {
  Create("alice");
  constexpr int kThreads = 8, kOps = 60;
  std::atomic<int> changed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < kOps; ++i) {
        const auto to = kAllAgentStatuses[rng() % kAllAgentStatuses.size()];
        auto r = service_.change_status("alice", to, "t" + std::to_string(t), std::nullopt, "");
        if (r.ok() && r->changed()) ++changed;
      }
    });
  }
  for (auto& th : threads) th.join();
  pqxx::connection conn(db_.url());
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec(
      "SELECT from_status, to_status FROM agent_status_audit WHERE agent_id = 'alice' ORDER BY id");
  ASSERT_EQ(static_cast<int>(rows.size()), changed.load());
  ASSERT_GT(changed.load(), 10);
  std::string expect_from = "LOGGED_OUT";
  for (const auto& r : rows) {
    EXPECT_EQ(r[0].as<std::string>(), expect_from);
    EXPECT_TRUE(IsLegalTransition(*AgentStatusFromString(r[0].as<std::string>()),
                                  *AgentStatusFromString(r[1].as<std::string>())));
    expect_from = r[1].as<std::string>();
  }
  EXPECT_EQ(std::string(ToString(service_.get("alice")->status)), expect_from);
  EXPECT_EQ(sink_.statuses.load(), changed.load());
}

TEST_F(PgRepositoryTest, ConcurrentSweepsRemoveAndAnnounceEachExpiredBindingOnce) {
  constexpr int kAgents = 30;
  for (int i = 0; i < kAgents; ++i) {
    Create("a" + std::to_string(i));
    BindingRequest b;
    b.sip_username = "a" + std::to_string(i);
    b.contact_uri = "sip:x@127.0.0.1:" + std::to_string(6000 + i);
    b.expires_seconds = 60;
    ASSERT_TRUE(service_.register_binding(b).ok());
  }
  clock_.advance(seconds(61));
  // Two "replicas" (separate services over separate pools) sweep at once.
  PgPool pool2({db_.url(), 4});
  PgAgentRepository repo2(pool2);
  NullSink sink2;
  RegistrySettings small;
  small.sweep_batch = 7;
  AgentService other(repo2, sink2, clock_, small);
  std::atomic<int> swept{0};
  std::thread t1([&] { swept += *service_.sweep_expired(); });
  std::thread t2([&] { swept += *other.sweep_expired(); });
  t1.join();
  t2.join();
  swept += *service_.sweep_expired();  // whatever was skipped while locked
  EXPECT_EQ(swept.load(), kAgents);
  EXPECT_EQ(sink_.expired.load() + sink2.expired.load(), kAgents);
  EXPECT_EQ(sink_.unroutable.load() + sink2.unroutable.load(), kAgents);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM agent_bindings"), "0");
}

TEST_F(PgRepositoryTest, BindingsKeepHostPortSourceAndTransport) {
  Create("alice");
  BindingRequest b;
  b.sip_username = "alice";
  b.contact_uri = "sip:alice@192.0.2.10:5093;transport=tcp";
  b.transport = Transport::kTcp;
  b.source_address = "127.0.0.1";
  b.source_port = 40123;
  b.user_agent = "SIPp";
  b.expires_seconds = 300;
  auto r = service_.register_binding(b);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto list = service_.list_bindings("alice", "");
  ASSERT_EQ(list->size(), 1u);
  const Binding& got = (*list)[0];
  EXPECT_EQ(got.contact_host, "192.0.2.10");
  EXPECT_EQ(got.contact_port, 5093);
  EXPECT_EQ(got.transport, Transport::kTcp);
  EXPECT_EQ(got.source_port, 40123);
  EXPECT_EQ(got.expires_at, clock_.now() + seconds(300));
  EXPECT_EQ(service_.list_bindings("nobody", "").error().code, ErrorCode::kNotFound);
}

// Registrations from many threads are group-committed; each still gets its own outcome.
TEST_F(PgRepositoryTest, ConcurrentRegistrationsAreBatchedAndEachGetsItsOwnOutcome) {
  constexpr int kPhones = 12;
  constexpr int kRounds = 20;
  for (int t = 0; t < kPhones; ++t) Create("a" + std::to_string(t));
  Create("replayed");
  Create("full");
  auto reg = [](const std::string& user, const std::string& contact, const std::string& call_id,
                std::uint32_t cseq) {
    BindingRequest b;
    b.sip_username = user;
    b.contact_uri = contact;
    b.sip_call_id = call_id;
    b.cseq = cseq;
    b.expires_seconds = 120;
    // Everything a text[] literal must escape, and the word that would be a NULL unquoted.
    b.user_agent = "Phone \"X\", {v2} \\ NULL";
    return b;
  };
  ASSERT_TRUE(service_.register_binding(reg("replayed", "sip:r@127.0.0.1:6000", "r-1", 10)).ok());
  for (int i = 0; i < 10; ++i) {  // the default maximum of bindings per agent
    const std::string contact = "sip:f@127.0.0.1:" + std::to_string(6100 + i);
    ASSERT_TRUE(service_.register_binding(reg("full", contact, "f-" + std::to_string(i), 1)).ok());
  }
  const std::int64_t batches_before = repo_.binding_batches();

  std::vector<std::vector<Result<BindingUpsert>>> got(kPhones + 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < kPhones + 3; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 1; round <= kRounds; ++round) {
        BindingRequest b;
        if (t < kPhones) {
          const std::string n = std::to_string(t);
          b = reg("a" + n, "sip:a" + n + "@127.0.0.1:" + std::to_string(7000 + t), "cid-" + n,
                  round);
        } else if (t == kPhones) {
          b = reg("ghost", "sip:g@127.0.0.1:6200", "g-1", round);
        } else if (t == kPhones + 1) {
          b = reg("replayed", "sip:r@127.0.0.1:6000", "r-1", 5);  // CSeq below 10
        } else {
          b = reg("full", "sip:f@127.0.0.1:6199", "f-new", round);
        }
        got[t].push_back(service_.register_binding(b));
      }
    });
  }
  for (auto& th : threads) th.join();

  for (int t = 0; t < kPhones; ++t) {
    for (int round = 1; round <= kRounds; ++round) {
      const auto& r = got[t][round - 1];
      ASSERT_TRUE(r.ok()) << "phone " << t << " round " << round << ": " << r.error().message;
      EXPECT_EQ(r->created, round == 1);
      EXPECT_EQ(r->became_routable, round == 1);
      EXPECT_EQ(r->binding.cseq, static_cast<std::uint32_t>(round));
      ASSERT_EQ(r->bindings.size(), 1u);
      EXPECT_EQ(r->bindings[0].contact_uri, r->binding.contact_uri);
    }
    auto list = service_.list_bindings("a" + std::to_string(t), "");
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].cseq, static_cast<std::uint32_t>(kRounds));
    EXPECT_EQ((*list)[0].contact_port, 7000 + t);
    EXPECT_EQ((*list)[0].user_agent, "Phone \"X\", {v2} \\ NULL");
  }
  const std::pair<int, ErrorCode> refused[] = {{kPhones, ErrorCode::kNotFound},
                                               {kPhones + 1, ErrorCode::kAborted},
                                               {kPhones + 2, ErrorCode::kFailedPrecondition}};
  for (const auto& [t, code] : refused) {
    for (const auto& r : got[t]) {
      ASSERT_FALSE(r.ok()) << "thread " << t;
      EXPECT_EQ(r.error().code, code) << "thread " << t;
    }
  }
  EXPECT_EQ(service_.list_bindings("replayed", "")->at(0).cseq, 10u);
  EXPECT_EQ(service_.list_bindings("full", "")->size(), 10u);

  // Fewer transactions than requests: concurrent registrations shared them.
  const std::int64_t batches = repo_.binding_batches() - batches_before;
  EXPECT_LT(batches, (kPhones + 3) * kRounds);
  // ... but never two requests of one agent in a batch: each phone's rounds are sequential.
  EXPECT_GE(batches, kRounds);
}

// A request the database refuses fails alone; the requests batched with it are written.
TEST_F(PgRepositoryTest, ARefusedRegistrationDoesNotFailItsBatch) {
  constexpr int kThreads = 8;
  for (int t = 0; t < kThreads; ++t) Create("p" + std::to_string(t));
  std::vector<int> ok(kThreads, 0), invalid(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 1; round <= 20; ++round) {
        BindingRequest b;
        b.sip_username = "p" + std::to_string(t);
        b.contact_uri = "sip:p@127.0.0.1:" + std::to_string(7100 + t);
        b.contact_host = "127.0.0.1";
        // Thread 0 bypasses the service's checks: port 0 breaks the table's CHECK.
        b.contact_port = t == 0 ? 0 : 7100 + t;
        auto r = repo_.upsert_binding(b, clock_.now() + seconds(60), 10, clock_.now());
        if (r.ok()) ++ok[t];
        if (!r.ok() && r.error().code == ErrorCode::kInvalidArgument) ++invalid[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok[0], 0);
  EXPECT_EQ(invalid[0], 20);
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(ok[t], 20) << "thread " << t;
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM agent_bindings"), std::to_string(kThreads - 1));
}

// A database that does not answer fails every request of a batch at once with UNAVAILABLE:
// they are not retried one by one, which would hold a writer for a connect timeout each.
TEST(PgRepositoryNoAnswerTest, AnUnavailableDatabaseFailsTheWholeBatchOnce) {
  // A TCP listener that never speaks: each connection attempt waits out connect_timeout.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(listener, 64), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  PgSettings settings;
  settings.url = "postgresql://nobody@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                 "/x?connect_timeout=1";
  settings.pool_size = 2;
  PgPool pool(settings);
  PgAgentRepository repo(pool);

  constexpr int kThreads = 8;
  std::vector<std::optional<Result<BindingUpsert>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      BindingRequest b;
      b.sip_username = "p" + std::to_string(t);
      b.contact_uri = "sip:p@127.0.0.1:" + std::to_string(7200 + t);
      b.contact_host = "127.0.0.1";
      b.contact_port = 7200 + t;
      const TimePoint now = std::chrono::system_clock::now();
      got[t] = repo.upsert_binding(b, now + seconds(60), 10, now);
    });
  }
  for (auto& th : threads) th.join();
  close(listener);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_FALSE(got[t]->ok()) << "thread " << t;
    EXPECT_EQ(got[t]->error().code, ErrorCode::kUnavailable) << got[t]->error().message;
  }
  // The requests that waited behind the first writers went in shared transactions; retried
  // one by one after the batch failed, each would have added a transaction (and a second).
  EXPECT_LT(repo.binding_batches(), kThreads);
}

}  // namespace
}  // namespace cc::registry
