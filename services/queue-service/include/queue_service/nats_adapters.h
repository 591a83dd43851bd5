#pragma once

#include <atomic>

#include "common/nats.h"
#include "queue_service/edge_orders.h"
#include "queue_service/engine.h"

namespace cc::queue {

// Offers go to <prefix>.edge.<edge_id>.offer as a request; the edge answers an OfferAck.
class NatsOfferChannel final : public OfferChannel {
 public:
  NatsOfferChannel(NatsClient& nats, std::string emitter, Duration ack_timeout)
      : nats_(nats), emitter_(std::move(emitter)), ack_timeout_(ack_timeout) {}
  Status deliver(const Offer& offer) override;
  static std::string Subject(NatsClient& nats, const std::string& edge_id);

 private:
  NatsClient& nats_;
  std::string emitter_;
  Duration ack_timeout_;
};

// Orders about a connected call go to the edge holding it as requests: monitoring to
// <prefix>.edge.<edge_id>.monitor (MonitorAck), recording to <prefix>.edge.<edge_id>.record
// (RecordAck).
class NatsEdgeOrders final : public EdgeOrders {
 public:
  NatsEdgeOrders(NatsClient& nats, std::string emitter, Duration ack_timeout)
      : nats_(nats), emitter_(std::move(emitter)), ack_timeout_(ack_timeout) {}
  Status deliver(const MonitorOrder& order) override;
  Status deliver(const RecordOrder& order) override;

 private:
  NatsClient& nats_;
  std::string emitter_;
  Duration ack_timeout_;
};

// Events: <prefix>.call.<kind>.<queue> (CallEvent), and for what ends or moves a call also
// <prefix>.edge.<edge>.call.<kind> for the edge that holds it; <prefix>.agent.status.<agent>
// (AgentStatusChanged, as the registry publishes them) and <prefix>.queue.stats.<queue>.
class NatsEventPublisher final : public EventPublisher {
 public:
  NatsEventPublisher(NatsClient& nats, std::string emitter)
      : nats_(nats), emitter_(std::move(emitter)) {}
  void call_event(const CallEvent& e) override;
  void agent_changed(const AgentChange& c) override;
  void queue_stats(const QueueStats& s) override;
  std::uint64_t failures() const { return failures_.load(); }

 private:
  void send(const std::string& subject, const std::string& payload);
  NatsClient& nats_;
  std::string emitter_;
  std::atomic<std::uint64_t> failures_{0};
};

std::string_view EventName(CallEventKind k);  // "enqueued", "offered", ...

}  // namespace cc::queue
