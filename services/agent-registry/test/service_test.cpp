#include <gtest/gtest.h>

#include "agent_registry/service.h"
#include "common/digest.h"
#include "memory_repository.h"

namespace cc::registry {
namespace {

using std::chrono::seconds;

// Records every event, as a NATS subscriber would see them.
class RecordingSink final : public EventSink {
 public:
  struct Routable {
    std::string agent_id;
    bool routable;
    std::string reason;
  };
  void status_changed(const StatusChangeResult& c) override { statuses.push_back(c); }
  void routability_changed(const std::string& id, bool r, int, const std::string& why) override {
    routability.push_back({id, r, why});
  }
  void binding_changed(BindingEvent kind, const Binding& b) override {
    bindings.push_back({kind, b});
  }
  void lifecycle(LifecycleEvent kind, const std::string& id) override {
    lifecycles.push_back({kind, id});
  }
  std::vector<StatusChangeResult> statuses;
  std::vector<Routable> routability;
  std::vector<std::pair<BindingEvent, Binding>> bindings;
  std::vector<std::pair<LifecycleEvent, std::string>> lifecycles;
};

class AgentServiceTest : public ::testing::Test {
 protected:
  AgentServiceTest() : service_(repo_, sink_, clock_, Settings()) {}
  static RegistrySettings Settings() {
    RegistrySettings s;
    s.realm = "cc.test";
    s.min_expires_seconds = 60;
    s.max_expires_seconds = 3600;
    s.max_bindings_per_agent = 3;
    s.default_wrap_up_seconds = 15;
    return s;
  }
  Agent MakeAgent(const std::string& id) {
    NewAgent n;
    n.id = id;
    n.display_name = "Agent " + id;
    n.sip_username = id;
    n.password = "secret-" + id;
    n.skills = {{"english", 5}};
    n.queues = {{"sales", 0}};
    auto a = service_.create(n);
    EXPECT_TRUE(a.ok()) << a.error().message;
    return *a;
  }
  BindingRequest Reg(const std::string& user, const std::string& contact, int expires = 120) {
    BindingRequest r;
    r.sip_username = user;
    r.contact_uri = contact;
    r.source_address = "127.0.0.1";
    r.source_port = 5099;
    r.expires_seconds = expires;
    return r;
  }

  SimulatedClock clock_;
  MemoryAgentRepository repo_;
  RecordingSink sink_;
  AgentService service_;
};

TEST_F(AgentServiceTest, CreateStoresOnlyTheHa1ForTheConfiguredRealm) {
  Agent a = MakeAgent("alice");
  EXPECT_EQ(a.realm, "cc.test");
  EXPECT_EQ(a.ha1, DigestHa1("alice", "cc.test", "secret-alice"));
  EXPECT_EQ(a.status, AgentStatus::kLoggedOut);
  EXPECT_EQ(a.wrap_up_seconds, 15);  // default from settings
  EXPECT_EQ(a.max_calls, 1);
  auto c = service_.credentials("alice");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ha1, a.ha1);
  ASSERT_EQ(sink_.lifecycles.size(), 1u);
  EXPECT_EQ(sink_.lifecycles[0].first, LifecycleEvent::kCreated);
}

TEST_F(AgentServiceTest, CreateRejectsBadInputAndWritesNothing) {
  NewAgent n;
  n.id = "bob";
  n.display_name = "Bob";
  n.sip_username = "bob";
  n.password = "pw";
  auto expect_invalid = [&](NewAgent req, const std::string& fragment) {
    auto r = service_.create(req);
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  };
  auto bad = n;
  bad.id = "";
  expect_invalid(bad, "agent id is required");
  bad = n;
  bad.id = "has space";
  expect_invalid(bad, "agent id");
  bad = n;
  bad.id = ".starts-with-a-dot";
  expect_invalid(bad, "agent id");
  bad = n;
  bad.id = std::string(65, 'a');
  expect_invalid(bad, "agent id");
  bad = n;
  bad.skills = {{"English", 3}};
  expect_invalid(bad, "lowercase");
  bad = n;
  bad.queues = {{"-sales", 0}};
  expect_invalid(bad, "not a valid queue name");
  bad = n;
  bad.sip_username = std::string(65, 'u');
  expect_invalid(bad, "sip_username");
  bad = n;
  bad.password = "";
  expect_invalid(bad, "exactly one of password or ha1");
  bad = n;
  bad.ha1 = "0123456789abcdef0123456789abcdef";
  expect_invalid(bad, "exactly one of password or ha1");
  bad = n;
  bad.password = "";
  bad.ha1 = "NOT-HEX";
  expect_invalid(bad, "ha1 must be");
  bad = n;
  bad.skills = {{"english", 11}};
  expect_invalid(bad, "levels are 1 to 10");
  bad = n;
  bad.skills = {{"english", 0}};
  expect_invalid(bad, "levels are 1 to 10");
  bad = n;
  bad.skills = {{"english", 3}, {"english", 4}};
  expect_invalid(bad, "given twice");
  bad = n;
  bad.max_calls = 21;
  expect_invalid(bad, "max_calls");
  bad = n;
  bad.wrap_up_seconds = -1;
  expect_invalid(bad, "wrap_up_seconds");
  bad = n;
  bad.sip_username = "bob@example";
  expect_invalid(bad, "sip_username");
  bad = n;
  bad.queues = {{"sales", 0}, {"sales", 1}};
  expect_invalid(bad, "given twice");
  EXPECT_FALSE(service_.get("bob").ok());
  EXPECT_TRUE(sink_.lifecycles.empty());
}

TEST_F(AgentServiceTest, DuplicateIdOrUsernameIsAlreadyExists) {
  MakeAgent("alice");
  NewAgent n;
  n.id = "alice";
  n.display_name = "Other";
  n.sip_username = "other";
  n.password = "pw";
  EXPECT_EQ(service_.create(n).error().code, ErrorCode::kAlreadyExists);
  NewAgent m = n;
  m.id = "carol";
  m.sip_username = "alice";
  EXPECT_EQ(service_.create(m).error().code, ErrorCode::kAlreadyExists);
}

TEST_F(AgentServiceTest, LoginPauseUnpauseLogoutFollowTheTableAndAnnounceEachChange) {
  MakeAgent("alice");
  auto r = service_.login("alice", false, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->agent.status, AgentStatus::kAvailable);
  EXPECT_EQ(r->from, AgentStatus::kLoggedOut);
  // A repeated login is answered with the current state and changes nothing.
  auto again = service_.login("alice", false, "");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed());
  EXPECT_EQ(service_.pause("alice", "").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(service_.pause("alice", "lunch").ok());
  EXPECT_EQ(service_.get("alice")->pause_reason, "lunch");
  ASSERT_TRUE(service_.unpause("alice").ok());
  ASSERT_TRUE(service_.logout("alice", "").ok());
  ASSERT_EQ(sink_.statuses.size(), 4u);
  EXPECT_EQ(sink_.statuses[1].agent.status, AgentStatus::kPaused);
  EXPECT_EQ(sink_.statuses[3].agent.status, AgentStatus::kLoggedOut);
  auto audit = repo_.audit();
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0].reason, "login");
  EXPECT_EQ(audit[1].to, AgentStatus::kPaused);
}

TEST_F(AgentServiceTest, IllegalTransitionsAreFailedPreconditionAndChangeNothing) {
  MakeAgent("alice");
  auto r = service_.change_status("alice", AgentStatus::kOnCall, "x", std::nullopt, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("LOGGED_OUT to ON_CALL"), std::string::npos);
  EXPECT_EQ(service_.unpause("alice").error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(service_.login("alice", false, "").ok());
  ASSERT_TRUE(service_
                  .change_status("alice", AgentStatus::kReserved, "offer", AgentStatus::kAvailable,
                                 "call-1")
                  .ok());
  ASSERT_TRUE(
      service_.change_status("alice", AgentStatus::kOnCall, "answered", std::nullopt, "call-1")
          .ok());
  // On a call: no logout, no pause, no delete.
  EXPECT_EQ(service_.logout("alice", "").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_.pause("alice", "break").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_.remove("alice").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(service_.get("alice")->status, AgentStatus::kOnCall);
  // The guard on the source state protects against a stale caller.
  auto stale = service_.change_status("alice", AgentStatus::kAvailable, "x", AgentStatus::kReserved,
                                      "call-1");
  EXPECT_EQ(stale.error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(
      service_.change_status("alice", AgentStatus::kWrapUp, "ended", std::nullopt, "call-1").ok());
  ASSERT_TRUE(
      service_.change_status("alice", AgentStatus::kAvailable, "wrap-up done", std::nullopt, "")
          .ok());
  EXPECT_EQ(repo_.audit().size(), 5u);
  EXPECT_EQ(sink_.statuses[2].call_id, "call-1");
}

TEST_F(AgentServiceTest, UpdateIsPartialAndOptimistic) {
  Agent a = MakeAgent("alice");
  AgentUpdate u;
  u.id = "alice";
  u.display_name = "Alice A.";
  u.skills = std::vector<Skill>{{"english", 9}, {"french", 2}};
  u.expected_version = a.version;
  auto updated = service_.update(u);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->display_name, "Alice A.");
  EXPECT_EQ(updated->skills.size(), 2u);
  EXPECT_EQ(updated->queues, a.queues);  // untouched
  EXPECT_EQ(updated->ha1, a.ha1);
  auto stale = service_.update(u);  // same expected version again
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  AgentUpdate pw;
  pw.id = "alice";
  pw.password = "new";
  EXPECT_EQ(service_.update(pw)->ha1, DigestHa1("alice", "cc.test", "new"));
  AgentUpdate missing;
  missing.id = "nobody";
  EXPECT_EQ(service_.update(missing).error().code, ErrorCode::kNotFound);
}

TEST_F(AgentServiceTest, ContactMustCarryHostAndPort) {
  MakeAgent("alice");
  auto no_port = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1;transport=udp"));
  ASSERT_FALSE(no_port.ok());
  EXPECT_EQ(no_port.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(no_port.error().message.find("no port"), std::string::npos);
  EXPECT_FALSE(service_.register_binding(Reg("alice", "http://x:1")).ok());
  EXPECT_FALSE(service_.register_binding(Reg("alice", "sip:alice@:5060")).ok());
  EXPECT_FALSE(service_.register_binding(Reg("alice", "sip:alice@host:99999")).ok());
  auto v6 = service_.register_binding(Reg("alice", "sip:alice@[::1]:5070;transport=tcp"));
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->binding.contact_host, "::1");
  EXPECT_EQ(v6->binding.contact_port, 5070);
  EXPECT_EQ(service_.register_binding(Reg("nobody", "sip:x@127.0.0.1:5060")).error().code,
            ErrorCode::kNotFound);
}

TEST_F(AgentServiceTest, BindingsExpireOnTheClockAndTheLastOneMakesTheAgentUnroutable) {
  MakeAgent("alice");
  auto desk = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071", 120));
  ASSERT_TRUE(desk.ok());
  EXPECT_TRUE(desk->created);
  ASSERT_EQ(sink_.routability.size(), 1u);
  EXPECT_TRUE(sink_.routability[0].routable);
  clock_.advance(seconds(60));
  auto mobile = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5072", 120));
  ASSERT_TRUE(mobile.ok());
  EXPECT_EQ(mobile->bindings.size(), 2u);
  EXPECT_EQ(sink_.routability.size(), 1u);  // was routable already

  clock_.advance(seconds(61));  // desk expired (t=121 > 120), mobile lives until t=180
  EXPECT_EQ(service_.get("alice")->binding_count, 1);
  ASSERT_EQ(*service_.sweep_expired(), 1);
  EXPECT_EQ(sink_.routability.size(), 1u);
  EXPECT_TRUE(service_.get("alice")->routable());

  clock_.advance(seconds(60));
  EXPECT_FALSE(service_.get("alice")->routable());  // expired even before the sweep runs
  ASSERT_EQ(*service_.sweep_expired(), 1);
  ASSERT_EQ(sink_.routability.size(), 2u);
  EXPECT_FALSE(sink_.routability[1].routable);
  EXPECT_EQ(sink_.routability[1].reason, "expired");
  EXPECT_EQ(sink_.bindings.back().first, BindingEvent::kExpired);
  EXPECT_EQ(*service_.sweep_expired(), 0);  // nothing twice
}

TEST_F(AgentServiceTest, RefreshKeepsTheBindingAndExtendsIt) {
  MakeAgent("alice");
  auto first = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071", 100));
  clock_.advance(seconds(90));
  auto refresh = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071", 100));
  ASSERT_TRUE(refresh.ok());
  EXPECT_FALSE(refresh->created);
  EXPECT_EQ(refresh->binding.id, first->binding.id);
  EXPECT_EQ(refresh->binding.registered_at, first->binding.registered_at);
  clock_.advance(seconds(90));  // past the first expiry, within the refreshed one
  EXPECT_EQ(*service_.sweep_expired(), 0);
  EXPECT_TRUE(service_.get("alice")->routable());
  EXPECT_EQ(sink_.bindings[1].first, BindingEvent::kRefreshed);
}

TEST_F(AgentServiceTest, ExpiryIsClampedToTheConfiguredRange) {
  MakeAgent("alice");
  const TimePoint now = clock_.now();
  auto tiny = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071", 5));
  EXPECT_EQ(tiny->binding.expires_at, now + seconds(60));
  auto huge = service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5072", 999999));
  EXPECT_EQ(huge->binding.expires_at, now + seconds(3600));
  EXPECT_EQ(service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5073", 0)).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(AgentServiceTest, TooManyDevicesAndOutOfOrderRegistersAreRefused) {
  MakeAgent("alice");
  for (int p = 5071; p <= 5073; ++p) {
    ASSERT_TRUE(
        service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:" + std::to_string(p))).ok());
  }
  EXPECT_EQ(service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5074")).error().code,
            ErrorCode::kFailedPrecondition);
  auto r = Reg("alice", "sip:alice@127.0.0.1:5071");
  r.sip_call_id = "abc";
  r.cseq = 5;
  ASSERT_TRUE(service_.register_binding(r).ok());
  r.cseq = 4;
  EXPECT_EQ(service_.register_binding(r).error().code, ErrorCode::kAborted);
}

TEST_F(AgentServiceTest, UnregisterOneOrAll) {
  MakeAgent("alice");
  ASSERT_TRUE(service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071")).ok());
  ASSERT_TRUE(service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5072")).ok());
  auto one = service_.unregister_binding("alice", "sip:alice@127.0.0.1:5071");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->removed.size(), 1u);
  EXPECT_FALSE(one->became_unroutable);
  auto all = service_.unregister_binding("alice", "*");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->became_unroutable);
  EXPECT_EQ(sink_.routability.back().reason, "unregistered");
  EXPECT_FALSE(service_.get("alice")->routable());
}

TEST_F(AgentServiceTest, ListFiltersByStatusQueueAndRoutabilityWithPages) {
  for (const char* id : {"a1", "a2", "a3", "a4"}) MakeAgent(id);
  ASSERT_TRUE(service_.login("a2", false, "").ok());
  ASSERT_TRUE(service_.login("a3", true, "training").ok());
  ASSERT_TRUE(service_.register_binding(Reg("a3", "sip:a3@127.0.0.1:5000")).ok());
  AgentFilter f;
  f.statuses = {AgentStatus::kAvailable, AgentStatus::kPaused};
  auto page = service_.list(f);
  ASSERT_EQ(page->agents.size(), 2u);
  f = {};
  f.routable_only = true;
  ASSERT_EQ(service_.list(f)->agents.size(), 1u);
  f = {};
  f.page_size = 3;
  auto p1 = service_.list(f);
  ASSERT_EQ(p1->agents.size(), 3u);
  ASSERT_EQ(p1->next_page_token, "a3");
  f.after_id = p1->next_page_token;
  auto p2 = service_.list(f);
  ASSERT_EQ(p2->agents.size(), 1u);
  EXPECT_TRUE(p2->next_page_token.empty());
  f = {};
  f.page_size = 5000;
  EXPECT_EQ(service_.list(f).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AgentServiceTest, DeleteRemovesBindingsAndAnnouncesUnroutable) {
  MakeAgent("alice");
  ASSERT_TRUE(service_.register_binding(Reg("alice", "sip:alice@127.0.0.1:5071")).ok());
  ASSERT_TRUE(service_.remove("alice").ok());
  EXPECT_EQ(service_.get("alice").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(sink_.routability.back().routable);
  EXPECT_EQ(sink_.lifecycles.back().first, LifecycleEvent::kDeleted);
  EXPECT_EQ(service_.remove("alice").error().code, ErrorCode::kNotFound);
}

TEST(ParseContactUriTest, Forms) {
  EXPECT_EQ(ParseContactUri("sip:1001@10.0.0.5:5062")->port, 5062);
  EXPECT_EQ(ParseContactUri("SIP:host.example:5060;transport=tcp")->host, "host.example");
  EXPECT_EQ(ParseContactUri("sips:u:pw@h:5061?x=y")->host, "h");
  EXPECT_FALSE(ParseContactUri("sip:u@h").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@h:0").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@[::1").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@h :5060").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@h:5a60").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@h:123456").ok());
  EXPECT_FALSE(ParseContactUri("sip:u@h/x:5060").ok());
  EXPECT_EQ(ParseContactUri("sip:u@my-host_1.example:5060")->host, "my-host_1.example");
  EXPECT_FALSE(ParseContactUri(std::string(2000, 'a')).ok());
}

}  // namespace
}  // namespace cc::registry
