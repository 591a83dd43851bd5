#include <thread>

#include <gtest/gtest.h>

#include "common/nats.h"
#include "testing.h"

namespace cc {
namespace {

using std::chrono::milliseconds;

TEST(NatsClientTest, PublishSubscribeAndRequestReply) {
  NatsSettings s;
  s.url = testing::NatsUrl();
  s.subject_prefix = testing::UniqueSubjectPrefix();
  auto client = NatsClient::Connect(s);
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto& nats = **client;
  testing::MessageCollector got(nats, nats.subject("x.>"));
  ASSERT_TRUE(nats.publish(nats.subject("x.a"), std::string("one\0two", 7)).ok());
  ASSERT_TRUE(got.wait_for(1, milliseconds(2000)));
  EXPECT_EQ(got.messages()[0].data, std::string("one\0two", 7));
  EXPECT_EQ(got.messages()[0].subject, s.subject_prefix + ".x.a");

  auto responder = nats.subscribe(
      nats.subject("echo"), [&](NatsMessage m) { (void)nats.publish(m.reply, "re:" + m.data); });
  ASSERT_TRUE(responder.ok());
  auto reply = nats.request(nats.subject("echo"), "hi", milliseconds(2000));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->data, "re:hi");

  auto none = nats.request(nats.subject("nobody"), "hi", milliseconds(200));
  ASSERT_FALSE(none.ok());
}

// NATS is at-most-once: what a client publishes during an outage is buffered and sent after
// it reconnects (its own subscriptions are restored first, so it sees its own message).
TEST(NatsClientTest, ReconnectsAndDeliversWhatWasPublishedDuringTheOutage) {
  testing::NatsServerProcess server;
  NatsSettings s;
  s.url = server.url();
  s.reconnect_wait = milliseconds(50);
  auto client = NatsClient::Connect(s);
  ASSERT_TRUE(client.ok());
  auto& nats = **client;
  testing::MessageCollector got(nats, "cc.r");
  ASSERT_TRUE(nats.publish("cc.r", "before").ok());
  ASSERT_TRUE(got.wait_for(1, milliseconds(2000)));

  server.stop();
  ASSERT_TRUE(testing::WaitFor([&] { return !nats.connected(); }, milliseconds(5000)));
  ASSERT_TRUE(nats.publish("cc.r", "during").ok());  // buffered
  server.start();
  ASSERT_TRUE(testing::WaitFor([&] { return nats.connected(); }, milliseconds(10000)));
  ASSERT_TRUE(got.wait_for(2, milliseconds(5000)));
  EXPECT_EQ(got.messages()[1].data, "during");
  // libnats calls the reconnected callback on its own thread, possibly after the buffered
  // message was delivered (seen once in CI: counted 0 with "nats reconnected" logged).
  EXPECT_TRUE(testing::WaitFor([&] { return nats.reconnects() >= 1u; }, milliseconds(5000)));
  EXPECT_GE(nats.reconnects(), 1u);
  EXPECT_GE(nats.disconnects(), 1u);
}

TEST(NatsClientTest, StartsWithoutAServerInsteadOfFailing) {
  const int port = testing::FreePort();
  NatsSettings s;
  s.url = "nats://127.0.0.1:" + std::to_string(port);
  s.reconnect_wait = milliseconds(50);
  auto client = NatsClient::Connect(s);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_FALSE((*client)->connected());
}

}  // namespace
}  // namespace cc
