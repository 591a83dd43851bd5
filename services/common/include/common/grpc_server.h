#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/api_auth.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"

namespace cc {

grpc::StatusCode ToGrpcCode(ErrorCode code);
// "OK", "INVALID_ARGUMENT", ... as gRPC names them.
const char* GrpcCodeName(grpc::StatusCode code);
grpc::Status ToGrpcStatus(const Error& error);
Error FromGrpcStatus(const grpc::Status& status);

// A gRPC server with grpc.health.v1 and reflection. start() fails cleanly if the address
// cannot be bound. Thread-safe after start().
class GrpcServer {
 public:
  GrpcServer(std::string listen, std::vector<grpc::Service*> services);
  ~GrpcServer();
  Status start();
  int port() const { return port_; }
  // Health of "" and every registered service name.
  void set_serving(bool serving);
  // Stops taking calls and waits up to `grace` for calls in flight, then cancels the rest.
  void shutdown(std::chrono::milliseconds grace);

 private:
  std::string listen_;
  std::vector<grpc::Service*> services_;
  std::vector<std::string> service_names_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Runs one gRPC method body once the caller's token allows it (api_auth.h): times it, counts
// it by status code, logs failures, and turns an escaped exception into INTERNAL instead of a
// crash.
template <typename F>
grpc::Status HandleRpc(const grpc::ServerContext* ctx, GrpcMetrics& metrics, const char* method,
                       F&& body) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  try {
    if (auto denied = ApiDenied(ctx, metrics.service(), method)) {
      status = *denied;
    } else {
      Status st = body();
      status = st.ok() ? grpc::Status::OK : ToGrpcStatus(st.error());
    }
  } catch (const std::exception& e) {
    log::Error("unhandled exception in rpc", {{"method", method}, {"error", e.what()}});
    status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const char* code_name = GrpcCodeName(status.error_code());
  metrics.observe(method, code_name, secs);
  if (!status.ok()) {
    const auto level = (status.error_code() == grpc::StatusCode::INTERNAL ||
                        status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                        status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                        status.error_code() == grpc::StatusCode::PERMISSION_DENIED)
                           ? log::Level::kWarn
                           : log::Level::kDebug;
    log::Write(level, "rpc failed",
               {{"method", method}, {"code", code_name}, {"error", status.error_message()}});
  }
  return status;
}

// The gRPC target for "host:port[,host:port...]": an IP as it is, a DNS name as dns:///, a
// list of IPs as ipv4:/ipv6: (targets with a scheme pass unchanged).
std::string ChannelTarget(const std::string& target);
// A client channel with sane defaults (keepalive, no proxy from the environment), balancing
// round-robin over every address of the target (`balance`), or keeping to one of them (for a
// server that holds state of its own, such as one media relay).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, bool balance = true);
// A client context with a deadline, carrying this process's API token (SetApiToken).
std::unique_ptr<grpc::ClientContext> MakeContext(std::chrono::milliseconds deadline);

}  // namespace cc
