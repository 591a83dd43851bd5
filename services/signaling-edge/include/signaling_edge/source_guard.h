#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "signaling_edge/lru_table.h"

namespace cc::edge {

// Requests out of any dialog the front door sees (the SIP stack answers unknown methods and
// requests for unknown dialogs itself, before the edge is told).
enum class RequestClass { kRegister = 0, kInvite, kOptions };
inline constexpr int kRequestClasses = 3;
const char* ToString(RequestClass c);

// A token bucket: `per_second` tokens flow in, at most `burst` are kept. per_second <= 0 means
// no limit.
struct RateLimit {
  double per_second = 0;
  double burst = 0;
};
// "RATE/BURST" (e.g. "20/200"), or "0" for no limit.
Result<RateLimit> ParseRateLimit(const std::string& text);

struct SourceGuardSettings {
  // Per source address, by RequestClass.
  std::array<RateLimit, kRequestClasses> limits{{{20, 200}, {10, 50}, {20, 100}}};
  int max_calls_per_source = 200;  // live calls from one address (0: no cap)
  // Failed digests for one user from one address within the window lock that user out from
  // that address for the window; other users behind the same address are not affected.
  int digest_failures = 5;
  Duration digest_window{60000};
  std::size_t max_sources = 65536;   // addresses whose buckets are kept (LRU)
  std::size_t max_lockouts = 65536;  // (address, user) pairs whose failures are kept (LRU)
  // Networks exempt from the per-source limits and the call cap (carriers' trunks, SBCs, a
  // load balancer that does not pass the caller's address): "10.0.0.0/8", "2001:db8::/32".
  std::vector<std::string> trusted;
};

// Why the front door refused a request.
enum class Refusal { kNone, kRateLimited, kTooManyCalls, kLockedOut };
const char* ToString(Refusal r);

// The edge's front door: what it remembers about each source address, in tables of fixed size,
// so that a flood from one address is refused before any database or gRPC work and costs
// everyone else nothing, and a flood from many addresses costs a fixed amount of memory.
// Loop thread only.
class SourceGuard {
 public:
  SourceGuard(SourceGuardSettings settings, const Clock& clock);
  // Checks `settings.trusted`; the error names the network that does not parse.
  static Status Validate(const SourceGuardSettings& settings);

  // Takes one token of `c` for `ip`: kRateLimited when there is none.
  Refusal admit(const std::string& ip, RequestClass c);
  // Seconds after which a refused request of `c` would pass again (for Retry-After), >= 1.
  int retry_after(RequestClass c) const;

  // A new call from `ip`, which holds `live` calls already (CallRegistry counts them):
  // kTooManyCalls at the cap.
  Refusal may_start_call(const std::string& ip, int live) const;

  bool locked_out(const std::string& ip, const std::string& user);
  // Returns true when this failure locks the user out from `ip`.
  bool digest_failed(const std::string& ip, const std::string& user);
  void digest_succeeded(const std::string& ip, const std::string& user);

  bool trusted(const std::string& ip) const;
  std::size_t sources() const { return sources_.size(); }
  std::size_t lockouts() const { return lockouts_.size(); }
  std::size_t sources_evicted() const { return sources_.evicted(); }

 private:
  struct Bucket {
    double tokens = -1;  // < 0: not used yet (full)
    TimePoint at{};
  };
  struct Source {
    std::array<Bucket, kRequestClasses> buckets;
  };
  struct Failures {
    int count = 0;
    TimePoint first{};
    TimePoint locked_until{};
  };
  struct Network {
    int family = 0;
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;
  };
  static bool ParseNetwork(const std::string& text, Network& out);

  SourceGuardSettings settings_;
  const Clock& clock_;
  std::vector<Network> trusted_;
  LruTable<Source> sources_;
  LruTable<Failures> lockouts_;
};

}  // namespace cc::edge
