#pragma once

// The identifiers the services' APIs share (agent ids, queue names, skills, SIP user names,
// hosts), checked as tokens of one character class with plain loops: they run on every
// REGISTER, where std::regex had been most of the validation's cost.
#include <algorithm>
#include <string_view>

namespace cc {

inline bool IsAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool IsAsciiLower(char c) {
  return c >= 'a' && c <= 'z';
}
inline bool IsAsciiAlnum(char c) {
  return IsAsciiDigit(c) || IsAsciiLower(c) || (c >= 'A' && c <= 'Z');
}

// True when s is min..max characters long and each satisfies `ok`.
template <typename Pred>
bool IsToken(std::string_view s, size_t min, size_t max, Pred ok) {
  return s.size() >= min && s.size() <= max && std::all_of(s.begin(), s.end(), ok);
}

// A predicate: ASCII letters, digits and the given punctuation.
inline auto AlnumOr(std::string_view punct) {
  return [punct](char c) { return IsAsciiAlnum(c) || punct.find(c) != std::string_view::npos; };
}

// Agent ids and queue names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or
// digit.
inline bool IsName(std::string_view s) {
  return IsToken(s, 1, 64, AlnumOr("._-")) && IsAsciiAlnum(s[0]);
}

// Skill names: 1-64 lowercase letters, digits, '_' or '-'.
inline bool IsSkillName(std::string_view s) {
  return IsToken(s, 1, 64,
                 [](char c) { return IsAsciiLower(c) || IsAsciiDigit(c) || c == '_' || c == '-'; });
}

}  // namespace cc
