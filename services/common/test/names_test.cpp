#include "common/names.h"

#include <string>

#include <gtest/gtest.h>

namespace cc {
namespace {

TEST(NamesTest, NamesAreOneToSixtyFourCharactersStartingWithALetterOrDigit) {
  EXPECT_TRUE(IsName("a"));
  EXPECT_TRUE(IsName("Sales_EU-2.night"));
  EXPECT_TRUE(IsName(std::string(64, 'q')));
  EXPECT_FALSE(IsName(""));
  EXPECT_FALSE(IsName(std::string(65, 'q')));
  EXPECT_FALSE(IsName("-sales"));
  EXPECT_FALSE(IsName(".sales"));
  EXPECT_FALSE(IsName("sa les"));
  EXPECT_FALSE(IsName("sales/eu"));
  EXPECT_FALSE(IsName("caf\xc3\xa9"));  // ASCII only
}

TEST(NamesTest, SkillNamesAreLowercase) {
  EXPECT_TRUE(IsSkillName("english"));
  EXPECT_TRUE(IsSkillName("tier_2-support"));
  EXPECT_FALSE(IsSkillName("English"));
  EXPECT_FALSE(IsSkillName("a.b"));
  EXPECT_FALSE(IsSkillName(""));
  EXPECT_FALSE(IsSkillName(std::string(65, 's')));
}

TEST(NamesTest, TokensOfAClassWithBounds) {
  EXPECT_TRUE(IsToken("5060", 1, 5, IsAsciiDigit));
  EXPECT_FALSE(IsToken("506a", 1, 5, IsAsciiDigit));
  EXPECT_FALSE(IsToken("123456", 1, 5, IsAsciiDigit));
  EXPECT_FALSE(IsToken("", 1, 5, IsAsciiDigit));
  EXPECT_TRUE(IsToken("a.b~c+d-e_f", 1, 64, AlnumOr("._~+-")));
  EXPECT_FALSE(IsToken("a@b", 1, 64, AlnumOr("._~+-")));
}

}  // namespace
}  // namespace cc
