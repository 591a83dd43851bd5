// A call whose number leads to an IVR menu, driven through its session with fake ports: the
// answer, the prompts, keys from the relay or SIP INFO, and where the menus lead (a queue
// with what they gathered, the end, a transfer).
#include <gtest/gtest.h>

#include "call_session_fixture.h"

namespace cc::edge {
namespace {

using std::chrono::seconds;
using Strings = std::vector<std::string>;

class MenuSessionTest : public testing::CallSessionFixture {
 protected:
  // main: 1 -> account (language de); 3 hangs up; 4 transfers. account: digits, '#', then
  // support with billing:2 and the caller's language as skills.
  static Enqueued IntoMenu() {
    Menu main;
    main.name = "main";
    main.language = "en";
    main.prompts = {"menu-main"};
    main.options["1"].kind = MenuAction::Kind::kMenu;
    main.options["1"].menu = "account";
    main.options["1"].language = "de";
    main.options["3"].kind = MenuAction::Kind::kHangup;
    main.options["3"].prompts = {"goodbye"};
    main.options["3"].reason = "caller chose to leave";
    main.options["4"].kind = MenuAction::Kind::kTransfer;
    main.options["4"].uri = "sip:operator@pbx.example";
    Menu account;
    account.name = "account";
    account.prompts = {"enter-account"};
    DigitCollection c;
    c.name = "account";
    c.then.kind = MenuAction::Kind::kQueue;
    c.then.queue = "support";
    c.then.priority = 3;
    c.then.skills = {{"billing", 2}};
    c.then.language_skill = true;
    account.collect = c;
    Enqueued e;
    e.menus = {main, account};
    return e;
  }

  CallSession& InMenu() {
    auto& s = Start();
    media_.create_ok();
    queue_.enqueue_answers(IntoMenu());
    EXPECT_EQ(s.phase(), CallPhase::kInMenu);
    return s;
  }

  const Strings& last_played() const { return media_.plays.back().prompts; }
};

TEST_F(MenuSessionTest, KeysLeadThroughTwoMenusIntoTheQueueWithTheDataOnTheAgentsInvite) {
  auto& s = InMenu();
  EXPECT_EQ(customer_->sent(), "200");  // a menu speaks and listens: answered
  EXPECT_EQ(last_played(), Strings{"en/menu-main"});
  EXPECT_EQ(s.view().queue, "menu main");
  EXPECT_EQ(s.view().phase, "in_menu");
  s.on_prompt_finished({"en/menu-main"});
  s.on_digit('1');
  EXPECT_EQ(last_played(), Strings{"de/enter-account"});
  s.on_prompt_finished({"en/menu-main"});  // a stale word about earlier prompts: ignored
  for (char d : std::string("12345")) s.on_digit(d);
  EXPECT_EQ(media_.stopped, Strings{"customer-leg"});  // the first digit cut the prompt
  EXPECT_TRUE(queue_.enqueues.empty());
  s.on_digit('#');
  ASSERT_EQ(queue_.enqueues.size(), 1u);
  const EnqueueRequest& req = queue_.enqueues.front().req;
  EXPECT_EQ(req.queue, "support");
  EXPECT_TRUE(req.dialed.empty());
  EXPECT_EQ(req.priority, 3);
  EXPECT_EQ(req.skills, (std::vector<RequiredSkill>{{"billing", 2}, {"de", 1}}));
  EXPECT_EQ(req.data, (std::map<std::string, std::string>{{"account", "12345"}}));
  EXPECT_EQ(req.language, "de");
  EXPECT_EQ(s.phase(), CallPhase::kEnqueuing);
  Enqueued waiting = Waiting(AnswerMode::kRingUntilAgent);
  waiting.queue = "support";
  waiting.announce.greeting = {"greeting"};
  queue_.enqueue_answers(waiting);
  EXPECT_EQ(s.phase(), CallPhase::kQueued);
  // Answered already: the queue's greeting (in the caller's language), no ringing.
  EXPECT_EQ(customer_->sent(), "200");
  EXPECT_EQ(last_played(), Strings{"de/greeting"});
  EXPECT_EQ(s.on_offer(MakeOffer(1)), OfferRefusal::kNone);
  media_.create_ok();
  ASSERT_EQ(sip_.invites.size(), 1u);
  EXPECT_EQ(sip_.invites[0].headers, (Strings{"X-CC-Data: account=12345", "X-CC-Language: de"}));
}

TEST_F(MenuSessionTest, ACallerLeavingTheMenuHasNothingToCancelInTheQueue) {
  auto& s = InMenu();
  s.on_customer_left("caller hung up");
  EXPECT_EQ(s.phase(), CallPhase::kEnding);
  EXPECT_TRUE(queue_.sent.empty());  // nothing was enqueued
  EXPECT_EQ(media_.released, Strings{"customer-leg"});
}

TEST_F(MenuSessionTest, SilenceRunsTheMenusTimeoutsUntilItsFailureHangsUp) {
  auto& s = InMenu();
  for (int attempt = 0; attempt < 3; ++attempt) {
    s.on_prompt_finished({});  // the menu's prompts
    timers_.advance(seconds(5));
    s.on_prompt_finished({});  // "no input" (or, the last time, goodbye)
  }
  EXPECT_EQ(customer_->sent(), "200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "no choice made in the menu");
}

// The relay's word that the prompts ended is lost: the menu goes on after the announcement
// limit all the same (waits for a key, then its timeout), never stuck.
TEST_F(MenuSessionTest, ALostEndOfPromptsDoesNotStickTheMenu) {
  auto& s = InMenu();
  const size_t plays = media_.plays.size();
  timers_.advance(settings_.announcement_limit);
  EXPECT_EQ(media_.plays.size(), plays);  // waiting for a key now
  timers_.advance(seconds(5));            // the menu's timeout
  EXPECT_EQ(last_played(), Strings{"en/menu-timeout"});
  s.on_digit('3');
  EXPECT_EQ(last_played(), Strings{"en/goodbye"});
}

TEST_F(MenuSessionTest, AHangupChoicePlaysItsPromptsThenSaysBye) {
  auto& s = InMenu();
  s.on_digit('3');
  EXPECT_EQ(last_played(), Strings{"en/goodbye"});
  EXPECT_EQ(customer_->sent(), "200");
  s.on_prompt_finished({"en/goodbye"});
  EXPECT_EQ(customer_->sent(), "200,BYE");
  EXPECT_EQ(customer_->last_reason.text, "caller chose to leave");
}

TEST_F(MenuSessionTest, ATransferRefersTheCallerAndEndsOnceTheNewCallIsUp) {
  auto& s = InMenu();
  s.on_digit('4');
  EXPECT_EQ(customer_->sent(), "200,REFER sip:operator@pbx.example");
  s.on_transfer_progress(202, false);
  s.on_transfer_progress(180, false);
  EXPECT_EQ(s.phase(), CallPhase::kInMenu);
  s.on_transfer_progress(200, true);
  EXPECT_EQ(customer_->sent(), "200,REFER sip:operator@pbx.example,BYE");
  EXPECT_EQ(customer_->last_reason.text, "transferred");
}

TEST_F(MenuSessionTest, ARefusedTransferEndsTheCallWithTheReason) {
  auto& s = InMenu();
  s.on_digit('4');
  s.on_transfer_progress(603, true);
  EXPECT_EQ(customer_->last_reason.text, "transfer failed (603)");
}

TEST_F(MenuSessionTest, KeysOutsideAMenuChangeNothing) {
  auto& s = Queued(AnswerMode::kAnswerImmediately);
  const size_t plays = media_.plays.size();
  s.on_digit('1');
  EXPECT_EQ(media_.plays.size(), plays);
  EXPECT_TRUE(queue_.enqueues.empty());
}

}  // namespace
}  // namespace cc::edge
