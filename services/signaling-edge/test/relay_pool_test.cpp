// The relay pool on fake relays and a simulated clock: where new legs go, and when a relay is
// lost.
#include "signaling_edge/relay_pool.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

namespace cc::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakeRelay final : public RelayClient {
 public:
  explicit FakeRelay(std::string address) : address_(std::move(address)) {}
  void create_leg(const NewLeg& leg, Reply<LegWithSdp> done) override {
    created.push_back(leg.label);
    if (create_error) return done(*create_error);
    done(LegWithSdp{{address_, leg.label + "@" + address_}, "sdp"});
  }
  void update_leg(const RelayLeg&, const std::string&, Reply<std::string> done) override {
    done(std::string("answer"));
  }
  void connect(const RelayLeg&, const std::string&, const RelayLeg&, Reply<Ok> done) override {
    done(OkStatus());
  }
  void play(const RelayLeg&, const std::vector<std::string>&, bool, Duration,
            Reply<Ok> done) override {
    done(OkStatus());
  }
  void stop_play(const RelayLeg&) override {}
  void set_mix(const std::string&, const std::string&, const std::vector<MixPart>&,
               Reply<Ok> done) override {
    done(OkStatus());
  }
  void start_recording(const RelayLeg&, const std::string&, Reply<Ok> done) override {
    done(OkStatus());
  }
  void pause_recording(const RelayLeg&, bool, Reply<Ok> done) override { done(OkStatus()); }
  void stop_recording(const RelayLeg&, Reply<std::uint64_t> done) override {
    done(std::uint64_t{0});
  }
  void release(const RelayLeg& leg) override { released.push_back(leg.id); }
  void edge_legs(const std::vector<std::string>& legs, Duration, Duration,
                 Reply<RelayReport> done) override {
    listed = legs;
    polls.push_back(std::move(done));
  }

  // Answers the pending poll.
  void answer(RelayReport r) {
    auto p = std::move(polls.front());
    polls.erase(polls.begin());
    p(std::move(r));
  }
  void fail() {
    auto p = std::move(polls.front());
    polls.erase(polls.begin());
    p(Unavailable("connection refused"));
  }

  std::vector<std::string> created, released, listed;
  std::vector<Reply<RelayReport>> polls;
  std::optional<Error> create_error;  // set: every create_leg fails with it

 private:
  std::string address_;
};

class RelayPoolTest : public ::testing::Test {
 protected:
  RelayPoolTest()
      : pool_(
            {"r1", "r2"},
            [this](const std::string& a) {
              auto r = std::make_unique<FakeRelay>(a);
              relays_[a] = r.get();
              return r;
            },
            timers_, RelayPoolSettings{seconds(1), 2, seconds(15)},
            [this](const std::string& relay) { return held_[relay]; },
            [this](const std::string& relay, const std::vector<std::string>& legs) {
              lost_.push_back(relay + ":" + std::to_string(legs.size()));
            }) {}

  static RelayReport Report(int legs, const std::string& instance = "i1", int ports = 100) {
    RelayReport r;
    r.instance_id = instance;
    r.legs = legs;
    r.ports_free = ports;
    return r;
  }

  std::string NewLegOn(const std::string& relay = "") {
    std::string where;
    pool_.create_leg({"c", "customer", "", relay}, [&](Result<LegWithSdp> r) {
      where = r.ok() ? r->leg.relay : "error: " + r.error().message;
    });
    return where;
  }

  SimulatedClock clock_;
  ManualTimers timers_{clock_};
  std::map<std::string, FakeRelay*> relays_;
  std::map<std::string, std::vector<std::string>> held_;
  std::vector<std::string> lost_;
  RelayPool pool_;
};

TEST_F(RelayPoolTest, NewCallsGoToTheHealthyRelayWithTheFewestLegs) {
  pool_.start();
  relays_["r1"]->answer(Report(10));
  relays_["r2"]->answer(Report(4));
  EXPECT_EQ(NewLegOn(), "r2");
  EXPECT_EQ(NewLegOn(), "r2");
  EXPECT_EQ(NewLegOn("r1"), "r1");  // the call's other leg: on its relay, whatever the load
  // Legs made since the last poll count: after five more, r2 has as many as r1 (10 + 1).
  for (int i = 0; i < 5; ++i) EXPECT_EQ(NewLegOn(), "r2");
  EXPECT_EQ(NewLegOn(), "r1");
}

TEST_F(RelayPoolTest, ARelayThatStopsAnsweringIsLostAndCallsGoElsewhere) {
  held_["r1"] = {"L1", "L2"};
  pool_.start();
  EXPECT_EQ(relays_["r1"]->listed, (std::vector<std::string>{"L1", "L2"}));  // told its legs
  relays_["r1"]->answer(Report(0));
  relays_["r2"]->answer(Report(5));
  EXPECT_EQ(NewLegOn(), "r1");
  timers_.advance(seconds(1));
  relays_["r1"]->fail();
  relays_["r2"]->answer(Report(5));
  EXPECT_TRUE(lost_.empty());  // one miss is not a loss
  timers_.advance(seconds(1));
  relays_["r1"]->fail();
  relays_["r2"]->answer(Report(5));
  EXPECT_EQ(lost_, std::vector<std::string>{"r1:0"});  // every call on it
  EXPECT_EQ(NewLegOn(), "r2");
  auto status = pool_.status();
  EXPECT_FALSE(status[0].healthy);
  // It comes back.
  timers_.advance(seconds(1));
  relays_["r1"]->answer(Report(0, "i2"));
  relays_["r2"]->answer(Report(50));
  EXPECT_EQ(NewLegOn(), "r1");
  EXPECT_EQ(lost_.size(), 1u);
}

TEST_F(RelayPoolTest, ARelayThatCannotMakeANewLegIsPassedOverAtOnce) {
  pool_.start();
  relays_["r1"]->answer(Report(0));
  relays_["r2"]->answer(Report(5));
  // r1 died since its last poll: the call's leg goes to r2 in the same request, and r1 is
  // not tried again before it answers a poll.
  relays_["r1"]->create_error = Unavailable("connection refused");
  EXPECT_EQ(NewLegOn(), "r2");
  EXPECT_EQ(NewLegOn(), "r2");
  EXPECT_EQ(relays_["r1"]->created.size(), 1u);
  EXPECT_TRUE(lost_.empty());  // loss is still the polls' to decide
  // Both refuse: the caller gets an error, not a wait.
  relays_["r2"]->create_error = Error{ErrorCode::kResourceExhausted, "no free port"};
  EXPECT_EQ(NewLegOn(), "error: no media relay available");
  // A leg the relay refuses for what the request says is not retried elsewhere.
  timers_.advance(seconds(1));
  relays_["r1"]->answer(Report(0));
  relays_["r2"]->answer(Report(5));
  relays_["r1"]->create_error = InvalidArgument("bad SDP");
  EXPECT_EQ(NewLegOn(), "error: bad SDP");
  EXPECT_EQ(relays_["r2"]->created.size(), 3u);
}

TEST_F(RelayPoolTest, LegsARelayNoLongerKnowsAreReportedLost) {
  held_["r2"] = {"L7", "L8"};
  pool_.start();
  relays_["r1"]->answer(Report(0));
  RelayReport r = Report(1, "restarted");
  r.unknown_legs = {"L7"};
  relays_["r2"]->answer(r);
  EXPECT_EQ(lost_, std::vector<std::string>{"r2:1"});
}

TEST_F(RelayPoolTest, DrainingOrFullRelaysAreNotChosenAndNoneLeftIsAnError) {
  pool_.start();
  RelayReport draining = Report(0);
  draining.draining = true;
  relays_["r1"]->answer(draining);
  relays_["r2"]->answer(Report(0, "i1", 0));  // no free port
  EXPECT_EQ(NewLegOn(), "error: no media relay available");
}

}  // namespace
}  // namespace cc::edge
