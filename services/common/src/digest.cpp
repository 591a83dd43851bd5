#include "common/digest.h"

#include <sofia-sip/auth_digest.h>

namespace cc {

std::string DigestHa1(std::string_view username, std::string_view realm,
                      std::string_view password) {
  auth_hexmd5_t ha1;
  const std::string u(username), r(realm), p(password);
  auth_digest_ha1(ha1, u.c_str(), r.c_str(), p.c_str());
  return std::string(ha1, 32);
}

bool IsHa1(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace cc
