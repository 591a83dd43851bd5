#include "agent_registry/service.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/digest.h"
#include "common/log.h"
#include "common/names.h"

namespace cc::registry {
namespace {

bool HasControlChars(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

}  // namespace

std::string_view ToString(Transport t) {
  switch (t) {
    case Transport::kUdp:
      return "UDP";
    case Transport::kTcp:
      return "TCP";
    case Transport::kTls:
      return "TLS";
  }
  return "UDP";
}

std::optional<Transport> TransportFromString(std::string_view s) {
  if (s == "UDP") return Transport::kUdp;
  if (s == "TCP") return Transport::kTcp;
  if (s == "TLS") return Transport::kTls;
  return std::nullopt;
}

Status ValidateAgentId(const std::string& id) {
  if (id.empty()) return InvalidArgument("agent id is required");
  if (!IsName(id)) {
    return InvalidArgument("agent id '" + id +
                           "' must be 1-64 characters of letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit");
  }
  return OkStatus();
}

Status ValidateSipUsername(const std::string& username) {
  if (username.empty()) return InvalidArgument("sip_username is required");
  if (!IsToken(username, 1, 64, AlnumOr("._~+-"))) {
    return InvalidArgument("sip_username '" + username +
                           "' must be 1-64 characters of letters, digits or . _ ~ + -");
  }
  return OkStatus();
}

Status ValidateDisplayName(const std::string& name) {
  if (name.empty()) return InvalidArgument("display_name is required");
  if (name.size() > 128) return InvalidArgument("display_name is longer than 128 bytes");
  if (HasControlChars(name)) return InvalidArgument("display_name contains control characters");
  return OkStatus();
}

Status ValidateSkills(const std::vector<Skill>& skills) {
  std::set<std::string> seen;
  if (skills.size() > 100) return InvalidArgument("at most 100 skills per agent");
  for (const auto& s : skills) {
    if (!IsSkillName(s.name)) {
      return InvalidArgument("skill name '" + s.name +
                             "' must be 1-64 characters of lowercase letters, digits, _ or -");
    }
    if (s.level < 1 || s.level > 10) {
      return InvalidArgument("skill '" + s.name + "' has level " + std::to_string(s.level) +
                             "; levels are 1 to 10");
    }
    if (!seen.insert(s.name).second) return InvalidArgument("skill '" + s.name + "' given twice");
  }
  return OkStatus();
}

Status ValidateMemberships(const std::vector<Membership>& queues) {
  std::set<std::string> seen;
  if (queues.size() > 100) return InvalidArgument("at most 100 queue memberships per agent");
  for (const auto& q : queues) {
    if (!IsName(q.queue)) {
      return InvalidArgument("queue name '" + q.queue + "' is not a valid queue name");
    }
    if (q.position < 0 || q.position > 10000) {
      return InvalidArgument("queue '" + q.queue + "': position must be 0..10000");
    }
    if (!seen.insert(q.queue).second) {
      return InvalidArgument("queue '" + q.queue + "' given twice");
    }
  }
  return OkStatus();
}

Status ValidateReason(const std::string& what, const std::string& reason, bool required) {
  if (required && reason.empty()) return InvalidArgument(what + " is required");
  if (reason.size() > 200) return InvalidArgument(what + " is longer than 200 bytes");
  if (HasControlChars(reason)) return InvalidArgument(what + " contains control characters");
  return OkStatus();
}

Result<ContactAddress> ParseContactUri(const std::string& uri) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("contact_uri '" + uri + "': " + why);
  };
  if (uri.empty()) return InvalidArgument("contact_uri is required");
  if (uri.size() > 1024) return InvalidArgument("contact_uri is longer than 1024 bytes");
  if (HasControlChars(uri) || uri.find(' ') != std::string::npos) {
    return bad("contains spaces or control characters");
  }
  std::string lower = uri.substr(0, 5);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t pos;
  if (lower.rfind("sips:", 0) == 0) {
    pos = 5;
  } else if (lower.rfind("sip:", 0) == 0) {
    pos = 4;
  } else {
    return bad("must be a sip: or sips: URI");
  }
  const size_t end = uri.find_first_of(";?", pos);
  std::string hostport = uri.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  if (auto at = hostport.rfind('@'); at != std::string::npos) hostport = hostport.substr(at + 1);
  ContactAddress out;
  std::string port_text;
  if (!hostport.empty() && hostport[0] == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) return bad("unterminated IPv6 reference");
    out.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return bad("garbage after the IPv6 address");
      port_text = hostport.substr(close + 2);
    }
  } else {
    const auto colon = hostport.rfind(':');
    out.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port_text = hostport.substr(colon + 1);
  }
  if (out.host.empty()) return bad("has no host");
  if (!IsToken(out.host, 1, std::string::npos, AlnumOr("._:-")))
    return bad("host '" + out.host + "' is not valid");
  if (port_text.empty()) {
    return bad("has no port; the registrar must fill in the source port of the REGISTER");
  }
  if (!IsToken(port_text, 1, 5, IsAsciiDigit))
    return bad("port '" + port_text + "' is not a number");
  out.port = std::stoi(port_text);
  if (out.port < 1 || out.port > 65535) return bad("port out of range");
  return out;
}

AgentService::AgentService(AgentRepository& repo, EventSink& events, const Clock& clock,
                           RegistrySettings settings, RegistryObserver* observer)
    : repo_(repo),
      events_(events),
      clock_(clock),
      settings_(std::move(settings)),
      observer_(observer ? observer : &default_observer_) {}

int AgentService::GrantedExpiry(int requested) const {
  return std::clamp(requested, settings_.min_expires_seconds, settings_.max_expires_seconds);
}

Result<Agent> AgentService::create(const NewAgent& req) {
  CC_RETURN_IF_ERROR(ValidateAgentId(req.id));
  CC_RETURN_IF_ERROR(ValidateDisplayName(req.display_name));
  CC_RETURN_IF_ERROR(ValidateSipUsername(req.sip_username));
  CC_RETURN_IF_ERROR(ValidateSkills(req.skills));
  CC_RETURN_IF_ERROR(ValidateMemberships(req.queues));
  if (req.password.empty() == req.ha1.empty()) {
    return InvalidArgument("give exactly one of password or ha1");
  }
  if (!req.ha1.empty() && !IsHa1(req.ha1)) {
    return InvalidArgument("ha1 must be 32 lowercase hex digits: md5(username:realm:password)");
  }
  if (req.password.size() > 256) return InvalidArgument("password is longer than 256 bytes");
  const int max_calls = req.max_calls == 0 ? 1 : req.max_calls;
  if (max_calls < 1 || max_calls > 20) return InvalidArgument("max_calls must be 1..20");
  const int wrap_up = req.wrap_up_seconds.value_or(settings_.default_wrap_up_seconds);
  if (wrap_up < 0 || wrap_up > 3600) return InvalidArgument("wrap_up_seconds must be 0..3600");

  Agent agent;
  agent.id = req.id;
  agent.display_name = req.display_name;
  agent.sip_username = req.sip_username;
  agent.realm = settings_.realm;
  agent.ha1 =
      req.ha1.empty() ? DigestHa1(req.sip_username, settings_.realm, req.password) : req.ha1;
  agent.skills = req.skills;
  agent.max_calls = max_calls;
  agent.wrap_up_seconds = wrap_up;
  agent.queues = req.queues;
  CC_ASSIGN_OR_RETURN(Agent created, repo_.insert(agent, clock_.now()));
  log::Info("agent created", {{"agent_id", created.id}, {"sip_username", created.sip_username}});
  events_.lifecycle(LifecycleEvent::kCreated, created.id);
  return created;
}

Result<Agent> AgentService::get(const std::string& id) {
  CC_RETURN_IF_ERROR(ValidateAgentId(id));
  return repo_.get(id, clock_.now());
}

Result<Agent> AgentService::get_by_username(const std::string& sip_username) {
  CC_RETURN_IF_ERROR(ValidateSipUsername(sip_username));
  return repo_.get_by_username(sip_username, clock_.now());
}

Result<AgentPage> AgentService::list(const AgentFilter& filter) {
  AgentFilter f = filter;
  if (f.page_size == 0) f.page_size = 100;
  if (f.page_size < 0 || f.page_size > 1000) return InvalidArgument("page_size must be 1..1000");
  if (!f.queue.empty()) CC_RETURN_IF_ERROR(ValidateMemberships({{f.queue, 0}}));
  if (!f.after_id.empty()) {
    if (!ValidateAgentId(f.after_id).ok()) return InvalidArgument("page_token is not valid");
  }
  return repo_.list(f, clock_.now());
}

Result<Agent> AgentService::update(const AgentUpdate& req) {
  CC_RETURN_IF_ERROR(ValidateAgentId(req.id));
  if (req.display_name) CC_RETURN_IF_ERROR(ValidateDisplayName(*req.display_name));
  if (req.skills) CC_RETURN_IF_ERROR(ValidateSkills(*req.skills));
  if (req.queues) CC_RETURN_IF_ERROR(ValidateMemberships(*req.queues));
  if (req.password && req.ha1) return InvalidArgument("give at most one of password or ha1");
  if (req.password && (req.password->empty() || req.password->size() > 256)) {
    return InvalidArgument("password must be 1..256 bytes");
  }
  if (req.ha1 && !IsHa1(*req.ha1)) return InvalidArgument("ha1 must be 32 lowercase hex digits");
  if (req.max_calls && (*req.max_calls < 1 || *req.max_calls > 20)) {
    return InvalidArgument("max_calls must be 1..20");
  }
  if (req.wrap_up_seconds && (*req.wrap_up_seconds < 0 || *req.wrap_up_seconds > 3600)) {
    return InvalidArgument("wrap_up_seconds must be 0..3600");
  }
  const std::string realm = settings_.realm;
  CC_ASSIGN_OR_RETURN(
      Agent updated, repo_.update(
                         req.id,
                         [&](const Agent& current) -> Result<AgentPatch> {
                           if (req.expected_version && *req.expected_version != current.version) {
                             return Aborted("agent " + current.id + " changed meanwhile (version " +
                                            std::to_string(current.version) + ", expected " +
                                            std::to_string(*req.expected_version) +
                                            "); read it again");
                           }
                           AgentPatch patch;
                           patch.display_name = req.display_name;
                           if (req.password)
                             patch.ha1 = DigestHa1(current.sip_username, realm, *req.password);
                           if (req.ha1) patch.ha1 = req.ha1;
                           patch.skills = req.skills;
                           patch.max_calls = req.max_calls;
                           patch.wrap_up_seconds = req.wrap_up_seconds;
                           patch.queues = req.queues;
                           return patch;
                         },
                         clock_.now()));
  log::Info("agent updated", {{"agent_id", updated.id}, {"version", updated.version}});
  events_.lifecycle(LifecycleEvent::kUpdated, updated.id);
  return updated;
}

Status AgentService::remove(const std::string& id) {
  CC_RETURN_IF_ERROR(ValidateAgentId(id));
  CC_ASSIGN_OR_RETURN(
      Agent gone,
      repo_.remove(
          id,
          [](const Agent& a) -> Status {
            if (a.status == AgentStatus::kReserved || a.status == AgentStatus::kOnCall) {
              return FailedPrecondition("agent " + a.id + " is " + std::string(ToString(a.status)) +
                                        "; delete it after the call");
            }
            return OkStatus();
          },
          clock_.now()));
  log::Info("agent deleted", {{"agent_id", gone.id}});
  if (gone.routable()) events_.routability_changed(gone.id, false, 0, "deleted");
  events_.lifecycle(LifecycleEvent::kDeleted, gone.id);
  return OkStatus();
}

Result<StatusChangeResult> AgentService::transition(const std::string& id,
                                                    const AgentRepository::StatusDecision& decide) {
  CC_RETURN_IF_ERROR(ValidateAgentId(id));
  CC_ASSIGN_OR_RETURN(StatusChangeResult r, repo_.change_status(id, decide, clock_.now()));
  if (r.changed()) announce(r);
  return r;
}

void AgentService::announce(const StatusChangeResult& r) {
  log::Info("agent status changed", {{"agent_id", r.agent.id},
                                     {"from", ToString(r.from)},
                                     {"to", ToString(r.agent.status)},
                                     {"reason", r.reason}});
  observer_->status_changed(r.from, r.agent.status);
  events_.status_changed(r);
}

namespace {

// The one check every API transition goes through: the table in common/agent_status.h.
Result<std::optional<StatusChange>> Decide(const Agent& a, StatusChange change) {
  if (a.status == change.to) {
    if (change.to == AgentStatus::kPaused && a.pause_reason != change.pause_reason) {
      return std::optional<StatusChange>(change);  // same status, new pause reason
    }
    return std::optional<StatusChange>();  // already there
  }
  if (!IsLegalTransition(a.status, change.to)) {
    return FailedPrecondition("agent " + a.id + " cannot go from " +
                              std::string(ToString(a.status)) + " to " +
                              std::string(ToString(change.to)));
  }
  return std::optional<StatusChange>(std::move(change));
}

}  // namespace

Result<StatusChangeResult> AgentService::login(const std::string& id, bool paused,
                                               const std::string& pause_reason) {
  CC_RETURN_IF_ERROR(ValidateReason("pause_reason", pause_reason, paused));
  if (!paused && !pause_reason.empty()) {
    return InvalidArgument("pause_reason given without paused=true");
  }
  return transition(id, [&](const Agent& a) -> Result<std::optional<StatusChange>> {
    const AgentStatus to = paused ? AgentStatus::kPaused : AgentStatus::kAvailable;
    if (a.status != AgentStatus::kLoggedOut && a.status != to) {
      return FailedPrecondition("agent " + a.id + " is already logged in (" +
                                std::string(ToString(a.status)) + ")");
    }
    return Decide(a, {to, "login", pause_reason, ""});
  });
}

Result<StatusChangeResult> AgentService::logout(const std::string& id, const std::string& reason) {
  CC_RETURN_IF_ERROR(ValidateReason("reason", reason, false));
  return transition(id, [&](const Agent& a) {
    return Decide(a, {AgentStatus::kLoggedOut, reason.empty() ? "logout" : reason, "", ""});
  });
}

Result<StatusChangeResult> AgentService::pause(const std::string& id, const std::string& reason) {
  CC_RETURN_IF_ERROR(ValidateReason("reason", reason, true));
  return transition(id, [&](const Agent& a) {
    return Decide(a, {AgentStatus::kPaused, "pause", reason, ""});
  });
}

Result<StatusChangeResult> AgentService::unpause(const std::string& id) {
  return transition(id, [&](const Agent& a) -> Result<std::optional<StatusChange>> {
    if (a.status != AgentStatus::kPaused && a.status != AgentStatus::kAvailable) {
      return FailedPrecondition("agent " + a.id + " is not paused (" +
                                std::string(ToString(a.status)) + ")");
    }
    return Decide(a, {AgentStatus::kAvailable, "unpause", "", ""});
  });
}

Result<StatusChangeResult> AgentService::change_status(const std::string& id, AgentStatus to,
                                                       const std::string& reason,
                                                       std::optional<AgentStatus> expected_from,
                                                       const std::string& call_id) {
  CC_RETURN_IF_ERROR(ValidateReason("reason", reason, to == AgentStatus::kPaused));
  if (call_id.size() > 128) return InvalidArgument("call_id is longer than 128 bytes");
  return transition(id, [&](const Agent& a) -> Result<std::optional<StatusChange>> {
    if (expected_from && a.status != *expected_from) {
      return FailedPrecondition("agent " + a.id + " is " + std::string(ToString(a.status)) +
                                ", not " + std::string(ToString(*expected_from)));
    }
    return Decide(a, {to, reason, to == AgentStatus::kPaused ? reason : "", call_id});
  });
}

Result<BindingUpsert> AgentService::register_binding(BindingRequest req) {
  CC_RETURN_IF_ERROR(ValidateSipUsername(req.sip_username));
  CC_ASSIGN_OR_RETURN(ContactAddress addr, ParseContactUri(req.contact_uri));
  if (req.expires_seconds <= 0) {
    return InvalidArgument("expires_seconds must be positive; unregister to remove a binding");
  }
  if (req.source_port < 0 || req.source_port > 65535) {
    return InvalidArgument("source_port must be 0..65535");
  }
  if (req.user_agent.size() > 256 || HasControlChars(req.user_agent)) {
    return InvalidArgument("user_agent must be at most 256 printable bytes");
  }
  if (req.sip_call_id.size() > 256) return InvalidArgument("sip_call_id is longer than 256 bytes");
  req.contact_host = addr.host;
  req.contact_port = addr.port;
  const TimePoint now = clock_.now();
  const TimePoint expires_at = now + std::chrono::seconds(GrantedExpiry(req.expires_seconds));
  auto r = repo_.upsert_binding(req, expires_at, settings_.max_bindings_per_agent, now);
  if (!r.ok()) {
    observer_->registration("rejected");
    return r.error();
  }
  observer_->registration(r->created ? "created" : "refreshed");
  log::Info(r->created ? "binding added" : "binding refreshed",
            {{"agent_id", r->binding.agent_id},
             {"contact", r->binding.contact_uri},
             {"expires_in", GrantedExpiry(req.expires_seconds)}});
  events_.binding_changed(r->created ? BindingEvent::kAdded : BindingEvent::kRefreshed, r->binding);
  if (r->became_routable) {
    events_.routability_changed(r->binding.agent_id, true, static_cast<int>(r->bindings.size()),
                                "registered");
  }
  return r;
}

Result<BindingRemoval> AgentService::unregister_binding(const std::string& sip_username,
                                                        const std::string& contact_uri) {
  CC_RETURN_IF_ERROR(ValidateSipUsername(sip_username));
  if (contact_uri != "*") CC_RETURN_IF_ERROR(ParseContactUri(contact_uri));
  CC_ASSIGN_OR_RETURN(BindingRemoval r,
                      repo_.remove_bindings(sip_username, contact_uri, clock_.now()));
  observer_->registration("removed");
  for (const auto& b : r.removed) {
    log::Info("binding removed", {{"agent_id", b.agent_id}, {"contact", b.contact_uri}});
    events_.binding_changed(BindingEvent::kRemoved, b);
  }
  if (r.became_unroutable) events_.routability_changed(r.agent_id, false, 0, "unregistered");
  return r;
}

Result<std::vector<Binding>> AgentService::list_bindings(const std::string& agent_id,
                                                         const std::string& sip_username) {
  if (!agent_id.empty() && !sip_username.empty()) {
    return InvalidArgument("give agent_id or sip_username, not both");
  }
  std::string id = agent_id;
  if (!sip_username.empty()) {
    CC_ASSIGN_OR_RETURN(Agent a, get_by_username(sip_username));
    id = a.id;
  }
  // Called for every offer (the edge looks up where to ring): one repository read.
  return repo_.bindings(id, clock_.now());
}

Result<Credentials> AgentService::credentials(const std::string& sip_username) {
  CC_RETURN_IF_ERROR(ValidateSipUsername(sip_username));
  return repo_.credentials(sip_username);
}

Result<int> AgentService::sweep_expired() {
  int total = 0;
  for (;;) {
    CC_ASSIGN_OR_RETURN(auto batch, repo_.sweep_expired(clock_.now(), settings_.sweep_batch));
    int n = 0;
    for (const auto& agent : batch) {
      for (const auto& b : agent.removed) {
        ++n;
        log::Info("binding expired", {{"agent_id", b.agent_id}, {"contact", b.contact_uri}});
        events_.binding_changed(BindingEvent::kExpired, b);
      }
      if (agent.remaining == 0) {
        log::Info("agent no longer routable", {{"agent_id", agent.agent_id}, {"why", "expired"}});
        events_.routability_changed(agent.agent_id, false, 0, "expired");
      }
    }
    total += n;
    if (n > 0) observer_->bindings_expired(n);
    if (n < settings_.sweep_batch) break;
  }
  return total;
}

}  // namespace cc::registry
