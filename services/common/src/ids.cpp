#include "common/ids.h"

#include <unistd.h>

#include <random>

namespace cc {

std::string RandomHex(int bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(static_cast<size_t>(bytes) * 2);
  for (int i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rng() & 0xff);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string MakeInstanceId(const std::string& prefix) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return prefix + "-" + host + "-" + std::to_string(getpid()) + "-" + RandomHex(2);
}

}  // namespace cc
