#pragma once

#include <string>
#include <vector>

#include "signaling_edge/ports.h"

namespace cc::edge {

// A number as the relay's prompts say it in `lang`: number-0..number-99, and for 100..999
// number-H hundred number-R ("<lang>/number-3", "<lang>/hundred", "<lang>/number-5"); larger
// numbers are said as 999.
std::vector<std::string> SayNumber(const std::string& lang, int n);

// The estimated wait as a caller hears it: under a minute, "less than a minute"; else whole
// minutes, rounded up (a caller told "about 2 minutes" should rarely wait longer), at most 999.
int WaitMinutes(Duration estimated_wait);  // 0 = less than a minute

// What one periodic announcement says, and what it told the caller so far: the queue's
// periodic prompts, "all agents are busy" when nobody is free and it was not said since
// someone last was, the position when it is new or better than the last one announced, then
// the estimated wait when its rounded value changed. Nothing at all when there is no news and
// there are no periodic prompts.
class WaitAnnouncer {
 public:
  explicit WaitAnnouncer(WaitAnnouncements config) : config_(std::move(config)) {}
  std::vector<std::string> next(const QueuePosition& now);
  const WaitAnnouncements& config() const { return config_; }

 private:
  WaitAnnouncements config_;
  int last_position_ = 0;       // 0: none announced yet
  int last_wait_minutes_ = -1;  // -1: none announced yet
  bool said_busy_ = false;      // "all busy" said, nobody free since
};

}  // namespace cc::edge
