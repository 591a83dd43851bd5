#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/status.h"

namespace cc {

// The process's Prometheus registry and its /metrics endpoint. Thread-safe (prometheus-cpp
// metrics are). Metric names start with "cc_".
class Metrics {
 public:
  // Binds the HTTP exposer at "host:port" (port 0 picks a free one); empty = no endpoint.
  static Result<std::unique_ptr<Metrics>> Start(const std::string& listen);
  prometheus::Registry& registry() { return *registry_; }
  int port() const;

 private:
  Metrics() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Buckets for request latencies: 0.5 ms .. 10 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets();

// Server-side gRPC metrics: cc_grpc_server_handled_total{method,code} and
// cc_grpc_server_handling_seconds{method}. Thread-safe.
class GrpcMetrics {
 public:
  GrpcMetrics(prometheus::Registry& registry, const std::string& service);
  void observe(const std::string& method, const std::string& code, double seconds);
  const std::string& service() const { return service_; }

 private:
  std::string service_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& latency_;
  std::mutex mu_;
  std::map<std::string, prometheus::Histogram*> latency_by_method_;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> handled_by_code_;
};

}  // namespace cc
