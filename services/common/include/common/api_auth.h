#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "common/status.h"

namespace cc {

// Who may call the gRPC APIs: bearer tokens, each an identity with a role.
//   read-only   Get*, List*, stats
//   supervisor  read-only, plus agents' state (login, pause, ...), queue members, cancel a call
//   admin       everything but reading credentials (GetCredentials)
//   edge        what signaling-edge calls on the others: bindings and credentials, enqueue,
//               reports and heartbeats, relay legs
// grpc.health.v1 stays open (probes). With no tokens configured the APIs are open, and every
// service says so loudly at start.
enum class ApiRole { kReadOnly, kSupervisor, kAdmin, kEdge };
const char* ToString(ApiRole role);

struct ApiIdentity {
  std::string name;
  ApiRole role = ApiRole::kReadOnly;
};

// A tokens file: one identity per line, "ROLE NAME TOKEN" (blank lines and # comments
// skipped); tokens at least 16 characters, each once. Errors name the line.
Result<std::map<std::string, ApiIdentity>> ParseApiTokens(const std::string& text);
Result<std::map<std::string, ApiIdentity>> ReadApiTokens(const std::string& path);

bool ApiRoleAllows(ApiRole role, std::string_view service, std::string_view method);

// The tokens this process accepts (process-wide; set once at start). Not called: open.
void SetApiTokens(std::map<std::string, ApiIdentity> tokens);
bool ApiAuthEnabled();
// UNAUTHENTICATED (no or unknown bearer token) or PERMISSION_DENIED (the role may not call
// `method` of `service`, e.g. "agent-registry", "GetCredentials"); nullopt: allowed.
std::optional<grpc::Status> ApiDenied(const grpc::ServerContext* ctx, std::string_view service,
                                      std::string_view method);

// The name of the identity whose token the call carries ("" when tokens are off or none).
std::string ApiCallerName(const grpc::ServerContext* ctx);

// The token this process sends on its own calls (process-wide; "" sends none).
void SetApiToken(std::string token);
void AddApiToken(grpc::ClientContext& ctx);

}  // namespace cc
