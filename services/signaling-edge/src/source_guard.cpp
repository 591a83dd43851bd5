#include "signaling_edge/source_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

namespace cc::edge {

const char* ToString(RequestClass c) {
  switch (c) {
    case RequestClass::kRegister:
      return "REGISTER";
    case RequestClass::kInvite:
      return "INVITE";
    case RequestClass::kOptions:
      return "OPTIONS";
  }
  return "OPTIONS";
}

const char* ToString(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kRateLimited:
      return "rate_limited";
    case Refusal::kTooManyCalls:
      return "too_many_calls";
    case Refusal::kLockedOut:
      return "locked_out";
  }
  return "none";
}

Result<RateLimit> ParseRateLimit(const std::string& text) {
  if (text == "0") return RateLimit{};
  const auto slash = text.find('/');
  auto bad = [&] {
    return InvalidArgument("rate limit '" + text + "': expected RATE/BURST (e.g. 20/200) or 0");
  };
  if (slash == std::string::npos) return bad();
  try {
    std::size_t used = 0;
    const std::string rate = text.substr(0, slash), burst = text.substr(slash + 1);
    RateLimit r;
    r.per_second = std::stod(rate, &used);
    if (used != rate.size()) return bad();
    r.burst = std::stod(burst, &used);
    if (used != burst.size()) return bad();
    if (!(r.per_second > 0) || !(r.burst >= 1) || !std::isfinite(r.per_second) ||
        !std::isfinite(r.burst)) {
      return bad();
    }
    return r;
  } catch (const std::exception&) {
    return bad();
  }
}

bool SourceGuard::ParseNetwork(const std::string& text, Network& out) {
  const auto slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
  } else {
    return false;
  }
  const int max = out.family == AF_INET ? 32 : 128;
  out.prefix = max;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
    out.prefix = std::stoi(p);
    if (out.prefix > max) return false;
  }
  return true;
}

Status SourceGuard::Validate(const SourceGuardSettings& settings) {
  for (const auto& t : settings.trusted) {
    Network n;
    if (!ParseNetwork(t, n)) {
      return InvalidArgument("trusted network '" + t + "': expected ADDRESS[/PREFIX]");
    }
  }
  return OkStatus();
}

SourceGuard::SourceGuard(SourceGuardSettings settings, const Clock& clock)
    : settings_(std::move(settings)),
      clock_(clock),
      sources_(settings_.max_sources),
      lockouts_(settings_.max_lockouts) {
  for (const auto& t : settings_.trusted) {
    Network n;
    if (ParseNetwork(t, n)) trusted_.push_back(n);
  }
}

bool SourceGuard::trusted(const std::string& ip) const {
  if (trusted_.empty()) return false;
  Network a;
  if (!ParseNetwork(ip, a)) return false;
  for (const auto& n : trusted_) {
    if (n.family != a.family) continue;
    const int whole = n.prefix / 8, rest = n.prefix % 8;
    if (!std::equal(n.bytes.begin(), n.bytes.begin() + whole, a.bytes.begin())) continue;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    if (rest == 0 || (n.bytes[whole] & mask) == (a.bytes[whole] & mask)) return true;
  }
  return false;
}

Refusal SourceGuard::admit(const std::string& ip, RequestClass c) {
  const RateLimit& limit = settings_.limits[static_cast<int>(c)];
  if (limit.per_second <= 0 || trusted(ip)) return Refusal::kNone;
  Source* s = sources_.touch(ip);
  if (!s) return Refusal::kNone;
  Bucket& b = s->buckets[static_cast<int>(c)];
  const TimePoint now = clock_.now();
  if (b.tokens < 0) {
    b.tokens = limit.burst;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(limit.burst, b.tokens + std::max(0.0, elapsed) * limit.per_second);
  }
  b.at = now;
  if (b.tokens < 1) return Refusal::kRateLimited;
  b.tokens -= 1;
  return Refusal::kNone;
}

int SourceGuard::retry_after(RequestClass c) const {
  const RateLimit& limit = settings_.limits[static_cast<int>(c)];
  if (limit.per_second <= 0) return 1;
  return std::max(1, static_cast<int>(std::ceil(1.0 / limit.per_second)));
}

Refusal SourceGuard::may_start_call(const std::string& ip, int live) const {
  if (settings_.max_calls_per_source > 0 && live >= settings_.max_calls_per_source &&
      !trusted(ip)) {
    return Refusal::kTooManyCalls;
  }
  return Refusal::kNone;
}

namespace {
std::string LockoutKey(const std::string& ip, const std::string& user) {
  return ip + '\n' + user;
}
}  // namespace

bool SourceGuard::locked_out(const std::string& ip, const std::string& user) {
  if (settings_.digest_failures <= 0) return false;
  Failures* f = lockouts_.find(LockoutKey(ip, user));
  return f && clock_.now() < f->locked_until;
}

bool SourceGuard::digest_failed(const std::string& ip, const std::string& user) {
  if (settings_.digest_failures <= 0) return false;
  Failures* f = lockouts_.touch(LockoutKey(ip, user));
  if (!f) return false;
  const TimePoint now = clock_.now();
  if (f->count == 0 || now - f->first > settings_.digest_window) {
    f->count = 0;
    f->first = now;
  }
  if (++f->count < settings_.digest_failures) return false;
  f->count = 0;
  f->locked_until = now + settings_.digest_window;
  return true;
}

void SourceGuard::digest_succeeded(const std::string& ip, const std::string& user) {
  lockouts_.erase(LockoutKey(ip, user));
}

}  // namespace cc::edge
