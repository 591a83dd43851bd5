#include "signaling_edge/call_registry.h"

namespace cc::edge {

CallSession* CallRegistry::find(const std::string& call_id) const {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

CallSession* CallRegistry::find_by_sip_call_id(const std::string& sip_call_id) const {
  auto it = by_sip_call_id_.find(sip_call_id);
  return it == by_sip_call_id_.end() ? nullptr : find(it->second);
}

CallSession& CallRegistry::add(std::unique_ptr<CallSession> session) {
  CallSession& s = *session;
  if (!s.call().sip_call_id.empty()) by_sip_call_id_[s.call().sip_call_id] = s.id();
  by_source_[s.call().source]++;
  calls_[s.id()] = std::move(session);
  return s;
}

void CallRegistry::erase(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  auto by_sip = by_sip_call_id_.find(it->second->call().sip_call_id);
  if (by_sip != by_sip_call_id_.end() && by_sip->second == call_id) by_sip_call_id_.erase(by_sip);
  auto source = by_source_.find(it->second->call().source);
  if (source != by_source_.end() && --source->second <= 0) by_source_.erase(source);
  calls_.erase(it);
}

int CallRegistry::from_source(const std::string& ip) const {
  auto it = by_source_.find(ip);
  return it == by_source_.end() ? 0 : it->second;
}

std::vector<std::string> CallRegistry::ids() const {
  std::vector<std::string> out;
  out.reserve(calls_.size());
  for (const auto& [id, s] : calls_) out.push_back(id);
  return out;
}

std::vector<CallSession*> CallRegistry::all() const {
  std::vector<CallSession*> out;
  out.reserve(calls_.size());
  for (const auto& [id, s] : calls_) out.push_back(s.get());
  return out;
}

int CallRegistry::dialogs() const {
  int n = 0;
  for (const auto& [id, s] : calls_) n += s->dialogs();
  return n;
}

}  // namespace cc::edge
