// A caller's way through IVR menus, event by event: keys, timeouts, retries, digit
// collection, the language choice, and what the session is told to do at each step.
#include "signaling_edge/menu_runner.h"

#include <gtest/gtest.h>

#include "signaling_edge/sip_bodies.h"

namespace cc::edge {
namespace {

using std::chrono::seconds;
using Strings = std::vector<std::string>;

MenuAction Queue(const std::string& q, int priority = 0) {
  MenuAction a;
  a.kind = MenuAction::Kind::kQueue;
  a.queue = q;
  a.priority = priority;
  return a;
}

MenuAction Goto(const std::string& menu, const std::string& language = "") {
  MenuAction a;
  a.kind = MenuAction::Kind::kMenu;
  a.menu = menu;
  a.language = language;
  return a;
}

// main: 1 sales, 2 -> language de + account, 9 repeat, * transfer; 2 attempts, then sales.
// account: digits up to 6, '#'-ended, then support with the skill billing:2 and the language.
std::vector<Menu> Menus() {
  Menu main;
  main.name = "main";
  main.language = "en";
  main.prompts = {"menu-main"};
  main.options["1"] = Queue("sales", 5);
  main.options["2"] = Goto("account", "de");
  main.options["9"].kind = MenuAction::Kind::kRepeat;
  main.options["*"].kind = MenuAction::Kind::kTransfer;
  main.options["*"].uri = "sip:operator@pbx.example";
  main.max_attempts = 2;
  main.on_failure = Queue("sales");
  Menu account;
  account.name = "account";
  account.prompts = {"enter-account", "en/beep"};
  DigitCollection c;
  c.name = "account";
  c.min_digits = 3;
  c.max_digits = 6;
  c.digit_timeout = seconds(4);
  c.then = Queue("support");
  c.then.skills = {{"billing", 2}};
  c.then.language_skill = true;
  account.collect = c;
  return {main, account};
}

TEST(MenuRunnerTest, AKeyDuringThePromptsCutsThemAndChoosesAQueue) {
  MenuRunner r(Menus());
  MenuStep s = r.start();
  EXPECT_EQ(s.play, Strings{"en/menu-main"});
  EXPECT_FALSE(s.wait);
  s = r.on_digit('1');
  EXPECT_TRUE(s.stop_prompts);
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->kind, MenuOutcome::Kind::kQueue);
  EXPECT_EQ(s.outcome->queue, "sales");
  EXPECT_EQ(s.outcome->priority, 5);
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.on_digit('2').outcome);  // done: keys change nothing
}

TEST(MenuRunnerTest, ASecondLevelCollectsDigitsInTheChosenLanguageWithSkills) {
  MenuRunner r(Menus());
  r.start();
  EXPECT_TRUE(r.on_prompts_done().wait);
  MenuStep s = r.on_digit('2');
  EXPECT_EQ(r.language(), "de");
  EXPECT_EQ(r.menu(), "account");
  // Names without a language are said in the caller's; "en/beep" stays as named.
  EXPECT_EQ(s.play, (Strings{"de/enter-account", "en/beep"}));
  s = r.on_digit('4');  // typed over the prompts
  EXPECT_TRUE(s.stop_prompts);
  EXPECT_EQ(s.wait, seconds(4));
  r.on_digit('2');
  r.on_digit('7');
  s = r.on_digit('#');
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->queue, "support");
  EXPECT_EQ(s.outcome->skills, (std::vector<RequiredSkill>{{"billing", 2}, {"de", 1}}));
  EXPECT_EQ(r.data().at("account"), "427");
}

TEST(MenuRunnerTest, ACollectionEndsAtItsMaximumOrItsTimeoutAndTooFewDigitsAreInvalid) {
  {
    MenuRunner r(Menus());
    r.start();
    r.on_digit('2');
    MenuStep s;
    for (char d : std::string("123456")) s = r.on_digit(d);
    ASSERT_TRUE(s.outcome);  // max 6: no '#' needed
    EXPECT_EQ(r.data().at("account"), "123456");
  }
  {
    MenuRunner r(Menus());
    r.start();
    r.on_digit('2');
    r.on_digit('5');
    r.on_digit('5');
    r.on_digit('5');
    MenuStep s = r.on_timeout();  // 3 digits are enough
    ASSERT_TRUE(s.outcome);
    EXPECT_EQ(r.data().at("account"), "555");
  }
  {
    MenuRunner r(Menus());
    r.start();
    r.on_digit('2');
    r.on_digit('5');
    MenuStep s = r.on_digit('#');  // 1 digit: too few
    EXPECT_FALSE(s.outcome);
    EXPECT_EQ(s.play, Strings{"de/menu-invalid"});
    EXPECT_TRUE(r.data().empty());
    s = r.on_prompts_done();  // then the menu again
    EXPECT_EQ(s.play, (Strings{"de/enter-account", "en/beep"}));
  }
}

TEST(MenuRunnerTest, InvalidKeysAndSilenceAreToldThenTheFailureActionTakesOver) {
  MenuRunner r(Menus());
  r.start();
  MenuStep s = r.on_digit('7');  // no such key
  EXPECT_EQ(s.play, Strings{"en/menu-invalid"});
  EXPECT_FALSE(s.stop_prompts);  // the notice replaces the prompts
  s = r.on_prompts_done();
  EXPECT_EQ(s.play, Strings{"en/menu-main"});  // attempt 2
  s = r.on_prompts_done();
  ASSERT_EQ(s.wait, seconds(5));
  s = r.on_timeout();  // attempt 2 was the last: on_failure
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->queue, "sales");
  EXPECT_EQ(s.outcome->priority, 0);
}

TEST(MenuRunnerTest, SilenceIsToldWithTheTimeoutPromptsAndRepeatStartsTheAttemptsOver) {
  MenuRunner r(Menus());
  r.start();
  r.on_prompts_done();
  MenuStep s = r.on_timeout();
  EXPECT_EQ(s.play, Strings{"en/menu-timeout"});
  r.on_prompts_done();                         // attempt 2
  s = r.on_digit('9');                         // repeat: attempts start over
  EXPECT_EQ(s.play, Strings{"en/menu-main"});  // attempt 1 again
  r.on_prompts_done();
  s = r.on_timeout();
  EXPECT_EQ(s.play, Strings{"en/menu-timeout"});  // not yet the failure action
  EXPECT_FALSE(s.outcome);
}

TEST(MenuRunnerTest, TransferAndTheDefaultFailureHangUp) {
  MenuRunner r(Menus());
  r.start();
  MenuStep s = r.on_digit('*');
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->kind, MenuOutcome::Kind::kTransfer);
  EXPECT_EQ(s.outcome->uri, "sip:operator@pbx.example");

  Menu only;
  only.name = "only";
  only.options["1"] = Queue("sales");
  only.max_attempts = 1;  // no prompts, default failure
  MenuRunner q({only});
  s = q.start();
  EXPECT_TRUE(s.play.empty());
  EXPECT_EQ(s.wait, seconds(5));
  s = q.on_timeout();
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->kind, MenuOutcome::Kind::kHangup);
  EXPECT_EQ(s.outcome->prompts, Strings{"en/goodbye"});
}

TEST(MenuRunnerTest, ACallerGoingRoundInCirclesIsEndedAfterTheLimit) {
  Menu a;
  a.name = "a";
  a.options["1"] = Goto("b");
  Menu b;
  b.name = "b";
  b.options["1"] = Goto("a");
  MenuRunner r({a, b});
  r.start();
  MenuStep s;
  int presses = 0;
  while (!r.done() && presses < 1000) {
    s = r.on_digit('1');
    ++presses;
  }
  ASSERT_TRUE(s.outcome);
  EXPECT_EQ(s.outcome->kind, MenuOutcome::Kind::kHangup);
  EXPECT_EQ(presses, MenuRunner::kMaxEntries);
}

TEST(SipBodiesTest, KeysFromSipInfoInBothFormats) {
  EXPECT_EQ(DtmfInfoDigit("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), '5');
  EXPECT_EQ(DtmfInfoDigit("Application/DTMF-Relay; x=1", "Duration=100\r\nsignal = #\r\n"), '#');
  EXPECT_EQ(DtmfInfoDigit("application/dtmf-relay", "Signal=11\r\n"), '#');
  EXPECT_EQ(DtmfInfoDigit("application/dtmf", "*"), '*');
  EXPECT_EQ(DtmfInfoDigit("application/dtmf-relay", "Signal=\r\n"), '\0');
  EXPECT_EQ(DtmfInfoDigit("application/dtmf-relay", "Signal=55\r\n"), '\0');
  EXPECT_EQ(DtmfInfoDigit("text/plain", "Signal=5"), '\0');
  EXPECT_EQ(DtmfInfoDigit("application/dtmf-relay", ""), '\0');
}

TEST(SipBodiesTest, TheStatusOfASipfrag) {
  EXPECT_EQ(SipfragStatus("SIP/2.0 200 OK\r\n"), 200);
  EXPECT_EQ(SipfragStatus("SIP/2.0 100 Trying"), 100);
  EXPECT_EQ(SipfragStatus("SIP/2.0 486 Busy Here\r\nVia: x\r\n"), 486);
  EXPECT_EQ(SipfragStatus("SIP/2.0 20"), 0);
  EXPECT_EQ(SipfragStatus("HTTP/1.1 200 OK"), 0);
  EXPECT_EQ(SipfragStatus("SIP/2.0 999 x"), 0);
}

}  // namespace
}  // namespace cc::edge
