#include <gtest/gtest.h>

#include "common/digest.h"

namespace cc {
namespace {

TEST(DigestTest, Ha1MatchesRfc2617Example) {
  // RFC 2617 section 3.5: Mufasa / testrealm@host.com / Circle Of Life.
  EXPECT_EQ(DigestHa1("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9");
}

TEST(DigestTest, RecognisesHa1Format) {
  EXPECT_TRUE(IsHa1("939e7578ed9e3c518a452acee763bce9"));
  EXPECT_FALSE(IsHa1("939E7578ED9E3C518A452ACEE763BCE9"));
  EXPECT_FALSE(IsHa1("939e7578"));
  EXPECT_FALSE(IsHa1("zz9e7578ed9e3c518a452acee763bce9"));
}

}  // namespace
}  // namespace cc
