#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/config.h"
#include "common/grpc_server.h"

namespace cc {
namespace {

Config Make() {
  Config c("test");
  c.add_string("name", "default-name", "a name");
  c.add_int("count", 3, "a count", 1, 10);
  c.add_bool("flag", false, "a flag");
  c.add_duration("wait", Duration{1000}, "a wait", Duration{10}, Duration{60'000});
  c.add_host_port("listen", "127.0.0.1:5000", "an address");
  return c;
}

TEST(ConfigTest, DefaultsWhenNothingGiven) {
  Config c = Make();
  ASSERT_TRUE(c.parse({}, {}).ok());
  EXPECT_EQ(c.str("name"), "default-name");
  EXPECT_EQ(c.integer("count"), 3);
  EXPECT_FALSE(c.boolean("flag"));
  EXPECT_EQ(c.duration("wait").count(), 1000);
  EXPECT_EQ(c.source("count"), "default");
}

TEST(ConfigTest, FlagsBeatEnvironmentWhichBeatsFile) {
  const std::string path = ::testing::TempDir() + "/cfg_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\nname = from-file\ncount = 4\nwait = 2s\n";
  }
  Config c = Make();
  auto st = c.parse({"--config", path, "--count=7", "--flag"},
                    {{"CC_NAME", "from-env"}, {"CC_COUNT", "5"}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.str("name"), "from-env");
  EXPECT_EQ(c.integer("count"), 7);
  EXPECT_TRUE(c.boolean("flag"));
  EXPECT_EQ(c.duration("wait").count(), 2000);
  EXPECT_EQ(c.source("wait").rfind("file", 0), 0u);
  EXPECT_EQ(c.source("count"), "flag --count");
  std::remove(path.c_str());
}

TEST(ConfigTest, ErrorsNameTheOptionTheSourceAndTheProblem) {
  {
    Config c = Make();
    auto st = c.parse({"--count=11"}, {});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("count"), std::string::npos);
    EXPECT_NE(st.error().message.find("between 1 and 10"), std::string::npos);
  }
  {
    Config c = Make();
    auto st = c.parse({}, {{"CC_WAIT", "soon"}});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("env CC_WAIT"), std::string::npos);
  }
  {
    Config c = Make();
    auto st = c.parse({"--listen=localhost"}, {});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("host:port"), std::string::npos);
  }
  {
    Config c = Make();
    auto st = c.parse({"--nope=1"}, {});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("unknown option"), std::string::npos);
  }
  {
    Config c = Make();
    EXPECT_FALSE(c.parse({"--flag=maybe"}, {}).ok());
    Config d = Make();
    EXPECT_FALSE(d.parse({"stray"}, {}).ok());
    Config e = Make();
    EXPECT_FALSE(e.parse({"--config", "/nonexistent/file"}, {}).ok());
  }
}

TEST(ConfigTest, HelpListsEveryOptionWithItsEnvironmentName) {
  Config c = Make();
  ASSERT_TRUE(c.parse({"--help"}, {}).ok());
  EXPECT_TRUE(c.help_requested());
  const std::string h = c.help();
  EXPECT_NE(h.find("--count"), std::string::npos);
  EXPECT_NE(h.find("CC_COUNT"), std::string::npos);
}

TEST(ConfigTest, ParsesDurationsAndAddresses) {
  EXPECT_EQ(Config::ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(Config::ParseDuration("3m")->count(), 180000);
  EXPECT_EQ(Config::ParseDuration("1h")->count(), 3600000);
  EXPECT_FALSE(Config::ParseDuration("ms"));
  EXPECT_FALSE(Config::ParseDuration("5 s"));
  // Found by fuzz_config (tests/fuzz/regressions/fuzz_config/duration-overflow).
  EXPECT_FALSE(Config::ParseDuration("86666666666666666s"));
  EXPECT_FALSE(Config::ParseDuration("9223372036854775807h"));
  EXPECT_EQ(Config::ParseDuration("9223372036854775807ms")->count(), 9223372036854775807);
  auto hp = Config::ParseHostPort("[::1]:5060");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 5060);
  EXPECT_FALSE(Config::ParseHostPort("host:99999"));
}

TEST(ConfigTest, AListOfReplicasTakesIpsOrOneName) {
  auto parse = [](const std::string& v) {
    Config c("t");
    c.add_host_port_list("replicas", "127.0.0.1:1", "help");
    return c.parse({"--replicas=" + v}, {});
  };
  EXPECT_TRUE(parse("10.0.0.1:50052").ok());
  EXPECT_TRUE(parse("10.0.0.1:50052, 10.0.0.2:50052").ok());
  EXPECT_TRUE(parse("queue.svc.cluster.local:50052").ok());
  EXPECT_FALSE(parse("a.example:1,b.example:1").ok());  // names in a list
  EXPECT_FALSE(parse("10.0.0.1").ok());                 // no port
  EXPECT_FALSE(parse("10.0.0.1:0").ok());
  EXPECT_EQ(Config::SplitList(" a:1 ,, b:2 "), (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(ConfigTest, ChannelTargetsBalanceOverEveryReplica) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:50052"), "127.0.0.1:50052");
  EXPECT_EQ(ChannelTarget("queue-service:50052"), "dns:///queue-service:50052");
  EXPECT_EQ(ChannelTarget("10.0.0.1:1,10.0.0.2:2"), "ipv4:10.0.0.1:1,10.0.0.2:2");
  EXPECT_EQ(ChannelTarget("dns:///x:1"), "dns:///x:1");
}

}  // namespace
}  // namespace cc
