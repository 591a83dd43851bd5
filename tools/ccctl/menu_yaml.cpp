#include "menu_yaml.h"

#include <set>

#include <yaml-cpp/yaml.h>

#include "common/config.h"
#include "common/menu.h"
#include "common/menu_proto.h"
#include "common/proto_convert.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

int Line(const YAML::Node& n) {
  return n.Mark().line + 1;
}

// The line of `key` itself in `map` (a value's mark is where the value starts).
int KeyLine(const YAML::Node& map, const std::string& key) {
  for (const auto& kv : map) {
    if (kv.first.as<std::string>() == key) return Line(kv.first);
  }
  return Line(map);
}

[[noreturn]] void Fail(const YAML::Node& n, const std::string& message) {
  throw MenuYamlError(Line(n), message);
}

void OnlyKeys(const YAML::Node& map, const std::set<std::string>& allowed,
              const std::string& where) {
  if (!map.IsMap()) Fail(map, where + ": expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(kv.first, where + ": unknown field '" + key + "' (expected one of " + list + ")");
    }
  }
}

std::string Scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) Fail(n, what + ": expected a single value");
  return n.as<std::string>();
}

int Int(const YAML::Node& n, const std::string& what) {
  const std::string s = Scalar(n, what);
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  Fail(n, what + ": '" + s + "' is not a whole number");
}

bool Bool(const YAML::Node& n, const std::string& what) {
  const std::string s = Scalar(n, what);
  if (s == "true" || s == "yes") return true;
  if (s == "false" || s == "no") return false;
  Fail(n, what + ": '" + s + "' is not true or false");
}

void SetDuration(const YAML::Node& n, const std::string& what, google::protobuf::Duration* out) {
  const std::string s = Scalar(n, what);
  auto d = cc::Config::ParseDuration(s);
  if (!d) Fail(n, what + ": '" + s + "' is not a duration such as 5s or 800ms");
  cc::ToProto(*d, out);
}

template <typename Repeated>
void Strings(const YAML::Node& n, const std::string& what, Repeated* out) {
  if (n.IsScalar()) {
    out->Add(n.as<std::string>());
    return;
  }
  if (!n.IsSequence()) Fail(n, what + ": expected a prompt name or a list of them");
  for (const auto& item : n) out->Add(Scalar(item, what));
}

// "repeat", or a mapping with one of queue / menu / repeat / hangup / transfer.
void Action(const YAML::Node& n, const std::string& where, v1::MenuAction* out) {
  if (n.IsScalar()) {
    if (n.as<std::string>() == "repeat") return out->set_repeat(true);
    Fail(
        n,
        where + ": '" + n.as<std::string>() +
            "' is no action (repeat, or a mapping with queue, menu, hangup, transfer or callback)");
  }
  OnlyKeys(n,
           {"queue", "priority", "skills", "language_skill", "menu", "repeat", "hangup", "transfer",
            "callback", "language"},
           where);
  int kinds = 0;
  for (const char* k : {"queue", "menu", "repeat", "hangup", "transfer", "callback"}) {
    kinds += n[k] ? 1 : 0;
  }
  if (kinds != 1) {
    Fail(n, where + ": give exactly one of queue, menu, repeat, hangup, transfer, callback");
  }
  if (!n["queue"]) {
    for (const char* k : {"priority", "skills", "language_skill"}) {
      if (n[k]) Fail(n[k], where + ": " + k + " goes with queue only");
    }
  }
  if (n["language"]) out->set_language(Scalar(n["language"], where + " language"));
  if (n["queue"]) {
    auto* q = out->mutable_queue();
    q->set_queue(Scalar(n["queue"], where + " queue"));
    if (n["priority"]) q->set_priority(Int(n["priority"], where + " priority"));
    if (n["language_skill"]) {
      q->set_language_skill(Bool(n["language_skill"], where + " language_skill"));
    }
    if (const auto skills = n["skills"]) {
      if (!skills.IsMap()) Fail(skills, where + " skills: expected name: level pairs");
      for (const auto& kv : skills) {
        auto* s = q->add_skills();
        s->set_name(kv.first.as<std::string>());
        s->set_min_level(Int(kv.second, where + " skill " + s->name()));
      }
    }
  } else if (n["menu"]) {
    out->set_menu(Scalar(n["menu"], where + " menu"));
  } else if (n["repeat"]) {
    if (!Bool(n["repeat"], where + " repeat"))
      Fail(n["repeat"], where + ": repeat: false is no action");
    out->set_repeat(true);
  } else if (n["transfer"]) {
    out->set_transfer_uri(Scalar(n["transfer"], where + " transfer"));
  } else if (n["callback"]) {
    out->set_callback(Scalar(n["callback"], where + " callback"));
  } else {
    const YAML::Node h = n["hangup"];
    auto* out_h = out->mutable_hangup();
    if (h.IsScalar()) {
      out_h->set_reason(h.as<std::string>());
    } else {
      OnlyKeys(h, {"prompts", "reason"}, where + " hangup");
      if (h["prompts"]) Strings(h["prompts"], where + " hangup prompts", out_h->mutable_prompts());
      if (h["reason"]) out_h->set_reason(Scalar(h["reason"], where + " hangup reason"));
    }
  }
}

void Collect(const YAML::Node& n, const std::string& where, v1::DigitCollection* out) {
  OnlyKeys(n, {"name", "min", "max", "terminator", "timeout", "then"}, where);
  if (!n["name"]) Fail(n, where + ": name is required (the key of the digits in the call's data)");
  out->set_name(Scalar(n["name"], where + " name"));
  if (n["min"]) out->set_min_digits(Int(n["min"], where + " min"));
  if (n["max"]) out->set_max_digits(Int(n["max"], where + " max"));
  if (n["terminator"]) out->set_terminator(Scalar(n["terminator"], where + " terminator"));
  if (n["timeout"]) SetDuration(n["timeout"], where + " timeout", out->mutable_digit_timeout());
  if (!n["then"]) Fail(n, where + ": then is required (what happens with the digits)");
  Action(n["then"], where + " then", out->mutable_then());
}

}  // namespace

int MenuFile::line_of(const std::string& message) const {
  int line = 0;
  size_t best = 0;
  for (const auto& [place, l] : lines) {
    if (place.size() > best && message.rfind(place, 0) == 0) {
      best = place.size();
      line = l;
    }
  }
  return line;
}

MenuFile ParseMenuYaml(const std::string& text, const std::vector<std::string>& stored) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw MenuYamlError(e.mark.line + 1, e.msg);
  }
  MenuFile file;
  if (!root.IsMap() || !root["menus"]) {
    throw MenuYamlError(root.IsNull() ? 1 : Line(root), "expected 'menus:' with a list of menus");
  }
  OnlyKeys(root, {"menus"}, "file");
  const YAML::Node menus = root["menus"];
  if (!menus.IsSequence() || menus.size() == 0) Fail(menus, "menus: expected a list of menus");
  std::vector<cc::Menu> domain;
  std::map<std::string, int> menu_lines;
  for (const auto& n : menus) {
    OnlyKeys(n,
             {"name", "prompts", "options", "collect", "timeout", "max_attempts", "invalid_prompts",
              "timeout_prompts", "on_failure", "language"},
             "menu");
    if (!n["name"]) Fail(n, "menu: name is required");
    v1::Menu m;
    m.set_name(Scalar(n["name"], "menu name"));
    const std::string where = "menu '" + m.name() + "'";
    if (menu_lines.count(m.name())) Fail(n["name"], where + " given twice");
    menu_lines[m.name()] = Line(n["name"]);
    file.lines[where] = Line(n["name"]);
    if (n["prompts"]) Strings(n["prompts"], where + " prompts", m.mutable_prompts());
    if (n["invalid_prompts"]) {
      Strings(n["invalid_prompts"], where + " invalid_prompts", m.mutable_invalid_prompts());
    }
    if (n["timeout_prompts"]) {
      Strings(n["timeout_prompts"], where + " timeout_prompts", m.mutable_timeout_prompts());
    }
    if (n["timeout"]) SetDuration(n["timeout"], where + " timeout", m.mutable_timeout());
    if (n["max_attempts"]) m.set_max_attempts(Int(n["max_attempts"], where + " max_attempts"));
    if (n["language"]) m.set_language(Scalar(n["language"], where + " language"));
    if (const auto options = n["options"]) {
      if (!options.IsMap()) Fail(options, where + " options: expected key: action pairs");
      for (const auto& kv : options) {
        const std::string key = kv.first.as<std::string>();
        const std::string at = where + " key '" + key + "'";
        file.lines[at] = Line(kv.first);
        if (m.options().count(key)) Fail(kv.first, at + " given twice");
        Action(kv.second, at, &(*m.mutable_options())[key]);
      }
    }
    if (n["collect"]) {
      file.lines[where + " collect"] = KeyLine(n, "collect");
      Collect(n["collect"], where + " collect", m.mutable_collect());
    }
    if (n["on_failure"]) {
      file.lines[where + " on_failure"] = KeyLine(n, "on_failure");
      Action(n["on_failure"], where + " on_failure", m.mutable_on_failure());
    }
    // What the server checks, checked here first so that the mistake has its line.
    cc::Menu d = cc::FromProto(m);
    if (auto s = cc::ValidateMenu(d); !s.ok()) {
      const int line = file.line_of(s.error().message);
      throw MenuYamlError(line ? line : menu_lines[m.name()], s.error().message);
    }
    domain.push_back(std::move(d));
    file.menus.push_back(std::move(m));
  }
  if (auto s = cc::ValidateMenus(domain, stored); !s.ok()) {
    const int line = file.line_of(s.error().message);
    throw MenuYamlError(line ? line : Line(menus), s.error().message);
  }
  return file;
}

}  // namespace ccctl
