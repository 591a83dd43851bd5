#include <set>

#include <gtest/gtest.h>

#include "media_relay/port_pool.h"

namespace cc::relay {
namespace {

TEST(PortPoolTest, EvenPairsInsideTheRange) {
  PortPool pool(30001, 30010);  // pairs 30002, 30004, 30006, 30008 (30010 has no RTCP port)
  EXPECT_EQ(pool.capacity(), 4u);
  std::set<int> got;
  while (auto p = pool.acquire()) {
    EXPECT_EQ(*p % 2, 0);
    EXPECT_LE(*p + 1, 30010);
    got.insert(*p);
  }
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(pool.in_use(), 4u);
}

TEST(PortPoolTest, AReleasedPairIsReusedLast) {
  PortPool pool(40000, 40007);  // 4 pairs
  auto a = pool.acquire();
  auto b = pool.acquire();
  pool.release(*a);
  auto c = pool.acquire();
  auto d = pool.acquire();
  EXPECT_NE(*c, *a);
  EXPECT_NE(*d, *a);
  EXPECT_EQ(*pool.acquire(), *a);  // only now
  EXPECT_FALSE(pool.acquire());    // exhausted
  pool.release(*b);
  pool.release(*b);  // twice: no duplicate in the free list
  EXPECT_EQ(*pool.acquire(), *b);
  EXPECT_FALSE(pool.acquire());
}

}  // namespace
}  // namespace cc::relay
