#include "signaling_edge/credential_cache.h"

#include <gtest/gtest.h>

namespace cc::edge {
namespace {

using std::chrono::seconds;

TEST(CredentialCacheTest, EntriesLiveForTheirTimeAndTheOldestGoFirstWhenFull) {
  SimulatedClock clock;
  CredentialCache cache(2, seconds(30));
  cache.put("alice", "a1", clock.now());
  cache.put("bob", "b1", clock.now());
  EXPECT_EQ(cache.get("alice", clock.now()), "a1");  // alice is now the most recent
  cache.put("carol", "c1", clock.now());             // full: bob goes
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.get("bob", clock.now()));
  EXPECT_EQ(cache.get("carol", clock.now()), "c1");
  clock.advance(seconds(29));
  EXPECT_EQ(cache.get("alice", clock.now()), "a1");
  clock.advance(seconds(1));
  EXPECT_FALSE(cache.get("alice", clock.now()));  // expired, and forgotten
  EXPECT_EQ(cache.size(), 1u);
  cache.put("carol", "c2", clock.now());  // a new password replaces the old hash
  EXPECT_EQ(cache.get("carol", clock.now()), "c2");
}

TEST(CredentialCacheTest, ASprayOfUsersNeverGrowsItPastItsCapacity) {
  SimulatedClock clock;
  CredentialCache cache(100, seconds(30));
  for (int i = 0; i < 10000; ++i) cache.put("user" + std::to_string(i), "x", clock.now());
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_TRUE(cache.get("user9999", clock.now()));
  EXPECT_FALSE(cache.get("user0", clock.now()));
}

}  // namespace
}  // namespace cc::edge
