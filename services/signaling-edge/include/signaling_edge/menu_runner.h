#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/menu.h"

namespace cc::edge {

// Where a caller's way through the menus ends.
struct MenuOutcome {
  enum class Kind { kQueue, kHangup, kTransfer, kCallback, kResume };
  Kind kind = Kind::kHangup;
  // kQueue: the queue, with the priority and the skills the call requires (the caller's
  // language among them when the choice said so).
  std::string queue;
  int priority = 0;
  std::vector<RequiredSkill> skills;
  // kHangup: what the caller hears first, and the reason recorded.
  std::vector<std::string> prompts;
  std::string reason;
  // kTransfer
  std::string uri;
  // kCallback: the number entered (data "callback_number"; empty: the caller's own), and the
  // queue a menu's callback choice names (empty: the edge's own offer to a waiting caller).
  std::string number;
};

// What the session does after each event of the menu.
struct MenuStep {
  std::vector<std::string> play;  // prompts to play now (replacing any), in the caller's language
  bool stop_prompts = false;      // a key cut the prompts short: silence them
  std::optional<Duration> wait;   // arm the menu's timer (replacing any); unset: none
  std::optional<MenuOutcome> outcome;  // the caller is done with the menus
};

// One caller's way through IVR menus: a menu says its prompts, then takes a key (options) or
// reads digits (a collection); an invalid key or no key at all says so and the menu again,
// up to its attempts, then its failure action. A key cuts the prompts short. Pure: the
// session plays, arms the timer and feeds the events back (only those of its last step).
class MenuRunner {
 public:
  // `menus`: the entry first, then every menu it leads to (as queue-service sends them);
  // `intro`: prompts said once before the first (as named).
  explicit MenuRunner(std::vector<Menu> menus, std::vector<std::string> intro = {});

  MenuStep start();
  MenuStep on_prompts_done();  // the last prompts played to their end
  MenuStep on_digit(char digit);
  MenuStep on_timeout();  // the timer of the last step fired

  const std::map<std::string, std::string>& data() const { return data_; }
  const std::string& language() const { return language_; }
  const std::string& menu() const { return current_->name; }
  bool done() const { return mode_ == Mode::kDone; }

  // Menus entered in one call at most (a caller going round in circles ends).
  static constexpr int kMaxEntries = 50;

 private:
  enum class Mode {
    kPrompting,   // the menu's prompts play; a key cuts them
    kWaiting,     // prompts over: the first key, until the timeout
    kCollecting,  // digits coming: the next one, until the digit timeout
    kNotice,      // "invalid" / "no input" plays; then the menu again (or its failure)
    kDone,
  };

  MenuStep enter(const Menu& m);
  MenuStep say_menu();
  MenuStep act(const MenuAction& a);
  MenuStep notice(const std::vector<std::string>& prompts);
  MenuStep finish_collection();
  std::vector<std::string> localized(const std::vector<std::string>& prompts) const;
  Duration first_key_timeout() const;

  std::map<std::string, Menu> menus_;
  const Menu* current_ = nullptr;
  Mode mode_ = Mode::kPrompting;
  int attempts_ = 0;  // times the current menu was said
  int entries_ = 0;
  std::string digits_;
  std::map<std::string, std::string> data_;
  std::string language_;
  std::string entry_;
  std::vector<std::string> intro_;
};

}  // namespace cc::edge
