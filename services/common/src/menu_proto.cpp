#include "common/menu_proto.h"

#include "common/proto_convert.h"

namespace cc {

namespace v1 = callcenter::v1;

namespace {

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& r) {
  return {r.begin(), r.end()};
}

template <typename Repeated>
void AddStrings(const std::vector<std::string>& from, Repeated* out) {
  for (const auto& s : from) out->Add(std::string(s));
}

}  // namespace

void ToProto(const RequiredSkill& s, v1::RequiredSkill* out) {
  out->set_name(s.name);
  out->set_min_level(s.min_level);
}

MenuAction FromProto(const v1::MenuAction& a) {
  MenuAction out;
  out.language = a.language();
  switch (a.action_case()) {
    case v1::MenuAction::kQueue:
      out.kind = MenuAction::Kind::kQueue;
      out.queue = a.queue().queue();
      out.priority = a.queue().priority();
      for (const auto& s : a.queue().skills()) out.skills.push_back({s.name(), s.min_level()});
      for (auto& s : out.skills) s.min_level = s.min_level == 0 ? 1 : s.min_level;
      out.language_skill = a.queue().language_skill();
      break;
    case v1::MenuAction::kMenu:
      out.kind = MenuAction::Kind::kMenu;
      out.menu = a.menu();
      break;
    case v1::MenuAction::kRepeat:
      out.kind = a.repeat() ? MenuAction::Kind::kRepeat : MenuAction::Kind::kNone;
      break;
    case v1::MenuAction::kHangup:
      out.kind = MenuAction::Kind::kHangup;
      out.prompts = Strings(a.hangup().prompts());
      if (out.prompts.empty()) out.prompts = {"goodbye"};
      out.reason = a.hangup().reason().empty() ? "ivr hangup" : a.hangup().reason();
      break;
    case v1::MenuAction::kTransferUri:
      out.kind = MenuAction::Kind::kTransfer;
      out.uri = a.transfer_uri();
      break;
    case v1::MenuAction::kCallback:
      out.kind = MenuAction::Kind::kCallback;
      out.queue = a.callback();
      break;
    case v1::MenuAction::ACTION_NOT_SET:
      break;
  }
  return out;
}

void ToProto(const MenuAction& a, v1::MenuAction* out) {
  out->set_language(a.language);
  switch (a.kind) {
    case MenuAction::Kind::kQueue: {
      auto* q = out->mutable_queue();
      q->set_queue(a.queue);
      q->set_priority(a.priority);
      for (const auto& s : a.skills) ToProto(s, q->add_skills());
      q->set_language_skill(a.language_skill);
      break;
    }
    case MenuAction::Kind::kMenu:
      out->set_menu(a.menu);
      break;
    case MenuAction::Kind::kRepeat:
      out->set_repeat(true);
      break;
    case MenuAction::Kind::kHangup:
      AddStrings(a.prompts, out->mutable_hangup()->mutable_prompts());
      out->mutable_hangup()->set_reason(a.reason);
      break;
    case MenuAction::Kind::kTransfer:
      out->set_transfer_uri(a.uri);
      break;
    case MenuAction::Kind::kCallback:
      out->set_callback(a.queue);
      break;
    case MenuAction::Kind::kNone:
    case MenuAction::Kind::kResume:  // the edge's own: never in the API
      break;
  }
}

Menu FromProto(const v1::Menu& m) {
  Menu out;
  out.name = m.name();
  out.prompts = Strings(m.prompts());
  for (const auto& [key, a] : m.options()) out.options[key] = FromProto(a);
  if (m.has_collect()) {
    DigitCollection c;
    c.name = m.collect().name();
    if (m.collect().min_digits() != 0) c.min_digits = m.collect().min_digits();
    if (m.collect().max_digits() != 0) c.max_digits = m.collect().max_digits();
    if (m.collect().terminator() == "none") {
      c.terminator.clear();
    } else if (!m.collect().terminator().empty()) {
      c.terminator = m.collect().terminator();
    }
    if (m.collect().has_digit_timeout()) c.digit_timeout = FromProto(m.collect().digit_timeout());
    c.then = FromProto(m.collect().then());
    out.collect = c;
  }
  if (m.has_timeout()) out.timeout = FromProto(m.timeout());
  if (m.max_attempts() != 0) out.max_attempts = m.max_attempts();
  if (!m.invalid_prompts().empty()) out.invalid_prompts = Strings(m.invalid_prompts());
  if (!m.timeout_prompts().empty()) out.timeout_prompts = Strings(m.timeout_prompts());
  if (m.has_on_failure()) out.on_failure = FromProto(m.on_failure());
  out.language = m.language();
  out.version = m.version();
  return out;
}

void ToProto(const Menu& m, v1::Menu* out) {
  out->set_name(m.name);
  AddStrings(m.prompts, out->mutable_prompts());
  for (const auto& [key, a] : m.options) ToProto(a, &(*out->mutable_options())[key]);
  if (m.collect) {
    auto* c = out->mutable_collect();
    c->set_name(m.collect->name);
    c->set_min_digits(m.collect->min_digits);
    c->set_max_digits(m.collect->max_digits);
    c->set_terminator(m.collect->terminator.empty() ? "none" : m.collect->terminator);
    ToProto(m.collect->digit_timeout, c->mutable_digit_timeout());
    ToProto(m.collect->then, c->mutable_then());
  }
  ToProto(m.timeout, out->mutable_timeout());
  out->set_max_attempts(m.max_attempts);
  AddStrings(m.invalid_prompts, out->mutable_invalid_prompts());
  AddStrings(m.timeout_prompts, out->mutable_timeout_prompts());
  ToProto(m.on_failure, out->mutable_on_failure());
  out->set_language(m.language);
  out->set_version(m.version);
}

}  // namespace cc
