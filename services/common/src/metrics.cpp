#include "common/metrics.h"

namespace cc {

Result<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  if (!listen.empty()) {
    try {
      m->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    } catch (const std::exception& e) {
      return Unavailable("cannot serve /metrics on " + listen + ": " + e.what());
    }
    m->exposer_->RegisterCollectable(m->registry_);
  }
  return m;
}

int Metrics::port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

GrpcMetrics::GrpcMetrics(prometheus::Registry& registry, const std::string& service)
    : service_(service),
      handled_(prometheus::BuildCounter()
                   .Name("cc_grpc_server_handled_total")
                   .Help("gRPC calls completed by the server, by method and status code")
                   .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("cc_grpc_server_handling_seconds")
                   .Help("Time to handle a gRPC call, by method")
                   .Register(registry)) {}

void GrpcMetrics::observe(const std::string& method, const std::string& code, double seconds) {
  prometheus::Histogram* h;
  prometheus::Counter* c;
  {
    std::lock_guard lock(mu_);
    auto& hist = latency_by_method_[method];
    if (!hist) hist = &latency_.Add({{"service", service_}, {"method", method}}, LatencyBuckets());
    h = hist;
    auto& counter = handled_by_code_[{method, code}];
    if (!counter) {
      counter = &handled_.Add({{"service", service_}, {"method", method}, {"code", code}});
    }
    c = counter;
  }
  h->Observe(seconds);
  c->Increment();
}

}  // namespace cc
