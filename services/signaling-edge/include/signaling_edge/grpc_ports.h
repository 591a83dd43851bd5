#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "common/clock.h"
#include "signaling_edge/ports.h"
#include "signaling_edge/relay_pool.h"

// The ports on gRPC: asynchronous calls with a deadline whose completions are posted to the
// SIP loop. Only these files (grpc_ports.cpp) know the generated protobuf types.
namespace cc::edge {

class SipLoop;

// Calls under way, so that shutdown can wait for their completions before the objects they
// reach go away. Thread-safe.
using RpcCounter = std::shared_ptr<std::atomic<int>>;

std::unique_ptr<QueuePort> MakeQueuePort(std::shared_ptr<grpc::Channel> channel, SipLoop& loop,
                                         Duration timeout, RpcCounter inflight);
std::unique_ptr<RegistryPort> MakeRegistryPort(std::shared_ptr<grpc::Channel> channel,
                                               SipLoop& loop, Duration timeout,
                                               RpcCounter inflight);
// A client of one media-relay at `address`, for the relay pool; legs are created with
// `edge_id` as their owner.
std::unique_ptr<RelayClient> MakeRelayClient(const std::string& address, const std::string& edge_id,
                                             SipLoop& loop, Duration timeout, RpcCounter inflight);

}  // namespace cc::edge
