#include "signaling_edge/menu_runner.h"

namespace cc::edge {

MenuRunner::MenuRunner(std::vector<Menu> menus, std::vector<std::string> intro)
    : intro_(std::move(intro)) {
  if (!menus.empty()) entry_ = menus.front().name;
  for (auto& m : menus) menus_.emplace(m.name, std::move(m));
}

MenuStep MenuRunner::start() {
  auto it = menus_.find(entry_);
  if (it == menus_.end()) {
    mode_ = Mode::kDone;
    MenuStep s;
    s.outcome = MenuOutcome{};
    s.outcome->reason = "menu missing";
    return s;
  }
  return enter(it->second);
}

std::vector<std::string> MenuRunner::localized(const std::vector<std::string>& prompts) const {
  std::vector<std::string> out;
  for (const auto& p : prompts) out.push_back(LocalizedPrompt(p, language_));
  return out;
}

Duration MenuRunner::first_key_timeout() const {
  return current_->collect ? current_->collect->digit_timeout : current_->timeout;
}

MenuStep MenuRunner::enter(const Menu& m) {
  if (++entries_ > kMaxEntries) {
    mode_ = Mode::kDone;
    MenuStep s;
    MenuOutcome o;
    o.prompts = localized({"goodbye"});
    o.reason = "too many menus";
    s.outcome = o;
    return s;
  }
  current_ = &m;
  attempts_ = 0;
  if (language_.empty()) language_ = m.language;
  return say_menu();
}

MenuStep MenuRunner::say_menu() {
  ++attempts_;
  digits_.clear();
  MenuStep s;
  if (current_->prompts.empty() && intro_.empty()) {
    mode_ = Mode::kWaiting;
    s.wait = first_key_timeout();
    return s;
  }
  mode_ = Mode::kPrompting;
  // The intro (a closed queue's announcement) once, before the first menu's prompts.
  s.play = std::move(intro_);
  intro_.clear();
  for (auto& p : localized(current_->prompts)) s.play.push_back(std::move(p));
  return s;
}

MenuStep MenuRunner::notice(const std::vector<std::string>& prompts) {
  digits_.clear();
  if (attempts_ >= current_->max_attempts) return act(current_->on_failure);
  MenuStep s;
  if (prompts.empty()) return say_menu();
  mode_ = Mode::kNotice;
  s.play = localized(prompts);
  return s;
}

MenuStep MenuRunner::act(const MenuAction& a) {
  if (!a.language.empty()) language_ = a.language;
  MenuStep s;
  switch (a.kind) {
    case MenuAction::Kind::kMenu: {
      auto it = menus_.find(a.menu);
      if (it != menus_.end()) return enter(it->second);
      MenuOutcome o;  // queue-service sends every menu reached: cannot be, but never stuck
      o.prompts = localized({"goodbye"});
      o.reason = "menu " + a.menu + " missing";
      s.outcome = o;
      break;
    }
    case MenuAction::Kind::kRepeat:
      return enter(*current_);
    case MenuAction::Kind::kQueue: {
      MenuOutcome o;
      o.kind = MenuOutcome::Kind::kQueue;
      o.queue = a.queue;
      o.priority = a.priority;
      o.skills = a.skills;
      if (a.language_skill && !language_.empty()) o.skills.push_back({language_, 1});
      s.outcome = o;
      break;
    }
    case MenuAction::Kind::kTransfer: {
      MenuOutcome o;
      o.kind = MenuOutcome::Kind::kTransfer;
      o.uri = a.uri;
      s.outcome = o;
      break;
    }
    case MenuAction::Kind::kCallback: {
      MenuOutcome o;
      o.kind = MenuOutcome::Kind::kCallback;
      o.queue = a.queue;  // a menu's choice; empty in the edge's own offer
      auto it = data_.find("callback_number");
      if (it != data_.end()) o.number = it->second;
      s.outcome = o;
      break;
    }
    case MenuAction::Kind::kResume: {
      MenuOutcome o;
      o.kind = MenuOutcome::Kind::kResume;
      s.outcome = o;
      break;
    }
    case MenuAction::Kind::kHangup:
    case MenuAction::Kind::kNone: {
      MenuOutcome o;
      o.prompts = localized(a.prompts);
      o.reason = a.reason.empty() ? "ivr hangup" : a.reason;
      s.outcome = o;
      break;
    }
  }
  mode_ = Mode::kDone;
  return s;
}

MenuStep MenuRunner::finish_collection() {
  const DigitCollection& c = *current_->collect;
  if (static_cast<int>(digits_.size()) < c.min_digits) return notice(current_->invalid_prompts);
  data_[c.name] = digits_;
  digits_.clear();
  return act(c.then);
}

MenuStep MenuRunner::on_prompts_done() {
  MenuStep s;
  switch (mode_) {
    case Mode::kPrompting:
      mode_ = Mode::kWaiting;
      s.wait = first_key_timeout();
      return s;
    case Mode::kNotice:
      return say_menu();
    default:
      return s;  // a collection under way, or done: nothing was playing
  }
}

MenuStep MenuRunner::on_digit(char digit) {
  if (mode_ == Mode::kDone || !current_) return {};
  const bool was_playing = mode_ == Mode::kPrompting || mode_ == Mode::kNotice;
  MenuStep s;
  if (current_->collect) {
    const DigitCollection& c = *current_->collect;
    if (mode_ == Mode::kNotice) digits_.clear();
    if (!c.terminator.empty() && digit == c.terminator[0]) {
      s = finish_collection();
    } else {
      digits_.push_back(digit);
      if (static_cast<int>(digits_.size()) >= c.max_digits) {
        s = finish_collection();
      } else {
        mode_ = Mode::kCollecting;
        s.wait = c.digit_timeout;
      }
    }
  } else {
    auto it = current_->options.find(std::string(1, digit));
    s = it == current_->options.end() ? notice(current_->invalid_prompts) : act(it->second);
  }
  if (was_playing && s.play.empty()) s.stop_prompts = true;
  return s;
}

MenuStep MenuRunner::on_timeout() {
  switch (mode_) {
    case Mode::kWaiting:
      return notice(current_->timeout_prompts);
    case Mode::kCollecting:
      return finish_collection();
    default:
      return {};
  }
}

}  // namespace cc::edge
