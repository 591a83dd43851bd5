#pragma once

#include <string>
#include <string_view>

namespace cc {

// HTTP digest HA1 = md5(username ":" realm ":" password) in lowercase hex (RFC 2617),
// computed with Sofia-SIP's auth_digest_ha1. Thread-safe.
std::string DigestHa1(std::string_view username, std::string_view realm, std::string_view password);
// True if `s` is 32 lowercase hex digits.
bool IsHa1(std::string_view s);

}  // namespace cc
