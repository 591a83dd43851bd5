#include "common/nats.h"

#include <nats/nats.h>

#include "common/log.h"

namespace cc {

void NatsConnectionDeleter::operator()(natsConnection* c) const {
  natsConnection_Close(c);
  natsConnection_Destroy(c);
}
void NatsSubscriptionDeleter::operator()(natsSubscription* s) const {
  natsSubscription_Destroy(s);
}
void NatsMsgDeleter::operator()(natsMsg* m) const {
  natsMsg_Destroy(m);
}
void NatsOptionsDeleter::operator()(natsOptions* o) const {
  natsOptions_Destroy(o);
}

namespace {

Error NatsError(const std::string& what, natsStatus s) {
  return Unavailable(what + ": " + natsStatus_GetText(s));
}

NatsMessage ToMessage(natsMsg* msg) {
  NatsMessage m;
  m.subject = natsMsg_GetSubject(msg);
  if (const char* r = natsMsg_GetReply(msg)) m.reply = r;
  if (const char* d = natsMsg_GetData(msg)) {
    m.data.assign(d, static_cast<size_t>(natsMsg_GetDataLength(msg)));
  }
  return m;
}

}  // namespace

std::string SubjectToken(std::string_view name) {
  std::string t(name);
  for (char& c : t) {
    if (c == '.') c = '~';
  }
  return t;
}

struct NatsSubscription::Closure {
  NatsClient::Handler handler;
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* raw, void* closure) {
    NatsMsgPtr msg(raw);
    auto* self = static_cast<Closure*>(closure);
    self->handler(ToMessage(msg.get()));
  }
};

NatsSubscription::NatsSubscription() = default;

NatsSubscription::NatsSubscription(NatsSubscription&& o) noexcept
    : sub_(std::move(o.sub_)), closure_(std::move(o.closure_)) {}

NatsSubscription& NatsSubscription::operator=(NatsSubscription&& o) noexcept {
  if (this != &o) {
    reset();
    sub_ = std::move(o.sub_);
    closure_ = std::move(o.closure_);
  }
  return *this;
}

NatsSubscription::~NatsSubscription() {
  reset();
}

void NatsSubscription::reset() {
  if (sub_) {
    // Drain delivers what is pending and then stops; waiting for completion guarantees that
    // no handler runs once the closure is freed. On a closed connection drain fails, and
    // nats.c delivers nothing more anyway.
    if (natsSubscription_Drain(sub_.get()) == NATS_OK) {
      natsSubscription_WaitForDrainCompletion(sub_.get(), 5000);
    } else {
      natsSubscription_Unsubscribe(sub_.get());
    }
    sub_.reset();
  }
  closure_.reset();
}

struct NatsClient::CallbackState {
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<bool> closing{false};
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
};

Result<std::unique_ptr<NatsClient>> NatsClient::Connect(const NatsSettings& settings) {
  std::unique_ptr<NatsClient> client(new NatsClient());
  client->settings_ = settings;
  natsOptions* raw_opts = nullptr;
  if (auto s = natsOptions_Create(&raw_opts); s != NATS_OK) return NatsError("nats options", s);
  NatsOptionsPtr opts(raw_opts);
  natsOptions_SetURL(opts.get(), settings.url.c_str());
  if (!settings.name.empty()) natsOptions_SetName(opts.get(), settings.name.c_str());
  natsOptions_SetAllowReconnect(opts.get(), true);
  natsOptions_SetMaxReconnect(opts.get(), -1);
  natsOptions_SetReconnectWait(opts.get(), settings.reconnect_wait.count());
  natsOptions_SetReconnectBufSize(opts.get(), settings.reconnect_buffer_bytes);
  natsOptions_SetTimeout(opts.get(), 2000);
  natsOptions_SetPingInterval(opts.get(), 5000);
  natsOptions_SetMaxPingsOut(opts.get(), 3);
  auto* state = new CallbackState();
  natsOptions_SetDisconnectedCB(
      opts.get(),
      [](natsConnection*, void* c) {
        auto* st = static_cast<CallbackState*>(c);
        if (st->closing) return;
        st->disconnects++;
        log::Warn("nats disconnected; reconnecting");
      },
      state);
  natsOptions_SetReconnectedCB(
      opts.get(),
      [](natsConnection*, void* c) {
        static_cast<CallbackState*>(c)->reconnects++;
        log::Info("nats reconnected");
      },
      state);
  natsOptions_SetClosedCB(
      opts.get(),
      [](natsConnection*, void* c) {
        auto* st = static_cast<CallbackState*>(c);
        std::lock_guard lock(st->mu);
        st->closed = true;
        st->cv.notify_all();
      },
      state);
  if (settings.wait_for_server) {
    natsOptions_SetRetryOnFailedConnect(
        opts.get(), true, [](natsConnection*, void*) { log::Info("nats connected"); }, state);
  }
  natsConnection* conn = nullptr;
  natsStatus s = natsConnection_Connect(&conn, opts.get());
  if (s == NATS_NOT_YET_CONNECTED) {
    log::Warn("nats server not reachable yet; will keep trying", {{"url", settings.url}});
  } else if (s != NATS_OK) {
    delete state;  // no connection, so no callback can come
    return NatsError("nats connect to " + settings.url, s);
  }
  client->conn_.reset(conn);
  client->callbacks_ = state;
  return client;
}

NatsClient::~NatsClient() {
  if (!conn_) return;
  callbacks_->closing = true;
  if (natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED) {
    natsConnection_FlushTimeout(conn_.get(), 1000);
  }
  natsConnection_Close(conn_.get());
  // The closed callback is the last one nats.c delivers for a connection: after it, the
  // callback state may go. If it never comes, keep the state alive rather than risk a
  // callback on freed memory.
  bool closed;
  {
    std::unique_lock lock(callbacks_->mu);
    closed =
        callbacks_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return callbacks_->closed; });
  }
  conn_.reset();
  if (closed) delete callbacks_;
}

std::uint64_t NatsClient::reconnects() const {
  return callbacks_->reconnects.load();
}
std::uint64_t NatsClient::disconnects() const {
  return callbacks_->disconnects.load();
}

std::string NatsClient::subject(std::string_view suffix) const {
  std::string s = settings_.subject_prefix;
  s.push_back('.');
  s.append(suffix);
  return s;
}

Status NatsClient::publish(const std::string& subject, std::string_view data) {
  natsStatus s = natsConnection_Publish(conn_.get(), subject.c_str(), data.data(),
                                        static_cast<int>(data.size()));
  if (s != NATS_OK) return NatsError("nats publish " + subject, s);
  return OkStatus();
}

Result<NatsSubscription> NatsClient::subscribe(const std::string& subject, Handler handler,
                                               const std::string& queue_group) {
  NatsSubscription out;
  out.closure_ = std::make_unique<NatsSubscription::Closure>();
  out.closure_->handler = std::move(handler);
  natsSubscription* sub = nullptr;
  natsStatus s =
      queue_group.empty()
          ? natsConnection_Subscribe(&sub, conn_.get(), subject.c_str(),
                                     &NatsSubscription::Closure::OnMessage, out.closure_.get())
          : natsConnection_QueueSubscribe(&sub, conn_.get(), subject.c_str(), queue_group.c_str(),
                                          &NatsSubscription::Closure::OnMessage,
                                          out.closure_.get());
  if (s != NATS_OK) return NatsError("nats subscribe " + subject, s);
  out.sub_.reset(sub);
  return out;
}

Result<NatsMessage> NatsClient::request(const std::string& subject, std::string_view data,
                                        std::chrono::milliseconds timeout) {
  natsMsg* reply = nullptr;
  natsStatus s = natsConnection_Request(&reply, conn_.get(), subject.c_str(), data.data(),
                                        static_cast<int>(data.size()), timeout.count());
  if (s == NATS_TIMEOUT) {
    return Error{ErrorCode::kDeadlineExceeded, "nats request " + subject + ": no reply"};
  }
  if (s != NATS_OK) return NatsError("nats request " + subject, s);
  NatsMsgPtr msg(reply);
  return ToMessage(msg.get());
}

Status NatsClient::flush(std::chrono::milliseconds timeout) {
  natsStatus s = natsConnection_FlushTimeout(conn_.get(), timeout.count());
  if (s != NATS_OK) return NatsError("nats flush", s);
  return OkStatus();
}

bool NatsClient::connected() const {
  return natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace cc
