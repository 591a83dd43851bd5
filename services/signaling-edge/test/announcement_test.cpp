#include "signaling_edge/announcement.h"

#include <gtest/gtest.h>

namespace cc::edge {
namespace {

using std::chrono::seconds;
using Prompts = std::vector<std::string>;

TEST(AnnouncementTest, NumbersAreSaidWithTheRelaysNumberPrompts) {
  EXPECT_EQ(SayNumber("en", 7), Prompts{"en/number-7"});
  EXPECT_EQ(SayNumber("de", 42), Prompts{"de/number-42"});
  EXPECT_EQ(SayNumber("en", 100), (Prompts{"en/number-1", "en/hundred"}));
  EXPECT_EQ(SayNumber("en", 305), (Prompts{"en/number-3", "en/hundred", "en/number-5"}));
  EXPECT_EQ(SayNumber("en", 5000), (Prompts{"en/number-9", "en/hundred", "en/number-99"}));
  EXPECT_EQ(SayNumber("en", -3), Prompts{"en/number-0"});
}

TEST(AnnouncementTest, TheWaitIsRoundedUpToWholeMinutes) {
  EXPECT_EQ(WaitMinutes(seconds(0)), 0);
  EXPECT_EQ(WaitMinutes(seconds(59)), 0);
  EXPECT_EQ(WaitMinutes(seconds(60)), 1);
  EXPECT_EQ(WaitMinutes(seconds(61)), 2);
  EXPECT_EQ(WaitMinutes(seconds(180)), 3);
  EXPECT_EQ(WaitMinutes(std::chrono::hours(100)), 999);
}

TEST(AnnouncementTest, OnlyNewsIsAnnounced) {
  WaitAnnouncements config;
  config.position = true;
  config.estimated_wait = true;
  WaitAnnouncer a(config);
  EXPECT_EQ(a.next({true, 3, seconds(150)}),
            (Prompts{"en/position", "en/number-3", "en/in-queue", "en/wait-about", "en/number-3",
                     "en/minutes"}));
  EXPECT_TRUE(a.next({true, 3, seconds(150)}).empty()) << "nothing changed";
  EXPECT_EQ(a.next({true, 2, seconds(150)}),
            (Prompts{"en/position", "en/number-2", "en/in-queue"}));
  EXPECT_TRUE(a.next({true, 4, seconds(170)}).empty()) << "a worse place is not announced";
  EXPECT_EQ(a.next({true, 1, seconds(50)}),
            (Prompts{"en/position", "en/number-1", "en/in-queue", "en/wait-under-minute"}));
  EXPECT_EQ(a.next({true, 1, seconds(60)}), (Prompts{"en/wait-about", "en/number-1", "en/minute"}));
  EXPECT_TRUE(a.next({false, 0, seconds(0)}).empty()) << "offered: nothing to tell";
}

TEST(AnnouncementTest, AllBusyIsSaidWhenNobodyIsFreeAndAgainOnlyAfterSomeoneWas) {
  WaitAnnouncements config;
  config.all_busy = true;
  WaitAnnouncer a(config);
  EXPECT_EQ(a.next({true, 2, seconds(0), 0}), Prompts{"en/all-busy"});
  EXPECT_TRUE(a.next({true, 2, seconds(0), 0}).empty()) << "said already";
  EXPECT_TRUE(a.next({true, 2, seconds(0), 1}).empty()) << "someone is free: nothing to say";
  EXPECT_EQ(a.next({true, 2, seconds(0), 0}), Prompts{"en/all-busy"});
  EXPECT_TRUE(a.next({true, 2, seconds(0), -1}).empty()) << "not known: not said";
}

TEST(AnnouncementTest, PeriodicPromptsPlayEveryTimeInTheQueuesLanguage) {
  WaitAnnouncements config;
  config.periodic = {"de/important"};
  config.position = true;
  config.language = "de";
  WaitAnnouncer a(config);
  EXPECT_EQ(a.next({true, 12, seconds(0)}),
            (Prompts{"de/important", "de/position", "de/number-12", "de/in-queue"}));
  EXPECT_EQ(a.next({true, 12, seconds(0)}), Prompts{"de/important"});
}

}  // namespace
}  // namespace cc::edge
