// ccctl's reading of IVR menu files: the format, and a mistake's line.
#include "menu_yaml.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ccctl {
namespace {

const char* kGood = R"(menus:
  - name: main
    language: en
    prompts: [menu-main]
    timeout: 4s
    max_attempts: 2
    options:
      "1": {queue: sales, priority: 5}
      "2": {menu: account, language: de}
      "9": repeat
      "0": {hangup: {prompts: [goodbye], reason: caller left}}
      "*": {transfer: "sip:operator@pbx.example"}
      "5": {callback: sales}
    on_failure: {queue: sales}
  - name: account
    prompts: enter-account
    collect:
      name: account
      max: 8
      terminator: "#"
      timeout: 3s
      then: {queue: support, skills: {billing: 2}, language_skill: true}
)";

int ErrorLine(const std::string& text, std::string* message = nullptr) {
  try {
    ParseMenuYaml(text);
  } catch (const MenuYamlError& e) {
    if (message) *message = e.what();
    return e.line;
  }
  return 0;
}

TEST(MenuYamlTest, AFileOfMenusReadsIntoTheApiMessages) {
  MenuFile f = ParseMenuYaml(kGood);
  ASSERT_EQ(f.menus.size(), 2u);
  const auto& main = f.menus[0];
  EXPECT_EQ(main.name(), "main");
  EXPECT_EQ(main.timeout().seconds(), 4);
  EXPECT_EQ(main.options().at("1").queue().priority(), 5);
  EXPECT_EQ(main.options().at("2").menu(), "account");
  EXPECT_EQ(main.options().at("2").language(), "de");
  EXPECT_TRUE(main.options().at("9").repeat());
  EXPECT_EQ(main.options().at("0").hangup().reason(), "caller left");
  EXPECT_EQ(main.options().at("*").transfer_uri(), "sip:operator@pbx.example");
  EXPECT_EQ(main.options().at("5").callback(), "sales");
  const auto& account = f.menus[1];
  EXPECT_EQ(account.prompts(0), "enter-account");
  EXPECT_EQ(account.collect().max_digits(), 8);
  EXPECT_EQ(account.collect().then().queue().skills(0).name(), "billing");
  EXPECT_TRUE(account.collect().then().queue().language_skill());
  EXPECT_EQ(f.line_of("menu 'main' key '2': whatever"), 9);
  EXPECT_EQ(f.line_of("menu 'account': whatever"), 15);
  EXPECT_EQ(f.line_of("unrelated"), 0);
}

TEST(MenuYamlTest, EachMistakeNamesItsLine) {
  std::string msg;
  std::string bad = kGood;
  bad.replace(bad.find("priority: 5"), 11, "priority: high");
  EXPECT_EQ(ErrorLine(bad, &msg), 8);
  EXPECT_NE(msg.find("'high' is not a whole number"), std::string::npos);

  bad = kGood;
  bad.replace(bad.find("\"9\": repeat"), 11, "\"x\": repeat");
  EXPECT_EQ(ErrorLine(bad, &msg), 10);
  EXPECT_EQ(msg, "menu 'main' key 'x': keys are one of 0-9, * or #");

  bad = kGood;
  bad.replace(bad.find("max_attempts"), 12, "max_attempt");
  EXPECT_EQ(ErrorLine(bad, &msg), 6);
  EXPECT_NE(msg.find("unknown field 'max_attempt'"), std::string::npos);

  bad = kGood;
  bad.replace(bad.find("menu: account"), 13, "menu: acount");
  EXPECT_EQ(ErrorLine(bad, &msg), 2);  // the menu that leads nowhere
  EXPECT_NE(msg.find("leads to menu 'acount'"), std::string::npos);

  bad = kGood;
  bad.replace(bad.find("terminator: \"#\""), 15, "terminator: \"5\"");
  EXPECT_EQ(ErrorLine(bad, &msg), 17);
  EXPECT_NE(msg.find("terminator must be"), std::string::npos);

  EXPECT_EQ(ErrorLine("menus:\n  - name: a\n    options: {\"1\": {queue: s, menu: b}}\n", &msg), 3);
  EXPECT_NE(msg.find("exactly one of"), std::string::npos);
  EXPECT_EQ(ErrorLine("menus: [\n", &msg), 2);  // YAML itself broken
  EXPECT_EQ(ErrorLine("queues: []\n", &msg), 1);
}

TEST(MenuYamlTest, TheLocalStacksDemoMenusAreWellFormed) {
  std::ifstream in(CC_DEMO_MENUS);
  ASSERT_TRUE(in) << CC_DEMO_MENUS;
  std::stringstream text;
  text << in.rdbuf();
  MenuFile f = ParseMenuYaml(text.str());
  ASSERT_EQ(f.menus.size(), 2u);
  EXPECT_EQ(f.menus[0].name(), "welcome");
}

}  // namespace
}  // namespace ccctl
