#include "fake_edge.h"

#include <stdexcept>

namespace cc::testing {

namespace v1 = callcenter::v1;

FakeEdge::FakeEdge(NatsClient& nats, std::string edge_id, OfferHandler on_offer, int workers)
    : nats_(nats), id_(std::move(edge_id)), on_offer_(std::move(on_offer)) {
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { worker(); });
  auto sub =
      nats_.subscribe(nats_.subject("edge." + SubjectToken(id_) + ".offer"), [this](NatsMessage m) {
        v1::Offer offer;
        if (!offer.ParseFromString(m.data) || silent_) return;
        v1::OfferAck ack;
        ack.set_assignment_id(offer.assignment_id());
        ack.set_accepted(ack_);
        if (!ack_) ack.set_reason("refused by test");
        (void)nats_.publish(m.reply, ack.SerializeAsString());
        if (!ack_) return;
        std::lock_guard lock(mu_);
        offers_.push_back(offer);
        pending_.push_back(offer);
        cv_.notify_all();
      });
  if (!sub.ok()) throw std::runtime_error(sub.error().message);
  sub_ = std::move(sub).value();
  (void)nats_.flush(std::chrono::milliseconds(2000));
}

FakeEdge::~FakeEdge() {
  sub_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void FakeEdge::worker() {
  for (;;) {
    v1::Offer offer;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      offer = pending_.front();
      pending_.pop_front();
    }
    if (on_offer_) on_offer_(offer);
  }
}

std::vector<v1::Offer> FakeEdge::offers() const {
  std::lock_guard lock(mu_);
  return offers_;
}

bool FakeEdge::wait_for_offers(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return offers_.size() >= n; });
}

}  // namespace cc::testing
