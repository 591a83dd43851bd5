#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ManualTimersTest, FiresInDeadlineOrderAndMovesTheClock) {
  SimulatedClock clock;
  ManualTimers timers(clock);
  const TimePoint start = clock.now();
  std::vector<std::pair<int, TimePoint>> fired;
  timers.after(seconds(3), [&] { fired.push_back({3, clock.now()}); });
  timers.after(seconds(1), [&] { fired.push_back({1, clock.now()}); });
  timers.after(seconds(2), [&] { fired.push_back({2, clock.now()}); });
  timers.advance(milliseconds(1500));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].first, 1);
  EXPECT_EQ(fired[0].second, start + seconds(1));  // ran at its own deadline
  EXPECT_EQ(clock.now(), start + milliseconds(1500));
  timers.advance(seconds(5));
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[1].first, 2);
  EXPECT_EQ(fired[2].first, 3);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(ManualTimersTest, CancelledTimerNeverFires) {
  SimulatedClock clock;
  ManualTimers timers(clock);
  int fired = 0;
  {
    Timer t(&timers, timers.after(seconds(1), [&] { ++fired; }));
  }  // destroyed: cancelled
  auto id = timers.after(seconds(1), [&] { ++fired; });
  EXPECT_TRUE(timers.cancel(id));
  EXPECT_FALSE(timers.cancel(id));
  timers.advance(seconds(10));
  EXPECT_EQ(fired, 0);
}

TEST(ManualTimersTest, TimerScheduledFromCallbackRunsInSameAdvanceWhenDue) {
  SimulatedClock clock;
  ManualTimers timers(clock);
  int fired = 0;
  timers.after(seconds(1), [&] { timers.after(seconds(1), [&] { ++fired; }); });
  timers.advance(seconds(3));
  EXPECT_EQ(fired, 1);
}

TEST(PeriodicTest, RunsEveryPeriodUntilDestroyed) {
  SimulatedClock clock;
  ManualTimers timers(clock);
  int runs = 0;
  {
    Periodic p(timers, seconds(2), [&] { ++runs; });
    timers.advance(seconds(7));
    EXPECT_EQ(runs, 3);
  }
  timers.advance(seconds(10));
  EXPECT_EQ(runs, 3);
}

TEST(ThreadTimersTest, RunsCallbacksOnItsThreadAndHonoursCancel) {
  ThreadTimers timers;
  std::atomic<int> fired{0};
  std::atomic<bool> other_thread{false};
  const auto me = std::this_thread::get_id();
  timers.after(milliseconds(10), [&] {
    other_thread = std::this_thread::get_id() != me;
    ++fired;
  });
  auto id = timers.after(milliseconds(50), [&] { fired += 100; });
  EXPECT_TRUE(timers.cancel(id));
  for (int i = 0; i < 200 && fired.load() == 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(80));
  EXPECT_EQ(fired.load(), 1);
  EXPECT_TRUE(other_thread.load());
}

TEST(TimeFormatTest, Rfc3339WithMillis) {
  EXPECT_EQ(FormatTime(FromUnixMillis(1'700'000'000'123)), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(42)), 42);
}

}  // namespace
}  // namespace cc
