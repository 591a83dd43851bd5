#include "common/grpc_server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>

#include "common/config.h"

namespace cc {

grpc::StatusCode ToGrpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case ErrorCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kAborted:
      return grpc::StatusCode::ABORTED;
    case ErrorCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kDeadlineExceeded:
      return grpc::StatusCode::DEADLINE_EXCEEDED;
    case ErrorCode::kInternal:
      return grpc::StatusCode::INTERNAL;
    case ErrorCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
  }
  return grpc::StatusCode::INTERNAL;
}

const char* GrpcCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return (i >= 0 && i <= 16) ? kNames[i] : "UNKNOWN";
}

grpc::Status ToGrpcStatus(const Error& error) {
  return grpc::Status(ToGrpcCode(error.code), error.message);
}

Error FromGrpcStatus(const grpc::Status& status) {
  ErrorCode code;
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      code = ErrorCode::kInvalidArgument;
      break;
    case grpc::StatusCode::NOT_FOUND:
      code = ErrorCode::kNotFound;
      break;
    case grpc::StatusCode::ALREADY_EXISTS:
      code = ErrorCode::kAlreadyExists;
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      code = ErrorCode::kFailedPrecondition;
      break;
    case grpc::StatusCode::ABORTED:
      code = ErrorCode::kAborted;
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = ErrorCode::kResourceExhausted;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = ErrorCode::kDeadlineExceeded;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      code = ErrorCode::kPermissionDenied;
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
      code = ErrorCode::kUnavailable;
      break;
    default:
      code = ErrorCode::kInternal;
  }
  return Error{code, status.error_message()};
}

GrpcServer::GrpcServer(std::string listen, std::vector<grpc::Service*> services)
    : listen_(std::move(listen)), services_(std::move(services)) {}

GrpcServer::~GrpcServer() {
  if (server_) shutdown(std::chrono::milliseconds(0));
}

Status GrpcServer::start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  // The sync server starts a thread whenever fewer than MIN_POLLERS threads wait for work and
  // ends a thread that finds more than MAX_POLLERS waiting. With its defaults (1 and 2) and
  // handlers that wait (for a database connection or a group commit), threads were started
  // and ended by the thousand per second under load: stacks mapped and unmapped, thread
  // locals rebuilt. Idle threads cost only memory, so many are kept.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 128);
  for (auto* s : services_) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return Unavailable("cannot listen for gRPC on " + listen_ + " (address in use or invalid)");
  }
  set_serving(true);
  return OkStatus();
}

void GrpcServer::set_serving(bool serving) {
  if (!server_) return;
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  set_serving(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

std::string ChannelTarget(const std::string& target) {
  for (const char* scheme : {"dns:", "ipv4:", "ipv6:", "unix:"}) {
    if (target.rfind(scheme, 0) == 0) return target;
  }
  const auto items = Config::SplitList(target);
  if (items.empty()) return target;
  auto is_ip = [](const std::string& item, int family) {
    auto hp = Config::ParseHostPort(item);
    if (!hp) return false;
    std::uint8_t buf[16];
    return inet_pton(family, hp->first.c_str(), buf) == 1;
  };
  if (items.size() == 1) {
    // An IP as it is; a name through DNS, every address it resolves to a replica.
    if (is_ip(items[0], AF_INET) || is_ip(items[0], AF_INET6)) return items[0];
    return "dns:///" + items[0];
  }
  const bool v4 = std::all_of(items.begin(), items.end(),
                              [&](const std::string& i) { return is_ip(i, AF_INET); });
  std::string out = v4 ? "ipv4:" : "ipv6:";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, bool balance) {
  grpc::ChannelArguments args;
  // Calls spread over every replica the target names; a replica that dies leaves the
  // rotation when its connection fails.
  args.SetLoadBalancingPolicyName(balance ? "round_robin" : "pick_first");
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(ChannelTarget(target), grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> MakeContext(std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  AddApiToken(*ctx);
  return ctx;
}

}  // namespace cc
