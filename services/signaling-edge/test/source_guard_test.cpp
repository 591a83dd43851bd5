#include "signaling_edge/source_guard.h"

#include <gtest/gtest.h>

namespace cc::edge {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

SourceGuardSettings Limits(RateLimit each) {
  SourceGuardSettings s;
  s.limits = {each, each, each};
  return s;
}

int Admitted(SourceGuard& g, const std::string& ip, RequestClass c, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += g.admit(ip, c) == Refusal::kNone;
  return n;
}

TEST(SourceGuardTest, ABurstPassesThenTheRateAndOtherAddressesAreNotAffected) {
  SimulatedClock clock;
  SourceGuard g(Limits({10, 20}), clock);
  EXPECT_EQ(Admitted(g, "192.0.2.1", RequestClass::kRegister, 100), 20);  // the burst
  EXPECT_EQ(g.admit("192.0.2.1", RequestClass::kRegister), Refusal::kRateLimited);
  // Another address, and another kind of request from the same one, have their own buckets.
  EXPECT_EQ(Admitted(g, "192.0.2.2", RequestClass::kRegister, 20), 20);
  EXPECT_EQ(Admitted(g, "192.0.2.1", RequestClass::kOptions, 20), 20);
  // Tokens flow back at the rate: 10/s.
  clock.advance(milliseconds(500));
  EXPECT_EQ(Admitted(g, "192.0.2.1", RequestClass::kRegister, 100), 5);
  clock.advance(seconds(60));  // never more than the burst
  EXPECT_EQ(Admitted(g, "192.0.2.1", RequestClass::kRegister, 100), 20);
  EXPECT_EQ(g.retry_after(RequestClass::kRegister), 1);
}

TEST(SourceGuardTest, ZeroMeansNoLimitAndTrustedNetworksAreExempt) {
  SimulatedClock clock;
  SourceGuardSettings s = Limits({1, 1});
  s.limits[static_cast<int>(RequestClass::kOptions)] = RateLimit{};
  s.trusted = {"10.0.0.0/8", "2001:db8::/32", "192.0.2.77"};
  s.max_calls_per_source = 1;
  ASSERT_TRUE(SourceGuard::Validate(s).ok());
  SourceGuard g(s, clock);
  EXPECT_EQ(Admitted(g, "192.0.2.1", RequestClass::kOptions, 1000), 1000);
  EXPECT_EQ(Admitted(g, "10.200.3.4", RequestClass::kInvite, 1000), 1000);
  EXPECT_EQ(Admitted(g, "2001:db8:1::5", RequestClass::kInvite, 1000), 1000);
  EXPECT_EQ(Admitted(g, "192.0.2.77", RequestClass::kInvite, 1000), 1000);
  EXPECT_EQ(Admitted(g, "192.0.2.78", RequestClass::kInvite, 1000), 1);
  EXPECT_EQ(Admitted(g, "11.0.0.1", RequestClass::kInvite, 1000), 1);
  EXPECT_EQ(Admitted(g, "2001:db9::1", RequestClass::kInvite, 1000), 1);
  EXPECT_EQ(g.sources(), 3u);  // trusted and unlimited traffic leaves nothing behind
  EXPECT_FALSE(g.trusted("not an address"));
  EXPECT_EQ(g.may_start_call("10.1.1.1", 5), Refusal::kNone);  // trusted: no call cap
  EXPECT_EQ(g.may_start_call("192.0.2.78", 5), Refusal::kTooManyCalls);
}

TEST(SourceGuardTest, BadSettingsAreRefusedWithTheirText) {
  SourceGuardSettings s;
  s.trusted = {"10.0.0.0/33"};
  auto st = SourceGuard::Validate(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("10.0.0.0/33"), std::string::npos);
  s.trusted = {"example.com"};
  EXPECT_FALSE(SourceGuard::Validate(s).ok());
  s.trusted = {"10.0.0.0/"};
  EXPECT_FALSE(SourceGuard::Validate(s).ok());
  EXPECT_FALSE(ParseRateLimit("fast").ok());
  EXPECT_FALSE(ParseRateLimit("10").ok());
  EXPECT_FALSE(ParseRateLimit("10/0").ok());
  EXPECT_FALSE(ParseRateLimit("-1/5").ok());
  EXPECT_FALSE(ParseRateLimit("10/5x").ok());
  EXPECT_FALSE(ParseRateLimit("nan/5").ok());
  ASSERT_TRUE(ParseRateLimit("2.5/10").ok());
  EXPECT_DOUBLE_EQ(ParseRateLimit("2.5/10")->per_second, 2.5);
  EXPECT_DOUBLE_EQ(ParseRateLimit("0")->per_second, 0);
}

// The count itself is CallRegistry's (call_session_test.cpp); the guard decides at the cap.
TEST(SourceGuardTest, LiveCallsFromOneAddressAreCapped) {
  SimulatedClock clock;
  SourceGuardSettings s;
  s.max_calls_per_source = 2;
  s.trusted = {"10.0.0.0/8"};
  SourceGuard g(s, clock);
  EXPECT_EQ(g.may_start_call("192.0.2.1", 0), Refusal::kNone);
  EXPECT_EQ(g.may_start_call("192.0.2.1", 1), Refusal::kNone);
  EXPECT_EQ(g.may_start_call("192.0.2.1", 2), Refusal::kTooManyCalls);
  EXPECT_EQ(g.may_start_call("192.0.2.1", 50), Refusal::kTooManyCalls);
  EXPECT_EQ(g.may_start_call("10.1.2.3", 50), Refusal::kNone);  // trusted
  s.max_calls_per_source = 0;                                   // no cap
  SourceGuard open(s, clock);
  EXPECT_EQ(open.may_start_call("192.0.2.1", 5000), Refusal::kNone);
}

TEST(SourceGuardTest, FailedDigestsLockOutTheUserFromThatAddressOnly) {
  SimulatedClock clock;
  SourceGuardSettings s;
  s.digest_failures = 3;
  s.digest_window = seconds(60);
  SourceGuard g(s, clock);
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1001"));
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1001"));
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1002"));  // another user: its own count
  EXPECT_TRUE(g.digest_failed("192.0.2.1", "1001"));   // the third: locked
  EXPECT_TRUE(g.locked_out("192.0.2.1", "1001"));
  EXPECT_FALSE(g.locked_out("192.0.2.1", "1002"));  // the other phone behind the NAT
  EXPECT_FALSE(g.locked_out("192.0.2.9", "1001"));  // the same user elsewhere
  clock.advance(seconds(59));
  EXPECT_TRUE(g.locked_out("192.0.2.1", "1001"));
  clock.advance(seconds(1));
  EXPECT_FALSE(g.locked_out("192.0.2.1", "1001"));
  // Failures spread over more than the window never lock.
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(g.digest_failed("192.0.2.1", "1002"));
    clock.advance(seconds(31));
  }
  // A success forgets the failures.
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1003"));
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1003"));
  g.digest_succeeded("192.0.2.1", "1003");
  EXPECT_FALSE(g.digest_failed("192.0.2.1", "1003"));
}

TEST(SourceGuardTest, AFloodFromManyAddressesAndUsersKeepsTheTablesAtTheirSize) {
  SimulatedClock clock;
  SourceGuardSettings s = Limits({1, 1});
  s.max_sources = 1000;
  s.max_lockouts = 500;
  SourceGuard g(s, clock);
  for (int i = 0; i < 100000; ++i) {
    const std::string ip = "10." + std::to_string(i / 65536) + "." +
                           std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    (void)g.admit(ip, RequestClass::kRegister);
    (void)g.digest_failed(ip, "user" + std::to_string(i));
  }
  EXPECT_EQ(g.sources(), 1000u);
  EXPECT_EQ(g.lockouts(), 500u);
  EXPECT_EQ(g.sources_evicted(), 99000u);
  // The most recent are the ones kept: the last address is still limited.
  EXPECT_EQ(g.admit("10.1.134.159", RequestClass::kRegister), Refusal::kRateLimited);
}

}  // namespace
}  // namespace cc::edge
