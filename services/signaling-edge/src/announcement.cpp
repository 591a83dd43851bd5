#include "signaling_edge/announcement.h"

#include <algorithm>

namespace cc::edge {

std::vector<std::string> SayNumber(const std::string& lang, int n) {
  n = std::clamp(n, 0, 999);
  const std::string p = lang + "/";
  if (n < 100) return {p + "number-" + std::to_string(n)};
  std::vector<std::string> out = {p + "number-" + std::to_string(n / 100), p + "hundred"};
  if (n % 100 != 0) out.push_back(p + "number-" + std::to_string(n % 100));
  return out;
}

int WaitMinutes(Duration estimated_wait) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(estimated_wait).count();
  if (s < 60) return 0;
  return static_cast<int>(std::min<std::int64_t>(999, (s + 59) / 60));
}

std::vector<std::string> WaitAnnouncer::next(const QueuePosition& now) {
  std::vector<std::string> out;
  if (!now.waiting) return out;  // offered or over: no news to tell
  const std::string p = config_.language + "/";
  const bool position_news = config_.position && now.position > 0 &&
                             (last_position_ == 0 || now.position < last_position_);
  const int minutes = WaitMinutes(now.estimated_wait);
  const bool wait_news = config_.estimated_wait && minutes != last_wait_minutes_;
  if (now.agents_free != 0) said_busy_ = false;
  const bool busy_news = config_.all_busy && now.agents_free == 0 && !said_busy_;
  if (!position_news && !wait_news && !busy_news && config_.periodic.empty()) return out;
  out = config_.periodic;
  if (busy_news) {
    out.push_back(p + "all-busy");
    said_busy_ = true;
  }
  if (position_news) {
    out.push_back(p + "position");
    for (auto& n : SayNumber(config_.language, now.position)) out.push_back(std::move(n));
    out.push_back(p + "in-queue");
    last_position_ = now.position;
  }
  if (wait_news) {
    if (minutes == 0) {
      out.push_back(p + "wait-under-minute");
    } else {
      out.push_back(p + "wait-about");
      for (auto& n : SayNumber(config_.language, minutes)) out.push_back(std::move(n));
      out.push_back(p + (minutes == 1 ? "minute" : "minutes"));
    }
    last_wait_minutes_ = minutes;
  }
  return out;
}

}  // namespace cc::edge
