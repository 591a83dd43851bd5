#include "queue_service/opening_hours.h"

#include <date/tz.h>

#include <cctype>
#include <sstream>

namespace cc::queue {
namespace {

constexpr std::array<const char*, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr int kMinutesPerDay = 24 * 60;

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "HH:MM" -> minutes after midnight; "24:00" only where `allow_midnight`.
std::optional<int> ParseTime(const std::string& s, bool allow_midnight) {
  if (s.size() != 5 || s[2] != ':' || !std::isdigit(static_cast<unsigned char>(s[0])) ||
      !std::isdigit(static_cast<unsigned char>(s[1])) ||
      !std::isdigit(static_cast<unsigned char>(s[3])) ||
      !std::isdigit(static_cast<unsigned char>(s[4]))) {
    return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59) return std::nullopt;
  if (h == 24 && m == 0 && allow_midnight) return kMinutesPerDay;
  if (h > 23) return std::nullopt;
  return h * 60 + m;
}

int DayIndex(const std::string& name) {
  for (int i = 0; i < 7; ++i) {
    if (name == kDays[static_cast<size_t>(i)]) return i;
  }
  return -1;
}

// The intervals after the day or date: "closed", or one or more "HH:MM-HH:MM".
Result<std::vector<std::pair<int, int>>> ParseIntervals(const std::vector<std::string>& words,
                                                        const std::string& where) {
  std::vector<std::pair<int, int>> out;
  if (words.size() == 2 && Lower(words[1]) == "closed") return out;
  if (words.size() < 2) {
    return InvalidArgument(where + ": give the hours (HH:MM-HH:MM) or 'closed' after the day");
  }
  for (size_t i = 1; i < words.size(); ++i) {
    const auto& w = words[i];
    const auto dash = w.find('-');
    const auto open =
        dash == std::string::npos ? std::nullopt : ParseTime(w.substr(0, dash), false);
    const auto close =
        dash == std::string::npos ? std::nullopt : ParseTime(w.substr(dash + 1), true);
    if (!open || !close) {
      return InvalidArgument(where + ": '" + w + "' is not HH:MM-HH:MM (00:00 to 24:00)");
    }
    if (*close <= *open) {
      return InvalidArgument(where + ": '" + w +
                             "' closes before it opens (a night shift is two intervals, e.g. "
                             "mon 22:00-24:00 and tue 00:00-06:00)");
    }
    for (const auto& [o, c] : out) {
      if (*open < c && o < *close) return InvalidArgument(where + ": '" + w + "' overlaps");
    }
    out.emplace_back(*open, *close);
  }
  return out;
}

// "mon-fri", "sat", "mon,wed,fri", "fri-mon": the weekdays named.
Result<std::vector<int>> ParseDays(const std::string& spec, const std::string& where) {
  std::vector<int> out;
  std::stringstream ss(Lower(spec));
  for (std::string part; std::getline(ss, part, ',');) {
    const auto dash = part.find('-');
    const int from = DayIndex(part.substr(0, dash));
    const int to = dash == std::string::npos ? from : DayIndex(part.substr(dash + 1));
    if (from < 0 || to < 0) {
      return InvalidArgument(where + ": '" + part + "' is not a day or range of days (mon..sun)");
    }
    for (int d = from;; d = (d + 1) % 7) {
      out.push_back(d);
      if (d == to) break;
    }
  }
  return out;
}

}  // namespace

Result<Schedule> Schedule::Parse(const OpeningHours& hours) {
  Schedule s;
  if (hours.empty()) return s;  // no hours: always open (zone_ stays null)
  if (hours.time_zone.empty()) {
    return InvalidArgument("opening hours need a time zone (an IANA name, e.g. Europe/Berlin)");
  }
  try {
    s.zone_ = date::locate_zone(hours.time_zone);
  } catch (const std::exception&) {
    return InvalidArgument(
        "time zone '" + hours.time_zone.substr(0, 100) +
        "' is not an IANA time zone name (e.g. Europe/Berlin, America/New_York)");
  }
  if (hours.weekly.size() > 50 || hours.dates.size() > 1000) {
    return InvalidArgument("opening hours: at most 50 weekly entries and 1000 dates");
  }
  std::array<bool, 7> named{};
  for (size_t i = 0; i < hours.weekly.size(); ++i) {
    const std::string where =
        "weekly[" + std::to_string(i) + "] '" + hours.weekly[i].substr(0, 100) + "'";
    const auto words = Words(hours.weekly[i]);
    if (words.empty()) return InvalidArgument(where + ": empty");
    CC_ASSIGN_OR_RETURN(auto days, ParseDays(words[0], where));
    CC_ASSIGN_OR_RETURN(auto intervals, ParseIntervals(words, where));
    for (int d : days) {
      if (named[static_cast<size_t>(d)]) {
        return InvalidArgument(where + ": " + kDays[static_cast<size_t>(d)] +
                               " is named by an earlier entry too");
      }
      named[static_cast<size_t>(d)] = true;
      for (const auto& [o, c] : intervals) s.week_[static_cast<size_t>(d)].push_back({o, c});
    }
  }
  for (size_t i = 0; i < hours.dates.size(); ++i) {
    const std::string where =
        "dates[" + std::to_string(i) + "] '" + hours.dates[i].substr(0, 100) + "'";
    const auto words = Words(hours.dates[i]);
    if (words.empty()) return InvalidArgument(where + ": empty");
    std::istringstream in(words[0]);
    date::year_month_day ymd{};
    in >> date::parse("%F", ymd);
    if (in.fail() || !ymd.ok() || words[0].size() != 10) {
      return InvalidArgument(where + ": '" + words[0] + "' is not a date (YYYY-MM-DD)");
    }
    const int key = date::local_days(ymd).time_since_epoch().count();
    if (s.dates_.count(key)) return InvalidArgument(where + ": that date is named twice");
    CC_ASSIGN_OR_RETURN(auto intervals, ParseIntervals(words, where));
    Day& day = s.dates_[key];
    for (const auto& [o, c] : intervals) day.push_back({o, c});
  }
  return s;
}

const Schedule::Day& Schedule::day(int days_since_epoch) const {
  if (auto it = dates_.find(days_since_epoch); it != dates_.end()) return it->second;
  // 1970-01-01 was a Thursday (index 4).
  const int weekday = ((days_since_epoch % 7) + 7 + 4) % 7;
  return week_[static_cast<size_t>(weekday)];
}

bool Schedule::open_at(TimePoint t) const {
  if (!zone_) return true;
  const auto local = zone_->to_local(std::chrono::time_point_cast<std::chrono::seconds>(t));
  const auto midnight = date::floor<date::days>(local);
  const int minute =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - midnight).count());
  for (const auto& i : day(static_cast<int>(midnight.time_since_epoch().count()))) {
    if (minute >= i.open && minute < i.close) return true;
  }
  return false;
}

std::optional<TimePoint> Schedule::next_opening(TimePoint t) const {
  if (open_at(t)) return t;
  const auto local = zone_->to_local(std::chrono::time_point_cast<std::chrono::seconds>(t));
  const auto today = date::floor<date::days>(local);
  std::optional<TimePoint> best;
  for (int d = 0; d <= 372 && !best; ++d) {
    const auto when = today + date::days{d};
    for (const auto& i : day(static_cast<int>(when.time_since_epoch().count()))) {
      // An opening in a skipped hour happens when the clocks jump past it.
      const auto sys = zone_->to_sys(when + std::chrono::minutes{i.open}, date::choose::latest);
      const TimePoint at{std::chrono::duration_cast<TimePoint::duration>(sys.time_since_epoch())};
      if (at > t && open_at(at) && (!best || at < *best)) best = at;
    }
  }
  return best;
}

bool OpeningRule::open_at(TimePoint now) const {
  if (hours.empty()) return true;
  auto schedule = Schedule::Parse(hours);
  return !schedule.ok() || schedule->open_at(now);
}

std::string OpeningRule::closed_reason() const {
  return closed_hangup_reason.empty() ? "closed" : closed_hangup_reason;
}

std::vector<std::string> OpeningRule::prompts() const {
  if (!closed_prompts.empty()) return closed_prompts;
  return {"en/closed"};
}

}  // namespace cc::queue
