// Opening hours of queues and dialled numbers in queue-service, on the simulated clock of the
// repository fixture: closed actions at entry, and opening on time.
#include "repository_fixture.h"

namespace cc::queue {
namespace {

// The repository fixture under its own suite name (its class is per translation unit).
class OpeningHoursIt : public QueueRepositoryIt {};

// Opening hours on the injected clock, which starts on Tuesday 2023-11-14 at 22:13 UTC: a
// queue open on weekdays 08:00-18:00 is closed, one open 20:00-24:00 every day is open.
TEST_F(OpeningHoursIt, AClosedQueueTakesItsClosedActionAndOpensOnTime) {
  // Callers stay while nobody is registered (the agent's binding expires over the night).
  AddQueue("sales", [](QueueConfig& q) {
    q.opening.hours = {"UTC", {"mon-fri 08:00-18:00"}, {}};
    q.join_empty = EmptyQueueRule::kAlways;
  });
  AddQueue("night", [](QueueConfig& q) { q.opening.hours = {"UTC", {"mon-sun 20:00-24:00"}, {}}; });
  AddQueue("day", [](QueueConfig& q) {
    q.opening.hours = {"UTC", {"mon-fri 08:00-18:00"}, {}};
    q.opening.closed_queue = "night";
  });
  AddQueue("shop", [](QueueConfig& q) {
    q.opening.hours = {"Europe/Berlin", {"mon-sat 09:00-20:00"}, {}};
    q.opening.closed_hangup_reason = "shop closed";
    q.opening.closed_prompts = {"de/closed", "en/closed"};
    q.join_empty = EmptyQueueRule::kAlways;
  });
  AddAgent("a1", {{"sales", 0}, {"night", 0}, {"day", 0}, {"shop", 0}});

  auto closed = engine_.enqueue({"c1", "sales", "", "+491", 0, "edge-1"});
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->call.state, CallState::kFailed);
  EXPECT_EQ(closed->call.outcome_reason, "closed");
  EXPECT_EQ(closed->exit_prompts, std::vector<std::string>{"en/closed"});
  EXPECT_EQ(closed->position, 0);

  auto moved = engine_.enqueue({"c2", "day", "", "+492", 0, "edge-1"});
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->call.state, CallState::kWaiting);
  EXPECT_EQ(moved->call.queue, "night");
  EXPECT_EQ(moved->call.overflowed_from, "day");
  EXPECT_TRUE(moved->exit_prompts.empty());

  auto shop = engine_.enqueue({"c3", "shop", "", "+493", 0, "edge-1"});  // 23:13 in Berlin
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->call.outcome_reason, "shop closed");
  EXPECT_EQ(shop->exit_prompts, (std::vector<std::string>{"de/closed", "en/closed"}));
  // A retried enqueue of the same call gets the same answer.
  auto again = engine_.enqueue({"c3", "shop", "", "+493", 0, "edge-1"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->exit_prompts, shop->exit_prompts);

  // Wednesday 09:00 UTC (10:00 in Berlin): both open; the night queue is closed now, but a
  // caller already waiting there stays.
  clock_.advance(std::chrono::hours(10) + std::chrono::minutes(47));
  EXPECT_EQ(Enqueue("c4", "sales").state, CallState::kWaiting);
  EXPECT_EQ(Enqueue("c5", "shop").state, CallState::kWaiting);
  EXPECT_EQ(StateOf("c2"), CallState::kWaiting);
  auto night = engine_.enqueue({"c6", "night", "", "+496", 0, "edge-1"});
  ASSERT_TRUE(night.ok());
  EXPECT_EQ(night->call.outcome_reason, "closed");
}

// A dialled number's own hours come before its queue's (the clock starts Tuesday 22:13 UTC):
// the hotline is closed at night and sends callers to the night queue; the shop number is
// closed and ends the call with its own reason and prompts; the sales number has no hours of
// its own, so the open queue takes its callers.
TEST_F(OpeningHoursIt, ADialledNumbersOwnHoursComeBeforeItsQueues) {
  AddQueue("sales", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
  AddQueue("night", [](QueueConfig& q) { q.join_empty = EmptyQueueRule::kAlways; });
  DialplanEntry hotline{"0800", "sales", {}};
  hotline.opening.hours = {"UTC", {"mon-fri 08:00-18:00"}, {}};
  hotline.opening.closed_queue = "night";
  DialplanEntry shop{"0900", "sales", {}};
  shop.opening.hours = {"Europe/Berlin", {"mon-sat 09:00-20:00"}, {"2023-11-15 closed"}};
  shop.opening.closed_hangup_reason = "shop closed";
  shop.opening.closed_prompts = {"de/closed"};
  for (const auto& e : {hotline, shop, DialplanEntry{"sales", "sales", {}}}) {
    auto r = store_.set_dialplan(e);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  auto listed = store_.list_dialplan();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[1].opening, shop.opening) << "kept whole";

  auto dial = [&](const std::string& id, const std::string& number) {
    auto r = engine_.enqueue({id, "", number, "+49" + id, 0, "edge-1"});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : EnqueueResult{};
  };
  auto night = dial("c1", "0800");
  EXPECT_EQ(night.call.state, CallState::kWaiting);
  EXPECT_EQ(night.call.queue, "night");
  EXPECT_TRUE(night.exit_prompts.empty());
  auto shut = dial("c2", "0900");
  EXPECT_EQ(shut.call.state, CallState::kFailed);
  EXPECT_EQ(shut.call.outcome_reason, "shop closed");
  EXPECT_EQ(shut.exit_prompts, std::vector<std::string>{"de/closed"});
  auto sales = dial("c3", "sales");
  EXPECT_EQ(sales.call.state, CallState::kWaiting);
  EXPECT_EQ(sales.call.queue, "sales");

  // Wednesday 2023-11-15 at 10:00 UTC: the hotline is open, the shop's holiday keeps it shut.
  clock_.advance(std::chrono::hours(11) + std::chrono::minutes(47));
  EXPECT_EQ(dial("c4", "0800").call.queue, "sales");
  EXPECT_EQ(dial("c5", "0900").call.outcome_reason, "shop closed");
}

}  // namespace
}  // namespace cc::queue
