#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace date {
class time_zone;
}

namespace cc::queue {

// When a queue (or a dialled number) takes calls, as operators write it: weekly hours in the
// queue's own time zone, and dates that replace the week for one day (a holiday closed all
// day, a day with other hours).
//
//   time_zone  "Europe/Berlin" (an IANA name; "" = no hours: always open)
//   weekly     "mon-fri 08:00-18:00", "sat 10:00-12:30 13:00-16:00", "sun closed"
//   dates      "2026-12-24 08:00-12:00", "2026-12-25 closed"
//
// Days are mon..sun, alone, in lists (mon,wed) or ranges (mon-fri, fri-mon wraps). Times are
// HH:MM of local wall-clock time, an interval [open, close) within one day ("24:00" closes at
// midnight); a night shift is two intervals (mon 22:00-24:00, tue 00:00-06:00). A day no entry
// names is closed. Where a clock change skips or repeats an hour, the local time it is at
// decides (the hour skipped does not exist; the hour repeated is open or closed twice).
struct OpeningHours {
  std::string time_zone;
  std::vector<std::string> weekly;
  std::vector<std::string> dates;
  bool empty() const { return time_zone.empty() && weekly.empty() && dates.empty(); }
  bool operator==(const OpeningHours&) const = default;
};

// A queue's (or a dialled number's) hours, and what happens to a caller who arrives while
// closed: the closed prompts (default en/closed), then closed_queue, or the end with
// closed_hangup_reason (default "closed").
struct OpeningRule {
  OpeningHours hours;
  std::string closed_queue;  // at most one of these five
  std::string closed_hangup_reason;
  std::string closed_menu = {};  // an IVR menu (the edge answers into it)
  std::string closed_uri = {};   // the caller is redirected there (302)
  bool closed_callback = false;  // a callback at the next opening
  std::vector<std::string> closed_prompts;
  bool operator==(const OpeningRule&) const = default;

  // The closed action is the edge's to carry out (a menu, a redirect, a callback offer):
  // nothing is enqueued when the caller arrives.
  bool diverts() const { return !closed_menu.empty() || !closed_uri.empty() || closed_callback; }

  // Always open without hours (and, failing open, with hours that do not parse, which
  // validation prevents).
  bool open_at(TimePoint now) const;
  std::string closed_reason() const;
  std::vector<std::string> prompts() const;
};

// OpeningHours parsed and checked, evaluated at any instant.
class Schedule {
 public:
  // INVALID_ARGUMENT naming the entry and what is wrong in it.
  static Result<Schedule> Parse(const OpeningHours& hours);

  bool open_at(TimePoint t) const;
  // `t` itself when open, else the next instant it opens (within a year and a week), or none.
  std::optional<TimePoint> next_opening(TimePoint t) const;

 private:
  struct Interval {
    int open = 0;   // minutes after local midnight
    int close = 0;  // exclusive; 1440 = midnight
  };
  using Day = std::vector<Interval>;

  const Day& day(int days_since_epoch) const;  // the date's own hours, else its weekday's

  const date::time_zone* zone_ = nullptr;
  std::array<Day, 7> week_{};  // index: days since Sunday (0 = sun)
  std::map<int, Day> dates_;   // local date (days since 1970-01-01) -> its hours
};

}  // namespace cc::queue
