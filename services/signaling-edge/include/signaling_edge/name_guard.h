#pragma once

#include <cstdint>

namespace cc::edge {

// From now on, Sofia-SIP resolves only numeric addresses (name_guard.cpp says why). Called once
// the SIP stack listens.
void ArmNameGuard();
// Names Sofia-SIP asked to resolve since, refused.
std::uint64_t NameLookupsRefused();

// For the getaddrinfo() hook: whether a call from `caller` (a return address) is restricted to
// numeric addresses, and the count and log line of a name refused.
bool NameGuardApplies(const void* caller);
void NameLookupRefused(const char* name);

}  // namespace cc::edge
