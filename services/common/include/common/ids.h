#pragma once

#include <string>

namespace cc {

// A random identifier of `bytes` random bytes in lowercase hex (thread-safe).
std::string RandomHex(int bytes);
// "<prefix>-<hostname>-<pid>-<4 random hex>": names a service instance in logs and events.
std::string MakeInstanceId(const std::string& prefix);

}  // namespace cc
