#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "signaling_edge/call_session.h"

namespace cc::edge {

// Every call the edge holds, with all the keys it is found by: our call id and the
// customer's SIP Call-ID, and how many calls each source address holds (the front door's
// cap). Adding a call adds all its keys and erasing it erases them all, so the indexes cannot
// drift apart. (A SIP handle finds its call through its leg: the leg is
// the handle's magic and is cleared with it; see sofia_stack.h.) Loop thread only.
class CallRegistry {
 public:
  CallSession* find(const std::string& call_id) const;
  CallSession* find_by_sip_call_id(const std::string& sip_call_id) const;
  CallSession& add(std::unique_ptr<CallSession> session);
  void erase(const std::string& call_id);
  std::size_t size() const { return calls_.size(); }
  int from_source(const std::string& ip) const;
  std::vector<std::string> ids() const;
  std::vector<CallSession*> all() const;
  int dialogs() const;  // open SIP dialogs of every call

 private:
  std::map<std::string, std::unique_ptr<CallSession>> calls_;
  std::map<std::string, std::string> by_sip_call_id_;
  std::map<std::string, int> by_source_;  // no entry for an address with no call
};

}  // namespace cc::edge
