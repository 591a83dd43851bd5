#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __natsOptions;

namespace cc {

// Exactly one owner per nats.c handle: each is a unique_ptr whose deleter destroys it.
struct NatsConnectionDeleter {
  void operator()(__natsConnection* c) const;
};
struct NatsSubscriptionDeleter {
  void operator()(__natsSubscription* s) const;
};
struct NatsMsgDeleter {
  void operator()(__natsMsg* m) const;
};
struct NatsOptionsDeleter {
  void operator()(__natsOptions* o) const;
};
using NatsConnectionPtr = std::unique_ptr<__natsConnection, NatsConnectionDeleter>;
using NatsSubscriptionPtr = std::unique_ptr<__natsSubscription, NatsSubscriptionDeleter>;
using NatsMsgPtr = std::unique_ptr<__natsMsg, NatsMsgDeleter>;
using NatsOptionsPtr = std::unique_ptr<__natsOptions, NatsOptionsDeleter>;

struct NatsMessage {
  std::string subject;
  std::string reply;  // empty unless the sender expects an answer
  std::string data;
};

struct NatsSettings {
  std::string url = "nats://127.0.0.1:4222";
  std::string name;  // connection name shown by the server
  std::string subject_prefix = "cc";
  int reconnect_buffer_bytes = 8 * 1024 * 1024;  // publishes kept while reconnecting
  std::chrono::milliseconds reconnect_wait{250};
  bool wait_for_server = true;  // start even if the server is not up yet; keep retrying
};

class NatsClient;

// A name (agent id, queue, edge id) as one subject token: '.' would split it into two, so it
// is written '~' (a character none of those names may contain).
std::string SubjectToken(std::string_view name);

// A live subscription. Destroying it drains the subscription and waits until no handler is
// running, so the handler may safely capture objects that outlive only this Subscription.
class NatsSubscription {
 public:
  NatsSubscription();
  NatsSubscription(NatsSubscription&&) noexcept;
  NatsSubscription& operator=(NatsSubscription&&) noexcept;
  ~NatsSubscription();
  void reset();
  explicit operator bool() const { return sub_ != nullptr; }

 private:
  friend class NatsClient;
  struct Closure;
  NatsSubscriptionPtr sub_;
  std::unique_ptr<Closure> closure_;
};

// One NATS connection with reconnect-forever and a publish buffer during outages.
// Thread-safe (nats.c connections are). Handlers run on nats.c's delivery threads: they
// should only hand the message over to their owner's loop.
class NatsClient {
 public:
  using Handler = std::function<void(NatsMessage)>;

  static Result<std::unique_ptr<NatsClient>> Connect(const NatsSettings& settings);
  ~NatsClient();

  // Prefixed subject: subject("agent.status.x") == "cc.agent.status.x".
  std::string subject(std::string_view suffix) const;

  Status publish(const std::string& subject, std::string_view data);
  Result<NatsSubscription> subscribe(const std::string& subject, Handler handler,
                                     const std::string& queue_group = "");
  Result<NatsMessage> request(const std::string& subject, std::string_view data,
                              std::chrono::milliseconds timeout);
  Status flush(std::chrono::milliseconds timeout);
  bool connected() const;
  std::uint64_t reconnects() const;
  std::uint64_t disconnects() const;

 private:
  // What nats.c's connection callbacks touch. They run on nats.c's own thread, possibly
  // after a close was requested, so this outlives the client until the closed callback.
  struct CallbackState;
  NatsClient() = default;
  NatsSettings settings_;
  NatsConnectionPtr conn_;
  CallbackState* callbacks_ = nullptr;
};

}  // namespace cc
