// The getaddrinfo() of the signaling-edge executable: see name_guard.cpp.
#include <dlfcn.h>
#include <netdb.h>

#include "signaling_edge/name_guard.h"

extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static const Fn next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (next == nullptr) return EAI_SYSTEM;
  if (node != nullptr && cc::edge::NameGuardApplies(__builtin_return_address(0))) {
    struct addrinfo numeric = hints != nullptr ? *hints : addrinfo{};
    numeric.ai_flags |= AI_NUMERICHOST;
    const int rc = next(node, service, &numeric, res);
    if (rc == EAI_NONAME) cc::edge::NameLookupRefused(node);
    return rc;
  }
  return next(node, service, hints, res);
}
