// IVR menus in queue-service against a real PostgreSQL: imports checked whole, references
// kept by the database, a dialled number leading to its menus, and a call entering a queue
// with what the menus gathered (data, skills, language), matched by those skills.
#include "repository_fixture.h"

namespace cc::queue {
namespace {

class MenusIt : public QueueRepositoryIt {
 protected:
  static MenuAction ToQueue(const std::string& q) {
    MenuAction a;
    a.kind = MenuAction::Kind::kQueue;
    a.queue = q;
    return a;
  }
  static MenuAction ToMenu(const std::string& m) {
    MenuAction a;
    a.kind = MenuAction::Kind::kMenu;
    a.menu = m;
    return a;
  }
  // main: 1 sales, 2 account; account: digits, then support with billing:2.
  static std::vector<Menu> Tree() {
    Menu main;
    main.name = "main";
    main.prompts = {"menu-main"};
    main.options["1"] = ToQueue("sales");
    main.options["2"] = ToMenu("account");
    Menu account;
    account.name = "account";
    DigitCollection c;
    c.name = "account";
    c.then = ToQueue("support");
    c.then.skills = {{"billing", 2}};
    account.collect = c;
    return {main, account};
  }
  std::string ImportError(const std::vector<Menu>& menus) {
    auto r = store_.import_menus(menus, clock_.now());
    return r.ok() ? "" : r.error().message;
  }
};

TEST_F(MenusIt, ImportedMenusReadBackWholeAndAReimportBumpsTheVersion) {
  AddQueue("sales");
  AddQueue("support");
  auto stored = store_.import_menus(Tree(), clock_.now());
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  ASSERT_EQ(stored->size(), 2u);
  auto main = store_.get_menu("main");
  ASSERT_TRUE(main.ok());
  Menu want = Tree()[0];
  want.version = 1;
  EXPECT_EQ(*main, want);
  auto account = store_.get_menu("account");
  ASSERT_TRUE(account.ok());
  ASSERT_TRUE(account->collect);
  EXPECT_EQ(account->collect->then.skills, (std::vector<RequiredSkill>{{"billing", 2}}));
  auto again = store_.import_menus({Tree()[0]}, clock_.now());  // "account" is stored
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ((*again)[0].version, 2);
  EXPECT_EQ(store_.list_menus()->size(), 2u);
  EXPECT_EQ(store_.get_menu("none").error().code, ErrorCode::kNotFound);
}

TEST_F(MenusIt, AnImportWithABrokenReferenceStoresNothing) {
  AddQueue("sales");  // no "support"
  EXPECT_EQ(ImportError(Tree()), "menu 'account' collect then: queue 'support' not found");
  EXPECT_TRUE(store_.list_menus()->empty());
  EXPECT_EQ(ImportError({Tree()[0]}),
            "menu 'main' leads to menu 'account', which is neither given nor stored");
  EXPECT_TRUE(store_.list_menus()->empty());
}

TEST_F(MenusIt, MenusAndQueuesInUseCannotBeDeleted) {
  AddQueue("sales");
  AddQueue("support");
  ASSERT_TRUE(store_.import_menus(Tree(), clock_.now()).ok());
  DialplanEntry e{"800", "", {}, "main"};
  ASSERT_TRUE(store_.set_dialplan(e).ok());
  auto s = store_.delete_menu("main");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.error().message.find("number(s) 800"), std::string::npos);
  s = store_.delete_menu("account");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("choice of menu main"), std::string::npos);
  s = store_.delete_queue("support");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.error().message.find("menu account"), std::string::npos);
  // Once nothing leads to them, they go.
  ASSERT_TRUE(store_.delete_dialplan("800").ok());
  EXPECT_TRUE(store_.delete_menu("main").ok());
  EXPECT_TRUE(store_.delete_menu("account").ok());
  EXPECT_TRUE(store_.delete_queue("support").ok());
  // A number cannot lead to a menu that does not exist.
  EXPECT_EQ(store_.set_dialplan(e).error().code, ErrorCode::kNotFound);
}

TEST_F(MenusIt, ANumberLeadingToAMenuEnqueuesNothingAndAnswersItsMenus) {
  AddQueue("sales");
  AddQueue("support");
  Menu lonely;
  lonely.name = "lonely";  // stored, not reachable from main
  lonely.options["1"] = ToQueue("sales");
  auto menus = Tree();
  menus.push_back(lonely);
  ASSERT_TRUE(store_.import_menus(menus, clock_.now()).ok());
  ASSERT_TRUE(store_.set_dialplan({"800", "", {}, "main"}).ok());
  NewCall c;
  c.id = "m1";
  c.dialed = "800";
  c.caller = "+4930";
  c.edge_id = "edge-1";
  auto r = engine_.enqueue(c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->menus.size(), 2u);
  EXPECT_EQ(r->menus[0].name, "main");
  EXPECT_EQ(r->menus[1].name, "account");
  EXPECT_EQ(store_.get_call("m1").error().code, ErrorCode::kNotFound);
  auto again = engine_.enqueue(c);  // a retried enqueue: the same answer, still no row
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->menus.size(), 2u);
  EXPECT_EQ(store_.resolve("800").error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(MenusIt, TheMenusChoiceIsStoredOnTheCallAndOnlyAnAgentWithItsSkillsGetsIt) {
  AddQueue("support");
  AddAgent("no-billing", {{"support", 0}}, 0, 1, {{"billing", 1}});
  clock_.advance(seconds(1));
  AddAgent("billing-pro", {{"support", 0}}, 0, 1, {{"billing", 3}, {"de", 1}});
  NewCall c;
  c.id = "ivr-1";
  c.queue = "support";
  c.caller = "+4930";
  c.priority = 3;
  c.edge_id = "edge-1";
  c.data = {{"account", "12345"}};
  c.skills = {{"billing", 2}, {"de", 1}};
  c.language = "de";
  auto r = engine_.enqueue(c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto stored = store_.get_call("ivr-1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->data, c.data);
  EXPECT_EQ(stored->skills, c.skills);
  EXPECT_EQ(stored->language, "de");
  EXPECT_EQ(stored->priority, 3);
  // "no-billing" has been idle longer, but lacks the call's level of billing.
  EXPECT_EQ(Match(), 1);
  EXPECT_EQ(OfferFor("ivr-1").agent_id, "billing-pro");
}

}  // namespace
}  // namespace cc::queue
