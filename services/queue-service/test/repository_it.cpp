// The queue-service's rules against a real PostgreSQL, driven synchronously on a simulated
// clock (repository_fixture.h).
#include "repository_fixture.h"

namespace cc::queue {
namespace {

// The scenario the previous implementation failed: 2 agents, 5 simultaneous calls. All five
// connect in priority/arrival order, two at a time, the others as agents leave wrap-up.
TEST_F(QueueRepositoryIt, TwoAgentsFiveCallsAllConnectInOrder) {
  AddQueue("sales", [](QueueConfig& q) { q.wrap_up_seconds = 10; });
  AddAgent("alice");
  AddAgent("bob");
  Enqueue("c1");
  Enqueue("c2");
  Enqueue("c3", "sales", 5);  // a VIP, arriving third
  Enqueue("c4");
  Enqueue("c5");
  std::vector<std::string> connected_order;
  for (int round = 0; round < 3; ++round) {
    const size_t before = channel_.offers.size();
    const int made = Match();
    EXPECT_EQ(made, round < 2 ? 2 : 1) << "round " << round;
    EXPECT_EQ(Match(), 0);  // nobody left to take more
    std::vector<Offer> offered(channel_.offers.begin() + static_cast<long>(before),
                               channel_.offers.end());
    for (const auto& o : offered) {
      ASSERT_TRUE(engine_.connected(o.assignment_id, o.call_id).ok());
      connected_order.push_back(o.call_id);
    }
    clock_.advance(seconds(30));  // talk
    for (const auto& o : offered) {
      ASSERT_TRUE(engine_.ended(o.assignment_id, o.call_id, "hangup").ok());
      EXPECT_EQ(StatusOf(o.agent_id), AgentStatus::kWrapUp);
    }
    EXPECT_EQ(Match(), 0);  // both in wrap-up
    clock_.advance(seconds(9));
    Sweep();
    EXPECT_EQ(Match(), 0);  // still wrapping up
    clock_.advance(seconds(2));
    Sweep();
    EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
    EXPECT_EQ(StatusOf("bob"), AgentStatus::kAvailable);
  }
  EXPECT_EQ(connected_order, (std::vector<std::string>{"c3", "c1", "c2", "c4", "c5"}));
  for (const char* c : {"c1", "c2", "c3", "c4", "c5"}) EXPECT_EQ(StateOf(c), CallState::kEnded);
  EXPECT_EQ(events_.count(CallEventKind::kEnded), 5);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM calls WHERE state = 'ENDED'"), "5");
  EXPECT_EQ(db_.scalar("SELECT max(active_calls) FROM agents"), "0");
}

// The agents' skills reach the router from the database when a queue requires skills or
// ranks agents by them (and are not read for queues that do neither).
TEST_F(QueueRepositoryIt, SkillsInTheDatabaseDecideWhoIsOffered) {
  AddQueue("support", [](QueueConfig& q) { q.strategy = Strategy::kSkillsBased; });
  AddQueue("billing", [](QueueConfig& q) { q.required_skills = {{"billing", 3}}; });
  AddQueue("sales");
  // Created first, so idle longest: what longest-idle routing would pick.
  AddAgent("novice", {{"support", 0}, {"billing", 0}, {"sales", 0}}, 0, 1, {{"english", 2}});
  clock_.advance(seconds(1));
  AddAgent("expert", {{"support", 0}, {"billing", 0}, {"sales", 0}}, 0, 1,
           {{"english", 9}, {"billing", 5}});
  clock_.advance(seconds(1));

  Enqueue("c1", "support");
  EXPECT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "expert");    // the higher skill score
  ASSERT_TRUE(engine_.cancel("c1", "test").ok());  // the customer hangs up; expert is free

  Enqueue("c2", "billing");
  EXPECT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c2").agent_id, "expert");  // the only one with billing >= 3
  ASSERT_TRUE(engine_.cancel("c2", "test").ok());

  Enqueue("c3", "sales");
  EXPECT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c3").agent_id, "novice");  // skills play no part: longest idle
}

// For the strategies it can rank in SQL, the snapshot reads only as many agents as there
// are calls; the router must pair exactly as it would with every routable agent, ties and
// all (equal idle times, equal positions, never-offered seats).
TEST_F(QueueRepositoryIt, ASnapshotOfTheFirstAgentsPairsAsOneOfAllAgents) {
  const std::vector<Strategy> strategies = {Strategy::kLongestIdleAgent, Strategy::kRoundRobin,
                                            Strategy::kFewestCalls, Strategy::kLeastTalkTime,
                                            Strategy::kTopDown};
  std::vector<registry::Membership> all;
  for (const Strategy st : strategies) {
    const std::string name = "q-" + std::string(ToString(st));
    AddQueue(name, [&](QueueConfig& q) { q.strategy = st; });
    all.push_back({name, 0});
  }
  for (int i = 1; i <= 12; ++i) AddAgent((i % 2 ? "agent-" : "Agent-") + std::to_string(i), all);
  {
    pqxx::connection conn(db_.url());
    pqxx::work tx(conn);
    const std::string base = std::to_string(ToUnixMillis(clock_.now()) / 1000 - 100);
    tx.exec0("UPDATE agents SET idle_since = to_timestamp(" + base +
             " + (substring(id from '[0-9]+')::int * 7) % 6),"
             " calls_answered = substring(id from '[0-9]+')::int % 3,"
             " talk_time_ms = ((substring(id from '[0-9]+')::int * 5) % 4) * 1000");
    tx.exec0(
        "UPDATE agent_queue_memberships SET position = (substring(agent_id from"
        " '[0-9]+')::int * 3) % 4, last_offered_at = CASE WHEN substring(agent_id from"
        " '[0-9]+')::int % 4 = 0 THEN NULL ELSE to_timestamp(" +
        base + " + (substring(agent_id from '[0-9]+')::int * 5) % 3) END");
    tx.commit();
  }
  Settings every = StoreSettings();
  every.snapshot_top_agents = false;
  PgQueueRepository full_store(pool_, every);
  Router router([] { return 0; });
  for (const Strategy st : strategies) {
    const std::string queue = "q-" + std::string(ToString(st));
    for (int c = 1; c <= 3; ++c) Enqueue(queue + "-call-" + std::to_string(c), queue);
    auto top = store_.snapshot(clock_.now());
    auto full = full_store.snapshot(clock_.now());
    ASSERT_TRUE(top.ok() && full.ok());
    EXPECT_EQ(top->agents.size(), 3u) << queue;
    EXPECT_EQ(full->agents.size(), 12u) << queue;
    const auto want = router.Propose(*full, clock_.now());
    ASSERT_EQ(want.size(), 3u) << queue;
    EXPECT_EQ(router.Propose(*top, clock_.now()), want) << queue;
    for (int c = 1; c <= 3; ++c) {
      ASSERT_TRUE(engine_.cancel(queue + "-call-" + std::to_string(c), "test").ok());
    }
  }
}

TEST_F(QueueRepositoryIt, AFailedOfferGoesToTheOtherAgentAndTheAgentWaitsOutItsDelay) {
  AddQueue("sales", [](QueueConfig& q) {
    q.no_answer_delay = seconds(30);
    q.busy_delay = seconds(20);
    q.requeue_priority_boost = 2;
  });
  AddAgent("alice");
  clock_.advance(seconds(1));
  AddAgent("bob");  // alice has idled longer: she gets the first offer
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  const Offer first = OfferFor("c1");
  EXPECT_EQ(first.agent_id, "alice");
  auto r = engine_.failed(first.assignment_id, "c1", OfferFailure::kNoAnswer, "408");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, CallState::kWaiting);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->priority, 2);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "bob");
  // Both now wait out their delays: nobody is offered the call.
  ASSERT_TRUE(engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kBusy, "").ok());
  EXPECT_EQ(Match(), 0);
  clock_.advance(seconds(21));
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "bob");  // bob's 20 s are over, alice's 30 s are not
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM assignments WHERE call_id = 'c1'"), "3");
  // Repeated reports are harmless; a report for the wrong call is refused.
  EXPECT_TRUE(engine_.failed(first.assignment_id, "c1", OfferFailure::kNoAnswer, "").ok());
  EXPECT_EQ(engine_.failed(first.assignment_id, "c2", OfferFailure::kNoAnswer, "").error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(QueueRepositoryIt, ConsecutiveNoAnswersAutoPauseTheAgent) {
  AddQueue("sales", [](QueueConfig& q) {
    q.auto_pause_after_no_answers = 2;
    q.reoffer_delay = Duration{0};  // the only agent gets the call straight back
  });
  AddAgent("alice");
  Enqueue("c1");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Match(), 1);
    ASSERT_TRUE(
        engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kNoAnswer, "").ok());
  }
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kPaused);
  EXPECT_NE(agents_.get("alice")->pause_reason.find("2 unanswered"), std::string::npos);
  EXPECT_EQ(Match(), 0);
  EXPECT_EQ(StateOf("c1"), CallState::kWaiting);
}

TEST_F(QueueRepositoryIt, AbandonWhileOfferedFreesTheAgentAtOnce) {
  AddQueue("sales", [](QueueConfig& q) { q.no_answer_delay = seconds(60); });
  AddAgent("alice");
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kReserved);
  clock_.advance(seconds(4));
  auto r = engine_.cancel("c1", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, CallState::kAbandoned);
  EXPECT_EQ(r->outcome_reason, "caller hung up");
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  EXPECT_EQ(db_.scalar("SELECT state FROM assignments WHERE call_id = 'c1'"), "WITHDRAWN");
  Enqueue("c2");
  EXPECT_EQ(Match(), 1);  // no delay after a caller's abandon
  // The agent now reports an answer for the abandoned offer: refused, so the edge hangs up.
  EXPECT_EQ(engine_.connected(r->assignment_id, "c1").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(engine_.cancel("c1", "").ok());  // idempotent
}

// The caller hangs up while the first offer fails and the call is offered again: the
// cancel read the first offer, waited for it, and only got the call once it was offered to
// the second agent. That second offer must be withdrawn too (found by the load test, where
// it stayed open and kept the agent reserved until its lease ran out).
TEST_F(QueueRepositoryIt, AnAbandonRacingAReofferWithdrawsTheNewOffer) {
  AddQueue("sales");
  AddAgent("alice");
  AddAgent("bob");
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  const std::string first_agent = OfferFor("c1").agent_id;
  const std::string second_agent = first_agent == "alice" ? "bob" : "alice";
  const std::int64_t first = OfferFor("c1").assignment_id;

  // Another transaction holds the first offer, as a "busy" report being processed does.
  pqxx::connection other(db_.url());
  pqxx::work report(other);
  report.exec_params("SELECT 1 FROM assignments WHERE id = $1 FOR UPDATE", first);
  std::optional<Result<Call>> cancelled;
  std::thread caller([&] { cancelled = engine_.cancel("c1", ""); });
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return db_.scalar(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                   " AND wait_event_type = 'Lock'") == "1";
      },
      seconds(10)));
  // The report fails the first offer and the call is offered to the other agent at once.
  report.exec_params(
      "UPDATE assignments SET state = 'FAILED', outcome = 'busy', ended_at = now() WHERE id = $1",
      first);
  report.exec_params(
      "UPDATE agents SET status = 'AVAILABLE', status_reason = 'offer failed'"
      " WHERE id = $1",
      first_agent);
  const auto second = report
                          .exec_params(
                              "INSERT INTO assignments (call_id, agent_id, queue, edge_id,"
                              " state, attempt, lease_deadline, offered_at) SELECT id, $1,"
                              " queue, edge_id, 'OFFERED', 2, now() + interval '1 hour',"
                              " now() FROM calls WHERE id = 'c1' RETURNING id",
                              second_agent)[0][0]
                          .as<std::int64_t>();
  report.exec_params("UPDATE calls SET agent_id = $1, assignment_id = $2 WHERE id = 'c1'",
                     second_agent, second);
  report.exec_params(
      "UPDATE agents SET status = 'RESERVED', status_reason = 'call offered',"
      " status_call_id = 'c1' WHERE id = $1",
      second_agent);
  report.commit();
  caller.join();

  ASSERT_TRUE(cancelled && cancelled->ok());
  EXPECT_EQ((*cancelled)->state, CallState::kAbandoned);
  EXPECT_EQ(db_.scalar("SELECT state FROM assignments WHERE id = " + std::to_string(second)),
            "WITHDRAWN");
  EXPECT_EQ(StatusOf(second_agent), AgentStatus::kAvailable);
  EXPECT_EQ(StatusOf(first_agent), AgentStatus::kAvailable);
}

TEST_F(QueueRepositoryIt, AnExpiredLeaseRequeuesAtTheOldPlaceAndFreesTheAgent) {
  AddQueue("sales");  // ring 10 s + grace 2 s
  AddAgent("alice");
  const Call c1 = Enqueue("c1");
  Enqueue("c2");
  ASSERT_EQ(Match(), 1);
  clock_.advance(seconds(11));
  Sweep();
  EXPECT_EQ(StateOf("c1"), CallState::kOffered);  // lease not over yet
  clock_.advance(seconds(2));
  Sweep();
  EXPECT_EQ(StateOf("c1"), CallState::kWaiting);
  EXPECT_EQ(store_.get_call("c1")->queue_entered_at, c1.queue_entered_at);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  EXPECT_EQ(db_.scalar("SELECT state FROM assignments WHERE call_id = 'c1'"), "EXPIRED");
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(channel_.offers.back().call_id, "c1");  // still ahead of c2
}

TEST_F(QueueRepositoryIt, AnUndeliverableOfferIsWithdrawnAtOnce) {
  AddQueue("sales");
  AddAgent("alice");
  channel_.accept = false;
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(StateOf("c1"), CallState::kWaiting);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  EXPECT_EQ(db_.scalar("SELECT state FROM assignments"), "WITHDRAWN");
  EXPECT_EQ(Match(), 0);  // back-off before the next try
  clock_.advance(seconds(1));
  channel_.accept = true;
  EXPECT_EQ(Match(), 1);
}

TEST_F(QueueRepositoryIt, MaxWaitOverflowsToAnotherQueueOrEnds) {
  AddQueue("backup");
  AddQueue("sales", [](QueueConfig& q) {
    q.max_wait = seconds(60);
    q.overflow_queue = "backup";
  });
  AddQueue("closing", [](QueueConfig& q) {
    q.max_wait = seconds(30);
    q.overflow_hangup_reason = "we are closed";
  });
  AddQueue("plain", [](QueueConfig& q) { q.max_wait = seconds(30); });
  AddAgent("alice", {{"sales", 0}, {"backup", 0}, {"closing", 0}, {"plain", 0}});
  ASSERT_TRUE(agents_.pause("alice", "meeting").ok());  // logged in, but taking no calls
  Enqueue("s1", "sales");
  Enqueue("k1", "closing");
  Enqueue("p1", "plain");
  clock_.advance(seconds(31));
  Sweep();
  EXPECT_EQ(StateOf("k1"), CallState::kOverflowed);
  EXPECT_EQ(store_.get_call("k1")->outcome_reason, "we are closed");
  EXPECT_EQ(StateOf("p1"), CallState::kTimedOut);
  EXPECT_EQ(StateOf("s1"), CallState::kWaiting);
  clock_.advance(seconds(30));
  Sweep();
  auto s1 = store_.get_call("s1");
  EXPECT_EQ(s1->state, CallState::kWaiting);
  EXPECT_EQ(s1->queue, "backup");
  EXPECT_EQ(s1->overflowed_from, "sales");
  EXPECT_EQ(events_.count(CallEventKind::kOverflowed), 2);
}

TEST_F(QueueRepositoryIt, MaxAttemptsEndTheCall) {
  AddQueue("sales", [](QueueConfig& q) {
    q.max_attempts = 2;
    q.reoffer_delay = Duration{0};
  });
  AddAgent("alice");
  Enqueue("c1");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Match(), 1);
    ASSERT_TRUE(
        engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kRejected, "").ok());
  }
  auto c = store_.get_call("c1");
  EXPECT_EQ(c->state, CallState::kFailed);
  EXPECT_EQ(c->attempts, 2);
  EXPECT_EQ(c->outcome_reason, "max attempts reached");
}

TEST_F(QueueRepositoryIt, NoAgentLoggedInOrAFullQueueEndOrOverflowAtEntry) {
  AddQueue("empty");
  AddQueue("spill", [](QueueConfig& q) { q.overflow_queue = "sales"; });
  AddQueue("sales", [](QueueConfig& q) { q.max_waiting_calls = 1; });
  AddAgent("alice");
  ASSERT_TRUE(agents_.pause("alice", "busy elsewhere").ok());
  auto e1 = engine_.enqueue({"e1", "empty", "", "", 0, "edge-1"});
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->call.state, CallState::kFailed);
  EXPECT_EQ(e1->call.outcome_reason, "no agent registered");
  auto x1 = engine_.enqueue({"x1", "spill", "", "", 0, "edge-1"});  // nobody in spill: to sales
  ASSERT_TRUE(x1.ok());
  EXPECT_EQ(x1->call.queue, "sales");
  EXPECT_EQ(x1->call.state, CallState::kWaiting);
  EXPECT_EQ(x1->position, 1);
  auto s2 = engine_.enqueue({"s2", "sales", "", "", 0, "edge-1"});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->call.state, CallState::kFailed);
  EXPECT_EQ(s2->call.outcome_reason, "queue full");
  // Unknown queue or dialled number: NOT_FOUND, and nothing is written.
  EXPECT_EQ(engine_.enqueue({"z", "nope", "", "", 0, "edge-1"}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(engine_.enqueue({"z", "", "0800", "", 0, "edge-1"}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM calls WHERE id = 'z'"), "0");
}

TEST_F(QueueRepositoryIt, DialplanAndRetriedEnqueue) {
  AddQueue("sales");
  AddAgent("alice");
  ASSERT_TRUE(store_.set_dialplan({"4930123", "sales", {}}).ok());
  auto r = engine_.enqueue({"c1", "", "4930123", "+1", 0, "edge-1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->call.queue, "sales");
  auto again = engine_.enqueue({"c1", "", "4930123", "+1", 0, "edge-1"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(engine_.enqueue({"c1", "sales", "", "+1", 0, "edge-2"}).error().code,
            ErrorCode::kAlreadyExists);
}

TEST_F(QueueRepositoryIt, ASilentEdgeLosesItsCallsAndTheAgentsAreFreed) {
  AddQueue("sales", [](QueueConfig& q) { q.wrap_up_seconds = 0; });
  AddAgent("alice");
  Enqueue("talking", "sales", 0, "edge-dead");
  Enqueue("waiting", "sales", 0, "edge-dead");
  ASSERT_EQ(Match(), 1);
  ASSERT_TRUE(engine_.connected(OfferFor("talking").assignment_id, "talking").ok());
  ASSERT_TRUE(store_.heartbeat({"edge-alive", seconds(600), false, {}}, clock_.now()).ok());
  clock_.advance(seconds(601));
  Sweep();
  EXPECT_EQ(StateOf("talking"), CallState::kEnded);
  EXPECT_EQ(StateOf("waiting"), CallState::kAbandoned);
  EXPECT_NE(store_.get_call("waiting")->outcome_reason.find("edge-dead lost"), std::string::npos);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
}

TEST_F(QueueRepositoryIt, TheDatabaseRefusesDoubleAssignmentsWhateverTheCode) {
  AddQueue("sales");
  AddAgent("alice");
  AddAgent("bob");
  Enqueue("c1");
  Enqueue("c2");
  ASSERT_EQ(Match(), 2);
  const Offer o = OfferFor("c1");
  const std::string other = o.agent_id == "alice" ? "bob" : "alice";
  auto insert = [&](const std::string& call, const std::string& agent, const std::string& state) {
    db_.scalar(
        "INSERT INTO assignments (call_id, agent_id, queue, edge_id, state, attempt,"
        " lease_deadline, offered_at) VALUES ('" +
        call + "', '" + agent + "', 'sales', 'x', '" + state + "', 1, now(), now())");
  };
  // A second live offer of the same call (to the other agent): unique index.
  EXPECT_THROW(insert("c1", other, "CONNECTED"), std::exception);
  // A second ringing offer for the same agent.
  EXPECT_THROW(insert("c2", o.agent_id, "OFFERED"), std::exception);
  // More live calls than max_calls (1): the counter's CHECK.
  Enqueue("c3");
  EXPECT_THROW(insert("c3", o.agent_id, "CONNECTED"), std::exception);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM assignments"), "2");
}

TEST_F(QueueRepositoryIt, AnAgentWithTwoLinesTakesTwoCallsButNotThree) {
  AddQueue("sales", [](QueueConfig& q) { q.wrap_up_seconds = 0; });
  AddAgent("multi", {{"sales", 0}}, 0, 2);
  Enqueue("c1");
  Enqueue("c2");
  Enqueue("c3");
  ASSERT_EQ(Match(), 1);  // one ringing offer at a time
  ASSERT_TRUE(engine_.connected(OfferFor("c1").assignment_id, "c1").ok());
  ASSERT_EQ(Match(), 1);
  ASSERT_TRUE(engine_.connected(OfferFor("c2").assignment_id, "c2").ok());
  EXPECT_EQ(Match(), 0);
  EXPECT_EQ(StatusOf("multi"), AgentStatus::kOnCall);
  ASSERT_TRUE(engine_.ended(OfferFor("c1").assignment_id, "c1", "").ok());
  EXPECT_EQ(StatusOf("multi"), AgentStatus::kOnCall);  // still on c2
  ASSERT_EQ(Match(), 1);
  ASSERT_TRUE(engine_.ended(OfferFor("c2").assignment_id, "c2", "").ok());
  ASSERT_TRUE(engine_.connected(OfferFor("c3").assignment_id, "c3").ok());
  ASSERT_TRUE(engine_.ended(OfferFor("c3").assignment_id, "c3", "").ok());
  EXPECT_EQ(StatusOf("multi"), AgentStatus::kAvailable);
}

TEST_F(QueueRepositoryIt, StatisticsOfAQueue) {
  AddQueue("sales", [](QueueConfig& q) {
    q.service_level_threshold = seconds(20);
    q.wrap_up_seconds = 0;
  });
  AddAgent("alice");
  Enqueue("fast");
  Enqueue("slow");
  Enqueue("gone");
  ASSERT_EQ(Match(), 1);  // "fast" after ~0 s
  ASSERT_TRUE(engine_.connected(OfferFor("fast").assignment_id, "fast").ok());
  clock_.advance(seconds(60));
  ASSERT_TRUE(engine_.ended(OfferFor("fast").assignment_id, "fast", "").ok());
  ASSERT_EQ(Match(), 1);  // "slow" after 60 s
  ASSERT_TRUE(engine_.connected(OfferFor("slow").assignment_id, "slow").ok());
  ASSERT_TRUE(engine_.cancel("gone", "").ok());
  auto stats = store_.stats("sales", Duration{15 * 60 * 1000}, clock_.now());
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 1u);
  const auto& s = (*stats)[0];
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.answered, 2);
  EXPECT_EQ(s.abandoned, 1);
  EXPECT_EQ(s.offered, 2);
  EXPECT_EQ(s.agents_busy, 1);
  EXPECT_NEAR(s.service_level, 1.0 / 3.0, 0.01);  // 1 of 3 within 20 s
  EXPECT_NEAR(static_cast<double>(s.average_handle_time.count()), 60000, 10);
  EXPECT_NEAR(static_cast<double>(s.average_speed_of_answer.count()), 30000, 100);
  EXPECT_EQ(store_.stats("nope", Duration{1000}, clock_.now()).error().code, ErrorCode::kNotFound);
}

// Agents logged in but with no phone registered cannot answer: by default (ROUTABLE) a caller
// does not join, and a waiting caller leaves when the last registration goes; LOGGED_IN and
// ALWAYS keep the old behaviours.
TEST_F(QueueRepositoryIt, JoinAndLeaveRulesFollowRegistrations) {
  AddQueue("routable");
  AddQueue("logged", [](QueueConfig& q) {
    q.join_empty = EmptyQueueRule::kLoggedIn;
    q.leave_empty = EmptyQueueRule::kLoggedIn;
  });
  AddQueue("always", [](QueueConfig& q) {
    q.join_empty = EmptyQueueRule::kAlways;
    q.leave_empty = EmptyQueueRule::kAlways;
  });
  AddAgent("alice", {{"routable", 0}, {"logged", 0}, {"always", 0}});
  ASSERT_TRUE(agents_.pause("alice", "not yet").ok());  // logged in and registered, paused
  EXPECT_EQ(Enqueue("r1", "routable").state, CallState::kWaiting);
  EXPECT_EQ(Enqueue("l1", "logged").state, CallState::kWaiting);
  // Her phone unregisters: nobody left who could answer in "routable".
  ASSERT_TRUE(agents_.unregister_binding("alice", "*").ok());
  Sweep();
  auto r1 = store_.get_call("r1");
  EXPECT_EQ(r1->state, CallState::kFailed);
  EXPECT_EQ(r1->outcome_reason, "no agent registered");
  EXPECT_EQ(StateOf("l1"), CallState::kWaiting);  // logged in is enough there
  auto r2 = engine_.enqueue({"r2", "routable", "", "", 0, "edge-1"});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->call.state, CallState::kFailed);  // refused at entry: the edge answers 480
  EXPECT_EQ(r2->call.outcome_reason, "no agent registered");
  EXPECT_EQ(Enqueue("l2", "logged").state, CallState::kWaiting);
  // Logged out: only ALWAYS still takes and keeps callers.
  Enqueue("a1", "always");
  ASSERT_TRUE(agents_.logout("alice", "").ok());
  Sweep();
  EXPECT_EQ(StateOf("l1"), CallState::kFailed);
  EXPECT_EQ(store_.get_call("l1")->outcome_reason, "no agents logged in");
  EXPECT_EQ(StateOf("a1"), CallState::kWaiting);
  EXPECT_EQ(Enqueue("a2", "always").state, CallState::kWaiting);
}

// An agent whose phone just failed a call (busy, here with no busy delay) does not get it
// straight back while another agent can take it; alone, it gets it after the re-offer delay.
TEST_F(QueueRepositoryIt, TheAgentWhoJustFailedACallIsPassedOverWhileAnotherIsFree) {
  AddQueue("sales", [](QueueConfig& q) { q.reoffer_delay = seconds(5); });
  AddAgent("alice");
  clock_.advance(seconds(1));
  AddAgent("bob");  // alice has idled longer: first offers go to her
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  ASSERT_EQ(OfferFor("c1").agent_id, "alice");
  ASSERT_TRUE(engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kBusy, "486").ok());
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "bob");  // alice idled longer, but just refused it
  // Bob fails it too: alice's avoidance was for one failure only; bob is now passed over,
  // and alice is free.
  ASSERT_TRUE(engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kBusy, "486").ok());
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "alice");
  ASSERT_TRUE(engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kBusy, "486").ok());
  // Bob logs out: alice is the only one, and waits out the re-offer delay.
  ASSERT_TRUE(agents_.logout("bob", "").ok());
  EXPECT_EQ(Match(), 0);
  clock_.advance(seconds(4));
  EXPECT_EQ(Match(), 0);
  clock_.advance(seconds(2));
  ASSERT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("c1").agent_id, "alice");
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM assignments WHERE call_id = 'c1'"), "4");
}

// The snapshot reads only the first agents of a queue; a call passing over the best of them
// must still find the next one.
TEST_F(QueueRepositoryIt, APassedOverAgentDoesNotHideTheNextOne) {
  AddQueue("sales");
  AddAgent("alice");
  clock_.advance(seconds(1));
  AddAgent("bob");
  clock_.advance(seconds(1));
  AddAgent("carol");
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  ASSERT_TRUE(engine_.failed(OfferFor("c1").assignment_id, "c1", OfferFailure::kRejected, "").ok());
  ASSERT_EQ(Match(), 1);  // one call, the top agent (alice) passed over: bob
  EXPECT_EQ(OfferFor("c1").agent_id, "bob");
}

// The edge answers an offer with "unknown call": the call is over (its caller is not there),
// the agent is freed, and the call is never offered again.
TEST_F(QueueRepositoryIt, AnOfferTheEdgeDoesNotKnowEndsTheCall) {
  AddQueue("sales");
  AddAgent("alice");
  AddAgent("bob");
  channel_.unknown_call = true;
  Enqueue("ghost");
  ASSERT_EQ(Match(), 1);
  auto c = store_.get_call("ghost");
  EXPECT_EQ(c->state, CallState::kAbandoned);
  EXPECT_NE(c->outcome_reason.find("edge does not hold the call"), std::string::npos);
  EXPECT_EQ(StatusOf("alice"), AgentStatus::kAvailable);
  EXPECT_EQ(StatusOf("bob"), AgentStatus::kAvailable);
  clock_.advance(seconds(2));
  EXPECT_EQ(Match(), 0);
  EXPECT_EQ(db_.scalar("SELECT count(*) FROM assignments"), "1");
}

// The heartbeat lists the calls the edge holds: what it no longer holds is ended (waiting:
// abandoned; offered: the agent freed; connected: ended, the agent to wrap-up), except calls
// too young to have been listed; listed calls that are over or unknown are named back.
TEST_F(QueueRepositoryIt, TheHeartbeatReconcilesTheCallsTheEdgeHolds) {
  AddQueue("sales", [](QueueConfig& q) { q.wrap_up_seconds = 5; });
  AddAgent("alice");
  AddAgent("bob");
  Enqueue("talking");
  Enqueue("ringing");
  ASSERT_EQ(Match(), 2);
  const std::string talker = OfferFor("talking").agent_id;
  const std::string ringer = OfferFor("ringing").agent_id;
  ASSERT_TRUE(engine_.connected(OfferFor("talking").assignment_id, "talking").ok());
  Enqueue("waiting");
  Enqueue("held");
  Enqueue("over");
  ASSERT_TRUE(engine_.cancel("over", "").ok());
  clock_.advance(seconds(6));  // past the reconcile grace (5 s)
  Enqueue("young");            // enqueued after the edge built its list
  EdgeHeartbeat hb{"edge-1", seconds(30), true, {"held", "over", "nowhere"}};
  auto r = engine_.heartbeat(hb);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->reconciled, 3);
  EXPECT_EQ(r->ended_call_ids, std::vector<std::string>{"over"});
  EXPECT_EQ(r->unknown_call_ids, std::vector<std::string>{"nowhere"});
  EXPECT_EQ(r->live_calls, 2);  // held and young
  EXPECT_EQ(StateOf("talking"), CallState::kEnded);
  EXPECT_EQ(StateOf("ringing"), CallState::kAbandoned);
  EXPECT_EQ(StateOf("waiting"), CallState::kAbandoned);
  EXPECT_EQ(store_.get_call("waiting")->outcome_reason, "edge edge-1 no longer holds the call");
  EXPECT_EQ(StateOf("held"), CallState::kWaiting);
  EXPECT_EQ(StateOf("young"), CallState::kWaiting);
  EXPECT_EQ(StatusOf(talker), AgentStatus::kWrapUp);
  EXPECT_EQ(StatusOf(ringer), AgentStatus::kAvailable);
  EXPECT_EQ(db_.scalar("SELECT string_agg(state, ',' ORDER BY id) FROM assignments"),
            "ENDED,EXPIRED");
  // Without the list (an older edge) the heartbeat only extends the lease.
  Enqueue("unlisted");
  clock_.advance(seconds(6));
  auto plain = engine_.heartbeat({"edge-1", seconds(30), false, {}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->reconciled, 0);
  EXPECT_EQ(StateOf("unlisted"), CallState::kWaiting);
}

// The offer carries the agent's live registrations, so the edge rings them without a lookup.
TEST_F(QueueRepositoryIt, TheOfferCarriesTheAgentsLiveBindings) {
  AddQueue("sales");
  AddAgent("alice");  // one phone at 127.0.0.1:5999
  registry::BindingRequest b;
  b.sip_username = "alice";
  b.contact_uri = "sip:alice@10.0.0.7:5062";
  b.source_address = "127.0.0.1";
  b.source_port = 40000;
  b.transport = registry::Transport::kTcp;
  b.expires_seconds = 3600;
  ASSERT_TRUE(agents_.register_binding(b).ok());
  Enqueue("c1");
  ASSERT_EQ(Match(), 1);
  const Offer o = OfferFor("c1");
  ASSERT_EQ(o.bindings.size(), 2u);
  bool natted = false;
  for (const auto& ob : o.bindings) {
    if (ob.contact_uri != "sip:alice@10.0.0.7:5062") continue;
    natted = true;
    EXPECT_EQ(ob.source_address, "127.0.0.1");
    EXPECT_EQ(ob.source_port, 40000);
    EXPECT_TRUE(ob.tcp);
  }
  EXPECT_TRUE(natted);
}

// A queue-service that was down (or just started) has heard no heartbeats: it declares no
// edge lost before a whole lease has passed, or an outage of queue-service itself would end
// every call of every live edge.
TEST_F(QueueRepositoryIt, AFreshInstanceWaitsALeaseBeforeDeclaringEdgesLost) {
  AddQueue("sales", [](QueueConfig& q) {
    q.join_empty = EmptyQueueRule::kAlways;
    q.leave_empty = EmptyQueueRule::kAlways;
  });
  Enqueue("held", "sales", 0, "edge-quiet");
  ASSERT_TRUE(store_.heartbeat({"edge-quiet", seconds(3), false, {}}, clock_.now()).ok());
  QueueEngine fresh(store_, channel_, events_, clock_, timers_,
                    EngineSettings{Duration{1000}, Duration{250}, Duration{5000}, 0}, nullptr,
                    [this] { return rng_++; });
  fresh.start();                // as if restarted now
  clock_.advance(seconds(10));  // the edge's 3 s lease is over
  ASSERT_TRUE(fresh.sweep_once().ok());
  EXPECT_EQ(StateOf("held"), CallState::kWaiting);  // not trusted yet: 600 s edge lease
  clock_.advance(seconds(600));
  ASSERT_TRUE(fresh.sweep_once().ok());
  EXPECT_EQ(StateOf("held"), CallState::kAbandoned);
  fresh.stop();
}

}  // namespace
}  // namespace cc::queue
