// IVR menus as data: what a menu may hold (each mistake named), a batch's references, the
// menus reachable from an entry, and the round trip through protobuf with its defaults.
#include "common/menu.h"

#include <gtest/gtest.h>

#include "common/menu_proto.h"

namespace cc {
namespace {

using std::chrono::milliseconds;

Menu Valid(const std::string& name = "main") {
  Menu m;
  m.name = name;
  m.prompts = {"menu-main", "en/beep"};
  m.options["1"].kind = MenuAction::Kind::kQueue;
  m.options["1"].queue = "sales";
  return m;
}

std::string Error(const Menu& m) {
  auto s = ValidateMenu(m);
  return s.ok() ? "" : s.error().message;
}

TEST(MenuTest, AValidMenuPassesAndEachMistakeIsNamedWithItsPlace) {
  EXPECT_EQ(Error(Valid()), "");
  Menu m = Valid();
  m.name = "no spaces";
  EXPECT_NE(Error(m).find("menu name 'no spaces'"), std::string::npos);
  m = Valid();
  m.options["x"] = m.options["1"];
  EXPECT_EQ(Error(m), "menu 'main' key 'x': keys are one of 0-9, * or #");
  m = Valid();
  m.options["2"].kind = MenuAction::Kind::kQueue;
  EXPECT_EQ(Error(m), "menu 'main' key '2': queue '' is no name");
  m = Valid();
  m.options["3"] = {};
  EXPECT_NE(Error(m).find("menu 'main' key '3': no action"), std::string::npos);
  m = Valid();
  m.prompts = {"../etc/passwd"};
  EXPECT_NE(Error(m).find("prompt '../etc/passwd'"), std::string::npos);
  m = Valid();
  m.prompts = {"a/b/c"};
  EXPECT_NE(Error(m).find("is not a prompt name"), std::string::npos);
  m = Valid();
  m.options["4"].kind = MenuAction::Kind::kTransfer;
  m.options["4"].uri = "sip:op@pbx>\r\nX-Evil: 1";
  EXPECT_NE(Error(m).find("menu 'main' key '4': transfer"), std::string::npos);
  m = Valid();
  m.options["1"].skills = {{"Billing", 2}};
  EXPECT_NE(Error(m).find("skill 'Billing'"), std::string::npos);
  m = Valid();
  m.options["1"].language = "Deutsch!";
  EXPECT_NE(Error(m).find("language 'Deutsch!'"), std::string::npos);
  m = Valid();
  m.options["6"].kind = MenuAction::Kind::kCallback;
  EXPECT_EQ(Error(m), "menu 'main' key '6': callback queue '' is no name");
  m.options["6"].kind = MenuAction::Kind::kResume;
  EXPECT_NE(Error(m).find("resume is the edge's own"), std::string::npos);
  m = Valid();
  m.timeout = milliseconds(100);
  EXPECT_NE(Error(m).find("timeout must be"), std::string::npos);
  m = Valid();
  m.options.clear();
  EXPECT_NE(Error(m).find("neither options nor a digit collection"), std::string::npos);
}

TEST(MenuTest, ADigitCollectionIsCheckedAndCannotThrowItsDigitsAway) {
  Menu m = Valid("account");
  m.options.clear();
  DigitCollection c;
  c.name = "account";
  c.then.kind = MenuAction::Kind::kQueue;
  c.then.queue = "support";
  m.collect = c;
  EXPECT_EQ(Error(m), "");
  m.collect->max_digits = 100;
  EXPECT_NE(Error(m).find("max_digits must be 1..64"), std::string::npos);
  m.collect->max_digits = 4;
  m.collect->min_digits = 5;
  EXPECT_NE(Error(m).find("min_digits"), std::string::npos);
  m.collect->min_digits = 1;
  m.collect->terminator = "5";
  EXPECT_NE(Error(m).find("terminator"), std::string::npos);
  m.collect->terminator = "#";
  m.collect->then.kind = MenuAction::Kind::kRepeat;
  EXPECT_NE(Error(m).find("repeat would throw the digits away"), std::string::npos);
  m.collect->then.kind = MenuAction::Kind::kQueue;
  m.options["1"] = m.collect->then;
  EXPECT_NE(Error(m).find("both options and a digit collection"), std::string::npos);
}

TEST(MenuTest, ABatchMayReferToItselfAndToStoredMenusButNothingElse) {
  Menu main = Valid();
  main.options["2"].kind = MenuAction::Kind::kMenu;
  main.options["2"].menu = "sub";
  Menu sub = Valid("sub");
  sub.on_failure.kind = MenuAction::Kind::kMenu;
  sub.on_failure.menu = "main";
  EXPECT_TRUE(ValidateMenus({main, sub}, {}).ok());
  EXPECT_TRUE(ValidateMenus({main}, {"sub"}).ok());
  auto s = ValidateMenus({main}, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "menu 'main' leads to menu 'sub', which is neither given nor stored");
  s = ValidateMenus({main, sub, sub}, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "menu 'sub' given twice");
  EXPECT_FALSE(ValidateMenus({}, {}).ok());
}

TEST(MenuTest, TheMenusReachableFromAnEntryComeEntryFirstEachOnce) {
  std::map<std::string, Menu> all;
  for (const char* n : {"main", "a", "b", "lonely"}) all[n] = Valid(n);
  all["main"].options["2"].kind = MenuAction::Kind::kMenu;
  all["main"].options["2"].menu = "a";
  all["a"].on_failure.kind = MenuAction::Kind::kMenu;
  all["a"].on_failure.menu = "b";
  all["b"].options["0"].kind = MenuAction::Kind::kMenu;
  all["b"].options["0"].menu = "main";
  std::vector<std::string> names;
  for (const auto& m : ReachableMenus("main", all)) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"main", "a", "b"}));
  EXPECT_TRUE(ReachableMenus("none", all).empty());
}

TEST(MenuTest, PromptsWithoutALanguageAreSaidInTheCallers) {
  EXPECT_EQ(LocalizedPrompt("menu-main", "de"), "de/menu-main");
  EXPECT_EQ(LocalizedPrompt("menu-main", ""), "en/menu-main");
  EXPECT_EQ(LocalizedPrompt("en/closed", "de"), "en/closed");
  EXPECT_TRUE(IsLanguage("pt-br"));
  EXPECT_FALSE(IsLanguage("e"));
  EXPECT_FALSE(IsLanguage("DE"));
}

TEST(MenuTest, ProtobufRoundTripKeepsEverythingAndFillsTheDefaults) {
  callcenter::v1::Menu bare;
  bare.set_name("bare");
  (*bare.mutable_options())["1"].set_repeat(true);
  Menu d = FromProto(bare);
  EXPECT_EQ(d.timeout, milliseconds(5000));
  EXPECT_EQ(d.max_attempts, 3);
  EXPECT_EQ(d.invalid_prompts, std::vector<std::string>{"menu-invalid"});
  EXPECT_EQ(d.on_failure, Menu::DefaultFailure());

  Menu m = Valid();
  m.language = "de";
  m.options["1"].priority = 4;
  m.options["1"].skills = {{"billing", 3}};
  m.options["1"].language_skill = true;
  m.options["1"].language = "de";
  m.options["0"].kind = MenuAction::Kind::kHangup;
  m.options["0"].prompts = {"goodbye"};
  m.options["0"].reason = "bye";
  m.options["*"].kind = MenuAction::Kind::kTransfer;
  m.options["*"].uri = "sip:op@pbx";
  m.options["5"].kind = MenuAction::Kind::kCallback;
  m.options["5"].queue = "sales";
  Menu c = Valid("collect");
  c.options.clear();
  DigitCollection dc;
  dc.name = "pin";
  dc.terminator = "";  // none
  dc.max_digits = 4;
  dc.digit_timeout = milliseconds(3000);
  dc.then.kind = MenuAction::Kind::kMenu;
  dc.then.menu = "main";
  c.collect = dc;
  for (const Menu& original : {m, c}) {
    callcenter::v1::Menu p;
    ToProto(original, &p);
    EXPECT_EQ(FromProto(p), original) << original.name;
  }
}

}  // namespace
}  // namespace cc
