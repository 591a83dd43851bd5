#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

// IVR menus as queue-service stores them and the edge runs them: prompts, then a key
// (options) or digits (a collection), each leading to an action. No protobuf here
// (menu_proto.h converts).
namespace cc {

struct RequiredSkill {
  std::string name;
  int min_level = 1;
  bool operator==(const RequiredSkill&) const = default;
};

struct MenuAction {
  // kCallback: a callback in `queue` (the caller confirms the number, then is hung up); the
  // edge's own callback offer uses it without a queue. kResume (back to waiting) is the
  // edge's own: stored menus may not use it.
  enum class Kind { kNone, kQueue, kMenu, kRepeat, kHangup, kTransfer, kCallback, kResume };
  Kind kind = Kind::kNone;
  // kQueue, kCallback
  std::string queue;
  int priority = 0;
  std::vector<RequiredSkill> skills;  // besides the queue's own
  bool language_skill = false;        // the caller's language is required too (level 1)
  // kMenu
  std::string menu;
  // kHangup
  std::vector<std::string> prompts;
  std::string reason;
  // kTransfer
  std::string uri;
  // Any kind: the caller's language from now on, set before acting.
  std::string language;
  bool operator==(const MenuAction&) const = default;
};
std::string_view ToString(MenuAction::Kind k);
std::optional<MenuAction::Kind> MenuActionKindFromString(std::string_view s);

struct DigitCollection {
  std::string name;  // the key of the call's data
  int min_digits = 1;
  int max_digits = 20;
  std::string terminator = "#";  // "" : none
  Duration digit_timeout{5000};
  MenuAction then;
  bool operator==(const DigitCollection&) const = default;
};

struct Menu {
  std::string name;
  std::vector<std::string> prompts;
  std::map<std::string, MenuAction> options;  // by key: "0".."9", "*", "#"
  std::optional<DigitCollection> collect;     // instead of options
  Duration timeout{5000};                     // for the first key, after the prompts
  int max_attempts = 3;
  std::vector<std::string> invalid_prompts = {"menu-invalid"};
  std::vector<std::string> timeout_prompts = {"menu-timeout"};
  MenuAction on_failure = DefaultFailure();
  std::string language;  // the caller's language if none was chosen before
  std::int64_t version = 0;
  bool operator==(const Menu&) const = default;

  static MenuAction DefaultFailure();
};

// Limits of what a menu may hold.
inline constexpr int kMaxMenuPrompts = 20;
inline constexpr int kMaxCollectedDigits = 64;
inline constexpr std::size_t kMaxMenusPerImport = 200;

// A relay prompt name as menus give them: "menu-main" (said in the caller's language) or
// "de/menu-main"; letters, digits, '-', '_', '.', at most one '/'.
bool IsPromptName(std::string_view p);
// The prompt as played to a caller speaking `language`: names without a language get it.
std::string LocalizedPrompt(const std::string& prompt, const std::string& language);
// Languages: 2-8 lowercase letters or digits, '-' ("en", "de", "pt-br").
bool IsLanguage(std::string_view l);
// A SIP URI a caller may be sent to: sip:/sips:user@host, at most 256 bytes, nothing that
// could end a header (no spaces, <, >, quotes or line breaks).
bool IsSipUri(std::string_view uri);
// A number to call back: 3-20 digits, optionally after a '+'.
bool IsCallbackNumber(std::string_view number);

// One menu on its own: its name, prompts, keys, limits, actions (INVALID_ARGUMENT naming the
// field, e.g. "menu 'main' key '1': queue name is empty").
Status ValidateMenu(const Menu& m);
// A batch to import: each menu, no name twice, and every menu an action leads to is in the
// batch or in `existing` (names of menus stored already).
Status ValidateMenus(const std::vector<Menu>& menus, const std::vector<std::string>& existing);
// The menus of `all` that `entry` leads to, entry first (breadth first, each once).
std::vector<Menu> ReachableMenus(const std::string& entry, const std::map<std::string, Menu>& all);

}  // namespace cc
