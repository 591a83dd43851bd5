#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "callcenter/v1/events.pb.h"
#include "callcenter/v1/queue_service.grpc.pb.h"
#include "common/nats.h"

namespace cc::testing {

// Stands in for a signaling-edge: answers offers for its edge id on NATS (acknowledging them,
// or refusing them when told to) and hands each one to `on_offer` on its own worker thread,
// so handlers may block on gRPC. Thread-safe.
class FakeEdge {
 public:
  using OfferHandler = std::function<void(const callcenter::v1::Offer&)>;
  FakeEdge(NatsClient& nats, std::string edge_id, OfferHandler on_offer = nullptr, int workers = 2);
  ~FakeEdge();

  const std::string& id() const { return id_; }
  std::vector<callcenter::v1::Offer> offers() const;
  bool wait_for_offers(size_t n, std::chrono::milliseconds timeout) const;
  void set_ack(bool ack) { ack_ = ack; }              // false: refuse offers
  void set_silent(bool silent) { silent_ = silent; }  // true: never answer (lost message)

 private:
  void worker();
  NatsClient& nats_;
  std::string id_;
  OfferHandler on_offer_;
  std::atomic<bool> ack_{true}, silent_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<callcenter::v1::Offer> offers_;
  std::deque<callcenter::v1::Offer> pending_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  NatsSubscription sub_;
};

}  // namespace cc::testing
