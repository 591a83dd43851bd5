// The edge never looks up a name a request handed it.
//
// Sofia-SIP answers some requests it refuses itself (an unknown SIP version: 505) to the host
// of their Via as written, without the received address (nta's mreply path), and its transport
// resolves that host with getaddrinfo(): a request could make the edge query DNS for a name of
// the sender's choosing, blocking the SIP loop and reaching a server the sender may watch.
// Sofia has no hook for this, so the executable defines getaddrinfo() (the dynamic linker
// prefers it over libc's): once the SIP stack listens, a call made from inside Sofia-SIP's
// library is resolved as a numeric address only. A name then fails (the response is not sent,
// and the refusal is counted); responses to numeric Via hosts and received= addresses, which is
// every other case, go out as before. Calls from anywhere else (gRPC, the NATS client) pass
// through untouched. The getaddrinfo() itself is in name_guard_hook.cpp, linked only into the
// signaling-edge executable.
#include "signaling_edge/name_guard.h"

#include <dlfcn.h>
#include <sofia-sip/nua.h>

#include <atomic>
#include <string>

#include "common/log.h"

namespace cc::edge {
namespace {

std::atomic<bool> g_armed{false};
std::atomic<std::uint64_t> g_refused{0};

// The load address of Sofia-SIP's library, found from one of its functions.
const void* SofiaBase() {
  static const void* base = []() -> const void* {
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void*>(&nua_create), &info) == 0) return nullptr;
    return info.dli_fbase;
  }();
  return base;
}

}  // namespace

bool NameGuardApplies(const void* caller) {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  Dl_info info{};
  return dladdr(caller, &info) != 0 && info.dli_fbase != nullptr && info.dli_fbase == SofiaBase();
}

void NameLookupRefused(const char* name) {
  const auto n = ++g_refused;
  if (n <= 20 || n % 1000 == 0) {
    log::Warn(
        "refused to look up a name a SIP message carried (no response sent to it)",
        {{"name", std::string(name).substr(0, 100)}, {"refused_so_far", static_cast<int>(n)}});
  }
}

void ArmNameGuard() {
  (void)SofiaBase();
  g_armed = true;
}

std::uint64_t NameLookupsRefused() {
  return g_refused.load();
}

}  // namespace cc::edge
