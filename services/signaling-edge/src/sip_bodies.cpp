#include "signaling_edge/sip_bodies.h"

#include <cctype>
#include <string>

namespace cc::edge {
namespace {

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

char Key(std::string_view v) {
  v = Trim(v);
  if (v.size() == 1) {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
    if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
  }
  // RFC 4733 event codes as some phones send them: 10 = *, 11 = #.
  if (v == "10") return '*';
  if (v == "11") return '#';
  return '\0';
}

}  // namespace

char DtmfInfoDigit(std::string_view content_type, std::string_view body) {
  const std::string type = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/dtmf") return Key(body);
  if (type != "application/dtmf-relay") return '\0';
  while (!body.empty()) {
    const auto eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view{} : body.substr(eol + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(line.substr(0, eq))) == "signal") return Key(line.substr(eq + 1));
  }
  return '\0';
}

int SipfragStatus(std::string_view body) {
  body = Trim(body.substr(0, body.find('\n')));
  if (body.substr(0, 8) != "SIP/2.0 " || body.size() < 11) return 0;
  int status = 0;
  for (char c : body.substr(8, 3)) {
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status >= 100 && status <= 699 ? status : 0;
}

}  // namespace cc::edge
