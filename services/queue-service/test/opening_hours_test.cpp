#include "queue_service/opening_hours.h"

#include "queue_service/validation.h"

#include <gtest/gtest.h>

#include <ctime>

namespace cc::queue {
namespace {

// An instant given in UTC: "2026-03-29 00:59".
TimePoint Utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Schedule Parse(const OpeningHours& h) {
  auto s = Schedule::Parse(h);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : Schedule{};
}

std::string Error(const OpeningHours& h) {
  auto s = Schedule::Parse(h);
  return s.ok() ? "" : s.error().message;
}

const OpeningHours kBerlinOffice{"Europe/Berlin",
                                 {"mon-fri 08:00-18:00", "sat 10:00-14:00"},
                                 {"2026-12-24 08:00-12:00", "2026-12-25 closed"}};

TEST(OpeningHoursTest, NoHoursIsAlwaysOpen) {
  const Schedule s = Parse({});
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 25, 3, 0)));
  EXPECT_EQ(s.next_opening(Utc(2026, 12, 25, 3, 0)), Utc(2026, 12, 25, 3, 0));
}

TEST(OpeningHoursTest, WeeklyHoursInTheQueuesOwnTimeZone) {
  const Schedule s = Parse(kBerlinOffice);
  // Monday 2026-12-07, winter: Berlin is UTC+1.
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 7, 6, 59)));   // 07:59 local
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 7, 7, 0)));     // 08:00
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 7, 16, 59)));   // 17:59
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 7, 17, 0)));   // 18:00: closed (the end is exclusive)
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 12, 9, 30)));   // Saturday 10:30
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 12, 13, 0)));  // Saturday 14:00
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 13, 11, 0)));  // Sunday: named by no entry
}

TEST(OpeningHoursTest, DatesReplaceTheWeek) {
  const Schedule s = Parse(kBerlinOffice);
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 24, 10, 59)));   // Thursday, 11:59: short day
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 24, 11, 0)));   // 12:00
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 25, 10, 0)));   // a Friday, but a holiday
  EXPECT_EQ(s.next_opening(Utc(2026, 12, 24, 12, 0)),  // -> Saturday 26th 10:00 local
            Utc(2026, 12, 26, 9, 0));
}

TEST(OpeningHoursTest, AroundMidnightAndANightShift) {
  const Schedule s = Parse({"America/New_York", {"mon 22:00-24:00", "tue 00:00-06:00"}, {}});
  // Monday 2026-12-07 22:00 EST = 03:00 UTC Tuesday.
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 8, 2, 59)));
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 8, 3, 0)));
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 8, 4, 59)));   // 23:59 Monday
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 8, 5, 0)));    // 00:00 Tuesday
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 8, 10, 59)));  // 05:59
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 8, 11, 0)));  // 06:00
  EXPECT_EQ(s.next_opening(Utc(2026, 12, 8, 11, 0)), Utc(2026, 12, 15, 3, 0));
}

// Berlin springs forward on 2026-03-29 (02:00 -> 03:00, UTC+1 -> UTC+2) and falls back on
// 2026-10-25 (03:00 -> 02:00).
TEST(OpeningHoursTest, TheWallClockDecidesAcrossClockChanges) {
  const Schedule s = Parse({"Europe/Berlin", {"sun 08:00-09:00"}, {}});
  EXPECT_TRUE(s.open_at(Utc(2026, 3, 22, 7, 30)));    // the Sunday before: 08:30 CET
  EXPECT_FALSE(s.open_at(Utc(2026, 3, 29, 7, 30)));   // the change day: 09:30 CEST
  EXPECT_TRUE(s.open_at(Utc(2026, 3, 29, 6, 30)));    // 08:30 CEST
  EXPECT_TRUE(s.open_at(Utc(2026, 10, 25, 7, 30)));   // back to CET: 08:30
  EXPECT_FALSE(s.open_at(Utc(2026, 10, 25, 6, 30)));  // 07:30 CET
}

TEST(OpeningHoursTest, AnHourSkippedOrRepeatedByTheClockChange) {
  const Schedule s = Parse({"Europe/Berlin", {"sun 02:30-03:30"}, {}});
  // Spring: 02:00-03:00 does not exist; the interval is open from the jump (03:00 CEST = 01:00
  // UTC) to 03:30 CEST.
  EXPECT_FALSE(s.open_at(Utc(2026, 3, 29, 0, 59)));  // 01:59 CET
  EXPECT_TRUE(s.open_at(Utc(2026, 3, 29, 1, 0)));    // 03:00 CEST
  EXPECT_FALSE(s.open_at(Utc(2026, 3, 29, 1, 30)));  // 03:30 CEST
  EXPECT_EQ(s.next_opening(Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 1, 0));
  // Autumn: 02:00-03:00 happens twice; 02:30-03:00 is open each time, 03:00-03:30 once.
  EXPECT_TRUE(s.open_at(Utc(2026, 10, 25, 0, 30)));   // 02:30 CEST
  EXPECT_FALSE(s.open_at(Utc(2026, 10, 25, 0, 29)));  // 02:29 CEST
  EXPECT_TRUE(s.open_at(Utc(2026, 10, 25, 1, 30)));   // 02:30 CET, again
  EXPECT_TRUE(s.open_at(Utc(2026, 10, 25, 2, 15)));   // 03:15 CET
  EXPECT_FALSE(s.open_at(Utc(2026, 10, 25, 2, 30)));  // 03:30 CET
}

TEST(OpeningHoursTest, DayListsAndRangesThatWrapTheWeek) {
  const Schedule s = Parse({"UTC", {"fri-mon 10:00-11:00", "wed,thu 09:00-10:00"}, {}});
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 6, 10, 30)));   // Sunday
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 7, 10, 30)));   // Monday
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 8, 10, 30)));  // Tuesday
  EXPECT_TRUE(s.open_at(Utc(2026, 12, 9, 9, 30)));    // Wednesday
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 9, 10, 30)));
}

TEST(OpeningHoursTest, NeverOpenHasNoNextOpening) {
  const Schedule s = Parse({"UTC", {"mon-sun closed"}, {}});
  EXPECT_FALSE(s.open_at(Utc(2026, 12, 7, 12, 0)));
  EXPECT_EQ(s.next_opening(Utc(2026, 12, 7, 12, 0)), std::nullopt);
}

TEST(OpeningHoursTest, MistakesAreNamedWithTheirEntry) {
  EXPECT_NE(Error({"Mars/Olympus", {}, {}}).find("'Mars/Olympus' is not an IANA time zone"),
            std::string::npos);
  EXPECT_NE(Error({"", {"mon 08:00-18:00"}, {}}).find("need a time zone"), std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon-fry 08:00-18:00"}, {}}).find("weekly[0] 'mon-fry 08:00-18:00'"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon 8:00-18:00"}, {}}).find("'8:00-18:00' is not HH:MM-HH:MM"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon 22:00-06:00"}, {}}).find("closes before it opens"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon 08:00-12:00 11:00-13:00"}, {}}).find("overlaps"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon-fri 08:00-18:00", "fri 19:00-20:00"}, {}})
                .find("weekly[1] 'fri 19:00-20:00': fri is named by an earlier entry too"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon"}, {}}).find("give the hours"), std::string::npos);
  EXPECT_NE(Error({"UTC", {}, {"2026-02-30 closed"}}).find("dates[0]"), std::string::npos);
  EXPECT_NE(Error({"UTC", {}, {"26-12-24 closed"}}).find("is not a date"), std::string::npos);
  EXPECT_NE(Error({"UTC", {}, {"2026-12-24 closed", "2026-12-24 09:00-10:00"}}).find("twice"),
            std::string::npos);
  EXPECT_NE(Error({"UTC", {"mon 24:00-24:00"}, {}}).find("is not HH:MM-HH:MM"), std::string::npos);
}

// A queue's hours are checked with the queue, and so is what happens while it is closed.
TEST(OpeningHoursTest, AQueueWithBadHoursOrClosedActionIsRefused) {
  QueueConfig q;
  q.name = "sales";
  q.opening.hours = {"Europe/Berlin", {"mon-fri 08:00-18:00"}, {}};
  EXPECT_TRUE(ValidateQueue(q).ok());
  q.opening.hours.weekly = {"mon-fri 8-18"};
  EXPECT_NE(ValidateQueue(q).error().message.find("weekly[0]"), std::string::npos);
  q.opening.hours.weekly = {"mon-fri 08:00-18:00"};
  q.opening.closed_queue = "sales";
  EXPECT_NE(ValidateQueue(q).error().message.find("to itself"), std::string::npos);
  q.opening.closed_queue = "night";
  q.opening.closed_hangup_reason = "closed";
  EXPECT_NE(ValidateQueue(q).error().message.find("one closed action"), std::string::npos);
  q.opening.closed_hangup_reason.clear();
  q.opening.closed_queue.clear();
  q.opening.closed_menu = "night-menu";
  q.opening.closed_callback = true;
  EXPECT_NE(ValidateQueue(q).error().message.find("one closed action"), std::string::npos);
  q.opening.closed_callback = false;
  EXPECT_TRUE(ValidateQueue(q).ok());
  q.opening.closed_menu = "no spaces";
  EXPECT_NE(ValidateQueue(q).error().message.find("no menu name"), std::string::npos);
  q.opening.closed_menu.clear();
  q.opening.closed_uri = "sip:desk@pbx>\r\nX: 1";
  EXPECT_NE(ValidateQueue(q).error().message.find("closed_uri"), std::string::npos);
  q.opening.closed_uri = "sip:desk@pbx.example";
  EXPECT_TRUE(ValidateQueue(q).ok());
  q.opening.closed_uri.clear();
  q.opening.closed_prompts = {""};
  EXPECT_FALSE(ValidateQueue(q).ok());
}

}  // namespace
}  // namespace cc::queue
