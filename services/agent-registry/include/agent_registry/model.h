#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/agent_status.h"
#include "common/clock.h"

// The agent-registry's domain vocabulary. No protobuf here: adapters convert at the edge.
namespace cc::registry {

struct Skill {
  std::string name;
  int level = 1;  // 1..10
  bool operator==(const Skill&) const = default;
};

struct Membership {
  std::string queue;
  int position = 0;
  bool operator==(const Membership&) const = default;
};

enum class Transport { kUdp, kTcp, kTls };
std::string_view ToString(Transport t);
std::optional<Transport> TransportFromString(std::string_view s);

struct Agent {
  std::string id;
  std::string display_name;
  std::string sip_username;
  std::string realm;
  std::string ha1;  // never leaves the service except through the credentials call
  std::vector<Skill> skills;
  int max_calls = 1;
  int wrap_up_seconds = 0;
  std::vector<Membership> queues;
  AgentStatus status = AgentStatus::kLoggedOut;
  std::string pause_reason;
  TimePoint status_changed_at{};
  int binding_count = 0;  // unexpired bindings
  bool routable() const { return binding_count > 0; }
  std::int64_t version = 0;
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct Binding {
  std::int64_t id = 0;
  std::string agent_id;
  std::string contact_uri;
  std::string contact_host;
  int contact_port = 0;
  Transport transport = Transport::kUdp;
  std::string source_address;
  int source_port = 0;
  std::string user_agent;
  std::string registrar_id;
  std::string sip_call_id;
  std::uint32_t cseq = 0;
  TimePoint expires_at{};
  TimePoint registered_at{};
  TimePoint updated_at{};
};

struct Credentials {
  std::string agent_id;
  std::string sip_username;
  std::string realm;
  std::string ha1;
};

// What create() takes: exactly one of password / ha1.
struct NewAgent {
  std::string id;
  std::string display_name;
  std::string sip_username;
  std::string password;
  std::string ha1;
  std::vector<Skill> skills;
  int max_calls = 0;  // 0 = default (1)
  std::optional<int> wrap_up_seconds;
  std::vector<Membership> queues;
};

// What update() takes: present fields change, absent ones stay.
struct AgentUpdate {
  std::string id;
  std::optional<std::string> display_name;
  std::optional<std::string> password;
  std::optional<std::string> ha1;
  std::optional<std::vector<Skill>> skills;
  std::optional<int> max_calls;
  std::optional<int> wrap_up_seconds;
  std::optional<std::vector<Membership>> queues;
  std::optional<std::int64_t> expected_version;
};

// The resolved change a repository writes (validated and HA1 computed already).
struct AgentPatch {
  std::optional<std::string> display_name;
  std::optional<std::string> ha1;
  std::optional<std::vector<Skill>> skills;
  std::optional<int> max_calls;
  std::optional<int> wrap_up_seconds;
  std::optional<std::vector<Membership>> queues;
};

struct StatusChange {
  AgentStatus to;
  std::string reason;
  std::string pause_reason;  // required when `to` is PAUSED, empty otherwise
  std::string call_id;
};

// Outcome of a status change: the agent after it, where it came from, and the audit row id
// (0 if nothing changed, e.g. a repeated login).
struct StatusChangeResult {
  Agent agent;
  AgentStatus from = AgentStatus::kLoggedOut;
  std::int64_t audit_id = 0;
  std::string reason;
  std::string call_id;
  bool changed() const { return audit_id != 0; }
};

struct AgentFilter {
  std::vector<AgentStatus> statuses;
  std::string queue;
  bool routable_only = false;
  int page_size = 100;
  std::string after_id;  // page token
};

struct AgentPage {
  std::vector<Agent> agents;
  std::string next_page_token;
};

struct BindingRequest {
  std::string sip_username;
  std::string contact_uri;
  std::string contact_host;  // parsed from contact_uri by the service
  int contact_port = 0;
  Transport transport = Transport::kUdp;
  std::string source_address;
  int source_port = 0;
  std::string user_agent;
  std::string registrar_id;
  std::string sip_call_id;
  std::uint32_t cseq = 0;
  int expires_seconds = 0;
};

struct BindingUpsert {
  Binding binding;
  bool created = false;
  bool became_routable = false;   // the agent had no live binding before
  std::vector<Binding> bindings;  // all live bindings after the change
};

struct BindingRemoval {
  std::string agent_id;
  std::vector<Binding> removed;
  std::vector<Binding> remaining;
  bool became_unroutable = false;
};

// One agent's share of a sweep of expired bindings.
struct ExpiredBindings {
  std::string agent_id;
  std::vector<Binding> removed;
  int remaining = 0;
};

}  // namespace cc::registry
