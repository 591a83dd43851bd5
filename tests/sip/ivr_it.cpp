// IVR menus on the wire: SIPp customers pressing keys (RFC 4733 in the media, SIP INFO) through
// the menus of a dialled number, checked against what PostgreSQL recorded, what the relay
// played (its prompt_finished events) and what the agent's phone received.
#include "stack_fixture.h"

namespace cc {
namespace {

class IvrIt : public StackIt {
 protected:
  void Import(const std::vector<v1::Menu>& menus, const std::string& number) {
    v1::ImportMenusRequest req;
    for (const auto& m : menus) *req.add_menus() = m;
    v1::ImportMenusResponse resp;
    auto st = queues_->ImportMenus(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::SetDialplanEntryRequest dp;
    dp.mutable_entry()->set_pattern(number);
    dp.mutable_entry()->set_menu(menus.front().name());
    v1::DialplanResponse dr;
    st = queues_->SetDialplanEntry(Ctx().get(), dp, &dr);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  // The prompt lists the relay played to their end, in order, for every call.
  std::vector<std::vector<std::string>> Heard(const testing::MessageCollector& played) {
    std::vector<std::vector<std::string>> out;
    for (const auto& m : played.messages()) {
      v1::MediaEvent e;
      EXPECT_TRUE(e.ParseFromString(m.data));
      out.emplace_back(e.prompts().begin(), e.prompts().end());
    }
    return out;
  }

  std::string MediaPort() { return std::to_string(testing::FreeUdpPort()); }
};

using Lists = std::vector<std::vector<std::string>>;

// main (English): 1 -> German and the account menu, 2 -> sales. account: the customer number,
// '#'-terminated, then support with priority 4, billing >= 2 and the caller's language.
TEST_F(IvrIt, RtpKeysLeadThroughTwoMenusToTheQueueWithSkillsDataAndLanguage) {
  AddQueue("support", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  v1::Menu main;
  main.set_name("main");
  main.set_language("en");
  main.add_prompts("menu-main");
  (*main.mutable_options())["1"].set_menu("account");
  (*main.mutable_options())["1"].set_language("de");
  (*main.mutable_options())["2"].mutable_queue()->set_queue("sales");
  v1::Menu account;
  account.set_name("account");
  account.add_prompts("menu-account");
  auto* c = account.mutable_collect();
  c->set_name("account");
  c->set_max_digits(6);
  auto* q = c->mutable_then()->mutable_queue();
  q->set_queue("support");
  q->set_priority(4);
  auto* billing = q->add_skills();
  billing->set_name("billing");
  billing->set_min_level(2);
  q->set_language_skill(true);
  Import({main, account}, "800");
  // Bob has waited longest but lacks the skills the menu asked for; dora has them.
  AddAgent("bob", "pw", {"support"}, 0, {{"billing", 1}});
  std::this_thread::sleep_for(milliseconds(50));
  AddAgent("dora", "pw", {"support"}, 0, {{"billing", 3}, {"de", 1}});
  const int pb = testing::FreeUdpPort(), pd = testing::FreeUdpPort();
  Bind("bob", pb);
  Bind("dora", pd);
  auto bob = Sipp("agent.xml", pb, {"-d", "200", "-mp", MediaPort()});
  auto dora = Sipp("agent_data.xml", pd, {"-d", "500", "-m", "1", "-mp", MediaPort()});
  testing::MessageCollector played(*nats_, prefix_ + ".media.prompt_finished.>");

  EXPECT_EQ(
      RunSipp("customer_menu.xml", {"-s", "800", "-d", "3000", "-m", "1", "-mp", MediaPort()}), 0);
  EXPECT_EQ(dora->wait(seconds(20)), 0) << dora->output();  // X-CC-Data checked there
  bob->signal(SIGTERM);

  ExpectScalarSoon("SELECT state FROM calls", "ENDED");
  EXPECT_EQ(Scalar("SELECT concat_ws('|', queue, priority, agent_id, array_to_string(data, ','),"
                   " array_to_string(extra_skills, ','), language) FROM calls"),
            "support|4|dora|account=345|billing:2,de:1|de");
  EXPECT_EQ(Scalar("SELECT count(*) FROM assignments WHERE agent_id = 'bob'"), "0");
  // The key cut the English menu short; the German account menu played to its end; then the
  // queue's music (which loops, so it never "finishes").
  EXPECT_EQ(Heard(played), (Lists{{"de/menu-account"}}));
  ExpectClean({"bob", "dora"});
}

// An invalid key, then silence: "not a valid choice", the menu again (its last attempt), then
// the default failure action: "goodbye" and a BYE. Nothing was ever enqueued.
TEST_F(IvrIt, AnInvalidKeyThenSilenceEndInTheMenusFailureAction) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  v1::Menu main;
  main.set_name("main");
  main.add_prompts("menu-main");
  main.set_max_attempts(2);
  main.mutable_timeout()->set_seconds(2);
  (*main.mutable_options())["1"].mutable_queue()->set_queue("sales");
  Import({main}, "801");
  testing::MessageCollector played(*nats_, prefix_ + ".media.prompt_finished.>");

  EXPECT_EQ(RunSipp("customer_menu_fail.xml", {"-s", "801", "-m", "1", "-mp", MediaPort()}), 0);

  EXPECT_EQ(Heard(played), (Lists{{"en/menu-invalid"}, {"en/menu-main"}, {"en/goodbye"}}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM calls"), "0");
  ExpectClean({});
}

// A key sent as SIP INFO (application/dtmf-relay) chooses a transfer: the caller is referred
// to the URI (REFER), says the new call is up (NOTIFY with a sipfrag 200), and the edge hangs up.
TEST_F(IvrIt, ASipInfoKeyTransfersTheCallerByRefer) {
  AddQueue("sales", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  v1::Menu main;
  main.set_name("main");
  main.add_prompts("menu-main");
  (*main.mutable_options())["1"].mutable_queue()->set_queue("sales");
  (*main.mutable_options())["*"].set_transfer_uri("sip:operator@pbx.example.invalid");
  Import({main}, "802");

  EXPECT_EQ(RunSipp("customer_menu_refer.xml", {"-s", "802", "-m", "1", "-mp", MediaPort()}), 0);

  EXPECT_EQ(Scalar("SELECT count(*) FROM calls"), "0");
  ExpectClean({});
}

// A closed queue whose closed action is a redirect: the closed prompt as early media, then
// 302 to the URI; nothing enqueued.
TEST_F(IvrIt, AClosedQueueRedirectsTheCallerAfterItsAnnouncement) {
  AddQueue("night", v1::ANSWER_MODE_RING_UNTIL_AGENT);
  v1::UpdateQueueRequest req;
  req.mutable_queue()->set_name("night");
  auto* h = req.mutable_queue()->mutable_opening_hours();
  h->set_time_zone("Europe/Berlin");
  h->add_weekly("mon-sun closed");
  h->set_closed_uri("sip:night-desk@pbx.example.invalid");
  req.add_update_mask("opening_hours");
  v1::QueueResponse resp;
  auto st = queues_->UpdateQueue(Ctx().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  testing::MessageCollector played(*nats_, prefix_ + ".media.prompt_finished.>");

  EXPECT_EQ(RunSipp("customer_redirected.xml", {"-s", "night", "-m", "1", "-mp", MediaPort()}), 0);

  EXPECT_EQ(Heard(played), (Lists{{"en/closed"}}));
  EXPECT_EQ(Scalar("SELECT count(*) FROM calls"), "0");
  ExpectClean({});
}

}  // namespace
}  // namespace cc
