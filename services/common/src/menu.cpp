#include "common/menu.h"

#include <deque>
#include <set>

#include "common/names.h"

namespace cc {
namespace {

constexpr std::string_view kKeys = "0123456789*#";

std::string Where(const Menu& m, const std::string& slot) {
  return "menu '" + m.name + "'" + (slot.empty() ? "" : " " + slot);
}

Status CheckPrompts(const std::vector<std::string>& prompts, const std::string& where) {
  if (prompts.size() > static_cast<std::size_t>(kMaxMenuPrompts)) {
    return InvalidArgument(where + ": more than " + std::to_string(kMaxMenuPrompts) + " prompts");
  }
  for (const auto& p : prompts) {
    if (!IsPromptName(p)) {
      return InvalidArgument(where + ": prompt '" + p +
                             "' is not a prompt name (letters, digits, - _ . and one /)");
    }
  }
  return OkStatus();
}

Status CheckAction(const MenuAction& a, const std::string& where) {
  if (!a.language.empty() && !IsLanguage(a.language)) {
    return InvalidArgument(where + ": language '" + a.language + "' is not a language tag");
  }
  switch (a.kind) {
    case MenuAction::Kind::kNone:
      return InvalidArgument(where +
                             ": no action (queue, menu, repeat, hangup, transfer or callback)");
    case MenuAction::Kind::kQueue:
      if (!IsName(a.queue)) return InvalidArgument(where + ": queue '" + a.queue + "' is no name");
      if (a.priority < -1000000 || a.priority > 1000000) {
        return InvalidArgument(where + ": priority must be within +-1000000");
      }
      for (const auto& s : a.skills) {
        if (!IsSkillName(s.name)) {
          return InvalidArgument(where + ": skill '" + s.name +
                                 "' must be 1-64 lowercase letters, digits, _ or -");
        }
        if (s.min_level < 1 || s.min_level > 10) {
          return InvalidArgument(where + ": skill '" + s.name + "' level must be 1..10");
        }
      }
      return OkStatus();
    case MenuAction::Kind::kMenu:
      if (!IsName(a.menu)) return InvalidArgument(where + ": menu '" + a.menu + "' is no name");
      return OkStatus();
    case MenuAction::Kind::kRepeat:
      return OkStatus();
    case MenuAction::Kind::kHangup:
      if (a.reason.size() > 200) return InvalidArgument(where + ": reason is over 200 bytes");
      return CheckPrompts(a.prompts, where);
    case MenuAction::Kind::kCallback:
      if (!IsName(a.queue)) {
        return InvalidArgument(where + ": callback queue '" + a.queue + "' is no name");
      }
      return OkStatus();
    case MenuAction::Kind::kResume:
      return InvalidArgument(where + ": resume is the edge's own (the callback offer)");
    case MenuAction::Kind::kTransfer: {
      if (!IsSipUri(a.uri)) {
        return InvalidArgument(where + ": transfer '" + a.uri +
                               "' is not a SIP URI like sip:user@host (no spaces, <, > or quotes)");
      }
      return OkStatus();
    }
  }
  return OkStatus();
}

void Targets(const MenuAction& a, std::vector<std::string>& out) {
  if (a.kind == MenuAction::Kind::kMenu) out.push_back(a.menu);
}

std::vector<std::string> TargetsOf(const Menu& m) {
  std::vector<std::string> out;
  for (const auto& [key, a] : m.options) Targets(a, out);
  if (m.collect) Targets(m.collect->then, out);
  Targets(m.on_failure, out);
  return out;
}

}  // namespace

std::string_view ToString(MenuAction::Kind k) {
  switch (k) {
    case MenuAction::Kind::kNone:
      return "none";
    case MenuAction::Kind::kQueue:
      return "queue";
    case MenuAction::Kind::kMenu:
      return "menu";
    case MenuAction::Kind::kRepeat:
      return "repeat";
    case MenuAction::Kind::kHangup:
      return "hangup";
    case MenuAction::Kind::kTransfer:
      return "transfer";
    case MenuAction::Kind::kCallback:
      return "callback";
    case MenuAction::Kind::kResume:
      return "resume";
  }
  return "none";
}

std::optional<MenuAction::Kind> MenuActionKindFromString(std::string_view s) {
  for (auto k :
       {MenuAction::Kind::kQueue, MenuAction::Kind::kMenu, MenuAction::Kind::kRepeat,
        MenuAction::Kind::kHangup, MenuAction::Kind::kTransfer, MenuAction::Kind::kCallback}) {
    if (ToString(k) == s) return k;
  }
  return std::nullopt;
}

MenuAction Menu::DefaultFailure() {
  MenuAction a;
  a.kind = MenuAction::Kind::kHangup;
  a.prompts = {"goodbye"};
  a.reason = "no choice made in the menu";
  return a;
}

bool IsPromptName(std::string_view p) {
  const auto slash = p.find('/');
  auto part = [](std::string_view s) {
    return IsToken(s, 1, 64, AlnumOr("-_.")) && s.front() != '.' && s.find("..") == s.npos;
  };
  if (slash == std::string_view::npos) return part(p);
  return part(p.substr(0, slash)) && part(p.substr(slash + 1));
}

std::string LocalizedPrompt(const std::string& prompt, const std::string& language) {
  if (prompt.find('/') != std::string::npos) return prompt;
  return (language.empty() ? "en" : language) + "/" + prompt;
}

bool IsSipUri(std::string_view uri) {
  const bool sip = uri.substr(0, 4) == "sip:" || uri.substr(0, 5) == "sips:";
  return sip && uri.size() <= 256 && uri.find_first_of("<>\"\r\n \t") == uri.npos &&
         uri.find('@') != uri.npos;
}

bool IsCallbackNumber(std::string_view number) {
  if (!number.empty() && number[0] == '+') number.remove_prefix(1);
  return IsToken(number, 3, 20, IsAsciiDigit);
}

bool IsLanguage(std::string_view l) {
  return IsToken(l, 2, 8, [](char c) { return IsAsciiLower(c) || IsAsciiDigit(c) || c == '-'; });
}

Status ValidateMenu(const Menu& m) {
  if (!IsName(m.name)) {
    return InvalidArgument(
        "menu name '" + m.name +
        "' must be 1-64 letters, digits, . _ or -, starting with a letter or digit");
  }
  CC_RETURN_IF_ERROR(CheckPrompts(m.prompts, Where(m, "prompts")));
  CC_RETURN_IF_ERROR(CheckPrompts(m.invalid_prompts, Where(m, "invalid_prompts")));
  CC_RETURN_IF_ERROR(CheckPrompts(m.timeout_prompts, Where(m, "timeout_prompts")));
  if (!m.language.empty() && !IsLanguage(m.language)) {
    return InvalidArgument(Where(m, "") + ": language '" + m.language + "' is not a language tag");
  }
  if (m.timeout < Duration{500} || m.timeout > Duration{60000}) {
    return InvalidArgument(Where(m, "") + ": timeout must be 0.5..60 s");
  }
  if (m.max_attempts < 1 || m.max_attempts > 10) {
    return InvalidArgument(Where(m, "") + ": max_attempts must be 1..10");
  }
  if (m.collect && !m.options.empty()) {
    return InvalidArgument(Where(m, "") + ": has both options and a digit collection");
  }
  if (!m.collect && m.options.empty()) {
    return InvalidArgument(Where(m, "") + ": has neither options nor a digit collection");
  }
  for (const auto& [key, a] : m.options) {
    if (key.size() != 1 || kKeys.find(key[0]) == std::string_view::npos) {
      return InvalidArgument(Where(m, "key '" + key + "'") + ": keys are one of 0-9, * or #");
    }
    CC_RETURN_IF_ERROR(CheckAction(a, Where(m, "key '" + key + "'")));
  }
  if (m.collect) {
    const DigitCollection& c = *m.collect;
    const std::string where = Where(m, "collect");
    if (!IsSkillName(c.name)) {
      return InvalidArgument(where + ": name '" + c.name +
                             "' must be 1-64 lowercase letters, digits, _ or -");
    }
    if (c.max_digits < 1 || c.max_digits > kMaxCollectedDigits) {
      return InvalidArgument(where + ": max_digits must be 1.." +
                             std::to_string(kMaxCollectedDigits));
    }
    if (c.min_digits < 1 || c.min_digits > c.max_digits) {
      return InvalidArgument(where + ": min_digits must be 1..max_digits");
    }
    if (!c.terminator.empty() &&
        (c.terminator.size() != 1 || (c.terminator != "#" && c.terminator != "*"))) {
      return InvalidArgument(where + ": terminator must be #, * or none");
    }
    if (c.digit_timeout < Duration{500} || c.digit_timeout > Duration{60000}) {
      return InvalidArgument(where + ": digit_timeout must be 0.5..60 s");
    }
    CC_RETURN_IF_ERROR(CheckAction(c.then, where + " then"));
    if (c.then.kind == MenuAction::Kind::kRepeat) {
      return InvalidArgument(where + " then: repeat would throw the digits away");
    }
  }
  return CheckAction(m.on_failure, Where(m, "on_failure"));
}

Status ValidateMenus(const std::vector<Menu>& menus, const std::vector<std::string>& existing) {
  if (menus.empty()) return InvalidArgument("no menus given");
  if (menus.size() > kMaxMenusPerImport) {
    return InvalidArgument("more than " + std::to_string(kMaxMenusPerImport) + " menus at once");
  }
  std::set<std::string> known(existing.begin(), existing.end());
  std::set<std::string> seen;
  for (const auto& m : menus) {
    CC_RETURN_IF_ERROR(ValidateMenu(m));
    if (!seen.insert(m.name).second) return InvalidArgument("menu '" + m.name + "' given twice");
  }
  known.insert(seen.begin(), seen.end());
  for (const auto& m : menus) {
    for (const auto& t : TargetsOf(m)) {
      if (!known.count(t)) {
        return InvalidArgument("menu '" + m.name + "' leads to menu '" + t +
                               "', which is neither given nor stored");
      }
    }
  }
  return OkStatus();
}

std::vector<Menu> ReachableMenus(const std::string& entry, const std::map<std::string, Menu>& all) {
  std::vector<Menu> out;
  std::set<std::string> seen{entry};
  std::deque<std::string> todo{entry};
  while (!todo.empty()) {
    auto it = all.find(todo.front());
    todo.pop_front();
    if (it == all.end()) continue;
    out.push_back(it->second);
    for (const auto& t : TargetsOf(it->second)) {
      if (seen.insert(t).second) todo.push_back(t);
    }
  }
  return out;
}

}  // namespace cc
