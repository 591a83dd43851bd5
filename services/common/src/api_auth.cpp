#include "common/api_auth.h"

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

namespace cc {
namespace {

constexpr std::size_t kMinTokenLength = 16;

// Methods by the roles that may call them (admin: all but those kept for the edge alone).
const std::set<std::string_view> kReadOnly = {
    "GetAgent",      "ListAgents", "ListBindings",   "GetQueue",      "ListQueues",
    "ListDialplan",  "GetCall",    "ListCalls",      "ListMembers",   "GetQueueStats",
    "ResolveDialed", "GetLeg",     "ListLegs",       "ListLiveCalls", "Stats",
    "GetMenu",       "ListMenus",  "ListSupervisors"};
const std::set<std::string_view> kSupervisor = {"Login",        "Logout",       "Pause",
                                                "Unpause",      "ChangeStatus", "SetMember",
                                                "RemoveMember", "CancelCall",   "TransferCall"};
const std::set<std::string_view> kEdgeOnly = {"GetCredentials"};
// service/method the edge calls on the other services.
const std::set<std::pair<std::string_view, std::string_view>> kEdge = {
    {"agent-registry", "RegisterBinding"},
    {"agent-registry", "UnregisterBinding"},
    {"agent-registry", "ListBindings"},
    {"agent-registry", "GetCredentials"},
    {"queue-service", "Enqueue"},
    {"queue-service", "CancelCall"},
    {"queue-service", "EdgeHeartbeat"},
    {"queue-service", "GetCall"},  // a waiting caller's position, for announcements
    {"queue-service", "RequestCallback"},
    {"queue-service", "TransferCall"},  // an agent's phone transfers its call (REFER)
    {"queue-service", "ReportMonitor"},
    {"queue-service", "ReportRecording"},
    {"media-relay", "PauseRecording"},
    {"queue-service", "ReportConnected"},
    {"queue-service", "ReportFailed"},
    {"queue-service", "ReportEnded"},
    {"queue-service", "ResolveDialed"},
    {"media-relay", "CreateLeg"},
    {"media-relay", "UpdateLeg"},
    {"media-relay", "ConnectLeg"},
    {"media-relay", "Bridge"},
    {"media-relay", "Unbridge"},
    {"media-relay", "SetMix"},
    {"media-relay", "EdgeLegs"},
    {"media-relay", "Play"},
    {"media-relay", "StopPlay"},
    {"media-relay", "StartRecording"},
    {"media-relay", "StopRecording"},
    {"media-relay", "ReleaseLeg"},
    {"media-relay", "GetLeg"},
    {"media-relay", "ListLegs"}};

std::optional<ApiRole> RoleNamed(std::string_view name) {
  for (ApiRole r : {ApiRole::kReadOnly, ApiRole::kSupervisor, ApiRole::kAdmin, ApiRole::kEdge}) {
    if (name == ToString(r)) return r;
  }
  return std::nullopt;
}

std::mutex g_mu;
std::shared_ptr<const std::map<std::string, ApiIdentity>> g_tokens;  // null: open
std::shared_ptr<const std::string> g_own_token = std::make_shared<const std::string>();

}  // namespace

const char* ToString(ApiRole role) {
  switch (role) {
    case ApiRole::kReadOnly:
      return "read-only";
    case ApiRole::kSupervisor:
      return "supervisor";
    case ApiRole::kAdmin:
      return "admin";
    case ApiRole::kEdge:
      return "edge";
  }
  return "read-only";
}

Result<std::map<std::string, ApiIdentity>> ParseApiTokens(const std::string& text) {
  std::map<std::string, ApiIdentity> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto hash = line.find('#');
    std::istringstream fields(line.substr(0, hash));
    std::string role, name, token, extra;
    if (!(fields >> role)) continue;  // blank or comment
    const std::string where = "line " + std::to_string(n) + ": ";
    if (!(fields >> name >> token) || (fields >> extra)) {
      return InvalidArgument(where + "expected ROLE NAME TOKEN");
    }
    const auto r = RoleNamed(role);
    if (!r) {
      return InvalidArgument(where + "unknown role '" + role +
                             "' (admin, supervisor, read-only or edge)");
    }
    if (token.size() < kMinTokenLength) {
      return InvalidArgument(where + "token shorter than " + std::to_string(kMinTokenLength) +
                             " characters");
    }
    if (!out.emplace(token, ApiIdentity{name, *r}).second) {
      return InvalidArgument(where + "this token is given twice");
    }
  }
  if (out.empty()) return InvalidArgument("no tokens");
  return out;
}

Result<std::map<std::string, ApiIdentity>> ReadApiTokens(const std::string& path) {
  std::ifstream f(path);
  if (!f) return InvalidArgument("cannot read " + path);
  std::stringstream text;
  text << f.rdbuf();
  auto tokens = ParseApiTokens(text.str());
  if (!tokens.ok()) return InvalidArgument(path + ": " + tokens.error().message);
  return tokens;
}

bool ApiRoleAllows(ApiRole role, std::string_view service, std::string_view method) {
  switch (role) {
    case ApiRole::kEdge:
      return kEdge.count({service, method}) > 0;
    case ApiRole::kAdmin:
      return kEdgeOnly.count(method) == 0;
    case ApiRole::kSupervisor:
      return kSupervisor.count(method) > 0 || kReadOnly.count(method) > 0;
    case ApiRole::kReadOnly:
      return kReadOnly.count(method) > 0;
  }
  return false;
}

void SetApiTokens(std::map<std::string, ApiIdentity> tokens) {
  auto t = std::make_shared<const std::map<std::string, ApiIdentity>>(std::move(tokens));
  std::lock_guard lock(g_mu);
  g_tokens = std::move(t);
}

bool ApiAuthEnabled() {
  std::lock_guard lock(g_mu);
  return g_tokens != nullptr;
}

namespace {

std::shared_ptr<const std::map<std::string, ApiIdentity>> Tokens() {
  std::lock_guard lock(g_mu);
  return g_tokens;
}

// The bearer token of the call ("" when it has none).
std::string BearerToken(const grpc::ServerContext* ctx) {
  if (ctx == nullptr) return "";
  const auto& md = ctx->client_metadata();
  const auto it = md.find("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (it == md.end() || it->second.size() <= kBearer.size() ||
      std::string_view(it->second.data(), kBearer.size()) != kBearer) {
    return "";
  }
  return std::string(it->second.data() + kBearer.size(), it->second.size() - kBearer.size());
}

}  // namespace

std::optional<grpc::Status> ApiDenied(const grpc::ServerContext* ctx, std::string_view service,
                                      std::string_view method) {
  const auto tokens = Tokens();
  if (!tokens) return std::nullopt;
  if (ctx == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "a bearer token is required");
  }
  const std::string token = BearerToken(ctx);
  if (token.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "a bearer token is required (authorization: Bearer TOKEN)");
  }
  const auto who = tokens->find(token);
  if (who == tokens->end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
  }
  if (!ApiRoleAllows(who->second.role, service, method)) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "'" + who->second.name + "' (" + ToString(who->second.role) +
                            ") may not call " + std::string(method) + " of " +
                            std::string(service));
  }
  return std::nullopt;
}

std::string ApiCallerName(const grpc::ServerContext* ctx) {
  const auto tokens = Tokens();
  if (!tokens) return "";
  const auto who = tokens->find(BearerToken(ctx));
  return who == tokens->end() ? "" : who->second.name;
}

void SetApiToken(std::string token) {
  auto t = std::make_shared<const std::string>(std::move(token));
  std::lock_guard lock(g_mu);
  g_own_token = std::move(t);
}

void AddApiToken(grpc::ClientContext& ctx) {
  std::shared_ptr<const std::string> token;
  {
    std::lock_guard lock(g_mu);
    token = g_own_token;
  }
  if (!token->empty()) ctx.AddMetadata("authorization", "Bearer " + *token);
}

}  // namespace cc
