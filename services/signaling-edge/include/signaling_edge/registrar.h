#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "signaling_edge/credential_cache.h"
#include "signaling_edge/edge_settings.h"
#include "signaling_edge/ports.h"
#include "signaling_edge/sofia.h"
#include "signaling_edge/source_guard.h"

namespace cc::edge {

class SofiaStack;
struct PendingRegister;
struct RequestSource;

// The registrar, apart from calls: a REGISTER is challenged (stateless nonces signed with the
// shared secret) without any lookup, its digest checked against the HA1 from agent-registry
// (cached, bounded), and the binding written there with the address it really came from.
// Unknown users are answered exactly like wrong passwords and are never added to Sofia's
// digest table. Repeated failures lock a user out from one address (SourceGuard), never the
// address: the other phones behind the same NAT keep registering. Loop thread only.
class Registrar {
 public:
  Registrar(const EdgeSettings& settings, SofiaStack& stack, RegistryPort& registry,
            const Clock& clock, EdgeObserver& observer, SourceGuard& guard);
  ~Registrar();
  Status start(su_root_t* root);
  void on_register(nua_handle_t* nh, sip_t const* sip, const RequestSource& src);
  std::uint64_t requests() const { return requests_; }

 private:
  void verify(std::shared_ptr<PendingRegister> reg, const std::string& ha1);
  void challenge_again(PendingRegister& reg);
  void finish(std::shared_ptr<PendingRegister> reg);
  void respond(PendingRegister& reg, int status, const char* phrase,
               const std::string& contacts = "", msg_header_t* extra = nullptr,
               const char* min_expires = nullptr);
  void auth_failed(const PendingRegister& reg);
  // The HA1 the digest module checks `user` against, kept in the module's own memory.
  void set_password(const std::string& user, const std::string& ha1);

  const EdgeSettings& settings_;
  SofiaStack& stack_;
  RegistryPort& registry_;
  const Clock& clock_;
  EdgeObserver& observer_;
  SourceGuard& guard_;
  auth_mod_t* auth_ = nullptr;
  CredentialCache credentials_;
  std::map<std::string, std::string> module_hashes_;  // what set_password gave the module
  std::uint64_t requests_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cc::edge
